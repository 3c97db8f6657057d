"""`rnbayes evaluate`: outputs, bad input with exit code 2, and user text kept inert."""

import json
import re

import pandas as pd
from conftest import DATA

from model.cli import main

FIT = str(DATA / "fit.nc")


def cohort_copy(tmp_path, change=None):
    cohort = pd.read_csv(DATA / "cohort.csv", dtype=str, keep_default_na=False)
    if change:
        cohort = change(cohort)
    path = tmp_path / "external.csv"
    cohort.to_csv(path, index=False)
    return path


def test_evaluate_writes_its_tables_and_says_what_was_scored(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["evaluate", FIT, str(DATA / "cohort.csv"), "--bootstrap", "30", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "all centers" in printed and "lesions labelled by histopathology are scored" in printed
    assert "synthetic" in printed and "not a diagnosis" in printed
    assert "in-sample scores are optimistic" in printed  # the fit's own training cohort
    assert {p.name for p in out.iterdir()} == {
        "evaluation.csv", "evaluation.json", "reliability.csv", "reliability.png",
        "decision_curve.csv", "decision_curve.png", "evaluation.html", "evaluation_follow_up.csv",
    }  # fmt: skip
    sources = pd.read_csv(DATA / "cohort.csv")["reference_source"].value_counts()
    assert f"{sources['follow_up']} follow-up labels are scored apart" in printed
    own = f"{sources['follow_up_scans']} labels made from the lesions' own recorded scans"
    assert f"{own} are not scored" in printed
    assert "Against follow-up labels (an imperfect reference: sensitivity 0.9" in printed
    table = pd.read_csv(out / "evaluation.csv")
    document = json.loads((out / "evaluation.json").read_text())
    assert len(document["scores"]) == len(table) and document["bootstrap"] == 30
    follow_up = pd.read_csv(out / "evaluation_follow_up.csv")
    assert follow_up.query("group == 'all centers'")["n"].iloc[0] == 33  # follow_up, not scans
    assert len(document["follow_up_scores"]) == len(follow_up)
    assert 0.5 < document["follow_up_reference"]["sensitivity"] < 1
    assert set(table["metric"]) == {
        "c_statistic", "calibration_intercept", "calibration_slope", "brier", "ece",
    }  # fmt: skip


def test_lesions_under_bevacizumab_scored_by_override_keep_their_decision_curves(tmp_path, capsys):
    """The override reaches the decision curves too: they are made from the same predictions."""
    path = cohort_copy(
        tmp_path,
        lambda c: c.assign(
            bevacizumab_last_dose_weeks=c.bevacizumab_last_dose_weeks.where(
                c.patient_id != c.patient_id[0], "2"
            )
        ),
    )
    out = tmp_path / "out"
    assert main(["evaluate", FIT, str(path), "--bootstrap", "5"]) == 2
    error = capsys.readouterr().err
    assert "bevacizumab" in error and error.count("problem") == 1  # not wrapped in another
    arguments = ["evaluate", FIT, str(path), "--bootstrap", "5", "--allow-bevacizumab"]
    assert main([*arguments, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "in-sample" not in printed  # one changed cell makes it another cohort
    curves = pd.read_csv(out / "decision_curve.csv")
    assert {"model", "DSC > 1.75", "all", "none"} <= set(curves["model"])


def test_a_cohort_without_both_classes_labelled_exits_2_naming_the_file(tmp_path, capsys):
    path = cohort_copy(
        tmp_path,
        lambda c: c.assign(
            reference_diagnosis=c.reference_diagnosis.where(
                c.reference_diagnosis == "necrosis", ""
            ),
            reference_source=c.reference_source.where(c.reference_diagnosis == "necrosis", ""),
            tumor_share_percent="",
        ),
    )
    assert main(["evaluate", FIT, str(path), "--bootstrap", "5"]) == 2
    error = capsys.readouterr().err
    assert "external.csv" in error and "reference_diagnosis" in error
    assert "0 recurrences" in error and "Traceback" not in error


def test_a_bad_cell_exits_2_with_file_row_and_column(tmp_path, capsys):
    path = cohort_copy(
        tmp_path, lambda c: c.assign(perfusion_ratio=c.perfusion_ratio.where(c.index != 3, "1_5"))
    )
    assert main(["evaluate", FIT, str(path), "--bootstrap", "5"]) == 2
    error = capsys.readouterr().err
    assert "row 5" in error and "perfusion_ratio" in error and "'1_5'" in error


def test_a_center_name_is_shown_as_text_and_kept_inert_in_the_csv(tmp_path, capsys):
    name = "=HYPERLINK(1)[bold]x\x1b[2J"
    path = cohort_copy(tmp_path, lambda c: c.assign(center=c.center.where(c.center != "C05", name)))
    out = tmp_path / "out"
    assert main(["evaluate", FIT, str(path), "--bootstrap", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b[2J" not in printed and "[bold]x" in printed
    assert "Scored as new centers" in printed
    cells = pd.read_csv(out / "evaluation.csv", dtype=str)["group"]
    assert not cells.str.startswith("=").any()
    html = (out / "evaluation.html").read_text()
    assert "\x1b" not in html and "=HYPERLINK(1)[bold]x\\x1b[2J" in html


def test_the_page_shows_the_tables_scores_and_both_figures(tmp_path, bundled_fit):
    out = tmp_path / "out"
    assert (
        main(["evaluate", FIT, str(DATA / "cohort.csv"), "--bootstrap", "20", "--out", str(out)])
        == 0
    )
    html = (out / "evaluation.html").read_text()
    table = pd.read_csv(out / "evaluation.csv")
    pooled = table[table.group == "all centers"].set_index("metric")
    for metric in ("c_statistic", "calibration_slope", "brier"):
        row = pooled.loc[metric]
        assert f"{row.value:.3f} [{row.bootstrap_low:.3f}, {row.bootstrap_high:.3f}]" in html
        assert f"posterior [{row.posterior_low:.3f}, {row.posterior_high:.3f}]" in html
    assert html.count("<svg") == 2  # the reliability diagram and the decision curves
    specificity = bundled_fit.draws.specificity.mean()
    assert "Against follow-up labels" in html and f"specificity at {specificity:.2f}" in html
    assert "In-sample" in html and "synthetic" in html and "not a diagnosis" in html
    curves = pd.read_csv(out / "decision_curve.csv")
    model = curves[curves.model == "model"]
    at = model.iloc[(model.threshold - 0.3).abs().argmin()]
    cells = (
        f"<td>{at.threshold:.2f}</td><td>{at.net_benefit:.3f}</td><td>{at.net_benefit_loo:.3f}</td>"
    )
    assert cells in html  # in-sample: the leave-one-out net benefit beside the optimistic one
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html) and "<script" not in html
