"""The timeline both rule sets read: scans in order, their times, and what changed at each."""

import warnings

import numpy as np
import pandas as pd

from model.categories.scans import IMPROVED, UNCHANGED, UNKNOWN, WORSE, scan_series
from model.inputs.reading import cohort_from_records


def series_of(*rows):
    rows = [{"patient_id": f"p{k}", "center": "C01", **row} for k, row in enumerate(rows)]
    return scan_series(cohort_from_records(pd.DataFrame(rows)))


def test_a_row_becomes_its_scans_in_order_with_their_times():
    series = series_of(
        {
            "months_since_rt": 12,
            "volume_prior_ml": 4.0,
            "volume_baseline_ml": 4.4,
            "flair_change": "worse",
            "volume_fu1_ml": 5.0,
            "interval_fu1_weeks": 6,
            "flair_change_fu1": "improved",
            "volume_fu2_ml": 4.0,
            "interval_fu2_weeks": 8,
            "steroid_increase_fu2": "no",
            "steroid_increase": "yes",
            "out_of_field": "negative",
        },
        {"volume_baseline_ml": 3.0, "steroid_increase": "no", "out_of_field": "positive"},
        {},
    )
    weeks = 12 * 365.25 / 12 / 7
    np.testing.assert_allclose(series.weeks[0, :3], [weeks, weeks + 6, weeks + 14])
    assert np.isnan(series.weeks[0, 3]) and np.isnan(series.weeks[1]).all()
    np.testing.assert_array_equal(series.volume[0, :3], [4.4, 5.0, 4.0])
    np.testing.assert_array_equal(series.prior, [4.0, np.nan, np.nan])
    # 4.4 is exactly 10% above 4.0: unchanged, both ends of the band included
    assert series.enhancement.tolist() == [
        [UNCHANGED, WORSE, IMPROVED, UNKNOWN],
        [WORSE, UNKNOWN, UNKNOWN, UNKNOWN],  # worse by the format's definition
        [WORSE, UNKNOWN, UNKNOWN, UNKNOWN],
    ]
    assert series.flair.tolist() == [
        [WORSE, IMPROVED, UNKNOWN, UNKNOWN],
        [UNKNOWN] * 4,
        [UNKNOWN] * 4,
    ]
    assert series.latest.tolist() == [2, 0, 0]
    assert series.steroid_increase.tolist() == [
        [1, UNKNOWN, 0, UNKNOWN],
        [0, UNKNOWN, UNKNOWN, UNKNOWN],
        [UNKNOWN] * 4,
    ]
    assert series.out_of_field.tolist() == [0, 1, UNKNOWN]
    assert len(series) == 3


def test_the_unchanged_band_is_ten_percent_each_way_both_ends_included():
    series = series_of(
        *(
            {"volume_prior_ml": prior, "volume_baseline_ml": 4.0}
            for prior in (4.0 / 1.1 * 0.999, 4.0 / 1.1, 4.4, 4.4 * 1.001, 0.0)
        )
    )
    assert series.enhancement[:, 0].tolist() == [WORSE, UNCHANGED, UNCHANGED, IMPROVED, WORSE]


def test_no_warning_reaches_the_user_for_new_or_missing_volumes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        series_of({"volume_prior_ml": 0.0, "volume_baseline_ml": 2.0}, {"months_since_rt": 3})


def test_a_registry_without_the_out_of_field_test_leaves_it_unknown():
    cohort = cohort_from_records(pd.DataFrame([{"patient_id": "p", "center": "C01"}]))
    without = cohort.with_table(cohort.table.drop(columns="out_of_field"))
    assert scan_series(without).out_of_field.tolist() == [UNKNOWN]
