"""The exact words of input errors: each hint, the order problems are listed in, and how a typed
value is shown. A user reads these to fix a file, so a changed word is a changed interface."""

import numpy as np
import pytest

from model.core.errors import InputError, Problem
from model.core.numbers import MAX_NUMBER_LENGTH
from model.inputs.parameters import bundled_registry
from model.inputs.reading import load_cohort
from model.inputs.validation import Validator

REGISTRY = bundled_registry()


def cohort_problems(tmp_path, header, *rows):
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_cohort(path)
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("1_5", " (no '_' digit grouping: write 1.5, not 1_5)"),
        ("1_5%", " (no '_' digit grouping: write 1.5, not 1_5)"),  # grouping is said first
        ("١٫٥", " (ASCII digits 0-9 and a point only; found other characters)"),
        ("1_５", " (ASCII digits 0-9 and a point only; found other characters)"),
        ("1" + "0" * MAX_NUMBER_LENGTH, f" (at most {MAX_NUMBER_LENGTH} characters)"),
        ("1,5", " (use a point as the decimal separator)"),
        ("-1,5", " (use a point as the decimal separator)"),
        ("1.000,5", " (use a point as the decimal separator)"),
        ("1,5,3", ""),
        ("a,5", ""),
        ("50%", " (give a ratio, not a percentage)"),
        ("high", ""),
    ],
)
def test_a_number_cell_says_why_it_failed(tmp_path, text, hint):
    (problem,) = cohort_problems(
        tmp_path, "patient_id,center,perfusion_technique,perfusion_ratio", f'p1,C01,DSC,"{text}"'
    )
    field = Validator("x", REGISTRY).schema.by_name["perfusion_ratio"]
    assert (problem.row, problem.column, problem.value) == (2, "perfusion_ratio", text)
    assert problem.expected == field.expected() + hint


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("RCBV", "a known column (unknown column; did you mean 'perfusion_ratio'?)"),
        ("TBRmax", "a known column (unknown column; did you mean 'pet_tbr'?)"),
        ("perfusion_ratoi", "a known column (unknown column; did you mean 'perfusion_ratio'?)"),
        ("zzz", "a known column (unknown column; see data/README.md for the format)"),
    ],
)
def test_an_unknown_column_is_matched_to_the_one_meant(tmp_path, name, expected):
    found = cohort_problems(
        tmp_path, f"patient_id,center,perfusion_technique,{name}", "p1,C01,DSC,2"
    )
    assert [(p.row, p.column, p.expected) for p in found] == [(1, name, expected)]


def test_problems_are_listed_file_first_then_by_row_then_by_column_order():
    """Within a row (or the file), a problem with no column comes before the columns'."""
    validator = Validator("f.csv", REGISTRY)
    columns = validator.schema.columns
    later, earlier = columns.index("pet_tbr"), columns.index("center")
    assert earlier < later
    for row, column in [
        (np.int64(3), "pet_tbr"),
        (2, "pet_tbr"),
        (3, "center"),
        (3, None),
        (None, "center"),
        (2, "center"),
        (None, None),
    ]:
        validator.add(row, column, "v", "e")
    assert all(type(p.row) in (int, type(None)) for p in validator.problems)
    with pytest.raises(InputError) as info:
        validator.raise_if_any()
    assert [(p.row, p.column) for p in info.value.problems] == [
        (None, None),
        (None, "center"),
        (2, "center"),
        (2, "pet_tbr"),
        (3, None),
        (3, "center"),
        (3, "pet_tbr"),
    ]


def test_a_problem_that_stops_reading_raises_at_once_with_everything_so_far():
    validator = Validator("f.csv", REGISTRY)
    validator.add(4, "center", "X", "first")
    with pytest.raises(InputError) as info:
        validator.fail_now(np.int64(2), "pet_tbr", "9", "second")
    assert list(info.value.problems) == [
        Problem("f.csv", 2, "pet_tbr", "9", "second"),
        Problem("f.csv", 4, "center", "X", "first"),
    ]
    assert type(info.value.problems[0].row) is int


def test_a_patient_value_is_shown_as_the_file_spells_it(tmp_path):
    """Numbers in their shortest form (9, not 9.0), yes/no items as yes and no."""
    found = cohort_problems(
        tmp_path,
        "patient_id,lesion_id,center,perfusion_technique,headache,months_since_rt",
        "P1,L1,C01,DSC,no,9",
        "P1,L2,C01,DSC,yes,9.25",
    )
    assert [(p.row, p.column, p.value) for p in found] == [
        (3, "headache", "yes"),
        (3, "months_since_rt", "9.25"),
    ]
    assert found[0].expected.startswith("'no' as on row 2: 'headache' belongs to the patient")
    assert found[1].expected.startswith("'9' as on row 2: 'months_since_rt'")
