"""Cutoff analyses at their edges: defaults, refusals, ties, and the cohorts they are given.

On 200 draws of the bundled fit; the values themselves are held to the written-out model in
``test_analysis_closed_forms.py``.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import histopathology_dsc

from model.core.errors import InputError
from model.cutoffs import analysis as an
from model.fitting.sampling import Fit


def _with_counts(fit: Fit, **counts: dict[str, int]) -> Fit:
    """The fit as if its cohort had had these lesions per center of each kind (others 0)."""
    provenance = copy.deepcopy(fit.provenance)
    for kind, by_center in counts.items():
        provenance["cohort"]["imaging_counts"][kind] = {c: by_center.get(c, 0) for c in fit.centers}
    return Fit(fit.posterior, fit.sample_stats, provenance)


def _rows_of(path, keep) -> str:
    """The cohort file's header and the rows whose DataFrame index ``keep`` holds, verbatim."""
    lines = path.read_text().splitlines(keepends=True)
    return lines[0] + "".join(lines[i + 1] for i in keep)


@pytest.fixture(scope="module")
def labelled_dsc(bundled_cohort_path) -> pd.DataFrame:
    return histopathology_dsc(bundled_cohort_path)


def test_a_center_with_one_lesion_of_the_kind_is_a_group(few_draws_fit):
    fit = _with_counts(few_draws_fit, MET={"C01": 1, "C03": 4})
    assert an.groups(fit, "MET") == ["C01", "C03", an.POOLED, an.NEW_CENTER]


