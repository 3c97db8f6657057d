"""FHIR R4 Bundles: valid R4B resources for every example lesion, the RiskAssessment on the
model's numbers with its basis, the report as a presentedForm, and the exact round trip."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import DATA
from fhir.resources.R4B.bundle import Bundle

from model.cli import main
from model.decision.parameters import load_decision_parameters
from model.decision.value import decide
from model.inputs.fhir import LOCAL_SYSTEM, SNOMED, load_fhir_bundles
from model.inputs.reading import load_cohort
from model.report.fhir import write_bundles
from model.report.patient import ReportFiles
from model.scoring.predict import predict

EXAMPLES = DATA / "patients_example.csv"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Stand-ins for the report pages (rendering them is the report tests' business)."""
    folder = tmp_path_factory.mktemp("pages")
    paths = []
    for i in range(len(load_cohort(EXAMPLES))):
        path = folder / f"{i}.html"
        path.write_text(f"<!doctype html><p>report {i} &amp; more</p>", encoding="utf-8")
        paths.append(path)
    return paths


def _report(fit, patients, pages) -> ReportFiles:
    """What ``rnbayes report`` hands the Bundles, with stand-in pages."""
    decisions = decide(fit, patients, load_decision_parameters())
    return ReportFiles(pages[0], pages, [], [], predict(fit, patients), decisions)


@pytest.fixture(scope="module")
def bundles(bundled_fit, pages, tmp_path_factory):
    out = tmp_path_factory.mktemp("fhir") / "bundles"
    report = _report(bundled_fit, EXAMPLES, pages)
    return write_bundles(bundled_fit, EXAMPLES, out, report=report)


def _resources(path, kind: str) -> list[dict]:
    document = json.loads(path.read_text())
    return [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == kind]


def test_every_example_lesion_gets_a_valid_r4_bundle(bundles):
    assert len(bundles) == len(load_cohort(EXAMPLES))
    for path in bundles:
        document = json.loads(path.read_text())
        Bundle.model_validate(document)  # raises on any invalid resource
        kinds = [e["resource"]["resourceType"] for e in document["entry"]]
        assert kinds.count("RiskAssessment") == kinds.count("DiagnosticReport") == 1
        assert kinds.count("Patient") == 1 and kinds.count("Observation") >= 3
        urls = [e["fullUrl"] for e in document["entry"]]
        assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)


def test_risk_assessment_is_the_models_probability_on_every_input(bundled_fit, bundles):
    expected = predict(bundled_fit, EXAMPLES)
    for path, (_, row) in zip(bundles, expected.iterrows(), strict=True):
        document = json.loads(path.read_text())
        observations = {
            e["fullUrl"]
            for e in document["entry"]
            if e["resource"]["resourceType"] == "Observation"
        }
        (risk,) = _resources(path, "RiskAssessment")
        (prediction,) = risk["prediction"]
        assert prediction["probabilityDecimal"] == row["p_recurrence"]
        assert f"{row['ci_low']:.3f} to {row['ci_high']:.3f}" in prediction["rationale"]
        assert {b["reference"] for b in risk["basis"]} == observations
        assert "not a diagnosis" in risk["note"][0]["text"]
        assert "synthetic" in risk["note"][0]["text"]


def test_report_travels_as_html_and_the_inputs_carry_their_codes(bundles, pages):
    (report,) = _resources(bundles[0], "DiagnosticReport")
    (form,) = report["presentedForm"]
    assert form["contentType"] == "text/html"
    assert base64.b64decode(form["data"]).decode() == pages[0].read_text()
    assert "recommended:" in report["conclusion"]
    codes = {}
    for observation in _resources(bundles[0], "Observation"):
        coding = observation["code"]["coding"]
        local = [c["code"] for c in coding if c["system"] == LOCAL_SYSTEM]
        codes[local[0]] = (coding, observation)
    # EX1 has a headache: SNOMED CT 25064002 beside the local code.
    headache_coding, headache = codes["headache"]
    assert {"system": SNOMED, "code": "25064002", "display": "Headache"} in headache_coding
    assert headache["valueBoolean"] is True
    _, perfusion = codes["perfusion_ratio"]
    assert perfusion["valueQuantity"] == {
        "value": 3.4, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1",
    }  # fmt: skip
    assert "reference_diagnosis" not in codes and "patient_id" not in codes


