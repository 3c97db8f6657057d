"""Predictions written block by block: the same numbers as in memory, nothing left on an error."""

import csv
import io

import numpy as np
import pandas as pd
import pytest

from model.cli import main
from model.core.errors import InputError
from model.scoring.predict import predict
from model.scoring.stream import BAND_EDGES, SHOWN_ROWS, summarize_predictions, write_predictions


@pytest.fixture(scope="module")
def patients(tmp_path_factory):
    """90 lesions of the bundled cohort, one with a formula-like id, as a patients CSV."""
    from conftest import DATA

    table = pd.read_csv(DATA / "cohort.csv", dtype=str, keep_default_na=False).iloc[:90]
    table.loc[3, "patient_id"] = "=HYPERLINK(1)"
    path = tmp_path_factory.mktemp("stream") / "patients.csv"
    table.to_csv(path, index=False)
    return path


def test_streamed_predictions_equal_the_in_memory_ones(bundled_fit, patients, tmp_path):
    out = tmp_path / "predictions.csv"
    summary = write_predictions(bundled_fit, patients, out, ci_prob=0.8, block_rows=7)
    written = pd.read_csv(out, dtype={"patient_id": str})
    whole = predict(bundled_fit, patients, ci_prob=0.8)
    assert len(written) == summary.lesions == 90
    # a patient's two lesions straddle a block boundary: still scored together
    pid = whole["patient_id"].to_numpy()
    assert any(pid[i - 1] == pid[i] for i in range(7, 90, 7))
    assert (whole["llr_other_lesions"] != 0).sum() >= 4
    np.testing.assert_allclose(
        written["ci_low"], whole["ci_low"], rtol=1e-12
    )  # CSV text: 16 digits
    np.testing.assert_allclose(
        written["p_recurrence"], whole["p_recurrence"], rtol=1e-12
    )  # CSV text: 16 digits
    assert written["patient_id"].iloc[3] == "'=HYPERLINK(1)"  # neutralised in a later block
    expected = np.histogram(whole["p_recurrence"], bins=(0, *BAND_EDGES, 1.0 + 1e-12))[0]
    np.testing.assert_array_equal(summary.band_counts, expected)
    assert len(summary.head) == SHOWN_ROWS and not summary.complete
    assert summary.head.attrs["ci_prob"] == 0.8


def test_an_invalid_row_leaves_no_output(bundled_fit, patients, tmp_path):
    broken = tmp_path / "broken.csv"
    text = patients.read_text()
    width = len(text.splitlines()[0].split(","))
    last = ["last", "C01", "DSC", "1_5"] + [""] * (width - 4)  # the cohort's first four columns
    broken.write_text(text.rstrip("\n") + "\n" + ",".join(last) + "\n")
    out = tmp_path / "predictions.csv"
    with pytest.raises(InputError, match="1_5"):
        write_predictions(bundled_fit, broken, out, block_rows=10)
    assert list(tmp_path.iterdir()) == [broken]  # neither the file nor a temporary


def test_summary_of_a_small_table_is_complete(bundled_fit, patients):
    frame = predict(bundled_fit, patients).iloc[:5]
    summary = summarize_predictions(frame)
    assert summary.complete and summary.band_counts.sum() == 5
    assert summary.bands()["share"].sum() == pytest.approx(1.0)


def test_the_cli_table_shows_the_categories_beside_the_probability(capsys):
    from conftest import DATA

    assert main(["predict", str(DATA / "fit.nc"), str(DATA / "patients_example.csv")]) == 0
    shown = capsys.readouterr().out
    assert "Radiology categories at each lesion's latest scan" in shown
    assert "BT-RADS (report)" in shown and "preliminary PD" in shown and "3b or 3c or 4" in shown


def test_the_summary_counts_the_lesions_whose_categories_disagree_with_the_model(bundled_fit):
    from conftest import DATA

    frame = predict(bundled_fit, DATA / "patients_example.csv")
    summary = summarize_predictions(frame)
    assert summary.flagged == 4 == (frame["category_flag"] != "").sum()


def test_cli_summarises_many_lesions_and_writes_them_all(patients, tmp_path, capsys):
    from conftest import DATA

    out = tmp_path / "predictions.csv"
    assert main(["predict", str(DATA / "fit.nc"), str(patients), "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "90 lesions scored" in shown and "Lesions per band" in shown
    assert "lesions where a radiology category (BT-RADS, RANO 2.0) and the model lean" in shown
    assert "HYPERLINK" not in shown  # a summary, not a row per lesion
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert len(rows) == 91 and rows[4][0] == "'=HYPERLINK(1)"