def test_given_pooled_weights_count_only_in_proportion(few_draws_fit):
    C = len(few_draws_fit.centers)
    raw = np.arange(1.0, C + 1)
    given = an.group_accuracy_inputs(few_draws_fit, "DSC", an.POOLED, raw)
    normalised = an.group_accuracy_inputs(few_draws_fit, "DSC", an.POOLED, raw / raw.sum())
    for a, b in zip(given, normalised, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    np.testing.assert_allclose(given[-1].sum(axis=-1), 1.0)  # each class's mixture weights


def test_default_roc_points_and_auc_groups(few_draws_fit):
    roc = an.roc_table(few_draws_fit, "DSC", "C01")
    np.testing.assert_allclose(roc["fpr"], np.linspace(0, 1, 101), atol=1e-15)
    auc = an.auc_table(few_draws_fit, "DSC")
    assert auc["group"].tolist() == an.groups(few_draws_fit, "DSC")
    assert (auc["modality"] == "DSC").all()


@pytest.mark.parametrize(
    ("method", "threshold", "message"),
    [
        ("best", 0.3, r"^method must be 'youden' or 'utility'$"),
        ("utility", None, r"^utility-optimal cutoffs need a threshold probability in \(0, 1\)$"),
        ("utility", 0.0, r"^utility-optimal cutoffs need a threshold probability in \(0, 1\)$"),
        ("utility", 1.0, r"^utility-optimal cutoffs need a threshold probability in \(0, 1\)$"),
        ("utility", 1.5, r"^utility-optimal cutoffs need a threshold probability in \(0, 1\)$"),
    ],
)
def test_optimal_cutoffs_refuse_a_method_or_threshold_they_cannot_use(
    few_draws_fit, method, threshold, message
):
    with pytest.raises(ValueError, match=message):
        an.optimal_cutoff_draws(few_draws_fit, "FET", "C01", method, threshold)


def test_every_table_names_its_modality_and_cutoffs_are_floats(few_draws_fit, bundled_cohort_path):
    tables = [
        an.optimal_cutoff_table(few_draws_fit, "FET", ["C01"]),
        an.transport_table(few_draws_fit, "FET"),
        an.empirical_check(few_draws_fit, bundled_cohort_path, "DSC", [1.75]),
    ]
    for table, kind in zip(tables, ("FET", "FET", "DSC"), strict=True):
        assert table["modality"].tolist() == [kind] * len(table)
    whole = [
        an.accuracy_table(few_draws_fit, "DSC", [1, 2], [an.POOLED]),
        an.empirical_check(few_draws_fit, bundled_cohort_path, "DSC", [1, 2]),
    ]
    for table in whole:  # cutoffs given as whole numbers
        assert table["cutoff"].dtype == np.float64 and set(table["cutoff"]) == {1.0, 2.0}


def test_a_two_modality_rule_is_pooled_only_over_lesions_with_both(few_draws_fit):
    """No training lesion had both kinds: only the new-center view. One lesion at C01 had both:
    pooled is C01's own accuracy."""
    fit = _with_counts(few_draws_fit, FET={})
    table = an.combined_table(fit, "DSC", "FET", 1.75, 2.0)
    assert table["group"].unique().tolist() == [an.NEW_CENTER]
    fit = _with_counts(few_draws_fit, FET={"C01": 1})
    pooled = an.combined_table(fit, "DSC", "FET", 1.75, 2.0, [an.POOLED])
    at_c01 = an.combined_table(fit, "DSC", "FET", 1.75, 2.0, ["C01"])
    assert an.combined_table(fit, "DSC", "FET", 1.75, 2.0)["group"].unique().tolist() == [
        an.POOLED, an.NEW_CENTER,
    ]  # fmt: skip
    values = [c for c in pooled.columns if c.startswith(("sensitivity", "specificity"))]
    np.testing.assert_allclose(pooled[values], at_c01[values], rtol=1e-12)


def test_the_empirical_check_skips_a_class_without_labelled_lesions_and_ties_are_negative(
    few_draws_fit, bundled_cohort_path, labelled_dsc, tmp_path
):
    """A file without labelled recurrences has specificity rows only, at every cutoff; a lesion
    exactly at the cutoff is not on the recurrence side ("DSC > cutoff")."""
    necrosis = labelled_dsc[labelled_dsc.reference_class == "necrosis"]
    only_necrosis = tmp_path / "necrosis.csv"
    only_necrosis.write_text(_rows_of(bundled_cohort_path, necrosis.index))
    table = an.empirical_check(few_draws_fit, only_necrosis, "DSC", [1.5, 2.0])
    assert table[["cutoff", "metric"]].values.tolist() == [
        [1.5, "specificity"], [2.0, "specificity"],
    ]  # fmt: skip
    tie = float(labelled_dsc[labelled_dsc.reference_class == "recurrence"].perfusion_ratio.iloc[0])
    row = an.empirical_check(few_draws_fit, bundled_cohort_path, "DSC", [tie]).iloc[0]
    members = labelled_dsc[labelled_dsc.reference_class == "recurrence"].perfusion_ratio
    assert (members == tie).any()
    assert row["observed"] == pytest.approx((members > tie).mean())


def test_labelled_decision_curves_read_the_cohort_with_the_fits_modalities(
    fit_without_pet, bundled_cohort_path
):
    with pytest.raises(InputError) as info:
        an.labelled_decision_curves(fit_without_pet, bundled_cohort_path)
    assert {"pet_tbr", "pet_tracer"} <= {p.column for p in info.value.problems}


def test_labelled_decision_curves_on_two_lesions_and_a_tie(
    few_draws_fit, bundled_cohort_path, labelled_dsc, tmp_path
):
    """One labelled lesion of each class is enough; the rule counts a lesion exactly at its
    cutoff as negative, so at that cutoff the rule treats only the lesion above it."""
    recurrence = labelled_dsc[labelled_dsc.reference_class == "recurrence"]
    necrosis = labelled_dsc[labelled_dsc.reference_class == "necrosis"]
    high, low = recurrence.sort_values("perfusion_ratio").iloc[-1], necrosis.iloc[0]
    assert high.perfusion_ratio > low.perfusion_ratio
    two = tmp_path / "two.csv"
    two.write_text(_rows_of(bundled_cohort_path, [high.name, low.name]))
    tie = float(high.perfusion_ratio)
    table = an.labelled_decision_curves(few_draws_fit, two, "DSC", tie, [0.25])
    assert table.attrs["n"] == 2
    rule = table[table.model == f"DSC > {tie:g}"]
    # nobody is above the cutoff: net benefit 0 (were the tie positive it would be 1/2)
    assert rule["net_benefit"].tolist() == [0.0]
    below = an.labelled_decision_curves(
        few_draws_fit, two, "DSC", float(low.perfusion_ratio), [0.25]
    )
    # the recurrence alone is above: TP 1/2, FP 0
    assert below[below.model.str.startswith("DSC")]["net_benefit"].tolist() == [0.5]
