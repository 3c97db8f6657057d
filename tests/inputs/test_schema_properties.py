"""Property tests: corrupting a valid cohort file always gives one InputError that names the
row and column, never a traceback and never a partial load."""

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.core.errors import InputError
from model.inputs.parameters import bundled_registry
from model.inputs.reading import load_cohort
from model.inputs.schema import schema_for

FIELD_BY_NAME = schema_for(bundled_registry()).by_name

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

NUMERIC = [f.name for f in FIELD_BY_NAME.values() if f.kind == "number"]
CHOICE = [f.name for f in FIELD_BY_NAME.values() if f.kind in {"choice", "yesno"}]
WORDS = st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True)


def parse(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def render(header, rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def set_cell(rows, header, r, column, value):
    """Write a cell, adding its column (blank elsewhere) where the file lacks it: a canonical
    file leaves out the radiology-category columns when they are blank throughout."""
    if column not in header:
        header.append(column)
        for row in rows:
            row.append("")
    rows[r][header.index(column)] = value


@st.composite
def corruption(draw, text):
    """A corrupted file and the (row, column) that must be reported."""
    header, rows = parse(text)
    r = draw(st.integers(0, len(rows) - 1))
    kind = draw(
        st.sampled_from(
            [
                "not_a_number",
                "out_of_range",
                "bad_word",
                "duplicate_id",
                "read_without_cutoff",
                "volume_without_interval",
                "label_without_source",
                "misspelt_column",
                "ragged",
            ]
        )
    )
    spreadsheet_row = r + 2
    if kind == "not_a_number":
        column = draw(st.sampled_from(NUMERIC))
        set_cell(rows, header, r, column, draw(WORDS))
    elif kind == "out_of_range":
        column = draw(st.sampled_from(NUMERIC))
        field = FIELD_BY_NAME[column]
        value = draw(
            st.one_of(
                st.floats(-1e6, field.low, exclude_max=not field.low_inclusive),
                st.floats(field.high, 1e9, exclude_min=True),
            )
        )
        if field.low_inclusive and value == field.low:
            value = field.low - 1
        set_cell(rows, header, r, column, repr(value))
    elif kind == "bad_word":
        column = draw(st.sampled_from(CHOICE))
        field = FIELD_BY_NAME[column]
        allowed = {w.lower() for w in (*field.choices, *field.missing_words)}
        word = draw(WORDS.filter(lambda w: w.lower() not in allowed))
        set_cell(rows, header, r, column, word)
    elif kind == "duplicate_id":  # an id used again further down, after other patients
        other = draw(
            st.integers(0, len(rows) - 1).filter(
                lambda o: o != r and rows[max(r, o) - 1][0] != rows[min(r, o)][0]
            )
        )
        set_cell(rows, header, max(r, other), "patient_id", rows[min(r, other)][0])
        spreadsheet_row, column = max(r, other) + 2, "patient_id"
    elif kind == "read_without_cutoff":
        prefix = draw(st.sampled_from(["perfusion", "pet"]))
        kind_col = "perfusion_technique" if prefix == "perfusion" else "pet_tracer"
        value_col = "perfusion_ratio" if prefix == "perfusion" else "pet_tbr"
        set_cell(rows, header, r, kind_col, "DSC" if prefix == "perfusion" else "FET")
        set_cell(rows, header, r, value_col, "")
        set_cell(rows, header, r, f"{prefix}_read", "positive")
        set_cell(rows, header, r, f"{prefix}_read_cutoff", "")
        column = f"{prefix}_read_cutoff"
    elif kind == "volume_without_interval":
        set_cell(rows, header, r, "volume_baseline_ml", "3.0")
        set_cell(rows, header, r, "volume_fu1_ml", "4.0")
        set_cell(rows, header, r, "interval_fu1_weeks", "")
        column = "interval_fu1_weeks"
    elif kind == "label_without_source":
        set_cell(
            rows,
            header,
            r,
            "reference_diagnosis",
            draw(st.sampled_from(["recurrence", "necrosis"])),
        )
        set_cell(rows, header, r, "reference_source", "")
        column = "reference_source"
    elif kind == "misspelt_column":
        c = draw(st.integers(0, len(header) - 1))
        header[c] = header[c] + draw(st.sampled_from(["_", "x", "s"]))
        spreadsheet_row, column = 1, header[c]
    else:  # ragged
        rows[r] = rows[r][:-1]
        column = None
    return render(header, rows), (spreadsheet_row, column)


@pytest.fixture(scope="module")
def base_text():
    from model.checks.simulation import simulate

    return simulate(20, 3, seed=11)[0].to_csv_text()


@given(data=st.data())
@SETTINGS
def test_corruption_is_reported_with_row_and_column(tmp_path, base_text, data):
    text, expected = data.draw(corruption(base_text))
    path = tmp_path / "corrupt.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_cohort(path)
    places = [(p.row, p.column) for p in info.value.problems]
    assert expected in places
    assert all(p.file == "corrupt.csv" for p in info.value.problems)


def mutate(text: str, edits) -> bytes:
    data = bytearray(text.encode())
    for position, action, payload in edits:
        if not data:
            break
        i = position % len(data)
        if action == "delete":
            del data[i : i + len(payload) + 1]
        elif action == "insert":
            data[i:i] = payload
        else:
            data[i : i + len(payload)] = payload
    return bytes(data)


EDITS = st.lists(
    st.tuples(
        st.integers(0, 10**6),
        st.sampled_from(["delete", "insert", "replace"]),
        st.binary(min_size=1, max_size=4)
        | st.sampled_from([b",", b"\n", b'"', b"\x00", b"-", b"\xff"]),
    ),
    min_size=1,
    max_size=6,
)


@given(edits=EDITS)
@SETTINGS
def test_random_mutation_never_tracebacks_or_half_loads(tmp_path, base_text, edits):
    content = mutate(base_text, edits)
    path = tmp_path / "mutated.csv"
    path.write_bytes(content)
    try:
        cohort = load_cohort(path)
    except InputError as error:
        assert error.problems and all(p.file == "mutated.csv" for p in error.problems)
        return
    lines = [r for r in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))][1:]
    assert len(cohort) == sum(1 for r in lines if any(c.strip() for c in r))
