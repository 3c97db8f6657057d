"""Statistical studies of the fit: parameter recovery and calibration on held-out lesions.

Marked slow: CI runs the short form (2 simulated cohorts); ``RNBAYES_STUDY=full`` runs 8.
"""

import os

import numpy as np
import pytest

from model.checks.simulation import draw_parameters, simulate
from model.fitting.sampling import SamplerSettings, fit
from model.inputs.parameters import load_parameters
from model.inputs.schema import Cohort
from model.inputs.vocabulary import SYMPTOMS, TECHNIQUES, TRACERS
from model.scoring.predict import predict

pytestmark = pytest.mark.slow

N_TRAIN, N_HELD_OUT, N_CENTERS = 1200, 5000, 6
SEEDS = range(101, 109) if os.environ.get("RNBAYES_STUDY") == "full" else (101, 102)


def truth_pairs(truth, posterior):
    """(name, true value, posterior draws) for every population parameter and center effect."""
    v = truth.parameters
    post = lambda name, **sel: posterior[name].sel(**sel).to_numpy().ravel()  # noqa: E731
    pairs = [
        (f"prevalence_{k}", v[f"prevalence.{k}"], post(f"prevalence_{k}"))
        for k in ("intercept", "early", "mgmt")
    ]
    for family, names, dim in (("perfusion", TECHNIQUES, "technique"), ("pet", TRACERS, "tracer")):
        for n in names:
            for p in ("mu_necrosis", "separation"):
                pairs.append(
                    (
                        f"{family}_{p}[{n}]",
                        v[f"{family}.{n}.{p}"],
                        post(f"{family}_{p}", **{dim: n}),
                    )
                )
            for k, cls in (("sigma_necrosis", "necrosis"), ("sigma_recurrence", "recurrence")):
                pairs.append(
                    (
                        f"{family}_sigma[{n},{cls}]",
                        v[f"{family}.{n}.{k}"],
                        post(f"{family}_sigma", **{dim: n, "class": cls}),
                    )
                )
    for family in ("prevalence", "perfusion", "pet"):
        pairs.append(
            (f"{family}_tau_center", v[f"{family}.tau_center"], post(f"{family}_tau_center"))
        )
        for c, design in enumerate(truth.centers):
            pairs.append(
                (
                    f"{family}_center[{design.name}]",
                    truth.center_effects[family][c],
                    post(f"{family}_center", center=design.name),
                )
            )
    for cls in ("necrosis", "recurrence"):
        pairs.append(
            (f"correlation[{cls}]", v[f"correlation.{cls}"], post("correlation", **{"class": cls}))
        )
        for item in SYMPTOMS:
            k = 0 if cls == "necrosis" else 1
            pairs.append(
                (
                    f"symptom_rate[{cls},{item}]",
                    truth.symptom_rates[item][k],
                    post("symptom_rate", **{"class": cls, "symptom": item}),
                )
            )
    pairs += [
        ("growth_rate_necrosis", v["growth.rate_necrosis"], post("growth_rate_necrosis")),
        ("growth_separation", v["growth.separation"], post("growth_separation")),
        (
            "reference_sensitivity",
            v["reference.follow_up_sensitivity"],
            post("reference_sensitivity"),
        ),
        (
            "reference_specificity",
            v["reference.follow_up_specificity"],
            post("reference_specificity"),
        ),
    ]
    return pairs


def split(cohort, n_train):
    t = cohort.table
    return Cohort(t.iloc[:n_train].reset_index(drop=True), "train"), Cohort(
        t.iloc[n_train:].reset_index(drop=True), "held-out"
    )


@pytest.fixture(scope="module")
def studies():
    priors = load_parameters()
    results = []
    for seed in SEEDS:
        truth_parameters = draw_parameters(priors, seed)
        cohort, truth = simulate(
            N_TRAIN + N_HELD_OUT, N_CENTERS, seed, truth_parameters, validate=False
        )
        train, held_out = split(cohort, N_TRAIN)
        fitted = fit(
            train, priors, SamplerSettings(draws=500, tune=500, chains=4, seed=seed), progress=False
        )
        results.append((truth, fitted, held_out, truth.latent_class[N_TRAIN:]))
    return results


def test_true_values_inside_90_percent_intervals_at_the_expected_rate(studies):
    inside, total = 0, 0
    for truth, fitted, _, _ in studies:
        for _name, value, draws in truth_pairs(truth, fitted.posterior):
            low, high = np.quantile(draws, [0.05, 0.95])
            inside += low <= value <= high
            total += 1
    rate = inside / total
    # Binomial(total, 0.9): 3.5 standard errors either side (intervals within a fit correlate).
    se = np.sqrt(0.09 / total)
    assert 0.9 - 3.5 * se <= rate <= min(1.0, 0.9 + 3.5 * se), f"coverage {inside}/{total}"


def test_class_separation_is_recovered(studies):
    for truth, fitted, _, _ in studies:
        for name, value, draws in truth_pairs(truth, fitted.posterior):
            if name.startswith("perfusion_separation[DSC]") or name == "growth_separation":
                assert abs(np.median(draws) / value - 1) < 0.15, name


def test_calibrated_on_held_out_lesions_and_better_than_any_single_modality(studies):
    for _truth, fitted, held_out, z in studies:
        p = predict(fitted, held_out)["p_recurrence"].to_numpy()
        bins = np.minimum((p * 10).astype(int), 9)
        ece = sum(
            abs(p[bins == b].mean() - z[bins == b].mean()) * (bins == b).mean()
            for b in range(10)
            if (bins == b).any()
        )
        assert ece < 0.03, ece
        brier = np.mean((p - z) ** 2)
        single = {}
        keep = {
            "perfusion": [
                "perfusion_technique",
                "perfusion_ratio",
                "perfusion_read",
                "perfusion_read_cutoff",
            ],
            "pet": ["pet_tracer", "pet_tbr", "pet_read", "pet_read_cutoff"],
            "symptoms": list(SYMPTOMS),
            "growth": [c for c in held_out.table.columns if c.startswith(("volume_", "interval_"))],
        }
        for modality in keep:
            t = held_out.table.copy()
            nothing = np.zeros(len(t), bool)
            for other, other_columns in keep.items():
                if other != modality:
                    for column in other_columns:
                        t[column] = t[column].where(nothing)  # missing, keeping the column's type
            q = predict(fitted, Cohort(t, "single"))["p_recurrence"].to_numpy()
            single[modality] = np.mean((q - z) ** 2)
        assert brier < min(single.values()), (brier, single)
