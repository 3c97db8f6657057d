"""The exact words of input errors: each hint, the order problems are listed in, and how a typed
value is shown. A user reads these to fix a file, so a changed word is a changed interface."""

import numpy as np
import pandas as pd
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
        ("1.000.000,5", ""),
        ("X1,5", ""),
        ("1." + "0" * (MAX_NUMBER_LENGTH - 3) + "x", ""),  # 40 characters: too long is over 40
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


def test_a_percent_sign_in_a_percentage_column_is_asked_off_not_turned_into_a_ratio(tmp_path):
    """'50%' in tumor_share_percent means 50: the hint says to drop the sign, where in a ratio
    column it says to give a ratio."""
    (problem,) = cohort_problems(
        tmp_path,
        "patient_id,center,reference_diagnosis,reference_source,tumor_share_percent",
        "p1,C01,mixed,histopathology,50%",
    )
    field = Validator("x", REGISTRY).schema.by_name["tumor_share_percent"]
    assert (problem.row, problem.column, problem.value) == (2, "tumor_share_percent", "50%")
    assert problem.expected == field.expected() + " (the number without its sign: 50, not 50%)"


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


def test_a_number_of_the_longest_length_still_reads(tmp_path):
    path = tmp_path / "cohort.csv"
    text = "1." + "0" * (MAX_NUMBER_LENGTH - 2)
    assert len(text) == MAX_NUMBER_LENGTH
    path.write_text(f"patient_id,center,perfusion_technique,perfusion_ratio\np1,C01,DSC,{text}\n")
    assert load_cohort(path).table.loc[0, "perfusion_ratio"] == 1.0


