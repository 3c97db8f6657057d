"""Fuzzing the inputs and outputs: patient JSON, cohort CSV, parameter, decision and fit files,
and the tables and terminal lines written from what a user typed.

Never a traceback: every file either loads or raises one InputError whose problems name where the
problem is. Never a silent misread: a number cell loads only if it is written as a plain number.
Never an unsafe output: no CSV cell a spreadsheet would run, no raw escape sequence. CI runs a short
form; ``RNBAYES_FUZZ=full`` runs 10,000 examples per target (fit files: 1,000).
"""

import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.core.errors import InputError
from model.core.files import bundled
from model.core.numbers import NUMBER, SPACE
from model.decision.parameters import load_decision_parameters
from model.inputs.parameters import bundled_registry, load_parameters
from model.inputs.reading import load_cohort, load_patient
from model.inputs.schema import schema_for

COLUMNS = schema_for(bundled_registry()).columns

pytestmark = pytest.mark.slow
EXAMPLES = 10_000 if os.environ.get("RNBAYES_FUZZ") == "full" else 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FILE_LEVEL = (
    "a readable file",
    "UTF-8",
    "valid UTF-8 JSON",
    "valid TOML",
    "a text CSV file",
    "well-formed CSV",
    "a header row",
    "comma-separated",
    "at least one lesion row",
    "an object with the cohort fields",
    "a number or null (NaN and Infinity are not JSON)",
    "objects and arrays nested",
    "one patient's JSON object",
)

# What careless or hostile hands put into cells: digit grouping, other scripts' digits, NaN
# literals, spreadsheet formulas, rich markup and terminal escape sequences.
HOSTILE = [
    "1_5",
    "1_000.5",
    "١٫٥",
    "１.５",
    "inf",
    "NaN",
    "1e400",
    "9" * 60,
    '=HYPERLINK("http://example.invalid")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-1+2",
    "[/]",
    "[link=http://example.invalid]x[/link]",
    "\x1b[2J",
    "p\x1b]8;;http://example.invalid\x07",
    "a\u202eb",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE), st.text(max_size=4)),
    st.text(st.characters(categories=["Nd", "Pc", "Cc", "Cf", "Sm"]), min_size=1, max_size=6),
)

scalars = st.one_of(
    hostile_text,
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(string.printable, max_size=12),
    st.sampled_from(
        [
            "yes",
            "no",
            "unknown",
            "DSC",
            "ASL",
            "MET",
            "FET",
            "DOPA",
            "positive",
            "negative",
            "recurrence",
            "necrosis",
            "histopathology",
            "follow_up",
            "",
        ]
    ),
)
keys = st.one_of(
    st.sampled_from(COLUMNS), st.text(string.ascii_lowercase + "_", min_size=1, max_size=15)
)


def located(problem) -> bool:
    """A problem names its place: a row or column, or it concerns the whole file."""
    return (
        problem.row is not None
        or problem.column is not None
        or problem.expected.startswith(FILE_LEVEL)
    )


NUMBER_COLUMNS = [f.name for f in schema_for(bundled_registry()).fields if f.kind == "number"]


def assert_numbers_as_written(table, written: dict) -> None:
    """Every number loaded came from a plain number (no 1_5 read as 15, no NaN as missing)."""
    for column in NUMBER_COLUMNS:
        literal = str(written.get(column) or "").strip(SPACE)
        if literal:
            assert NUMBER.fullmatch(literal), (column, literal)
            assert table.loc[0, column] == float(literal)


@given(
    document=st.one_of(
        st.dictionaries(keys, scalars, max_size=12), st.lists(scalars, max_size=3), scalars
    )
)
@FUZZ
def test_patient_json(tmp_path, document):
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(document))
    try:
        cohort = load_patient(path)
    except InputError as error:
        assert error.problems and all(located(p) for p in error.problems)
    else:
        written = {
            k: v if isinstance(v, str) else json.dumps(v)
            for k, v in document.items()
            if v is not None and not isinstance(v, bool)
        }
        assert_numbers_as_written(cohort.table, written)


json_literals = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1_5", "1e400", "9" * 400, "12", "1.50"]),
    st.builds(json.dumps, scalars),
)


@given(
    pairs=st.lists(st.tuples(st.sampled_from(COLUMNS[:12]), json_literals), min_size=1, max_size=8)
)
@FUZZ
def test_raw_patient_json_with_repeated_keys_and_odd_literals(tmp_path, pairs):
    """JSON text written by hand: repeated keys, NaN and Infinity, numbers beyond a double."""
    text = "{" + ", ".join(f'"{k}": {v}' for k, v in pairs) + "}"
    path = tmp_path / "patient.json"
    path.write_text(text)
    keys = [k for k, _ in pairs]
    try:
        load_patient(path)
    except InputError as error:
        assert error.problems and all(located(p) for p in error.problems)
    else:
        assert len(set(keys)) == len(keys), "a repeated key was accepted"
        assert not any(v in ("NaN", "Infinity", "-Infinity") for _, v in pairs)


