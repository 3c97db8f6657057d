"""The synthetic cohort and the bundled fit keep their promise: like for like with the published
pooled accuracy of every registered marker kind (within-center AUC inside the published 95% CI,
ROC curve through the published summary point), and the cohort has the designed shape."""

import json

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from model.checks.literature import literature_comparison, passes_through_box, within_center_auc
from model.checks.simulation import lesion_key
from model.inputs.parameters import load_parameters
from model.inputs.reading import load_cohort
from model.modalities.spec import Kind, Published

PARAMETERS = load_parameters()
KINDS = [k.name for m in PARAMETERS.registry.markers for k in m.kinds]


@pytest.fixture(scope="module")
def comparison(bundled_fit):
    return literature_comparison(PARAMETERS, bundled_fit.draws).set_index("kind")


def test_every_kind_cites_its_published_accuracy():
    for marker in PARAMETERS.registry.markers:
        for kind in marker.kinds:
            assert kind.published is not None, kind.name
            assert kind.published.auc or kind.published.sensitivity, kind.name


@pytest.mark.parametrize("kind", KINDS)
def test_generating_auc_inside_the_published_ci(comparison, kind):
    row = comparison.loc[kind]
    assert row["generating_inside"] in (True, None), row
    assert row["roc_through_summary_point"] in (True, None), row


@pytest.mark.parametrize("kind", KINDS)
def test_fitted_auc_is_consistent_with_the_published_ci(comparison, kind):
    """The fitted within-center AUC's 90% interval overlaps the published 95% CI. (Its posterior
    mean need not lie inside: with 30-90 lesions of a kind the fit is less precise than a
    meta-analysis, and the generating AUC, tested above, is what the cohort was calibrated to.)"""
    row = comparison.loc[kind]
    assert row["fitted_consistent"] in (True, None), row
    assert row["fitted_low"] <= row["fitted_auc"] <= row["fitted_high"]


def test_within_center_auc_is_the_misread_mixture_auc():
    """Against a direct Mann-Whitney estimate from simulated values of both classes."""
    rng = np.random.default_rng(1)
    separation, sigma, e, n = 1.0, 0.5, 0.07, 200_000

    def values(k):
        looks = np.where(rng.random(n) < e, 1 - k, k)
        return rng.normal(looks * separation, sigma)

    u = mannwhitneyu(values(1), values(0)).statistic / n**2
    assert within_center_auc(separation, sigma, e) == pytest.approx(u, abs=0.003)


def test_the_summary_point_check_can_fail():
    kind = Kind("X", "X", 1.0, (), Published(None, (0.95, 0.93, 0.97), (0.95, 0.93, 0.97), "s"))
    assert passes_through_box(0.5, 0.5, 0.05, kind) is False  # AUC ~0.74 cannot reach it
    assert passes_through_box(1.7, 0.5, 0.02, kind) is True
    assert passes_through_box(4.0, 0.5, 0.001, kind) is False  # far better: above the box


@pytest.fixture(scope="module")
def cohort_and_classes(bundled_cohort_path):
    cohort = load_cohort(bundled_cohort_path)
    truth = json.loads((bundled_cohort_path.parent / "cohort_truth.json").read_text())
    keys = map(lesion_key, cohort.table["patient_id"], cohort.table["lesion_id"])
    z = np.array([truth["latent_class"][key] for key in keys])
    return cohort, z


def test_cohort_shape(cohort_and_classes):
    cohort, z = cohort_and_classes
    table = cohort.table
    assert len(table) == 600 and table["center"].nunique() == 8
    for marker in cohort.registry.markers:
        if marker.kind_column:
            assert set(table[marker.kind_column].dropna()) == set(marker.kind_cycle)
        share = table[marker.value_column].notna() | (
            table[marker.read_column].notna() if marker.has_reads else False
        )
        assert abs(share.mean() - marker.available) < 0.06, marker.name
    assert 0.55 <= z.mean() <= 0.70
    labelled = table["reference_diagnosis"].notna()
    assert 0.45 <= labelled.mean() <= 0.55
    assert (table["reference_source"] == "histopathology").sum() > 0.6 * labelled.sum()
