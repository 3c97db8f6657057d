"""Reports: rendered in headless Chromium without console errors or network requests, escaped,
with figures whose labels neither overlap nor leave them, printed to non-blank PDF pages, and
refused for a fit that failed its convergence gate."""

import re
import shutil
import subprocess

import pandas as pd
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
    assert len(reports.pages) == 11  # ten patients, one with two lesions
    for path in [reports.index, *reports.pages]:
        page, problems, requests = open_page(browser, path)
        assert problems == [], (path.name, problems)
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
        if path != reports.index:
            assert re.fullmatch(
                r"P\(recurrence\) = [01]\.\d\d", page.locator("#probability").inner_text()
            )
            assert page.locator("svg.figure").count() >= 3  # inline, with real text
            assert page.evaluate("document.images.length") == 0
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


FIGURE_TEXT = """() => Array.from(document.querySelectorAll('svg')).map((svg, i) => {
    const box = (e) => { const r = e.getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    const texts = Array.from(svg.querySelectorAll('text'))
        .filter((t) => t.textContent.trim() !== '')
        .map((t) => {
            const m = t.getScreenCTM();
            const size = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
            return {text: t.textContent.trim(), size: size, ...box(t)};
        });
    return {figure: svg.getAttribute('aria-label') || String(i), box: box(svg), texts: texts};
})"""


def figure_text_problems(page, tolerance: float = 1.0, smallest: float = 10.0) -> list[str]:
    """Labels of a page's inline SVG figures that overlap each other, leave their figure, or are
    rendered smaller than ``smallest`` pixels."""
    problems = []
    for figure in page.evaluate(FIGURE_TEXT):
        box, texts = figure["box"], figure["texts"]
        for t in texts:
            if t["size"] < smallest:
                problems.append(f"{figure['figure']}: {t['text']!r} is {t['size']:.1f} px")
            if (
                t["left"] < box["left"] - tolerance
                or t["right"] > box["right"] + tolerance
                or t["top"] < box["top"] - tolerance
                or t["bottom"] > box["bottom"] + tolerance
            ):
                problems.append(f"{figure['figure']}: {t['text']!r} leaves the figure")
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                if (
                    min(a["right"], b["right"]) - max(a["left"], b["left"]) > tolerance
                    and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > tolerance
                ):
                    problems.append(f"{figure['figure']}: {a['text']!r} overlaps {b['text']!r}")
    return problems


def test_figure_labels_neither_overlap_nor_leave_their_figure(reports, browser):
    """Every label of every figure on every example page: readable, apart, inside its figure."""
    found = {}
    for path in reports.pages:
        page, _, _ = open_page(browser, path)
        assert page.locator("svg.figure text").count() > 20, path.name
        found[path.name] = figure_text_problems(page)
        page.close()
    assert not any(found.values()), "\n".join(
        f"{name}: {problem}" for name, problems in found.items() for problem in problems
    )


def test_the_strip_names_the_recommended_action_as_the_headline_does(reports, browser, bundled_fit):
    """The strip names the recommendation in the headline's words, a rescan is worded one way
    throughout, with the lesion's best interval (``decide``'s ``rescan_weeks``), and the
    headline says how far to lean on the recommendation."""
    from conftest import DATA

    from model.decision.value import decide

    decided = decide(bundled_fit, DATA / "patients_example.csv")
    rows = dict(zip(reports.pages, decided.itertuples(), strict=True))  # pages in row order
    for path in reports.pages:
        page, _, _ = open_page(browser, path)
        headline = page.inner_text(".recommend strong")
        strip = page.locator("svg.figure").first.locator("text").all_text_contents()
        assert any(t.startswith(f"Best next step: {headline}") for t in strip), (path.name, strip)
        text = page.inner_text("body") + " ".join(page.locator("svg text").all_text_contents())
        row = rows[path]
        wording = f"rescan in {row.rescan_weeks:g} weeks"
        assert wording in text and "6-8" not in text and "one rescan in" not in text, path.name
        robust = page.inner_text("#robustness")  # how far to lean on the recommendation
        assert f"Best in {100 * row.p_best:.0f}% of draws" in robust, path.name
        assert f"gives up {row.expected_loss:.2f} QALW" in robust
        assert row.sensitive_to.split(" (")[0] in robust
        page.close()


