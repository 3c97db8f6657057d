"""Nothing a spreadsheet or Python would "helpfully" reinterpret is read as a number or an id.

The exact cases of the hostile-input sweep (digit grouping, Unicode digits, NaN and duplicate keys
in JSON, numeric ids, very long numbers), then their families through hypothesis: every string
Python's float() accepts but the strict grammar does not is refused with its row and column.
"""

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.core.errors import InputError
from model.core.numbers import NUMBER, parse_number
from model.inputs.parameters import bundled_registry
from model.inputs.reading import cohort_from_records, load_cohort, load_patient
from model.inputs.schema import schema_for

COLUMNS = schema_for(bundled_registry()).columns
BASE = {"patient_id": "p1", "center": "C01", "perfusion_technique": "DSC"}


def csv_problems(tmp_path, column, text):
    header = ["patient_id", "center", "perfusion_technique", column]
    cells = ["p1", "C01", "DSC", text]
    path = tmp_path / "c.csv"
    path.write_text(",".join(header) + "\n" + ",".join(cells) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_cohort(path)
    return info.value.problems


def json_problems(tmp_path, text):
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_patient(path)
    return info.value.problems


@pytest.mark.parametrize(
    "text",
    [
        "1_5",  # float("1_5") == 15.0
        "1_000",
        "١٫٥",  # Arabic-Indic digits and decimal separator
        "١",
        "１.５",  # full-width
        "1.５",
        "inf",
        "-Infinity",
        "nan",
        "0x1p0",
        "1e400",  # overflows to inf
        "1" * 400,
        " 1.5e",
        "1.5.2",
        "1e",
        "1e5000",
        "\xa01.5",  # a no-break space is not trimmed away
        "1.5\u2007",
        "\x85",  # NEL alone: an error, not a blank cell
    ],
)
@pytest.mark.parametrize("column", ["perfusion_ratio", "months_since_rt"])
def test_csv_numbers_are_ascii_digits_only(tmp_path, column, text):
    problems = csv_problems(tmp_path, column, text)
    assert [(p.row, p.column) for p in problems] == [(2, column)]
    assert problems[0].value == text.strip(" \t")


def test_digit_grouping_and_unicode_digits_are_explained(tmp_path):
    (grouped,) = csv_problems(tmp_path, "perfusion_ratio", "1_5")
    assert "digit grouping" in grouped.expected
    (arabic,) = csv_problems(tmp_path, "perfusion_ratio", "١٫٥")
    assert "ASCII digits" in arabic.expected


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.5", 1.5), ("+2", 2.0), (".5", 0.5), ("5.", 5.0), ("1e-1", 0.1), ("2E+1", 20.0)],
)
def test_ordinary_numbers_still_load(tmp_path, text, value):
    path = tmp_path / "c.csv"
    path.write_text(f"patient_id,center,perfusion_technique,perfusion_ratio\np,C,DSC,{text}\n")
    assert load_cohort(path).table.loc[0, "perfusion_ratio"] == value


@pytest.mark.parametrize("literal", ['"1_5"', '"١٫٥"', '"inf"', '"nan"'])
def test_json_strings_follow_the_same_rules(tmp_path, literal):
    text = json.dumps(BASE)[:-1] + f', "perfusion_ratio": {literal}}}'
    (problem,) = json_problems(tmp_path, text)
    assert problem.column == "perfusion_ratio"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_refused_not_missing(tmp_path, literal):
    text = json.dumps(BASE)[:-1] + f', "perfusion_ratio": {literal}}}'
    (problem,) = json_problems(tmp_path, text)
    assert problem.value == literal and "not JSON" in problem.expected


def test_json_duplicate_keys_are_refused(tmp_path):
    text = '{"patient_id": "p1", "center": "C01", "perfusion_ratio": 1.2, "perfusion_ratio": 3}'
    (problem,) = json_problems(tmp_path, text)
    assert problem.column == "perfusion_ratio" and "repeated" in problem.expected


def test_a_lone_surrogate_escape_is_refused_not_a_crash(tmp_path):
    # json.loads decodes "\ud800" into a string that no file or page can hold.
    text = '{"patient_id": "p\\ud800", "center": "C01"}'
    (problem,) = json_problems(tmp_path, text)
    assert problem.column == "patient_id" and "surrogate" in problem.expected


@pytest.mark.parametrize(("key", "value"), [("patient_id", 12), ("center", 3), ("center", 3.0)])
def test_json_ids_and_centers_must_be_strings(tmp_path, key, value):
    document = {**BASE, key: value}
    problems = json_problems(tmp_path, json.dumps(document))
    assert [p.column for p in problems] == [key]


def test_json_numbers_keep_their_literal(tmp_path):
    """A 400-digit JSON number is an error, not an OverflowError; 1.50 is 1.5."""
    text = json.dumps(BASE)[:-1] + ', "perfusion_ratio": ' + "9" * 400 + "}"
    (problem,) = json_problems(tmp_path, text)
    assert problem.column == "perfusion_ratio"
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(BASE)[:-1] + ', "perfusion_ratio": 1.50}')
    assert load_patient(path).table.loc[0, "perfusion_ratio"] == 1.5


def test_json_nesting_and_size_are_bounded(tmp_path):
    deep = json.dumps(BASE)[:-1] + ', "notes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (problem,) = json_problems(tmp_path, deep)
    assert "nested" in problem.expected
    big = json.dumps({**BASE, "pad": "x" * 2_000_000})
    (problem,) = json_problems(tmp_path, big)
    assert "bytes" in problem.expected


def test_in_memory_integer_ids_are_read_as_written_and_huge_numbers_refused():
    cohort = cohort_from_records({"patient_id": 12, "center": "C01"})
    assert cohort.table.loc[0, "patient_id"] == "12"
    with pytest.raises(InputError) as info:
        cohort_from_records({**BASE, "perfusion_ratio": 10**400})
    assert [p.column for p in info.value.problems] == ["perfusion_ratio"]


def python_float_only(text: str) -> bool:
    """Strings Python's float() reads that the strict grammar refuses."""
    try:
        float(text)
    except ValueError:
        return False
    return NUMBER.fullmatch(text.strip()) is None


digits = st.sampled_from("0123456789")
unicode_digits = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())
number_like = st.lists(
    st.one_of(digits, unicode_digits, st.sampled_from(["_", ".", "e", "-", "+"])),
    min_size=1,
    max_size=8,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=number_like)
def test_anything_float_reads_but_the_grammar_refuses_is_an_error(text):
    value = parse_number(text)
    if python_float_only(text):
        assert value is None
    elif value is not None:
        assert value == float(text) and text.isascii() and "_" not in text


@settings(max_examples=100, deadline=None)
@given(text=number_like.filter(python_float_only))
def test_every_such_cell_is_reported_with_row_and_column(tmp_path_factory, text):
    tmp_path = tmp_path_factory.mktemp("cells")
    problems = csv_problems(tmp_path, "perfusion_ratio", text)
    assert [(p.row, p.column) for p in problems] == [(2, "perfusion_ratio")]


@settings(max_examples=50, deadline=None)
@given(key=st.sampled_from(COLUMNS), first=st.text(string.digits, min_size=1, max_size=3))
def test_every_repeated_json_key_is_refused(tmp_path_factory, key, first):
    tmp_path = tmp_path_factory.mktemp("keys")
    text = '{"patient_id": "p1", "center": "C01", ' + f'"{key}": "{first}", "{key}": "{first}"}}'
    problems = json_problems(tmp_path, text)
    assert any(p.column == key and "repeated" in p.expected for p in problems)
