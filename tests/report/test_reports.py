"""Reports: rendered in headless Chromium without console errors or network requests, escaped,
printed to non-blank PDF pages, and refused for a fit that failed its convergence gate."""

import re
import shutil
import subprocess

import pytest
from matplotlib.image import imread

from model.core.errors import InputError
from model.fitting.sampling import Fit
from model.report.fit_report import fit_report
from model.report.patient import lesion_reports
from model.report.pdf import CHROMIUM_FLAGS as BROWSER_FLAGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is installed by .ci/run (Debian package chromium)"
)


@pytest.fixture(scope="module")
def reports(bundled_fit, tmp_path_factory):
    from conftest import DATA

    out = tmp_path_factory.mktemp("reports")
    return lesion_reports(bundled_fit, DATA / "patients_example.csv", out, pdf=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=list(BROWSER_FLAGS))
        yield instance
        instance.close()


def open_page(browser, path):
    page = browser.new_page()
    problems, requests = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, problems, requests


def test_pages_render_without_errors_or_network_and_show_the_probability(
    reports, browser, bundled_fit
):
    assert len(reports.pages) == 10  # nine patients, one with two lesions
    for path in [reports.index, *reports.pages]:
        page, problems, requests = open_page(browser, path)
        assert problems == [], (path.name, problems)
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
        if path != reports.index:
            assert re.fullmatch(
                r"P\(recurrence\) = [01]\.\d\d", page.locator("#probability").inner_text()
            )
            assert page.evaluate(
                "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
            )
            text = page.inner_text("body")
            assert "Decision support, not a diagnosis" in text and "synthetic cohort" in text
        page.close()
    from conftest import DATA

    from model.scoring.predict import predict

    expected = predict(bundled_fit, DATA / "patients_example.csv").set_index("patient_id")
    gray = next(p for p in reports.pages if "EX3" in p.name)
    page, _, _ = open_page(browser, gray)
    p_gray = expected.loc["EX3-grayzone-no-pet", "p_recurrence"]
    assert f"P(recurrence) = {p_gray:.2f}" in page.inner_text("#probability")
    assert "What would change the decision" in page.inner_text("body")


def test_a_patient_with_two_lesions_gets_a_page_per_lesion_showing_both(reports):
    pages = [p for p in reports.pages if "EX9" in p.name]
    assert [p.name.split("_", 1)[1] for p in pages] == [
        "EX9-two-lesions_L1-frontal.html",
        "EX9-two-lesions_L2-callosal.html",
    ]
    for page in pages:
        html = page.read_text()
        assert "Patient EX9-two-lesions: 2 lesions" in html and "any of them" in html
        assert "L1-frontal" in html and "L2-callosal" in html
        assert "the patient&#39;s other lesions" in html or "the patient's other lesions" in html
    assert "any of them" not in next(p for p in reports.pages if "EX3" in p.name).read_text()


def test_sequential_view_for_a_lesion_with_rescans(reports):
    """EX7's two rescans grow alike (+37% each): the page shows the second adding less."""
    html = next(p for p in reports.pages if "EX7" in p.name).read_text()
    assert "After each scan" in html and "follow-up 2" in html
    section = html[html.index("After each scan") :]
    added = [float(x) for x in re.findall(r"<td>([+-]\d+\.\d\d)</td></tr>", section)[:2]]
    assert len(added) == 2 and 0 < added[1] < added[0]


def test_breakdown_counts_only_the_modalities_a_lesion_has(reports, browser):
    """A modality not done is named as such, not shown as a zero contribution."""
    rows = {}
    for name in ("EX3", "EX4"):
        page, _, _ = open_page(browser, next(p for p in reports.pages if name in p.name))
        rows[name] = page.locator("table:not(.inputs) td:first-child").all_inner_texts()
        rows[name + " text"] = page.inner_text("body")
        page.close()
    assert "Perfusion MRI" in rows["EX3"] and "PET" not in rows["EX3"]
    assert "Perfusion MRI" in rows["EX4"] and "PET" in rows["EX4"]
    not_done = r"Not available for this lesion, so not counted:[^.]*\bPET\b"
    assert re.search(not_done, rows["EX3 text"])
    assert "correlation" not in rows["EX3 text"]


def test_pdf_pages_are_not_blank(reports, tmp_path):
    for pdf in reports.pdfs[:3]:
        prefix = tmp_path / pdf.stem
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(prefix)], check=True)
        pages = sorted(tmp_path.glob(f"{pdf.stem}*.png"))
        assert pages
        image = imread(pages[0])[..., :3]
        ink = (image.mean(axis=2) < 0.9).mean()
        assert ink > 0.02, (pdf.name, ink)


def test_user_strings_are_escaped(bundled_fit, tmp_path, browser):
    record = {
        "patient_id": "<script>alert(1)</script>",
        "center": "<b>C01</b>",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 1.5,
    }
    files = lesion_reports(bundled_fit, record, tmp_path)
    html = files.pages[0].read_text()
    assert (
        "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert "<b>C01</b>" not in html
    page, problems, _ = open_page(browser, files.pages[0])
    assert problems == []
    assert "<script>alert(1)</script>" in page.inner_text("h1")


def failed(fit: Fit) -> Fit:
    """The bundled fit with one chain of one parameter moved away: R-hat fails (the gate is
    computed from the draws, so editing the stored diagnostics would not do)."""
    posterior = fit.posterior.copy(deep=True)
    values = posterior["growth_separation"].to_numpy().copy()
    values[0] += 1.0
    posterior["growth_separation"] = (posterior["growth_separation"].dims, values)
    return Fit(posterior, fit.sample_stats, fit.provenance)


def test_failed_gate_needs_force_and_says_so(bundled_fit, tmp_path):
    from conftest import DATA

    bad = failed(bundled_fit)
    with pytest.raises(InputError, match="--force"):
        lesion_reports(bad, DATA / "patients_example.csv", tmp_path)
    with pytest.raises(InputError, match="--force"):
        fit_report(bad, tmp_path / "fit.html")
    files = lesion_reports(bad, {"patient_id": "x", "center": "C01"}, tmp_path, force=True)
    assert "CONVERGENCE GATE FAILED" in files.pages[0].read_text()
    assert "CONVERGENCE GATE FAILED" in files.index.read_text()


def test_fit_report_renders(bundled_fit, tmp_path, browser):
    from conftest import DATA

    path = fit_report(bundled_fit, tmp_path / "fit.html", cohort=DATA / "cohort.csv")
    page, problems, requests = open_page(browser, path)
    assert problems == [] and all(u.startswith(("file:", "data:")) for u in requests)
    text = page.inner_text("body")
    for heading in (
        "Convergence",
        "Prior against posterior",
        "Posterior predictive checks",
        "Calibration",
        "Leave-one-out cross-validation",
        "perfusion only",
    ):
        assert heading in text
    without = fit_report(bundled_fit, tmp_path / "bare.html")
    assert "--store-data" in without.read_text()
