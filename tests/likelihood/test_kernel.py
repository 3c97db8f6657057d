"""The scorer against hand-written Bayes computations with SciPy densities (one fixed draw)."""

import numpy as np
import pytest
from scipy import stats

from model.inputs.encode import encode
from model.inputs.parameters import load_parameters
from model.inputs.reading import cohort_from_records
from model.likelihood.draws import draws_from_values
from model.likelihood.kernel import class_log_joint, contributions, score
from model.likelihood.tables import build_tables

P = load_parameters()
REGISTRY = P.registry
V = P.model_values()
EFFECTS = {
    "prevalence": np.array([0.3, -0.2]),
    **{m.name: np.array([0.1, -0.15]) * (i + 1) for i, m in enumerate(REGISTRY.markers)},
}
CENTERS = ("A", "B")
TERM = {name: i for i, name in enumerate(contributions(REGISTRY))}


def one_draw_tables():
    return build_tables(draws_from_values(P, V, EFFECTS), REGISTRY)


def run(records):
    cohort = cohort_from_records(records)
    lesions = encode(cohort, CENTERS, P)
    return score(lesions, one_draw_tables(), len(CENTERS), REGISTRY), lesions


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def marker_of(kind):
    return next(m for m in REGISTRY.markers if kind in m.kind_names)


def window_weight(months):
    """The pseudoprogression-window weight by hand: a logistic in months, 0 when unknown."""
    if months is None:
        return 0.0
    midpoint = P.value("cohort_design.early_window_months")
    width = P.value("cohort_design.early_window_width_months")
    return 1.0 / (1.0 + np.exp((months - midpoint) / width))


def location(kind, k, center, early=0.0):
    """The class-k location of a kind's log value at a center (None: unseen, no shift); in the
    pseudoprogression window necrosis moves by the marker's early shift of the separation, times
    the window weight ``early``."""
    m = marker_of(kind)
    shift = 0.0 if center is None else EFFECTS[m.name][center]
    prefix = f"modality.{m.name}.{kind}"
    step = m.direction * V[f"{prefix}.separation"]
    moved = V.get(f"modality.{m.name}.early_necrosis_shift", 0.0) * early if k == 0 else 0.0
    return V[f"{prefix}.mu_necrosis"] + (k + moved) * step + shift


def spread(kind):
    m = marker_of(kind)
    return V[f"modality.{m.name}.{kind}.sigma"]


def misread(kind):
    return V[f"modality.{marker_of(kind).name}.misread"]


def mixture_density(u, kind, k, center, sd=None, early=0.0):
    """p(u | k): the class's normal mixed with the other class's (misreads), from SciPy."""
    sd = spread(kind) if sd is None else sd
    e = misread(kind)
    own, other = location(kind, k, center, early), location(kind, 1 - k, center, early)
    return (1 - e) * stats.norm.pdf(u, own, sd) + e * stats.norm.pdf(u, other, sd)


def read_likelihood_ratio(kind, read, cutoff, center, early=0.0):
    """log P(read | recurrence) / P(read | necrosis) from the mixture's normal CDFs (SciPy)."""
    e, sd = misread(kind), spread(kind)
    lik = []
    for k in (0, 1):
        own, other = location(kind, k, center, early), location(kind, 1 - k, center, early)
        above = (1 - e) * stats.norm.sf(np.log(cutoff), own, sd) + e * stats.norm.sf(
            np.log(cutoff), other, sd
        )
        if marker_of(kind).direction < 0:
            above = 1 - above
        lik.append(above if read == "positive" else 1 - above)
    return np.log(lik[1] / lik[0])


