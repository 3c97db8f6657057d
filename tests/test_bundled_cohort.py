"""The bundled synthetic cohort keeps its promise: at the classic cutoffs, its empirical
sensitivity and specificity (against the true classes it was drawn with) fall inside the
published pooled 95% confidence intervals."""

import json

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from model.inputs.schema import load_cohort

# (sensitivity CI, specificity CI, source) per modality at its classic cutoff.
PUBLISHED = {
    ("DSC", 1.75): [
        ((0.81, 0.94), (0.78, 0.95), "Patel 2017, mean rCBV"),
        ((0.82, 0.91), (0.77, 0.91), "van Dijken 2017, DSC"),
    ],
    ("MET", 1.5): [
        ((0.85, 0.91), (0.80, 0.89), "Xu 2017, MET"),
        ((0.83, 0.96), (0.69, 0.86), "Cui 2021, MET TBR"),
    ],
    ("FET", 2.0): [((0.80, 0.93), (0.69, 0.85), "Cui 2021, FET TBRmax")],
}
# Published pooled AUC ranges the issue calls for, widened by the sampling error of ~60-450 lesions.
AUC_RANGE = {
    "DSC": (0.85, 0.95),
    "ASL": (0.80, 0.92),
    "MET": (0.82, 0.98),
    "FET": (0.82, 0.95),
    "DOPA": (0.80, 0.92),
}


@pytest.fixture(scope="module")
def cohort_and_classes(bundled_cohort_path):
    cohort = load_cohort(bundled_cohort_path)
    truth = json.loads((bundled_cohort_path.parent / "cohort_truth.json").read_text())
    z = np.array([truth["latent_class"][pid] for pid in cohort.table["patient_id"]])
    return cohort.table, z


def values(table, name):
    kind, col = (
        ("perfusion_technique", "perfusion_ratio")
        if name in ("DSC", "ASL")
        else ("pet_tracer", "pet_tbr")
    )
    mask = ((table[kind] == name) & table[col].notna()).to_numpy()
    return mask, table[col].to_numpy()


@pytest.mark.parametrize(("modality", "cutoff"), list(PUBLISHED))
def test_accuracy_at_classic_cutoff_inside_published_ci(cohort_and_classes, modality, cutoff):
    table, z = cohort_and_classes
    mask, x = values(table, modality)
    positive = x[mask] > cutoff
    y = z[mask]
    sensitivity = positive[y == 1].mean()
    specificity = (~positive[y == 0]).mean()
    inside = [
        src
        for (se, sp, src) in PUBLISHED[(modality, cutoff)]
        if se[0] <= sensitivity <= se[1] and sp[0] <= specificity <= sp[1]
    ]
    assert inside, f"{modality} at {cutoff}: Se {sensitivity:.3f}, Sp {specificity:.3f}"


@pytest.mark.parametrize("modality", list(AUC_RANGE))
def test_auc_near_published(cohort_and_classes, modality):
    table, z = cohort_and_classes
    mask, x = values(table, modality)
    a, b = x[mask & (z == 1)], x[mask & (z == 0)]
    auc = mannwhitneyu(a, b).statistic / (len(a) * len(b))
    low, high = AUC_RANGE[modality]
    assert low <= auc <= high


def test_cohort_shape(cohort_and_classes):
    table, z = cohort_and_classes
    assert len(table) == 600 and table["center"].nunique() == 8
    assert set(table["perfusion_technique"].dropna()) == {"DSC", "ASL"}
    assert set(table["pet_tracer"].dropna()) == {"MET", "FET", "DOPA"}
    assert 0.55 <= z.mean() <= 0.68
    assert 0.35 <= table["pet_tracer"].notna().mean() <= 0.45
    labelled = table["reference_diagnosis"].notna()
    assert 0.45 <= labelled.mean() <= 0.55
    assert (table["reference_source"] == "histopathology").sum() > 0.6 * labelled.sum()