def test_a_strip_names_the_immediate_action_a_later_one_is_preferred_to():
    """A PET referral recommended where surveillance is the best immediate action: the strip's
    title says so, and its dot takes the PET's colour."""
    from model.decision import load_decision_parameters
    from model.decision.plots import ACTION_COLORS
    from model.decision.utilities import immediate_bands
    from model.report import figures

    bands = immediate_bands(load_decision_parameters())
    labels = figures.action_labels(4.0)
    fig = figures.probability_figure(0.5, 0.4, 0.6, bands, "pet", labels)
    titles = [t.get_text() for t in fig.axes[0].texts] + [fig.axes[0].get_title("left")]
    assert (
        "Best next step: refer for PET rather than manage as necrosis (surveillance) now" in titles
    )
    dot = fig.axes[0].lines[-1]
    assert dot.get_markerfacecolor() == ACTION_COLORS["pet"]


def test_each_page_shows_the_categories_and_flags_a_disagreement(reports, bundled_fit):
    """The lesion pages and the index show BT-RADS and RANO 2.0 as predict gives them, and a
    page says so where they and the model disagree (EX5, necrosis with edema)."""
    from conftest import DATA

    from model.scoring.predict import predict

    expected = predict(bundled_fit, DATA / "patients_example.csv")
    index = reports.index.read_text()
    for path, row in zip(reports.pages, expected.itertuples(), strict=True):
        html = path.read_text()
        assert f"BT-RADS <strong>{row.btrads}</strong>" in html, path.name
        assert f"RANO 2.0 <strong>{row.rano}</strong>" in html, path.name
        assert ('id="category-flag"' in html) == bool(row.category_flag), path.name
        assert f"<td>{row.btrads}</td><td>{row.rano}</td>" in index
    ex5 = next(p for p in reports.pages if "EX5" in p.name).read_text()
    assert "BT-RADS 4 favours tumour progression, the model necrosis" in ex5
    ex3 = next(p for p in reports.pages if "EX3" in p.name).read_text()
    assert "the radiology report's BT-RADS <strong>3b</strong>" in ex3


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


def test_a_rescans_added_log_odds_include_the_perfusion_measured_again_at_it(reports, bundled_fit):
    """EX10's rescan barely grew (towards necrosis) while its rCBV rose (towards recurrence): the
    baseline step has neither, and the rescan adds both, its growth and its perfusion change."""
    from conftest import DATA

    from model.scoring.predict import predict

    table = pd.read_csv(DATA / "patients_example.csv", dtype=str, keep_default_na=False)
    ex10 = table[table["patient_id"] == "EX10-rescan-perfusion-rising"]
    scans = ("volume_fu1_ml", "interval_fu1_weeks", "flair_change_fu1", "perfusion_ratio_fu1")
    before = predict(bundled_fit, ex10.assign(**dict.fromkeys(scans, ""))).iloc[0]
    after = predict(bundled_fit, ex10).iloc[0]
    expected = after.llr_growth + after.llr_perfusion - before.llr_perfusion
    assert after.llr_growth < 0 < after.llr_perfusion - before.llr_perfusion
    html = next(p for p in reports.pages if "EX10" in p.name).read_text()
    section = html[html.index("After each scan") :]
    shown = re.findall(r"<td>([\d.]+)</td>\s*<td>[\d.]+&ndash;", section)
    assert [float(x) for x in shown] == [
        round(before.p_recurrence, 2),
        round(after.p_recurrence, 2),
    ]
    (added,) = re.findall(r"<td>([+-]\d+\.\d\d)</td></tr>", section)[:1]
    assert float(added) == pytest.approx(expected, abs=0.006)


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


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm is installed by .ci/run (poppler-utils)"
)
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
    assert figure_text_problems(page) == []
    text = page.inner_text("body") + " ".join(page.locator("svg text").all_text_contents())
    assert "modality.perfusion.DSC.sigma" in text and "prevalence.intercept" in text
    assert "perfusion_sigma" not in text and "prevalence_intercept" not in text
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
