"""Fuzzing the inputs: patient JSON, cohort CSV, parameter and decision files.

Never a traceback: every file either loads or raises one InputError whose problems name where the
problem is. CI runs a short form; ``RNBAYES_FUZZ=full`` runs 10,000 examples per target.
"""

import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.core.errors import InputError
from model.core.files import bundled
from model.decision.parameters import load_decision_parameters
from model.inputs.parameters import bundled_registry, load_parameters
from model.inputs.schema import load_cohort, load_patient, schema_for

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
)

scalars = st.one_of(
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
        load_patient(path)
    except InputError as error:
        assert error.problems and all(located(p) for p in error.problems)


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
