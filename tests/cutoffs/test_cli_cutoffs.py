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
