"""Disagreements between the categories and the model, and the reader's category never counted."""

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from model.categories.agreement import BTRADS_LEANING, disagreements, leaning, model_leaning
from model.inputs.vocabulary import BTRADS_CATEGORIES


def test_leanings_follow_the_categories_order():
    # no less suspicious BT-RADS category leans further to recurrence than a more suspicious one
    worse = [BTRADS_LEANING[c] for c in BTRADS_CATEGORIES if c != "0"]
    assert worse == sorted(worse)
    assert set(BTRADS_LEANING) == set(BTRADS_CATEGORIES)


def test_a_set_leans_only_where_all_its_members_do():
    assert leaning("3c or 4", BTRADS_LEANING) == 1
    assert leaning("1a or 1b", BTRADS_LEANING) == -1
    assert leaning("3b or 3c or 4", BTRADS_LEANING) == 0
    assert leaning("3a or 4", BTRADS_LEANING) == 0


def test_the_model_leans_only_when_its_whole_interval_does():
    low = np.array([0.51, 0.50, 0.49, 0.10, 0.10])
    high = np.array([0.90, 0.90, 0.90, 0.49, 0.50])
    assert model_leaning(low, high).tolist() == [1, 0, 0, -1, 0]


def test_disagreements_are_opposite_leanings_only():
    flags = disagreements(
        ["4", "4", "3b", "3a", "2"],
        ["PD", "SD", "SD", "preliminary PD", "SD"],
        [None, None, "4", None, "2"],
        np.array([0.1, 0.6, 0.2, 0.6, 0.2]),
        np.array([0.3, 0.9, 0.4, 0.9, 0.4]),
    )
    assert flags[0] == (
        "BT-RADS 4 favours tumour progression, the model necrosis; "
        "RANO 2.0 PD favours progression, the model necrosis"
    )
    assert flags[1] == "RANO 2.0 SD favours no progression, the model recurrence"
    assert flags[2] == (
        "the report's BT-RADS 4 differs from the flowchart's 3b; "
        "the report's BT-RADS 4 favours tumour progression, the model necrosis"
    )
    assert flags[3] == "BT-RADS 3a favours treatment effect, the model recurrence"
    assert flags[4] == ""


def test_the_columns_only_the_categories_read_never_change_the_probability(few_draws_fit):
    """The reader's BT-RADS, the FLAIR changes and the prior volume are not evidence."""
    from model.scoring.predict import predict

    with_them = pd.read_csv(DATA / "patients_example.csv", dtype=str, keep_default_na=False)
    shown_only = ["volume_prior_ml", "btrads_read"] + [
        c for c in with_them.columns if c.startswith("flair_change")
    ]
    without = with_them.drop(columns=shown_only)
    changed = with_them.assign(btrads_read="4", flair_change="improved", volume_prior_ml="0")
    changed.loc[with_them["volume_baseline_ml"] == "", "flair_change"] = ""
    changed.loc[with_them["volume_baseline_ml"] == "", "volume_prior_ml"] = ""
    base = predict(few_draws_fit, with_them)
    numbers = [c for c in base.columns if c == "p_recurrence" or c.startswith(("ci_", "llr_"))]
    for other in (without, changed):
        result = predict(few_draws_fit, other)
        pd.testing.assert_frame_equal(result[numbers], base[numbers])
    assert (predict(few_draws_fit, changed)["btrads_read"] == "4").all()


def test_a_reported_category_the_flowchart_leaves_open_does_not_differ_from_it():
    flags = disagreements(
        ["3b or 3c or 4", "3b or 4"], ["SD", "SD"], ["3c", "3c"], np.full(2, 0.3), np.full(2, 0.7)
    )
    assert flags == ["", "the report's BT-RADS 3c differs from the flowchart's 3b or 4"]


def test_every_lesion_needs_every_column():
    with pytest.raises(ValueError):
        disagreements(["4", "4"], ["PD"], [None, None], np.full(2, 0.3), np.full(2, 0.7))
