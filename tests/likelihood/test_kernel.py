"""The scorer against hand-written Bayes computations with SciPy densities (one fixed draw)."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_ndtr as scipy_log_ndtr

from model.inputs.encode import encode
from model.inputs.parameters import load_parameters
from model.inputs.schema import cohort_from_records
from model.inputs.vocabulary import SYMPTOMS
from model.likelihood.draws import draws_from_values
from model.likelihood.kernel import class_log_joint, log_ndtr, log_orthant, score
from model.likelihood.quadrature import GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS
from model.likelihood.tables import build_tables

P = load_parameters()
V = P.model_values()
RATES = {s: P.symptom_rates(s) for s in SYMPTOMS}
EFFECTS = {
    "prevalence": np.array([0.3, -0.2]),
    "perfusion": np.array([0.1, -0.15]),
    "pet": np.array([-0.05, 0.08]),
}
CENTERS = ("A", "B")
WINDOW = 2.76


def one_draw_tables():
    return build_tables(draws_from_values(V, RATES, EFFECTS))


def run(records):
    cohort = cohort_from_records(records)
    lesions = encode(cohort, CENTERS, WINDOW)
    return score(lesions, one_draw_tables(), len(CENTERS)), lesions


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def class_mean(family, name, k, center):
    shift = EFFECTS["perfusion" if family == "perfusion" else "pet"][center]
    return V[f"{family}.{name}.mu_necrosis"] + k * V[f"{family}.{name}.separation"] + shift


def class_sd(family, name, k):
    return V[f"{family}.{name}.{'sigma_recurrence' if k else 'sigma_necrosis'}"]


def prior_logit(center, early=0.0, mgmt=0.0):
    return (
        V["prevalence.intercept"]
        + EFFECTS["prevalence"][center]
        + V["prevalence.early"] * early
        + V["prevalence.mgmt"] * mgmt
    )


def test_log_ndtr_matches_scipy():
    for z in np.concatenate([np.linspace(-60, 12, 500), [-30.0, -29.99, 5.0, 5.01]]):
        assert log_ndtr(z) == pytest.approx(scipy_log_ndtr(z), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("r", [-0.8, -0.3, 0.0, 0.3, 0.7, 0.9])
@pytest.mark.parametrize(
    ("h", "k"), [(-2.0, -1.0), (0.0, 0.0), (1.5, -0.5), (2.5, 3.0), (-6.0, 4.0)]
)
def test_orthant_matches_scipy_bivariate_cdf(h, k, r):
    # P(X > h, Y > k) = P(-X < -h, -Y < -k), and (-X, -Y) has the same correlation.
    expected = stats.multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]]).cdf([-h, -k])
    got = np.exp(log_orthant(h, k, r, GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS))
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_no_evidence_gives_the_prior():
    result, _ = run(
        [
            {"patient_id": "a", "center": "A"},
            {"patient_id": "b", "center": "B", "months_since_rt": 1.0, "mgmt_methylated": "yes"},
        ]
    )
    assert result.p_mean[0] == pytest.approx(sigmoid(prior_logit(0)), abs=1e-12)
    assert result.p_mean[1] == pytest.approx(sigmoid(prior_logit(1, 0.5, 0.5)), abs=1e-12)
    assert np.allclose(result.terms[:, 1:], 0.0)


def test_numeric_perfusion_equals_normal_densities():
    x = 1.9
    result, _ = run(
        [{"patient_id": "a", "center": "B", "perfusion_technique": "ASL", "perfusion_ratio": x}]
    )
    lx = np.log(x)
    llr = stats.norm.logpdf(
        lx, class_mean("perfusion", "ASL", 1, 1), class_sd("perfusion", "ASL", 1)
    ) - stats.norm.logpdf(lx, class_mean("perfusion", "ASL", 0, 1), class_sd("perfusion", "ASL", 0))
    assert result.terms[0, 1] == pytest.approx(llr, abs=1e-9)
    assert result.p_mean[0] == pytest.approx(sigmoid(prior_logit(1) + llr), abs=1e-12)


def test_perfusion_and_pet_use_the_bivariate_density_and_chain_rule():
    x, y = 2.2, 1.7
    result, _ = run(
        [
            {
                "patient_id": "a",
                "center": "A",
                "perfusion_technique": "DSC",
                "perfusion_ratio": x,
                "pet_tracer": "FET",
                "pet_tbr": y,
            }
        ]
    )
    log_joint = []
    for k in (0, 1):
        rho = V["correlation.recurrence" if k else "correlation.necrosis"]
        sx, sy = class_sd("perfusion", "DSC", k), class_sd("pet", "FET", k)
        cov = [[sx**2, rho * sx * sy], [rho * sx * sy, sy**2]]
        mean = [class_mean("perfusion", "DSC", k, 0), class_mean("pet", "FET", k, 0)]
        log_joint.append(stats.multivariate_normal(mean, cov).logpdf([np.log(x), np.log(y)]))
    perf = [
        stats.norm.logpdf(
            np.log(x), class_mean("perfusion", "DSC", k, 0), class_sd("perfusion", "DSC", k)
        )
        for k in (0, 1)
    ]
    assert result.terms[0, 1] == pytest.approx(perf[1] - perf[0], abs=1e-9)
    assert result.terms[0, 2] == pytest.approx(
        (log_joint[1] - log_joint[0]) - (perf[1] - perf[0]), abs=1e-9
    )
    assert result.p_mean[0] == pytest.approx(
        sigmoid(prior_logit(0) + log_joint[1] - log_joint[0]), abs=1e-12
    )


def test_missing_modality_reduces_to_the_marginal():
    y = 2.4
    result, _ = run([{"patient_id": "a", "center": "A", "pet_tracer": "MET", "pet_tbr": y}])
    llr = stats.norm.logpdf(
        np.log(y), class_mean("pet", "MET", 1, 0), class_sd("pet", "MET", 1)
    ) - stats.norm.logpdf(np.log(y), class_mean("pet", "MET", 0, 0), class_sd("pet", "MET", 0))
    assert result.terms[0, 1] == 0.0
    assert result.terms[0, 2] == pytest.approx(llr, abs=1e-9)


@pytest.mark.parametrize("read", ["positive", "negative"])
def test_read_equals_cdf_likelihood(read):
    c = 1.75
    result, _ = run(
        [
            {
                "patient_id": "a",
                "center": "A",
                "perfusion_technique": "DSC",
                "perfusion_read": read,
                "perfusion_read_cutoff": c,
            }
        ]
    )
    lik = []
    for k in (0, 1):
        above = stats.norm.sf(
            np.log(c), class_mean("perfusion", "DSC", k, 0), class_sd("perfusion", "DSC", k)
        )
        lik.append(above if read == "positive" else 1 - above)
    assert result.terms[0, 1] == pytest.approx(np.log(lik[1] / lik[0]), abs=1e-9)


def test_numeric_perfusion_with_pet_read_uses_the_conditional_cdf():
    x, c = 1.5, 2.0
    result, _ = run(
        [
            {
                "patient_id": "a",
                "center": "B",
                "perfusion_technique": "DSC",
                "perfusion_ratio": x,
                "pet_tracer": "FET",
                "pet_read": "positive",
                "pet_read_cutoff": c,
            }
        ]
    )
    llr = 0.0
    for k, sign in ((1, 1), (0, -1)):
        rho = V["correlation.recurrence" if k else "correlation.necrosis"]
        mx, sx = class_mean("perfusion", "DSC", k, 1), class_sd("perfusion", "DSC", k)
        my, sy = class_mean("pet", "FET", k, 1), class_sd("pet", "FET", k)
        # joint P(X = x, Y > c) by numerical integration of the bivariate density
        grid = np.linspace(np.log(c), np.log(c) + 12 * sy, 20001)
        cov = [[sx**2, rho * sx * sy], [rho * sx * sy, sy**2]]
        dens = stats.multivariate_normal([mx, my], cov).pdf(
            np.column_stack([np.full_like(grid, np.log(x)), grid])
        )
        llr += sign * np.log(np.trapezoid(dens, grid))
    assert result.terms[0, 1] + result.terms[0, 2] == pytest.approx(llr, abs=1e-6)


def test_two_reads_use_the_bivariate_orthant():
    result, _ = run(
        [
            {
                "patient_id": "a",
                "center": "A",
                "perfusion_technique": "DSC",
                "perfusion_read": "negative",
                "perfusion_read_cutoff": 1.75,
                "pet_tracer": "MET",
                "pet_read": "positive",
                "pet_read_cutoff": 1.5,
            }
        ]
    )
    joint = []
    for k in (0, 1):
        rho = V["correlation.recurrence" if k else "correlation.necrosis"]
        mx, sx = class_mean("perfusion", "DSC", k, 0), class_sd("perfusion", "DSC", k)
        my, sy = class_mean("pet", "MET", k, 0), class_sd("pet", "MET", k)
        bvn = stats.multivariate_normal([mx, my], [[sx**2, rho * sx * sy], [rho * sx * sy, sy**2]])
        # P(X <= a, Y > b) = P(X <= a) - P(X <= a, Y <= b)
        a, b = np.log(1.75), np.log(1.5)
        joint.append(stats.norm.cdf(a, mx, sx) - bvn.cdf([a, b]))
    assert result.terms[0, 1] + result.terms[0, 2] == pytest.approx(
        np.log(joint[1] / joint[0]), abs=1e-6
    )


def test_symptoms_and_growth():
    record = {
        "patient_id": "a",
        "center": "A",
        "headache": "yes",
        "seizure": "no",
        "focal_deficit": "unknown",
        "volume_baseline_ml": 3.0,
        "volume_fu1_ml": 3.9,
        "interval_fu1_weeks": 7,
        "volume_fu2_ml": 4.1,
        "interval_fu2_weeks": 5,
    }
    result, _ = run([record])
    p0, p1 = RATES["headache"]
    q0, q1 = RATES["seizure"]
    symptoms = np.log(p1 / p0) + np.log((1 - q1) / (1 - q0))
    assert result.terms[0, 3] == pytest.approx(symptoms, abs=1e-12)
    growth = 0.0
    for g, w in ((np.log(3.9 / 3.0), 7), (np.log(4.1 / 3.9), 5)):
        for k, sign in ((1, 1), (0, -1)):
            rate = V["growth.rate_necrosis"] + k * V["growth.separation"]
            sd = V["growth.sd_recurrence" if k else "growth.sd_necrosis"]
            growth += sign * stats.norm.logpdf(g, rate * w / 6, sd)
    assert result.terms[0, 4] == pytest.approx(growth, abs=1e-9)


def test_unseen_center_integrates_the_offsets():
    """An unseen center equals the average over center offsets drawn from N(0, tau)."""
    record = {
        "patient_id": "a",
        "center": "Z",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 1.6,
        "pet_tracer": "FET",
        "pet_tbr": 2.1,
        "mgmt_methylated": "no",
    }
    result, lesions = run([record])
    assert lesions.center[0] == -1
    rng = np.random.default_rng(0)
    m = 400_000
    u = rng.normal(0, V["prevalence.tau_center"], m)
    a = rng.normal(0, V["perfusion.tau_center"], m)
    b = rng.normal(0, V["pet.tau_center"], m)
    joint = []
    for k in (0, 1):
        rho = V["correlation.recurrence" if k else "correlation.necrosis"]
        sx, sy = class_sd("perfusion", "DSC", k), class_sd("pet", "FET", k)
        mx = V["perfusion.DSC.mu_necrosis"] + k * V["perfusion.DSC.separation"] + a
        my = V["pet.FET.mu_necrosis"] + k * V["pet.FET.separation"] + b
        zx, zy = (np.log(1.6) - mx) / sx, (np.log(2.1) - my) / sy
        log_density = -(zx**2 - 2 * rho * zx * zy + zy**2) / (2 * (1 - rho**2)) - np.log(
            2 * np.pi * sx * sy * np.sqrt(1 - rho**2)
        )
        eta = V["prevalence.intercept"] + u - 0.5 * V["prevalence.mgmt"]
        prior = sigmoid(eta) if k else sigmoid(-eta)
        joint.append(np.mean(prior * np.exp(log_density)))
    assert result.p_mean[0] == pytest.approx(joint[1] / (joint[0] + joint[1]), abs=2e-3)


def test_terms_sum_to_class_log_joint_difference():
    from model.checks.simulation import simulate

    cohort, truth = simulate(300, 3, seed=4)
    draws = draws_from_values(truth.parameters, truth.symptom_rates, truth.center_effects)
    tables = build_tables(draws)
    lesions = encode(cohort, [c.name for c in truth.centers], WINDOW)
    result = score(lesions, tables, 3)
    ell = class_log_joint(lesions, tables, 3)[:, 0, :]
    assert np.allclose(result.terms.sum(axis=1), ell[:, 1] - ell[:, 0], atol=1e-9)
    assert np.allclose(result.p_mean, sigmoid(ell[:, 1] - ell[:, 0]), atol=1e-12)
