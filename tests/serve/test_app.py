"""The live page's answers (Flask test client): the scorer's own numbers, inline messages for
bad values, what-ifs that move the probability the right way, uploads, reports, and headers
that keep the page on this machine."""

from __future__ import annotations

import math

import pytest
from conftest import DATA

from model.decision.parameters import load_decision_parameters
from model.scoring.predict import predict
from model.serve.answers import LiveScorer
from model.serve.app import create_app

LESION = {"patient_id": "EX3", "center": "C03", "perfusion_technique": "DSC",
          "perfusion_ratio": "1.4", "headache": "no", "months_since_rt": "8",
          "volume_prior_ml": "3.0", "volume_baseline_ml": "4.0"}  # fmt: skip


@pytest.fixture(scope="module")
def scorer(bundled_fit):
    return LiveScorer(bundled_fit, load_decision_parameters())


@pytest.fixture(scope="module")
def client(scorer):
    return create_app(scorer).test_client()


def _answer(client, record, what_if=None):
    return client.post("/api/answer", json={"record": record, "what_if": what_if or {}}).get_json()


def test_the_page_shows_what_predict_says(client, bundled_fit):
    answer = _answer(client, LESION)
    expected = predict(bundled_fit, {**LESION, "perfusion_ratio": 1.4}).iloc[0]
    assert answer["errors"] == []
    assert answer["p"] == expected["p_recurrence"]
    assert (answer["low"], answer["high"]) == (expected["ci_low"], expected["ci_high"])
    total = sum(term["value"] for term in answer["terms"])
    assert total == pytest.approx(expected["log_odds"], abs=1e-9)
    bands = answer["bands"]
    assert bands[0]["from"] == 0.0 and bands[-1]["to"] == 1.0
    inside = [b["action"] for b in bands if b["from"] <= answer["p"] <= b["to"]]
    assert answer["action"] in inside


def test_what_ifs_are_monotone_in_the_pending_result(client):
    def pet(tbr):
        (scenario,) = _answer(client, LESION, {"pet_tbr": tbr, "pet_tracer": "FET"})["what_if"]
        return scenario["p"]

    def growth(g):
        (scenario,) = _answer(client, LESION, {"growth": g})["what_if"]
        return scenario["p"]

    assert pet(1.2) < pet(2.0) < pet(3.5)  # a colder PET lesion is never more likely recurrence
    assert growth(-0.4) < growth(0.0) < growth(0.5)
    no_volume = {k: v for k, v in LESION.items() if not k.startswith("volume")}
    assert _answer(client, no_volume, {"growth": 0.2})["what_if"] == []


def test_a_wrong_value_comes_back_for_its_field(client):
    answer = _answer(client, {**LESION, "perfusion_ratio": "1_5", "headache": "maybe"})
    fields = {error["field"]: error["message"] for error in answer["errors"]}
    assert set(fields) == {"perfusion_ratio", "headache"}
    assert "'1_5'" in fields["perfusion_ratio"] and "write 1.5" in fields["perfusion_ratio"]
    assert "p" not in answer


def test_value_panel_is_decides_answer(client, scorer):
    value = client.post("/api/value", json={"record": LESION}).get_json()
    assert value["errors"] == [] and value["recommendation"] in {"manage", "biopsy", "treat"}
    assert 0 <= value["p_best"] <= 1
    assert all(v is None or math.isfinite(v) for v in value.values() if isinstance(v, float))


def test_upload_reads_a_patients_file_and_refuses_a_bad_one(client):
    text = (DATA / "patients_example.csv").read_text()
    answer = client.post("/api/upload", json={"name": "examples.csv", "text": text}).get_json()
    assert answer["errors"] == [] and len(answer["lesions"]) == 11
    first = answer["lesions"][0]
    assert first["patient_id"] == "EX1-clear-recurrence" and first["perfusion_ratio"] == "3.4"
    assert first["headache"] == "yes"
    bad = text.replace(",3.4,", ',"3,4",', 1)  # a decimal comma, quoted
    answer = client.post("/api/upload", json={"name": "examples.csv", "text": bad}).get_json()
    assert answer["lesions"] == [] and answer["errors"][0]["field"] == "perfusion_ratio"


