"""Reading FHIR Bundles back into the patient format: every broken Bundle is refused with the
file and the entry named, never a traceback."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import DATA

from model.cli import main
from model.core.errors import InputError
from model.inputs.fhir import LOCAL_SYSTEM, load_fhir_bundles

PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:rnbayes:patient", "value": "P1"}],
}
CENTER = {
    "resourceType": "Organization",
    "identifier": [{"system": "urn:rnbayes:center", "value": "C07"}],
}


def _observation(code: str, **value) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOCAL_SYSTEM, "code": code}]},
        **value,
    }


def _bundle(*observations) -> dict:
    resources = [PATIENT, CENTER, *observations]
    entries = [{"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{i}", "resource": r}
               for i, r in enumerate(resources)]  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


GOOD = _bundle(
    _observation("perfusion_technique", valueString="DSC"),
    _observation(
        "perfusion_ratio",
        valueQuantity={"value": 2.2, "system": "http://unitsofmeasure.org", "code": "1"},
    ),  # fmt: skip
    _observation("headache", valueBoolean=True),
)


def _problems(tmp_path, document) -> list:
    path = tmp_path / "bundle.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(InputError) as caught:
        load_fhir_bundles([path])
    return caught.value.problems


def test_a_hand_written_bundle_reads_as_a_patient(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(GOOD))
    table = load_fhir_bundles([path]).table
    row = table.iloc[0]
    assert (row["patient_id"], row["center"], row["perfusion_technique"]) == ("P1", "C07", "DSC")
    assert row["perfusion_ratio"] == 2.2 and bool(row["headache"]) is True


def test_an_unknown_code_names_its_entry(tmp_path):
    document = copy.deepcopy(GOOD)
    document["entry"][3]["resource"]["code"]["coding"][0]["code"] = "rcbv"
    (problem,) = _problems(tmp_path, document)
    assert (problem.file, problem.column) == ("bundle.json", "entry[3].resource.code")
    assert problem.value == "rcbv"


def test_a_wrong_unit_is_refused_not_converted(tmp_path):
    document = copy.deepcopy(GOOD)
    document["entry"][3]["resource"]["valueQuantity"]["code"] = "%"
    (problem,) = _problems(tmp_path, document)
    assert problem.column == "entry[3].resource.valueQuantity.code" and problem.value == "%"


def test_a_number_sent_as_text_is_refused(tmp_path):
    document = copy.deepcopy(GOOD)
    resource = document["entry"][3]["resource"]
    del resource["valueQuantity"]
    resource["valueString"] = "1_5"
    (problem,) = _problems(tmp_path, document)
    assert problem.column == "entry[3].resource.valueQuantity" and problem.value == "valueString"


def test_invalid_fhir_and_non_bundles_are_refused_with_the_place(tmp_path):
    document = copy.deepcopy(GOOD)
    document["entry"][2]["resource"]["subject"] = "Patient/P1"  # a Reference is an object
    problems = _problems(tmp_path, document)
    assert any("entry[2]" in (p.column or "") and "FHIR R4B" in p.expected for p in problems)
    (problem,) = _problems(tmp_path, {"resourceType": "Patient"})
    assert problem.column == "resourceType" and "Bundle" in problem.expected
    (problem,) = _problems(tmp_path, "{not json")
    assert "JSON" in problem.expected


def test_values_are_checked_as_any_patient_files(tmp_path):
    document = copy.deepcopy(GOOD)
    document["entry"][3]["resource"]["valueQuantity"]["value"] = -1
    (problem,) = _problems(tmp_path, document)
    assert problem.column == "perfusion_ratio"


def test_cli_exits_two_without_a_traceback(tmp_path, capsys):
    document = copy.deepcopy(GOOD)
    document["entry"][3]["resource"]["code"]["coding"][0]["code"] = "rcbv"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    assert main(["predict", str(DATA / "fit.nc"), "--fhir-in", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "entry[3].resource.code" in err and "Traceback" not in err


def _edited(edit) -> dict:
    document = copy.deepcopy(GOOD)
    edit(document)
    return document


def _quantity(document) -> dict:
    return document["entry"][3]["resource"]["valueQuantity"]


@pytest.mark.parametrize(
    ("edit", "column"),
    [
        (lambda d: d.update(entry=None), "entry"),  # then no Patient
        (lambda d: d["entry"][0].update(resource=None), "entry[0].resource"),
        (lambda d: d.update(type="searchset"), "type"),
        (lambda d: d["entry"][3]["resource"].update(status="entered-in-error"),
         "entry[3].resource.status"),
        (lambda d: d["entry"][3]["resource"].update(code=None), "entry[3].resource.code"),
        (lambda d: d["entry"][3]["resource"].update(dataAbsentReason={"text": "x"}),
         "entry[3].resource.dataAbsentReason"),
        (lambda d: _quantity(d).update(comparator="<"),
         "entry[3].resource.valueQuantity.comparator"),
        (lambda d: _quantity(d).update(system="http://example.org"),
         "entry[3].resource.valueQuantity.system"),
        (lambda d: _quantity(d).update(value="2.2"), "entry[3].resource.valueQuantity.value"),
        (lambda d: d["entry"][4]["resource"].update(valueBoolean="yes"),
         "entry[4].resource.valueBoolean"),
        (lambda d: d["entry"][4]["resource"]["code"]["coding"].append(
            {"system": "http://snomed.info/sct", "code": "91175000"}), "entry[4].resource.code"),
        (lambda d: d["entry"].append(copy.deepcopy(d["entry"][1])), "entry"),  # two centers
        (lambda d: d["entry"][0]["resource"]["identifier"].append(
            {"system": "urn:rnbayes:patient", "value": "P2"}), "entry[0].resource.identifier"),
    ],
)  # fmt: skip
def test_what_fhir_allows_but_would_change_a_value_is_refused(tmp_path, edit, column):
    problems = _problems(tmp_path, _edited(edit))
    assert column in [p.column for p in problems]


def test_a_value_problem_names_its_bundle(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(GOOD))
    bad.write_text(json.dumps(_edited(lambda d: _quantity(d).update(value=99))))
    with pytest.raises(InputError) as caught:
        load_fhir_bundles([good, bad])
    (problem,) = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("bad.json", None, "perfusion_ratio")