def test_problems_are_listed_file_first_then_by_row_then_by_column_order():
    """Within a row (or the file), a problem with no column comes before the columns'."""
    validator = Validator("f.csv", REGISTRY)
    columns = validator.schema.columns
    later, earlier = columns.index("pet_tbr"), columns.index("center")
    assert columns.index("patient_id") == 0 and earlier < later
    for row, column in [
        (3, "patient_id"),
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
        (3, "patient_id"),
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


def several(pid: str, first_row: int) -> str:
    return (
        f"patient '{pid}' has several lesions (already used in row {first_row}), so each needs "
        "its own lesion_id"
    )


def missing_lesion_id(row: int, pid: str, first_row: int) -> tuple:
    return (row, "lesion_id", "", f"a lesion_id: {several(pid, first_row)}")


def repeated_lesion_id(row: int, lesion: str, pid: str, first_row: int) -> tuple:
    return (row, "lesion_id", lesion, f"a lesion_id not used before: {several(pid, first_row)}")


RULES = {
    "a repeated column": (
        "patient_id,center,center",
        ["p1,C01,C01"],
        [(1, "center", None, "each column once (this column is repeated)")],
    ),
    "a required column missing": (
        "patient_id,perfusion_ratio",
        ["p1,2"],
        [
            (1, "center", None, "a required column 'center' (missing)"),
            (
                2,
                "perfusion_technique",
                "",
                "'DSC' or 'ASL' for the Perfusion MRI result in this row",
            ),
        ],
    ),
    "a required cell blank": (
        "patient_id,center",
        ["p1,"],
        [(2, "center", "", "a value (the column is required: center (site) name)")],
    ),
    "no lesion rows": ("patient_id,center", [], [(None, None, None, "at least one lesion row")]),
    "an unknown choice": (
        "patient_id,center,perfusion_technique,perfusion_ratio",
        ["p1,C01,DCE,2"],
        [(2, "perfusion_technique", "DCE", "'DSC' or 'ASL', or blank if missing")],
    ),
    "a missing-word in any case, and a word that is not one": (
        "patient_id,center,headache",
        ["p1,C01,Unknown", "p2,C01,maybe"],
        [(3, "headache", "maybe", "'yes' or 'no' or 'unknown', or blank if missing")],
    ),
    "reference labels": (
        "patient_id,center,reference_diagnosis,reference_source,volume_baseline_ml",
        ["p1,C01,necrosis,,", "p2,C01,,histopathology,", "p3,C01,recurrence,follow_up_scans,3"],
        [
            (
                2,
                "reference_source",
                "",
                "'histopathology', 'follow_up' or 'follow_up_scans' for a lesion with a reference "
                "diagnosis",
            ),
            (
                3,
                "reference_diagnosis",
                "",
                "'recurrence', 'necrosis' or 'mixed' when a reference source is given",
            ),
            (
                4,
                "reference_source",
                "follow_up_scans",
                "'follow_up' or 'histopathology': a label made from the recorded follow-up scans "
                "('follow_up_scans') needs at least one follow-up scan (volume_fu1_ml)",
            ),
        ],
    ),
    "mixed histopathology and its tumour share": (
        "patient_id,center,reference_diagnosis,reference_source,tumor_share_percent",
        [
            "p1,C01,mixed,follow_up,",
            "p2,C01,necrosis,histopathology,20",
            "p3,C01,mixed,histopathology,100",
            "p4,C01,mixed,histopathology,0",
            "p5,C01,mixed,histopathology,1_5",
            "p6,C01,mixed,histopathology,30",
            "p7,C01,mixed,histopathology,",
        ],
        [
            (
                2,
                "reference_source",
                "follow_up",
                "'histopathology' for a 'mixed' diagnosis: only tissue shows tumour and treatment "
                "effect together",
            ),
            (
                3,
                "reference_diagnosis",
                "necrosis",
                "'mixed' when 'tumor_share_percent' is given (the share of tumour in a mixed "
                "specimen)",
            ),
            (
                4,
                "tumor_share_percent",
                "100",
                "a share below 100 for a 'mixed' specimen (all tumour is 'recurrence')",
            ),
            (
                5,
                "tumor_share_percent",
                "0",
                "a number > 0 and <= 100 (share of viable tumour in a mixed specimen, % (of the "
                "tissue the pathologist assessed)); blank if missing",
            ),
            (
                6,
                "tumor_share_percent",
                "1_5",
                "a number > 0 and <= 100 (share of viable tumour in a mixed specimen, % (of the "
                "tissue the pathologist assessed)); blank if missing (no '_' digit grouping: "
                "write 1.5, not 1_5)",
            ),
        ],
    ),
    "a marker's number, read, cutoff and kind": (
        "patient_id,center,perfusion_technique,perfusion_ratio,perfusion_read,perfusion_read_cutoff,"
        "pet_tbr",
        [
            "p1,C01,DSC,2,positive,1.75,",
            "p2,C01,DSC,,positive,,",
            "p3,C01,DSC,,,1.75,",
            "p4,C01,,2,,,",
            "p5,C01,DSC,,,,2.1",
            "p6,C01,DSC,,negative,1.75,",
        ],
        [
            (
                2,
                "perfusion_read",
                "positive",
                "blank when 'perfusion_ratio' is given (give the number or the read, not both)",
            ),
            (3, "perfusion_read_cutoff", "", "the cutoff that 'perfusion_read' used"),
            (4, "perfusion_read", "", "'positive' or 'negative' (a cutoff is given)"),
            (
                5,
                "perfusion_technique",
                "",
                "'DSC' or 'ASL' for the Perfusion MRI result in this row",
            ),
            (
                6,
                "pet_tracer",
                "",
                "'MET' or 'FET' or 'DOPA' or 'FDG' for the PET result in this row",
            ),
        ],
    ),
    "follow-up scans": (
        "patient_id,center,volume_baseline_ml,volume_fu1_ml,interval_fu1_weeks,volume_fu2_ml,"
        "interval_fu2_weeks",
        ["p1,C01,3,4,,,", "p2,C01,3,,6,,", "p3,C01,,4,6,,", "p4,C01,3,,,5,6", "p5,C01,3,4,6,5,6"],
        [
            (2, "interval_fu1_weeks", "", "the interval in weeks for 'volume_fu1_ml'"),
            (3, "volume_fu1_ml", "", "the volume measured after 'interval_fu1_weeks'"),
            (4, "volume_baseline_ml", "", "a value: 'volume_fu1_ml' needs the scan before it"),
            (5, "volume_fu1_ml", "", "a value: 'volume_fu2_ml' needs the scan before it"),
        ],
    ),
    "a patient's lesions": (
        "patient_id,lesion_id,center,mgmt_methylated,months_since_rt",
        ["P1,,C01,yes,9", "P1,,C01,,9", "P2,L1,C01,no,3", "P2,L1,C01,no,3"],
        [
            missing_lesion_id(2, "P1", first_row=2),
            missing_lesion_id(3, "P1", first_row=2),
            (
                3,
                "mgmt_methylated",
                "",
                "'yes' as on row 2: 'mgmt_methylated' belongs to the patient, so every lesion of "
                "patient 'P1' repeats it",
            ),
            repeated_lesion_id(5, "L1", "P2", first_row=4),
        ],
    ),
    "an unreadable cell spares its rules, and the rows after it": (
        "patient_id,center,volume_baseline_ml,volume_fu1_ml,interval_fu1_weeks",
        ["p1,C01,3,4,six", "p2,C01,3,4,"],
        [
            (
                2,
                "interval_fu1_weeks",
                "six",
                "a number > 0 and <= 156 (weeks from the previous scan to follow-up scan 1); "
                "blank if missing",
            ),
            (3, "interval_fu1_weeks", "", "the interval in weeks for 'volume_fu1_ml'"),
        ],
    ),
    "a row without a patient, then a patient's lesions": (
        "patient_id,lesion_id,center",
        [",,C01", "P3,L1,C01", "P3,L2,C01", "P3,L2,C01"],
        [
            (
                2,
                "patient_id",
                "",
                "a value (the column is required: patient identifier; a patient's lesions are on "
                "consecutive rows)",
            ),
            repeated_lesion_id(5, "L2", "P3", first_row=3),
        ],
    ),
    "an unreadable patient value is reported once": (
        "patient_id,lesion_id,center,months_since_rt",
        ["P1,L1,C01,9", "P1,L2,C01,nine"],
        [
            (
                3,
                "months_since_rt",
                "nine",
                "a number >= 0 and <= 600 (months since the end of radiotherapy); blank if missing",
            )
        ],
    ),
    "a small patient value in its shortest form": (
        "patient_id,lesion_id,center,months_since_rt",
        ["P1,L1,C01,0.00001", "P1,L2,C01,0"],
        [
            (
                3,
                "months_since_rt",
                "0",
                "'1e-05' as on row 2: 'months_since_rt' belongs to the patient, so every lesion of "
                "patient 'P1' repeats it",
            )
        ],
    ),
    "a blank patient value first": (
        "patient_id,lesion_id,center,months_since_rt",
        ["P1,L1,C01,", "P1,L2,C01,9"],
        [
            (
                3,
                "months_since_rt",
                "9",
                "blank as on row 2: 'months_since_rt' belongs to the patient, so every lesion of "
                "patient 'P1' repeats it",
            )
        ],
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_reports_its_exact_problem(tmp_path, rule):
    """Row, column, the value found (blank as '') and the words of each cross-column rule."""
    header, rows, expected = RULES[rule]
    found = cohort_problems(tmp_path, header, *rows)
    assert [(p.row, p.column, p.value, p.expected) for p in found] == expected


def test_typed_columns_compare_and_count_as_present_by_their_own_missing_marker():
    """Choices (a -1 code), numbers (NaN) and yes/no or text (NA or None) are missing as such."""
    from model.inputs.validation import _comparable, _present

    choice = pd.Categorical.from_codes([1, -1, 0], categories=["DSC", "ASL"])
    number = np.array([2.5, np.nan, 0.0])
    yesno = pd.array([True, None, False], dtype="boolean")
    text = pd.array(["a", None, "b"], dtype=object)
    index = np.array([0, 1, 2])
    assert _comparable(choice, index) == {0: "ASL", 1: None, 2: "DSC"}
    assert _comparable(number, index) == {0: 2.5, 1: None, 2: 0.0}
    assert _comparable(yesno, index) == {0: True, 1: None, 2: False}
    assert _comparable(text, np.array([2, 1])) == {2: "b", 1: None}
    assert type(_comparable(np.array([1.0]), np.array([0]))[0]) is float
    for values in (choice, number, yesno, text):
        present = _present(values)
        assert present.dtype == bool
        np.testing.assert_array_equal(present, [True, False, True])
