"""Decision curves: identical to the dcurves package on its own example data."""

import os

import numpy as np
import pandas as pd
import pytest

from model.cli import main
from model.core.errors import InputError
from model.decision.curves import DCA_COLUMNS, decision_curve, net_benefit_draws, probability_better

dcurves = pytest.importorskip("dcurves")
NUMERIC = [c for c in DCA_COLUMNS if c not in ("model", "threshold")]


def compare(ours, theirs):
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours["model"]) == list(theirs["model"])
    for column in ["threshold", *NUMERIC]:
        a, b = ours[column].to_numpy(float), theirs[column].to_numpy(float)
        assert np.array_equal(np.isfinite(a), np.isfinite(b)), column
        np.testing.assert_allclose(
            a[np.isfinite(a)], b[np.isfinite(b)], rtol=0, atol=1e-9, err_msg=column
        )


@pytest.fixture(scope="module")
def binary():
    return pd.read_csv(os.path.join(dcurves.data, "df_binary.csv"))


def test_identical_to_dcurves_without_harm(binary):
    models = ["cancerpredmarker", "famhistory"]
    compare(
        decision_curve(binary, "cancer", models),
        dcurves.dca(data=binary, outcome="cancer", modelnames=models),
    )


def test_identical_to_dcurves_with_harm(binary):
    harm = {"cancerpredmarker": 0.0214, "famhistory": 0.01}
    thresholds = np.arange(0, 0.5, 0.01)
    ours = decision_curve(binary, "cancer", list(harm), thresholds=thresholds, harm=harm)
    compare(
        ours,
        dcurves.dca(
            data=binary, outcome="cancer", modelnames=list(harm), thresholds=thresholds, harm=harm
        ),
    )


def test_identical_to_dcurves_for_case_control_data():
    data = pd.read_csv(os.path.join(dcurves.data, "df_case_control.csv"))
    ours = decision_curve(data, "casecontrol", ["cancerpredmarker"], prevalence=0.2)
    compare(
        ours,
        dcurves.dca(
            data=data, outcome="casecontrol", modelnames=["cancerpredmarker"], prevalence=0.2
        ),
    )


def test_draws_reduce_to_the_point_estimate(binary):
    y = binary["cancer"].to_numpy()
    p = binary["cancerpredmarker"].to_numpy()
    t = np.arange(0, 0.5, 0.05)
    draws = net_benefit_draws(np.repeat(p[:, None], 3, axis=1), y, t)
    table = decision_curve(binary, "cancer", ["cancerpredmarker"], thresholds=t)
    expected = table.loc[table.model == "cancerpredmarker", "net_benefit"].to_numpy()
    np.testing.assert_allclose(draws, np.tile(expected, (3, 1)), atol=1e-12)
    assert probability_better(draws, np.zeros(len(t)))[1] == 1.0


def test_bad_tables_are_refused_with_row_and_column(binary):
    bad = binary.astype({"cancer": object})
    bad.loc[3, "marker"] = 1.7
    bad.loc[5, "cancer"] = 2
    with pytest.raises(InputError) as info:
        decision_curve(bad, "cancer", ["marker"])
    places = {(p.row, p.column) for p in info.value.problems}
    assert {(3, "marker"), (5, "cancer")} <= places


def test_cli(tmp_path, binary, capsys):
    path = tmp_path / "data.csv"
    binary.to_csv(path, index=False)
    out = tmp_path / "dca.csv"
    assert (
        main(
            [
                "dca",
                str(path),
                "--outcome",
                "cancer",
                "--model",
                "cancerpredmarker",
                "--harm",
                "cancerpredmarker=0.0214",
                "--thresholds",
                "0:0.5:0.01",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert len(table) == 150 and set(table["model"]) == {"cancerpredmarker", "all", "none"}
    text = out.read_text()  # thresholds as typed, and nothing infinite: blank where undefined
    assert "0.30000000000000004" not in text and "inf" not in text
    assert list(table["threshold"].iloc[:50]) == [k / 100 for k in range(50)]
    assert table.loc[table["threshold"] == 0, "net_intervention_avoided"].isna().all()
    assert (
        main(["dca", str(path), "--outcome", "cancer", "--model", "marker", "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert "data.csv" in err and "column 'marker'" in err and "probability in [0, 1]" in err


def test_a_risk_equal_to_the_threshold_counts_as_positive_as_in_dcurves():
    """Ties: a lesion whose predicted risk is exactly the threshold is test-positive."""
    rng = np.random.default_rng(0)
    thresholds = np.arange(0, 1, 0.05)
    risk = rng.choice(thresholds[1:], size=200)  # every risk sits on a threshold
    data = pd.DataFrame({"y": (rng.random(200) < risk).astype(int), "m": risk})
    ours = decision_curve(data, "y", ["m"], thresholds=thresholds)
    compare(ours, dcurves.dca(data=data, outcome="y", modelnames=["m"], thresholds=thresholds))
    by_hand = [(risk >= t).mean() for t in thresholds]
    np.testing.assert_allclose(ours[ours["model"] == "m"]["test_pos_rate"], by_hand)
