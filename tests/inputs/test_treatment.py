"""Lesions scanned under bevacizumab: refused with their place, or scored by explicit override."""

import numpy as np
import pandas as pd
import pytest

from model.cli import main
from model.core.errors import InputError
from model.inputs.parameters import bundled_parameters
from model.inputs.reading import load_cohort
from model.inputs.treatment import BEVACIZUMAB_COLUMN, WINDOW_ENTRY, check_bevacizumab

HEADER = "patient_id,center,perfusion_technique,perfusion_ratio,bevacizumab_last_dose_weeks\n"


@pytest.fixture()
def treated(tmp_path):
    path = tmp_path / "treated.csv"
    path.write_text(
        HEADER + "A,C01,DSC,0.8,\nB,C01,DSC,0.8,12\nC,C02,DSC,0.8,12.5\nD,C02,DSC,0.8,0\n"
    )
    return path


def test_the_window_is_sourced_in_the_parameter_file():
    parameters = bundled_parameters()
    assert parameters.value(WINDOW_ENTRY) == 12
    assert "half-li" in parameters.source(WINDOW_ENTRY)


def test_lesions_within_the_window_are_refused_with_their_place(treated):
    cohort = load_cohort(treated)
    with pytest.raises(InputError) as caught:
        check_bevacizumab(cohort, 12.0, allow=False)
    places = [(p.file, p.row, p.column, p.value) for p in caught.value.problems]
    assert places == [
        ("treated.csv", 3, BEVACIZUMAB_COLUMN, "12"),  # the window's last day included
        ("treated.csv", 5, BEVACIZUMAB_COLUMN, "0"),
    ]
    assert "--allow-bevacizumab" in caught.value.problems[0].expected


def test_the_override_names_the_lesions_it_lets_through(treated):
    flagged = check_bevacizumab(load_cohort(treated), 12.0, allow=True)
    np.testing.assert_array_equal(flagged, [False, True, False, True])


@pytest.mark.parametrize("cell", ["-1", "1_2", "twelve", "2000"])
def test_bad_weeks_are_cell_errors(tmp_path, cell):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + f"A,C01,DSC,0.8,{cell}\n")
    with pytest.raises(InputError) as caught:
        load_cohort(path)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (2, BEVACIZUMAB_COLUMN, cell)


def test_files_without_the_column_load_with_it_missing():
    from conftest import DATA

    cohort = load_cohort(DATA / "patients_example.csv")
    assert cohort.table[BEVACIZUMAB_COLUMN].isna().all()


def test_cli_refuses_with_exit_2_unless_overridden(treated, tmp_path, capsys):
    from conftest import DATA

    fit = str(DATA / "fit.nc")
    assert main(["predict", fit, str(treated)]) == 2
    error = capsys.readouterr().err
    assert "row 3" in error and "bevacizumab" in error and "Traceback" not in error
    out = tmp_path / "scores.csv"
    assert main(["predict", fit, str(treated), "--allow-bevacizumab", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("SCORED UNDER BEVACIZUMAB BY EXPLICIT OVERRIDE (2 lesions: B, D)")
    written = pd.read_csv(out)
    assert list(written["under_bevacizumab"]) == [False, True, False, True]


def test_an_overridden_report_says_so_at_its_top(treated, tmp_path, capsys):
    from conftest import DATA

    out = tmp_path / "reports"
    argv = ["report", str(DATA / "fit.nc"), str(treated), "--out", str(out)]
    assert main(argv) == 2 and not out.exists()
    assert main([*argv, "--allow-bevacizumab"]) == 0
    assert capsys.readouterr().out.startswith("SCORED UNDER BEVACIZUMAB BY EXPLICIT OVERRIDE (2")
    page = (out / "002_B.html").read_text()
    assert page.index('id="bevacizumab-override"') < page.index("<header>")
    assert "12 weeks before this scan" in page
    assert 'id="bevacizumab-override"' not in (out / "001_A.html").read_text()


def test_a_training_cohort_may_not_hold_treated_lesions(treated):
    from model.fitting.sampling import fit

    with pytest.raises(InputError, match="Remove it from the training cohort"):
        fit(load_cohort(treated))


def test_validate_accepts_the_file_and_says_what_scoring_will_refuse(treated, capsys):
    assert main(["validate", str(treated)]) == 0
    assert "Note: 2 lesions were scanned within 12 weeks of bevacizumab" in capsys.readouterr().out