def test_report_is_the_escaped_report_page(client):
    answer = client.post("/api/report", json={"record": {**LESION, "patient_id": "<b>x</b>"}})
    assert "pdf" not in answer.get_json()
    html = answer.get_json()["html"]
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "not a diagnosis" in html


def test_every_response_keeps_the_page_on_this_machine(client):
    page = client.get("/")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    assert 'name="perfusion_ratio"' in html and 'name="reference_diagnosis"' not in html
    script = client.get("/static/serve.js").get_data(as_text=True)
    assert "innerHTML" not in script and "http" not in script.replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert client.get("/static/other.js").status_code == 404


def test_upload_reads_a_workbook_too(client, tmp_path):
    import base64

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["patient_id", "center", "perfusion_technique", "perfusion_ratio"])
    sheet.append(["W1", "C03", "DSC", 1.7])
    path = tmp_path / "site.xlsx"
    book.save(path)
    data = base64.b64encode(path.read_bytes()).decode()
    answer = client.post("/api/upload", json={"name": "site.xlsx", "data": data}).get_json()
    assert answer["errors"] == [] and answer["lesions"][0]["perfusion_ratio"] == "1.7"
    broken = client.post("/api/upload", json={"name": "site.xlsx", "data": "%%"}).get_json()
    assert broken["lesions"] == [] and "not readable base64" in broken["errors"][0]["message"]


@pytest.mark.parametrize(
    ("what_if", "fields"),
    [
        ({"pet_tbr": "abc", "growth": "1_5"}, {"what_if.pet_tbr", "what_if.growth"}),
        ({"pet_tbr": [2], "growth": {"x": 1}}, {"what_if.pet_tbr", "what_if.growth"}),
        ({"pet_tbr": "2.0", "pet_tracer": "<script>", "growth": "-2"},
         {"what_if.pet_tracer", "what_if.growth"}),
    ],
)  # fmt: skip
def test_an_unusable_what_if_is_named_and_skipped(client, what_if, fields):
    answer = _answer(client, LESION, what_if)
    assert answer["errors"] == [] and answer["what_if"] == []
    assert {e["field"] for e in answer["what_if_errors"]} == fields


def _raw(client, path: str, body: bytes):
    return client.post(path, data=body, content_type="application/json")


@pytest.mark.parametrize(
    "body",
    [b"[" * 1500 + b"]" * 1500, b"not json", b"[1, 2]", b'{"record": [1]}',
     b'{"record": {"perfusion_ratio": NaN}}', b'{"record": {"patient_id": "\\ud800"}}',
     b'{"record": {}, "record": {}}', b"\xff\xfe"],
)  # fmt: skip
def test_a_hand_made_request_gets_a_message_never_an_error_page(client, body):
    for path in ("/api/answer", "/api/value", "/api/report", "/api/upload"):
        response = _raw(client, path, body)
        assert response.status_code == 200, (path, body[:30])
        (error,) = response.get_json()["errors"]
        if path != "/api/upload" or not body.startswith(b'{"record"'):
            assert error["message"].startswith("the request: expected"), (path, error)


def test_a_field_the_page_does_not_have_is_named(client):
    answer = _answer(client, {**LESION, "perfusion_ratoi": "1.4", "reference_diagnosis": "x"})
    assert {e["field"] for e in answer["errors"]} == {"perfusion_ratoi", "reference_diagnosis"}
    odd = _answer(client, {**LESION, "perfusion_ratio": [1, 2], "center": {}})
    assert {e["field"] for e in odd["errors"]} >= {"perfusion_ratio", "center"}


def test_only_csv_json_and_workbooks_are_uploaded(client):
    answer = client.post("/api/upload", json={"name": "a.xls", "text": "x"}).get_json()
    assert (
        answer["lesions"] == [] and "a .csv, .json or .xlsx file" in answer["errors"][0]["message"]
    )
