"""`rnbayes cutoffs` prints what was asked for, in a stable order, and explains equal AUCs."""

from conftest import DATA

from model.cli import main


def test_one_modality_gets_no_two_modality_rules_and_equal_aucs_explained(capsys):
    assert main(["cutoffs", str(DATA / "fit.nc"), "--modality", "DSC"]) == 0
    out = capsys.readouterr().out
    assert "Two-modality rules" not in out and "MET" not in out and "FET" not in out
    assert "The AUC is the same at every training center" in out


def test_rules_of_the_chosen_pair_come_and_then_or_pooled_then_new_center(capsys):
    assert main(["cutoffs", str(DATA / "fit.nc"), "--modality", "DSC", "--modality", "FET"]) == 0
    out = capsys.readouterr().out
    rules = [line.split("│")[0].strip() for line in out.splitlines() if " > 1.75 " in line]
    assert rules == [
        "DSC > 1.75 AND FET > 2 / pooled",
        "DSC > 1.75 AND FET > 2 / new center",
        "DSC > 1.75 OR FET > 2 / pooled",
        "DSC > 1.75 OR FET > 2 / new center",
    ]


def test_decision_curves_on_the_training_cohort_carry_their_leave_one_out_correction(tmp_path):
    import pandas as pd

    out = tmp_path / "out"
    fit, cohort = str(DATA / "fit.nc"), str(DATA / "cohort.csv")
    assert main(["cutoffs", fit, "--modality", "DSC", "--cohort", cohort, "--out", str(out)]) == 0
    curves = pd.read_csv(out / "decision_curve.csv")
    model = curves[curves.model == "model"]
    assert model.net_benefit_loo.notna().all()
    assert (model.net_benefit - model.net_benefit_loo).mean() > 0  # in-sample optimism