def prior_logit(center, early=0.0, mgmt=None, reirradiation=None):
    """The class prior's log-odds by hand; an unknown (None) MGMT or re-irradiation status is the
    mixture of the known statuses' probabilities, weighted by the context shares."""
    shares = (P.value("context.mgmt_methylated_share"), P.value("context.reirradiated_share"))
    options = []
    for code, share in zip((mgmt, reirradiation), shares, strict=True):
        options.append([(code, 1.0)] if code is not None else [(0.5, share), (-0.5, 1 - share)])
    p = 0.0
    for m, w_m in options[0]:
        for r, w_r in options[1]:
            logit = (
                V["prevalence.intercept"]
                + EFFECTS["prevalence"][center]
                + V["prevalence.early"] * early
                + V["prevalence.mgmt"] * m
                + V["prevalence.mgmt_early"] * m * early
                + V["prevalence.reirradiation"] * r
            )
            p += w_m * w_r * sigmoid(logit)
    return np.log(p / (1 - p))


def test_no_evidence_gives_the_prior():
    result, _ = run(
        [
            {"patient_id": "a", "center": "A"},
            {"patient_id": "b", "center": "B", "months_since_rt": 1.0, "mgmt_methylated": "yes"},
            {"patient_id": "c", "center": "B", "mgmt_methylated": "no", "reirradiated": "yes"},
            {"patient_id": "d", "center": "A", "months_since_rt": 9.0, "reirradiated": "no"},
        ]
    )
    assert result.p_mean[0] == pytest.approx(sigmoid(prior_logit(0)), abs=1e-12)
    one, nine = window_weight(1.0) - 0.5, window_weight(9.0) - 0.5
    assert 0.4 < one < 0.5 and -0.5 < nine < -0.49
    assert result.p_mean[1] == pytest.approx(sigmoid(prior_logit(1, one, 0.5)), abs=1e-12)
    assert result.p_mean[2] == pytest.approx(sigmoid(prior_logit(1, 0, -0.5, 0.5)), abs=1e-12)
    assert result.p_mean[3] == pytest.approx(sigmoid(prior_logit(0, nine, None, -0.5)), abs=1e-12)
    assert np.allclose(result.terms[:, 1:], 0.0)


def test_an_unknown_status_is_the_mixture_of_what_it_hides():
    """A blank re-irradiation status hides a rare "yes" (8%): its prior is the 92/8 mixture of
    the "no" and "yes" priors, close to "no", and not the midway point between them (which the
    old coding gave, 0.21 log-odds towards necrosis); an unknown MGMT status likewise mixes the
    methylated and unmethylated priors with the methylated share."""
    shares = P.value("context.mgmt_methylated_share"), P.value("context.reirradiated_share")
    base = {"center": "A", "months_since_rt": 9.0}
    rows = [
        {**base, "patient_id": "a", "mgmt_methylated": "no"},
        {**base, "patient_id": "b", "mgmt_methylated": "no", "reirradiated": "no"},
        {**base, "patient_id": "c", "mgmt_methylated": "no", "reirradiated": "yes"},
        {**base, "patient_id": "d", "reirradiated": "no"},
        {**base, "patient_id": "e", "mgmt_methylated": "yes", "reirradiated": "no"},
    ]
    p = run(rows)[0].p_mean
    assert p[0] == pytest.approx(shares[1] * p[2] + (1 - shares[1]) * p[1], abs=1e-12)
    assert p[3] == pytest.approx(shares[0] * p[4] + (1 - shares[0]) * p[1], abs=1e-12)
    log_odds = np.log(p / (1 - p))
    assert abs(log_odds[0] - log_odds[1]) < 0.1 * abs(V["prevalence.reirradiation"])


def test_reirradiation_lowers_the_prior_odds_by_its_coefficient_whatever_the_evidence():
    """The same lesion with and without a second course of radiotherapy: its log-odds differ by
    exactly the re-irradiation coefficient, towards necrosis (the parameter file's centre is
    below 0)."""
    lesion = {
        "center": "A",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 2,
        "mgmt_methylated": "no",
    }
    result, _ = run(
        [
            {**lesion, "patient_id": "a", "reirradiated": "yes"},
            {**lesion, "patient_id": "b", "reirradiated": "no"},
        ]
    )
    log_odds = np.log(result.p_mean / (1 - result.p_mean))
    assert log_odds[0] - log_odds[1] == pytest.approx(V["prevalence.reirradiation"], abs=1e-9)
    assert V["prevalence.reirradiation"] < 0