@given(
    rows=st.lists(
        st.dictionaries(st.sampled_from(COLUMNS), scalars, min_size=1, max_size=10),
        min_size=1,
        max_size=6,
    )
)
@FUZZ
def test_cohort_csv_of_random_cells(tmp_path, rows):
    columns = sorted({k for row in rows for k in row})
    lines = [",".join(columns)] + [
        ",".join(json.dumps(row.get(c, ""))[:20].replace(",", ";") for c in columns) for row in rows
    ]
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_cohort(path)
    except InputError as error:
        assert error.problems and all(located(p) for p in error.problems)


@given(cell=hostile_text, column=st.sampled_from(NUMBER_COLUMNS))
@FUZZ
def test_hostile_number_cells_are_never_read_as_numbers(tmp_path, cell, column):
    path = tmp_path / "cohort.csv"
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["patient_id", "center", column], ["p", "C01", cell]])
    try:
        cohort = load_cohort(path)
    except InputError as error:
        assert error.problems and all(located(p) for p in error.problems)
    else:
        assert_numbers_as_written(cohort.table, {column: cell})


ODD_TOML_VALUES = ["-1", "0", "1e9", "nan", "true", '"x"', "[1, 2]", "0.5"]


def mutate_toml(text: str, data) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["value", "delete", "duplicate", "garbage"]))
        if action == "value" and "=" in lines[i]:
            key = lines[i].split("=")[0]
            value = data.draw(st.sampled_from(ODD_TOML_VALUES))
            lines[i] = f"{key}= {value}"
        elif action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        else:
            lines[i] = data.draw(st.text(string.printable, max_size=20))
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("name", "load"),
    [("parameters.toml", load_parameters), ("decision.toml", load_decision_parameters)],
)
@given(data=st.data())
@FUZZ
def test_parameter_files(tmp_path, name, load, data):
    path = tmp_path / name
    path.write_text(mutate_toml(bundled(name).read_text(), data))
    try:
        load(path)
    except InputError as error:
        assert error.problems and all(located(p) for p in error.problems)


@pytest.fixture(scope="module")
def fit_for_outputs():
    from model.fitting.sampling import load_fit

    return load_fit(bundled("fit.nc"))


@given(patient_id=hostile_text, center=hostile_text)
@FUZZ
def test_outputs_from_hostile_ids_are_safe(fit_for_outputs, patient_id, center):
    """Predictions for lesions named by hostile text: no formula cell, no raw escape sequence."""
    import csv
    import io

    from rich.console import Console

    from model.core.console import frame_table
    from model.core.outputs import FORMULA_STARTS, csv_text
    from model.scoring.predict import predict

    record = {"patient_id": patient_id, "center": center, "perfusion_technique": "DSC"}
    try:
        table = predict(fit_for_outputs, {**record, "perfusion_ratio": 1.5})
    except InputError as error:
        assert error.problems and all(located(p) for p in error.problems)
        return
    for row in csv.reader(io.StringIO(csv_text(table))):
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
    out = io.StringIO()
    Console(file=out, width=200, markup=False).print(
        frame_table("p", table.set_index("patient_id"))
    )
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()


def edit_at(document, data):
    """Set, delete or retype one entry somewhere in a nested provenance document."""
    target = document
    while True:
        key = data.draw(st.sampled_from(sorted(target)))
        child = target[key]
        if isinstance(child, dict) and child and data.draw(st.booleans()):
            target = child
            continue
        action = data.draw(st.sampled_from(["delete", "scalar", "list"]))
        if action == "delete":
            del target[key]
        elif action == "scalar":
            target[key] = data.draw(st.one_of(st.none(), st.integers(), st.text(max_size=5)))
        else:
            target[key] = [child]
        return document


@pytest.fixture(scope="module")
def fit_file_text():
    import xarray as xr

    with xr.open_datatree(bundled("fit.nc"), engine="h5netcdf") as tree:
        return json.loads(tree.attrs["rnbayes"])


@given(data=st.data())
@settings(
    max_examples=1_000 if EXAMPLES > 200 else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_edited_fit_provenance_is_refused(tmp_path, fit_file_text, data):
    """Any edit of a fit's provenance is refused as bad input, never a crash or a silent use."""
    import copy

    import xarray as xr

    from model.fitting.sampling import load_fit

    document = edit_at(copy.deepcopy(fit_file_text), data)
    tree = xr.open_datatree(bundled("fit.nc"), engine="h5netcdf").load()
    tree.attrs["rnbayes"] = json.dumps(document)
    path = tmp_path / "edited.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(InputError) as info:
        load_fit(path)
    assert all(p.file == "edited.nc" for p in info.value.problems)
