"""`rnbayes model-card`: the TRIPOD+AI checklist filled from a fit, its cohort and an evaluation."""

import copy
import json
import re
import shutil

import pandas as pd
import pytest
from conftest import DATA, histopathology_classes

from model.cli import main
from model.core.errors import InputError
from model.fitting.sampling import Fit
from model.report.model_card import (
    AUTHORS,
    FILLED,
    NOT_APPLICABLE,
    PARTLY,
    SYNTHETIC,
    Evaluation,
    ModelCard,
    model_card,
)
from model.report.model_card_files import card_html, card_markdown
from model.report.tripod_ai import TRIPOD_AI

FIT = str(DATA / "fit.nc")


@pytest.fixture(scope="module")
def crossval_card(bundled_fit):
    return model_card(bundled_fit, evaluation=DATA / "crossval")


@pytest.fixture(scope="module")
def evaluation_folder(tmp_path_factory):
    """`rnbayes evaluate --out` on the bundled fit's own cohort (in-sample)."""
    out = tmp_path_factory.mktemp("evaluation")
    code = main(["evaluate", FIT, str(DATA / "cohort.csv"), "--bootstrap", "20", "--out", str(out)])
    assert code == 0
    return out


def items(card: ModelCard) -> dict:
    return {i.item.item: i for i in card.items}


def test_the_checklist_has_the_52_items_of_tripod_ai_in_order():
    ids = [i.item for i in TRIPOD_AI]
    assert len(ids) == len(set(ids)) == 52
    numbers = [int(re.match(r"\d+", i).group()) for i in ids]
    assert numbers == sorted(numbers) and set(numbers) == set(range(1, 28))
    letters = {
        n: "".join(i.removeprefix(str(n)) for i in ids if i.rstrip("abcdefg") == str(n))
        for n in set(numbers)
    }
    assert letters[3] == "abc" and letters[12] == "abcdefg" and letters[18] == "abcdef"
    assert letters[20] == "abc" and letters[23] == "ab" and letters[27] == "abc"
    # the statement's applicability: evaluation-only and development-only items
    assert {i.item for i in TRIPOD_AI if i.applies == "E"} == {"12f", "12g", "20c", "24"}
    assert {i.item for i in TRIPOD_AI if i.applies == "D"} == {
        "9a", "12a", "12b", "12c", "15", "22", "27a", "27b",
    }  # fmt: skip


def test_participant_counts_are_those_of_the_cohort(crossval_card, bundled_cohort_path):
    labelled = histopathology_classes(bundled_cohort_path)
    cohort = pd.read_csv(bundled_cohort_path, dtype=str, keep_default_na=False)
    centers = crossval_card.centers.set_index("center")
    assert centers.loc["all centers", "lesions"] == len(cohort)
    assert centers.loc["all centers", "patients"] == cohort["patient_id"].nunique()
    by_center = labelled.groupby(["center", "reference_class"]).size().unstack(fill_value=0)
    for center, row in by_center.iterrows():
        assert centers.loc[center, "recurrence"] == row["recurrence"]
        assert centers.loc[center, "necrosis"] == row["necrosis"]
    text = items(crossval_card)["20a"].text
    assert f"{(labelled.reference_class == 'recurrence').sum()} recurrences" in text
    assert f"{(labelled.reference_class == 'necrosis').sum()} necroses" in text


def test_performance_is_the_evaluations_and_center_spreads_the_posteriors(
    crossval_card, bundled_fit
):
    from model.evaluation.crossval import load_crossval
    from model.evaluation.external import evaluate

    made, _, _ = load_crossval(DATA / "crossval")
    pooled = evaluate(made, bootstrap=50).query("group == 'all centers'").set_index("metric")
    text = items(crossval_card)["23a"].text
    assert text.startswith("leave-one-center-out")
    for metric in ("c_statistic", "calibration_slope", "brier"):
        assert f"{pooled.loc[metric, 'value']:.3f} (90% bootstrap" in text
    heterogeneity = items(crossval_card)["12d"].text
    tau = float(bundled_fit.posterior["perfusion_tau_center"].mean())
    assert f"perfusion {tau:.2f} [" in heterogeneity
    assert items(crossval_card)["23b"].status == FILLED  # per-center scores of 8 centers
    assert "8 centers" in items(crossval_card)["23b"].text


def test_every_item_is_reported_once_with_a_status(crossval_card, bundled_fit):
    markdown = card_markdown(crossval_card)
    for item in TRIPOD_AI:
        assert len(re.findall(rf"^\| {item.item} \|", markdown, flags=re.M)) == 1
    statuses = {i.status for i in crossval_card.items}
    assert statuses <= {FILLED, PARTLY, AUTHORS}  # an evaluation is given: nothing is n/a
    for i in crossval_card.items:
        assert bool(i.text) == (i.status != AUTHORS)
        assert bool(i.authors) == (i.status != FILLED)
    # ethics, funding and eligibility are the authors' alone
    assert {"6b", "17", "18a", "18b", "19"} <= {
        i.item.item for i in crossval_card.items if i.status == AUTHORS
    }
    without = model_card(bundled_fit)
    assert {i.item.item for i in without.items if i.status == NOT_APPLICABLE} == {
        "12f", "12g", "20c", "24",
    }  # fmt: skip
    assert items(without)["23a"].status == AUTHORS
    assert "--evaluation" in items(without)["23a"].authors


def test_the_card_says_synthetic_and_decision_support_in_both_files(crossval_card):
    for text in (card_markdown(crossval_card), card_html(crossval_card)):
        assert "not a diagnosis" in text and "synthetic" in text
        assert "Intended use" in text and "BMJ 2024;385:e078378" in text
    assert SYNTHETIC in card_html(crossval_card)