@pytest.mark.parametrize("kind", [k.name for m in REGISTRY.markers for k in m.kinds])
def test_a_number_equals_the_misread_mixture_of_normal_densities(kind):
    marker = marker_of(kind)
    x = float(np.sqrt(np.prod(marker.physiological_range)))  # the middle of the range
    record = {"patient_id": "a", "center": "B", marker.value_column: x}
    if marker.kind_column:
        record[marker.kind_column] = kind
    result, _ = run([record])
    u = np.log(x)
    llr = np.log(mixture_density(u, kind, 1, 1) / mixture_density(u, kind, 0, 1))
    assert result.terms[0, TERM[marker.name]] == pytest.approx(llr, abs=1e-9)
    assert result.p_mean[0] == pytest.approx(sigmoid(prior_logit(1) + llr), abs=1e-12)


@pytest.mark.parametrize("perfusion", ["value", "read"])
@pytest.mark.parametrize("months", [None, 1.0, 2.76, 4.0])
def test_each_modality_term_is_its_own_likelihood_ratio(perfusion, months):
    """With several modalities at once, each term is that modality's ratio alone (from SciPy):
    the split of the evidence breakdown is right, not only its sum; also with perfusion known
    only as a read, and part-way into the pseudoprogression window (where perfusion's necrosis
    moves by the window weight, and the scorer's coefficients are quadratic in it)."""
    early = window_weight(months)
    record = {"patient_id": "a", "center": "A", "months_since_rt": months}
    expected = {}
    for marker in REGISTRY.markers:
        kind = marker.kinds[-1].name
        if marker.kind_column:
            record[marker.kind_column] = kind
        if marker.name == "perfusion" and perfusion == "read":
            record |= {marker.read_column: "positive", marker.read_cutoff_column: 1.75}
            expected[marker.name] = read_likelihood_ratio(kind, "positive", 1.75, 0, early)
            continue
        x = float(np.exp(location(kind, 1, 0) - 0.3 * marker.direction))
        record[marker.value_column] = x
        u = np.log(x)
        expected[marker.name] = np.log(
            mixture_density(u, kind, 1, 0, early=early)
            / mixture_density(u, kind, 0, 0, early=early)
        )
    for test in REGISTRY.binary_tests:
        record[test.column] = "positive"
        se, sp = V[f"modality.{test.name}.sensitivity"], V[f"modality.{test.name}.specificity"]
        expected[test.name] = np.log(se / (1 - sp))
    result, _ = run([record])
    for name, llr in expected.items():
        assert result.terms[0, TERM[name]] == pytest.approx(llr, abs=1e-9), name
    prior = prior_logit(0, early - 0.5 if months is not None else 0.0)  # unknown: midway
    assert result.p_mean[0] == pytest.approx(sigmoid(prior + sum(expected.values())), abs=1e-12)


@pytest.mark.parametrize("read", ["positive", "negative"])
@pytest.mark.parametrize("kind", ["DSC", "FET"])
def test_read_equals_the_mixture_cdf(read, kind):
    marker, c = marker_of(kind), 1.75
    record = {
        "patient_id": "a",
        "center": "A",
        marker.kind_column: kind,
        marker.read_column: read,
        marker.read_cutoff_column: c,
    }
    result, _ = run([record])
    expected = read_likelihood_ratio(kind, read, c, 0)
    assert result.terms[0, TERM[marker.name]] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("result_word", ["positive", "negative"])