def test_round_trip_reproduces_every_probability_exactly(bundled_fit, bundles):
    before = predict(bundled_fit, EXAMPLES)
    after = predict(bundled_fit, load_fhir_bundles(bundles))
    assert after["p_recurrence"].tolist() == before["p_recurrence"].tolist()
    assert after["patient_id"].tolist() == before["patient_id"].tolist()
    assert after["lesion_id"].fillna("").tolist() == before["lesion_id"].fillna("").tolist()


def test_the_same_fit_and_lesion_give_the_same_identifiers(bundled_fit, bundles, pages, tmp_path):
    first_two = load_cohort(EXAMPLES).subset(slice(0, 2))
    report = _report(bundled_fit, first_two, pages[:2])
    again = write_bundles(bundled_fit, first_two, tmp_path / "again", report=report)
    for first, second in zip(bundles[:2], again, strict=True):
        urls = [e["fullUrl"] for e in json.loads(first.read_text())["entry"]]
        assert urls == [e["fullUrl"] for e in json.loads(second.read_text())["entry"]]


def test_cli_writes_bundles_and_reads_them_back(tmp_path, capsys):
    patient = {"patient_id": "P<1>", "center": "C07", "perfusion_technique": "DSC",
               "perfusion_ratio": 1.6, "headache": "yes", "months_since_rt": 9}  # fmt: skip
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient))
    out = tmp_path / "fhir"
    fit = str(DATA / "fit.nc")
    assert main(["predict", fit, str(path), "--fhir", str(out), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["predictions"][0]["p_recurrence"]
    (bundle,) = sorted(out.glob("*.json"))
    (report,) = _resources(bundle, "DiagnosticReport")
    html = base64.b64decode(report["presentedForm"][0]["data"]).decode()
    assert "P&lt;1&gt;" in html and "P<1>" not in html  # the real report page, escaped
    assert main(["predict", fit, "--fhir-in", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"][0]["p_recurrence"] == written


def test_cli_wants_a_patients_file_or_bundles_not_both(tmp_path, capsys):
    fit = str(DATA / "fit.nc")
    assert main(["predict", fit]) == 2
    assert "--fhir-in" in capsys.readouterr().err
    assert main(["predict", fit, str(EXAMPLES), "--fhir-in", str(tmp_path / "b.json")]) == 2
    assert "both" in capsys.readouterr().err


def test_decide_and_report_write_the_same_bundles(tmp_path, capsys):
    patient = {"patient_id": "P2", "center": "C03", "perfusion_technique": "DSC",
               "perfusion_ratio": 2.4, "pet_tracer": "FET", "pet_tbr": 2.6}  # fmt: skip
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient))
    fit = str(DATA / "fit.nc")
    assert main(["decide", fit, str(path), "--json", "--fhir", str(tmp_path / "d")]) == 0
    action = json.loads(capsys.readouterr().out)["decisions"][0]["recommendation"]
    (decided,) = (tmp_path / "d").glob("*.json")
    (report,) = _resources(decided, "DiagnosticReport")
    assert f"recommended: {action}." in report["conclusion"]
    pages, bundles = str(tmp_path / "r"), str(tmp_path / "f")
    assert main(["report", fit, str(path), "--out", pages, "--fhir", bundles]) == 0
    (page,) = (tmp_path / "r").glob("001_*.html")
    (bundle,) = (tmp_path / "f").glob("*.json")
    (reported,) = _resources(bundle, "DiagnosticReport")
    assert base64.b64decode(reported["presentedForm"][0]["data"]).decode() == page.read_text()