def test_an_in_sample_evaluation_is_named_optimistic(evaluation_folder, bundled_fit):
    card = model_card(bundled_fit, evaluation=evaluation_folder)
    assert card.evaluation.design == "in-sample evaluation"
    assert "optimistic" in items(card)["23a"].text
    assert "the evaluation is in-sample" in items(card)["26"].text
    assert bundled_fit.provenance["checksum"][:16] in items(card)["12g"].text
    follow_up = pd.read_csv(evaluation_folder / "evaluation_follow_up.csv").iloc[0]
    assert f"Against {follow_up.n} follow-up labels" in items(card)["23a"].text
    assert f"c-statistic {follow_up.value:.3f}" in items(card)["23a"].text
    own = pd.read_csv(DATA / "cohort.csv")["reference_source"].eq("follow_up_scans").sum()
    assert f"{own} labels made from the lesions' own recorded scans" in items(card)["26"].text


def test_an_evaluation_of_another_fit_or_cohort_is_refused(evaluation_folder, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(evaluation_folder, other)
    document = json.loads((other / "evaluation.json").read_text())
    document["fit_checksum"] = "0" * 64
    (other / "evaluation.json").write_text(json.dumps(document))
    code = main(["model-card", FIT, "--evaluation", str(other), "--out", str(tmp_path / "card")])
    err = capsys.readouterr().err
    assert code == 2 and "evaluation.json" in err and "fit_checksum" in err and "0000" in err
    assert "Traceback" not in err and not (tmp_path / "card").exists()

    study = tmp_path / "study"
    study.mkdir()
    document = json.loads((DATA / "crossval" / "crossval.json").read_text())
    document["cohort_digest"] = "f" * 64
    (study / "crossval.json").write_text(json.dumps(document))
    with pytest.raises(InputError, match="the fit's training cohort"):
        model_card(FIT, evaluation=study)
    shutil.copy(evaluation_folder / "evaluation.json", study / "evaluation.json")
    with pytest.raises(InputError, match="exactly one of them"):
        model_card(FIT, evaluation=study)
    with pytest.raises(InputError, match="no evaluation document"):
        model_card(FIT, evaluation=tmp_path / "card")


def test_a_hand_edited_score_is_refused_naming_its_entry(evaluation_folder, tmp_path, capsys):
    edited = tmp_path / "edited"
    shutil.copytree(evaluation_folder, edited)
    document = json.loads((edited / "evaluation.json").read_text())
    document["scores"][2]["value"] = "0.9"
    (edited / "evaluation.json").write_text(json.dumps(document))
    code = main(["model-card", FIT, "--evaluation", str(edited), "--out", str(tmp_path / "card")])
    err = capsys.readouterr().err
    assert code == 2 and "column 'scores[2]'" in err and "numbers or null" in err
    assert "Traceback" not in err


def test_a_cohort_other_than_the_training_cohort_is_refused(tmp_path):
    cohort = pd.read_csv(DATA / "cohort.csv", dtype=str, keep_default_na=False)
    cohort.loc[0, "perfusion_ratio"] = "9.5"
    path = tmp_path / "changed.csv"
    cohort.to_csv(path, index=False)
    with pytest.raises(InputError, match="changed.csv.*the cohort the fit was trained on"):
        model_card(FIT, cohort=path)


def test_an_onboarded_center_is_reported_as_model_updating(few_draws_fit):
    provenance = copy.deepcopy(few_draws_fit.provenance)
    record = {"center": "C09", "lesions": 30, "created": "2026-12-01T10:00:00+00:00"}
    provenance["onboarded"] = [record]
    provenance["cohort"]["centers"].append("C09")
    card = model_card(Fit(few_draws_fit.posterior, few_draws_fit.sample_stats, provenance))
    assert "center C09 onboarded from 30 of its lesions" in items(card)["12f"].text
    assert items(card)["24"].status == PARTLY  # its performance is the authors' to show
    assert items(card)["12g"].status == NOT_APPLICABLE
    assert "C09" not in items(card)["6a"].text  # not a training center


def test_user_text_is_inert_in_markdown_and_html(crossval_card):
    hostile = "<script>alert(1)</script>|**x**"
    scores = crossval_card.evaluation.scores.copy()
    scores.loc[scores["group"] == "C01", "group"] = hostile
    centers = crossval_card.centers.copy()
    centers.loc[centers["center"] == "C01", "center"] = hostile
    evaluation = Evaluation(**{**crossval_card.evaluation.__dict__, "scores": scores})
    card = ModelCard(
        **{
            **crossval_card.__dict__,
            "centers": centers,
            "evaluation": evaluation,
            "trained_on": hostile,
        }
    )
    html = card_html(card)
    assert "<script>" not in html and "&lt;script&gt;" in html
    markdown = card_markdown(card)
    assert "<script>" not in markdown and r"\|\*\*x\*\*" in markdown
    rows = [line for line in markdown.splitlines() if "alert" in line and line.startswith("|")]
    assert len(rows) == 2  # the centers' and the scores' tables, 7 columns each
    assert all(len(re.findall(r"(?<!\\)\|", r)) == 8 for r in rows)


def test_the_command_writes_both_files_and_lists_the_authors_items(tmp_path, capsys):
    out = tmp_path / "card"
    code = main(["model-card", FIT, "--evaluation", str(DATA / "crossval"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["model_card.html", "model_card.md"]
    assert "of 52 TRIPOD+AI items" in printed and "For the authors to complete: 1, 2," in printed
    assert "synthetic" in printed
    html = (out / "model_card.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