def test_binary_test_uses_its_sensitivity_and_specificity(result_word):
    for test in REGISTRY.binary_tests:
        result, _ = run([{"patient_id": "a", "center": "A", test.column: result_word}])
        se, sp = V[f"modality.{test.name}.sensitivity"], V[f"modality.{test.name}.specificity"]
        llr = np.log(se / (1 - sp)) if result_word == "positive" else np.log((1 - se) / sp)
        assert result.terms[0, TERM[test.name]] == pytest.approx(llr, abs=1e-12)


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
        "steroid_increase_fu2": "yes",
    }
    record.update({"edema_ratio": 6.0, "eloquent_location": "yes", "steroid_increase": "no"})
    result, _ = run([record])
    # headache yes, seizure no, given decline or not; decline's probability by class
    with_decline = V["symptoms.headache.if_decline"] * (1 - V["symptoms.seizure.if_decline"])
    without = V["symptoms.headache.if_stable"] * (1 - V["symptoms.seizure.if_stable"])
    eta = (
        V["symptoms.decline_intercept"]
        + V["symptoms.decline_edema"] * np.log(6.0 / P.value("context.edema_reference_ratio"))
        + 0.5 * V["symptoms.decline_eloquent"]
        - 0.5 * V["symptoms.decline_steroid"]
    )
    lik = [
        sigmoid(x) * with_decline + (1 - sigmoid(x)) * without
        for x in (eta, eta + V["symptoms.decline_recurrence"])
    ]
    symptoms = np.log(lik[1] / lik[0])
    assert result.terms[0, TERM["symptoms"]] == pytest.approx(symptoms, abs=1e-12)
    # the two rescans share the lesion's rate: jointly normal; the second follows a recorded
    # steroid increase (shifted by beta), the first may hide one (a mixture weighted by the
    # share); the series as a whole misread
    e, sd, tau = V["growth.misread"], V["growth.sd"], V["growth.tau_lesion"]
    beta, share = V["growth.steroid_shift"], P.value("context.follow_up_steroid_share")
    g, w = np.log([3.9 / 3.0, 4.1 / 3.9]), np.array([7, 5]) / 6
    rates = [V["growth.rate_necrosis"] + k * V["growth.separation"] for k in (0, 1)]
    cov = sd**2 * np.eye(2) + tau**2 * np.outer(w, w)
    dens = [
        sum(
            weight * stats.multivariate_normal(rates[k] * w + beta * np.array([s1, 1]), cov).pdf(g)
            for s1, weight in ((0, 1 - share), (1, share))
        )
        for k in (0, 1)
    ]
    lik = [(1 - e) * dens[k] + e * dens[1 - k] for k in (0, 1)]
    growth = np.log(lik[1] / lik[0])
    assert result.terms[0, TERM["growth"]] == pytest.approx(growth, abs=1e-9)


def test_unseen_center_integrates_the_offsets():
    """An unseen center equals the average over center offsets drawn from N(0, tau), for a
    discordant lesion (perfusion pointing one way, PET the other) where errors would show."""
    record = {
        "patient_id": "a",
        "center": "Z",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 2.6,
        "pet_tracer": "FET",
        "pet_tbr": 1.7,
        "mgmt_methylated": "no",
        "reirradiated": "no",
    }
    result, lesions = run([record])
    assert lesions.center[0] == -1
    rng = np.random.default_rng(0)
    m = 400_000
    u = rng.normal(0, V["prevalence.tau_center"], m)
    shift = {n: rng.normal(0, V[f"modality.{n}.tau_center"], m) for n in ("perfusion", "pet")}
    joint = []
    for k in (0, 1):
        density = 1.0
        for name, kind, x in (("perfusion", "DSC", 2.6), ("pet", "FET", 1.7)):
            e, sd = misread(kind), spread(kind)
            own = location(kind, k, None) + shift[name]
            other = location(kind, 1 - k, None) + shift[name]
            density = density * (
                (1 - e) * stats.norm.pdf(np.log(x), own, sd)
                + e * stats.norm.pdf(np.log(x), other, sd)
            )
        eta = (
            V["prevalence.intercept"]
            + u
            - 0.5 * (V["prevalence.mgmt"] + V["prevalence.reirradiation"])
        )
        prior = sigmoid(eta) if k else sigmoid(-eta)
        joint.append(np.mean(prior * density))
    assert result.p_mean[0] == pytest.approx(joint[1] / (joint[0] + joint[1]), abs=2e-3)


