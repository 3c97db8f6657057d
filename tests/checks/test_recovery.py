"""Statistical studies of the fit: parameter recovery and calibration on held-out lesions.

Marked slow: CI runs the short form (2 simulated cohorts); ``RNBAYES_STUDY=full`` runs 8.
"""

import os

import numpy as np
import pytest

from model.checks.simulation import draw_parameters, simulate, split_at_patient
from model.fitting.sampling import SamplerSettings, fit
from model.inputs.parameters import load_parameters
from model.inputs.vocabulary import SYMPTOMS
from model.likelihood.draws import parameter_variables
from model.scoring.predict import predict

pytestmark = pytest.mark.slow

N_TRAIN, N_HELD_OUT, N_CENTERS = 1200, 5000, 6
SEEDS = range(101, 109) if os.environ.get("RNBAYES_STUDY") == "full" else (101, 102)


def truth_pairs(truth, posterior, registry):
    """(name, true value, posterior draws) for every population parameter and center effect."""
    v = truth.parameters
    post = lambda name, **sel: posterior[name].sel(**sel).to_numpy().ravel()  # noqa: E731
    pairs = [
        (f"{entry} {selection}", v[entry], post(var, **selection))
        for entry, var, selection in parameter_variables(registry)
    ]
    for family in ("prevalence", *(m.name for m in registry.markers)):
        for c, design in enumerate(truth.centers):
            pairs.append(
                (
                    f"{family}_center[{design.name}]",
                    truth.center_effects[family][c],
                    post(f"{family}_center", center=design.name),
                )
            )
    return pairs


@pytest.fixture(scope="module")
def studies():
    priors = load_parameters()
    results = []
    for seed in SEEDS:
        truth_parameters = draw_parameters(priors, seed)
        cohort, truth = simulate(
            N_TRAIN + N_HELD_OUT, N_CENTERS, seed, truth_parameters, validate=False
        )
        train, held_out = split_at_patient(cohort, N_TRAIN)
        fitted = fit(
            train, priors, SamplerSettings(draws=500, tune=400, chains=2, seed=seed), progress=False
        )
        results.append((truth, fitted, held_out, truth.latent_class[len(train) :]))
    return results


def test_true_values_inside_90_percent_intervals_at_the_expected_rate(studies):
    inside, total = 0, 0
    for truth, fitted, _, _ in studies:
        for _name, value, draws in truth_pairs(truth, fitted.posterior, fitted.registry):
            low, high = np.quantile(draws, [0.05, 0.95])
            inside += low <= value <= high
            total += 1
    rate = inside / total
    # Binomial(total, 0.9): 3.5 standard errors either side (intervals within a fit correlate).
    se = np.sqrt(0.09 / total)
    assert 0.9 - 3.5 * se <= rate <= min(1.0, 0.9 + 3.5 * se), f"coverage {inside}/{total}"


def test_class_separation_is_recovered(studies):
    for truth, fitted, _, _ in studies:
        for name, value, draws in truth_pairs(truth, fitted.posterior, fitted.registry):
            if name.startswith(("modality.perfusion.DSC.separation", "growth.separation")):
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
            **{m.name: list(m.columns) for m in fitted.registry},
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
            q = predict(fitted, held_out.with_table(t))["p_recurrence"].to_numpy()
            single[modality] = np.mean((q - z) ** 2)
        assert brier < min(single.values()), (brier, single)
