"""``rnbayes serve`` in headless Chromium: type a lesion and read the same probability as
``rnbayes predict``, move a what-if, see an inline message for a bad value, save the report, and
make no request off the machine.

With ``RNBAYES_SCREENSHOT=notebooks/images/serve.png`` the test also saves the page as the
README shows it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA

from model.report.pdf import CHROMIUM_FLAGS
from model.scoring.predict import predict

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is installed by .ci/run (Debian package chromium)"
)

# A gray-zone lesion (rCBV 1.4, no PET, growing) as a clinician would type it.
TYPED = {"patient_id": "typed-grayzone", "center": "C03", "perfusion_ratio": "1.4",
         "months_since_rt": "8", "volume_prior_ml": "3.0", "volume_baseline_ml": "4.0"}  # fmt: skip
CHOSEN = {"perfusion_technique": "DSC", "headache": "no"}


@pytest.fixture(scope="module")
def server():
    command = [sys.executable, "-m", "model.cli", "serve", str(DATA / "fit.nc"), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(server)
        yield page
        browser.close()


def _until(page, expression: str, timeout_ms: int = 20_000) -> None:
    """Poll a page expression from here: the page's CSP forbids Playwright's own eval waits."""
    for _ in range(timeout_ms // 50):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout_ms} ms: {expression}")


def _answered(page, count_before: int) -> None:
    _until(page, f"Number(document.body.dataset.answered || 0) > {count_before}")
    _until(page, "!document.querySelector('#p').textContent.includes('—')")


def _count(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.answered || 0)"))


def test_typed_lesion_gets_the_probability_predict_gives(page, bundled_fit):
    for name, value in CHOSEN.items():
        page.select_option(f"#f-{name}", value)
    for name, value in TYPED.items():
        page.fill(f"#f-{name}", value)
    page.wait_for_timeout(300)
    _answered(page, 0)
    _until(page, "document.querySelector('#value').textContent.startsWith('Recommended')")
    record = {**TYPED, **CHOSEN}
    expected = predict(bundled_fit, record).iloc[0]
    assert page.text_content("#p") == f"{expected['p_recurrence']:.3f}"
    assert f"{expected['ci_low']:.3f} to {expected['ci_high']:.3f}" in page.text_content(
        "#interval"
    )
    screenshot = os.environ.get("RNBAYES_SCREENSHOT")
    if screenshot:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=screenshot, full_page=False)


def test_moving_the_pet_what_if_moves_its_answer(page, bundled_fit):
    before = page.text_content("#whatif-pet")
    count = _count(page)
    page.fill("#whatif-tbr", "3.2")
    page.dispatch_event("#whatif-tbr", "input")
    _answered(page, count)
    _until(page, f"document.querySelector('#whatif-pet').textContent !== {before!r}")
    record = {**TYPED, **CHOSEN, "pet_tracer": "FET", "pet_tbr": 3.2}
    expected = predict(bundled_fit, record).iloc[0]["p_recurrence"]
    assert f"P = {expected:.3f}" in page.text_content("#whatif-pet")


def test_a_bad_value_gets_an_inline_message(page):
    count = _count(page)
    page.fill("#f-perfusion_ratio", "1_5")
    _answered(page, count)
    message = page.text_content("#e-perfusion_ratio")
    assert "'1_5'" in message and "write 1.5" in message
    count = _count(page)
    page.fill("#f-perfusion_ratio", "1.4")
    _answered(page, count)
    assert page.text_content("#e-perfusion_ratio") == ""


def test_save_report_downloads_the_lesion_report(page, tmp_path):
    with page.expect_download() as download:
        page.click("#save-report")
    path = tmp_path / "report.html"
    download.value.save_as(path)
    html = path.read_text()
    assert "typed-grayzone" in html and "not a diagnosis" in html
    with page.expect_download(timeout=60_000) as download:
        page.click("#save-pdf")
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    assert path.read_bytes()[:5] == b"%PDF-"


def test_a_loaded_patients_file_fills_the_form(page, bundled_fit):
    count = _count(page)
    page.set_input_files("#upload", str(DATA / "patients_example.csv"))
    _until(page, f"Number(document.body.dataset.answered || 0) > {count}")
    _until(page, "document.querySelector('#f-patient_id').value === 'EX1-clear-recurrence'")
    _until(page, "!document.querySelector('#lesion-choice').hidden")
    expected = predict(bundled_fit, DATA / "patients_example.csv").iloc[0]["p_recurrence"]
    _until(page, f"document.querySelector('#p').textContent === '{expected:.3f}'")


def test_the_page_made_no_request_off_this_machine(page, server):
    assert page.requests, "the page made no request at all"
    off = [
        u for u in page.requests if not (u.startswith(server) or u.startswith(("blob:", "data:")))
    ]
    assert off == []
    assert Path(DATA / "fit.nc").exists()