def test_terms_sum_to_class_log_joint_difference():
    from model.checks.simulation import simulate

    cohort, truth = simulate(300, 3, seed=4)
    draws = draws_from_values(P, truth.parameters, truth.center_effects)
    tables = build_tables(draws, REGISTRY)
    lesions = encode(cohort, [c.name for c in truth.centers], P)
    result = score(lesions, tables, 3, REGISTRY)
    ell = class_log_joint(lesions, tables, 3, REGISTRY)[:, 0, :]
    own = result.terms[:, :-1]  # the lesion's own terms: its log-odds were it alone
    assert np.allclose(own.sum(axis=1), ell[:, 1] - ell[:, 0], atol=1e-9)
    alone = np.bincount(lesions.patient)[lesions.patient] == 1
    assert alone.sum() > 200 and (~alone).sum() > 20
    assert np.all(result.terms[alone, -1] == 0.0)
    assert np.all(result.terms[~alone, -1] != 0.0)
    assert np.allclose(result.p_mean, sigmoid(result.terms.sum(axis=1)), atol=1e-12)  # one draw
    assert np.allclose(result.p_mean[alone], sigmoid(ell[alone, 1] - ell[alone, 0]), atol=1e-12)


def test_contribution_names_are_the_breakdowns_columns():
    assert contributions(REGISTRY) == (
        "prior",
        *REGISTRY.names,
        "symptoms",
        "growth",
        "other_lesions",
    )
    assert REGISTRY.names[:2] == ("perfusion", "pet")


def test_intervals_are_the_equal_tailed_quantiles_of_the_draws(bundled_fit):
    """Over the bundled fit's draws: the mean and the (1 - ci)/2 and (1 + ci)/2 quantiles of each
    lesion's per-draw probability, for a patient's only lesion and for a patient's several."""
    from conftest import DATA

    from model.scoring.predict import encode_patients, score_tables

    _, lesions = encode_patients(bundled_fit, DATA / "patients_example.csv")
    tables = score_tables(bundled_fit).select(np.arange(0, 4000, 10)[:300])
    args = (lesions, tables, len(bundled_fit.centers), bundled_fit.registry)
    assert score(*args).p_draws is None  # draws are kept only when asked for
    several = np.bincount(lesions.patient)[lesions.patient] > 1  # EX9's two lesions
    assert several.sum() == 2
    for ci in (0.9, 0.5):
        result = score(*args, ci_prob=ci, keep_draws=True)
        draws = result.p_draws
        assert draws.shape == (len(lesions), 300) and np.isfinite(draws).all()
        np.testing.assert_allclose(result.p_mean, draws.mean(axis=1), rtol=1e-9)
        low, high = np.quantile(draws, [(1 - ci) / 2, (1 + ci) / 2], axis=1)
        np.testing.assert_allclose(result.p_low, low, rtol=1e-9)
        np.testing.assert_allclose(result.p_high, high, rtol=1e-9)
        assert (result.p_low[several] < result.p_high[several]).all()
        # P(any lesion) is at least each lesion's P in every draw, so in each quantile too
        for member in np.flatnonzero(several):
            assert result.patient_p_low[member] >= result.p_low[several].max() - 1e-12
            assert result.patient_p_high[member] >= result.p_high[several].max() - 1e-12
        assert (result.patient_p_low[several] < result.patient_p_high[several]).all()
        alone = ~several
        np.testing.assert_array_equal(result.patient_p_low[alone], result.p_low[alone])
        np.testing.assert_array_equal(result.patient_p_high[alone], result.p_high[alone])
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match=r"^ci_prob must be strictly between 0 and 1$"):
            score(*args, ci_prob=bad)


def test_a_patient_may_have_up_to_the_most_lesions_scored_together():
    from dataclasses import replace

    from model.inputs.vocabulary import MAX_LESIONS_PER_PATIENT as MOST

    _, lesions = run(
        [{"patient_id": "p", "center": "A", "perfusion_technique": "DSC", "perfusion_ratio": 2.0}]
    )
    tables = one_draw_tables()
    for count in (MOST, MOST + 1):
        many = lesions.subset(np.zeros(count, dtype=int))
        many = replace(many, patient=np.zeros(count, dtype=many.patient.dtype))
        if count == MOST:
            assert np.isfinite(score(many, tables, len(CENTERS), REGISTRY).p_mean).all()
            continue
        expected = (
            f"a patient has {count} lesions; at most {MOST} are scored together (each lesion "
            "needs its own patient number otherwise)"
        )
        with pytest.raises(ValueError) as info:
            score(many, tables, len(CENTERS), REGISTRY)
        assert str(info.value) == expected


def test_tables_are_finite_with_zero_coefficients_where_a_slot_has_no_spread(bundled_fit):
    """Kinds a marker lacks leave zero-spread padding in the moment tables: the quadratic and
    linear coefficients there are 0 and the constant is the normal's -log(2 pi)/2, not inf."""
    from model.modalities.forms import LOG_2PI
    from model.scoring.predict import score_tables

    tables = score_tables(bundled_fit)
    sd = tables.moments.spread
    padding = sd == 0
    assert padding.any() and (sd >= 0).all()
    for name, table in zip(tables.tables._fields, tables.tables, strict=True):
        assert np.isfinite(table).all(), name
    quad = tables.tables.base_quad  # (..., 3, S): -1/(2 sd^2), mu0/sd^2, constant
    assert (quad[..., 0, :][padding] == 0).all() and (quad[..., 1, :][padding] == 0).all()
    np.testing.assert_array_equal(quad[..., 2, :][padding], -0.5 * LOG_2PI)
    np.testing.assert_allclose(quad[..., 0, :][~padding], -0.5 / sd[~padding] ** 2, rtol=1e-12)


def test_selected_tables_hold_the_selected_draws(bundled_fit):
    from model.scoring.predict import score_tables

    tables = score_tables(bundled_fit)
    index = np.array([5, 0, 3999, 17])
    chosen = tables.select(index)
    assert chosen.n_draws == 4
    for group, picked in ((tables.tables, chosen.tables), (tables.moments, chosen.moments)):
        for name, full, part in zip(group._fields, group, picked, strict=True):
            expected = full if name in ("misread", "growth_misread") else full[..., index]
            np.testing.assert_array_equal(part, expected, err_msg=name)
    np.testing.assert_array_equal(chosen.binary, tables.binary[..., index])
    np.testing.assert_array_equal(chosen.concordance, tables.concordance[index])
    assert chosen.binary.flags.c_contiguous and chosen.tables.core_slope.flags.c_contiguous


def test_scoring_many_draws_is_scoring_each_draw_alone(bundled_fit):
    """Per-draw probabilities (and a patient's P(any lesion)) do not depend on which other draws
    are scored with them: what one-draw closed forms check carries over to many draws."""
    from conftest import DATA

    from model.scoring.predict import encode_patients, score_tables

    _, lesions = encode_patients(bundled_fit, DATA / "patients_example.csv")
    index = np.arange(0, 4000, 200)
    tables = score_tables(bundled_fit).select(index)
    args = (len(bundled_fit.centers), bundled_fit.registry)
    together = score(lesions, tables, *args, keep_draws=True)
    alone = [score(lesions, tables.select([s]), *args) for s in range(len(index))]
    np.testing.assert_allclose(
        together.p_draws, np.stack([a.p_mean for a in alone], axis=1), rtol=1e-9
    )
    np.testing.assert_allclose(
        together.patient_p_mean, np.mean([a.patient_p_mean for a in alone], axis=0), rtol=1e-9
    )
