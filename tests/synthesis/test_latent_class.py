"""Latent-class analysis: Joseph et al. (1995), exact likelihood values, input checks, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA

from model.cli import main
from model.core.errors import InputError
from model.synthesis.latent_class import (
    BetaPrior,
    LcaPriors,
    build_model,
    fit_latent_class,
    load_priors,
    load_test_results,
)

DATA_FILE = DATA / "lca" / "strongyloides.csv"
PRIORS = DATA / "lca" / "strongyloides_priors.toml"

# Joseph, Gyorkos & Coupal (1995), Am J Epidemiol 141:263-272, Table 5: stool examination alone,
# posterior medians (95% credible intervals).
PUBLISHED_STOOL = {
    "prevalence.all": (0.74, 0.41, 0.98),
    "sensitivity.stool": (0.30, 0.21, 0.47),
    "specificity.stool": (0.95, 0.88, 0.99),
}


def _fit(tests, draws=1000):
    data = load_test_results(DATA_FILE, tests, count="count")
    return fit_latent_class(data, load_priors(PRIORS, data), draws=draws, seed=1)


@pytest.fixture(scope="module")
def stool_only():
    return _fit(["stool"], draws=4000)  # the prevalence posterior is wide: keep MC error small


@pytest.fixture(scope="module")
def both_tests():
    return _fit(["serology", "stool"])


def test_reproduces_joseph_1995_stool_examination(stool_only):
    summary = stool_only.summary()
    for name, (median, lower, upper) in PUBLISHED_STOOL.items():
        assert summary.loc[name, "median"] == pytest.approx(median, abs=0.03), name
        assert summary.loc[name, "lower"] == pytest.approx(lower, abs=0.05), name
        assert summary.loc[name, "upper"] == pytest.approx(upper, abs=0.05), name
    assert stool_only.diagnostics["divergences"] == 0


def test_stool_examination_matches_importance_sampling(stool_only):
    # The exact posterior by importance sampling from the priors (40 of 162 stool-positive).
    rng = np.random.default_rng(0)
    n = 1_000_000
    pi, se, sp = rng.uniform(size=n), rng.beta(4.44, 13.31, n), rng.beta(71.25, 3.75, n)
    positive = pi * se + (1 - pi) * (1 - sp)
    log_w = 40 * np.log(positive) + 122 * np.log1p(-positive)
    weights = np.exp(log_w - log_w.max())
    prior_draws = {"prevalence.all": pi, "sensitivity.stool": se, "specificity.stool": sp}
    for name, draws in prior_draws.items():
        order = np.argsort(draws)
        cumulative = np.cumsum(weights[order]) / weights.sum()
        median = draws[order][np.searchsorted(cumulative, 0.5)]
        assert stool_only.summary().loc[name, "median"] == pytest.approx(median, abs=0.015), name


TWO_TEST_PATTERNS = ((38, 1, 1), (87, 1, 0), (2, 0, 1), (35, 0, 0))
"""(count, serology, stool) of Joseph et al.'s data."""


def two_test_importance_sample(n=2_000_000, seed=1):
    """Joseph et al.'s two-test model (their data and priors) by importance sampling from the
    priors: prior draws, and each one's weight (the likelihood of the patterns)."""
    rng = np.random.default_rng(seed)
    pi = rng.uniform(size=n)
    se1, sp1 = rng.beta(21.96, 5.49, n), rng.beta(4.1, 1.76, n)
    se2, sp2 = rng.beta(4.44, 13.31, n), rng.beta(71.25, 3.75, n)
    log_w = np.zeros(n)
    for count, a, b in TWO_TEST_PATTERNS:
        log_w += count * np.log(
            pi * pattern_given(1, a, b, se1, se2) + (1 - pi) * pattern_given(0, a, b, sp1, sp2)
        )
    weights = np.exp(log_w - log_w.max())
    assert weights.sum() ** 2 / (weights**2).sum() > 5_000  # effective sample size
    return weights, {"pi": pi, "se1": se1, "sp1": sp1, "se2": se2, "sp2": sp2}


def pattern_given(diseased, a, b, first, second):
    """P(serology a, stool b | D): ``first``, ``second`` are the Se (D=1) or Sp (D=0)."""
    hit = lambda r, accuracy: accuracy if r == diseased else 1 - accuracy  # noqa: E731
    return hit(a, first) * hit(b, second)


def test_both_tests_match_importance_sampling(both_tests):
    weights, draws = two_test_importance_sample()
    pi, se1, sp1, se2, sp2 = (draws[k] for k in ("pi", "se1", "sp1", "se2", "sp2"))
    prior_draws = {
        "prevalence.all": pi,
        "sensitivity.serology": se1,
        "specificity.serology": sp1,
        "sensitivity.stool": se2,
        "specificity.stool": sp2,
    }
    for name, draws in prior_draws.items():
        order = np.argsort(draws)
        cumulative = np.cumsum(weights[order]) / weights.sum()
        median = draws[order][np.searchsorted(cumulative, 0.5)]
        assert both_tests.summary().loc[name, "median"] == pytest.approx(median, abs=0.02), name


def test_probability_of_disease_per_pattern_matches_importance_sampling(both_tests):
    """P(D=1 | pattern), averaged over the exact posterior, for each of the four patterns."""
    weights, d = two_test_importance_sample()
    table = both_tests.pattern_table().set_index(["serology", "stool"])
    for _, a, b in TWO_TEST_PATTERNS:
        diseased = d["pi"] * pattern_given(1, a, b, d["se1"], d["se2"])
        healthy = (1 - d["pi"]) * pattern_given(0, a, b, d["sp1"], d["sp2"])
        exact = np.sum(weights * diseased / (diseased + healthy)) / weights.sum()
        row = table.loc[("+" if a else "-", "+" if b else "-")]
        assert row.p_diseased == pytest.approx(exact, abs=0.02), (a, b)
        assert row.p_lower < row.p_diseased < row.p_upper
    # more positive results, more likely diseased
    assert table.loc[("+", "+")].p_diseased > table.loc[("+", "-")].p_diseased
    assert table.loc[("-", "-")].p_diseased < table.loc[("-", "+")].p_diseased


def test_a_single_tests_pattern_ratios_are_its_likelihood_ratios(stool_only):
    ratios, table = stool_only.likelihood_ratios(), stool_only.pattern_table()
    by_result = table.set_index("stool")
    assert by_result.loc["+", "lr"] == pytest.approx(ratios.loc["lr_positive.stool", "median"])
    assert by_result.loc["-", "lr"] == pytest.approx(ratios.loc["lr_negative.stool", "median"])
    se, sp = stool_only.draws["sensitivity.stool"], stool_only.draws["specificity.stool"]
    assert ratios.loc["lr_positive.stool", "median"] == pytest.approx(np.median(se / (1 - sp)))


def test_pattern_probabilities_follow_the_dendukuri_joseph_cells():
    """At one fixed parameter draw, P(D=1 | pattern) is Bayes' rule on the dependent cells."""
    from model.synthesis.latent_class import MISSING, BinaryResults, LatentClassFit

    patterns = np.array([[1, 1], [1, 0], [0, 0], [1, MISSING]])
    data = BinaryResults(("a", "b"), ("all",), patterns, np.ones(4, int), np.zeros(4, int))
    se, sp, c1, c0, pi = (0.8, 0.7), (0.9, 0.95), 0.05, 0.02, 0.3
    one = lambda x: np.array([x])  # noqa: E731
    draws = {
        "prevalence.all": one(pi),
        "sensitivity.a": one(se[0]), "sensitivity.b": one(se[1]),
        "specificity.a": one(sp[0]), "specificity.b": one(sp[1]),
        "cov_diseased.a~b": one(c1), "cov_healthy.a~b": one(c0),
    }  # fmt: skip
    table = LatentClassFit(data, draws, (("a", "b"),)).pattern_table()
    cells = [
        (se[0] * se[1] + c1, (1 - sp[0]) * (1 - sp[1]) + c0),
        (se[0] * (1 - se[1]) - c1, (1 - sp[0]) * sp[1] - c0),
        ((1 - se[0]) * (1 - se[1]) + c1, sp[0] * sp[1] + c0),
        (se[0], 1 - sp[0]),  # b not done: a's own marginal
    ]
    for row, (diseased, healthy) in zip(table.itertuples(), cells, strict=True):
        assert row.p_diseased == pytest.approx(pi * diseased / (pi * diseased + (1 - pi) * healthy))
        assert row.lr == pytest.approx(diseased / healthy)


def fixed_fit(patterns, counts, se=(0.9, 0.8), sp=(0.85, 0.95), pi=0.4, draws=2000):
    """A fit whose every draw is the same parameters (the truth), for the predictive check."""
    from model.synthesis.latent_class import BinaryResults, LatentClassFit

    patterns = np.asarray(patterns)
    data = BinaryResults(
        ("a", "b"), ("all",), patterns, np.asarray(counts), np.zeros(len(counts), int)
    )
    constant = lambda x: np.full(draws, x)  # noqa: E731
    values = {
        "prevalence.all": constant(pi),
        "sensitivity.a": constant(se[0]), "sensitivity.b": constant(se[1]),
        "specificity.a": constant(sp[0]), "specificity.b": constant(sp[1]),
    }  # fmt: skip
    return LatentClassFit(data, values)


def test_the_predictive_check_expects_each_patterns_share_and_flags_a_misfit():
    from model.synthesis.latent_class import MISSING

    se, sp, pi = (0.9, 0.8), (0.85, 0.95), 0.4
    cells = [(1, 1), (1, 0), (0, 1), (0, 0)]

    def share(a, b):
        hit = lambda r, x, d: x if r == d else 1 - x  # noqa: E731
        return pi * hit(a, se[0], 1) * hit(b, se[1], 1) + (1 - pi) * hit(a, sp[0], 0) * hit(
            b, sp[1], 0
        )

    n = 1000
    exact = [round(n * share(a, b)) for a, b in cells]
    check = fixed_fit(cells, exact).predictive_check(seed=1).set_index(["a", "b"])
    for (a, b), count in zip(cells, exact, strict=True):
        row = check.loc[("+" if a else "-", "+" if b else "-")]
        assert row.expected == pytest.approx(sum(exact) * share(a, b))
        assert row["count"] == count and not row.outside
    assert check.attrs["ppp"] > 0.5  # counts at their expectation fit better than replicates
    # 30 subjects with only test a done, all positive: their own group, its unseen pattern
    # listed with a count of 0 where about 16 were expected
    alone = fixed_fit(cells + [[1, MISSING]], exact + [30]).predictive_check(seed=1)
    alone = alone[alone.b == ""].set_index("a")
    assert alone.loc["-", "count"] == 0 and alone.loc["+", "count"] == 30
    assert alone.loc["-", "expected"] == pytest.approx(30 * (1 - share(1, 1) - share(1, 0)))
    assert alone.loc["-", "outside"]
    # the same accuracies cannot make discordant results the rule
    misfit = fixed_fit(cells, [10, 400, 400, 10]).predictive_check(seed=1)
    assert misfit.attrs["ppp"] < 0.01 and misfit.outside.all()


def test_a_model_the_data_cannot_identify_is_warned_about(capsys):
    from model.synthesis.latent_class import MISSING, BinaryResults, identification_warnings

    def results(patterns, populations=1):
        patterns = np.array(patterns)
        population = np.arange(len(patterns)) % populations
        names = tuple("PQR"[:populations])
        return BinaryResults(("a", "b"), names, patterns, np.ones(len(patterns), int), population)

    two_tests = results([[1, 1], [1, 0], [0, 1], [0, 0]])
    (warning,) = identification_warnings(two_tests)
    assert "5 parameters (1 prevalence, 2 sensitivities and specificities) from 3" in warning
    # Hui-Walter: two populations and two tests give 6 degrees of freedom for 6 parameters
    hui_walter = results([[1, 1], [1, 1], [1, 0], [1, 0], [0, 1], [0, 1], [0, 0], [0, 0]], 2)
    assert identification_warnings(hui_walter) == []
    assert "2 covariances) from 6" in identification_warnings(hui_walter, [("a", "b")])[0]
    inflated = identification_warnings(hui_walter, (), ["P"])[0]
    assert "7 parameters" in inflated and "the probability of presence) from 6" in inflated
    silent = identification_warnings(results([[1, MISSING], [0, MISSING]] * 2, 2))
    assert "test 'b' was never done" in silent[-1]
    constant = identification_warnings(results([[1, 1], [1, 0]] * 2, 2))
    assert constant[-1] == "test 'a' is always positive: the data say little of its accuracy"
    assert main(["lca", str(DATA_FILE), "--test", "serology", "--test", "stool", "--count",
                 "count", "--priors", str(PRIORS), "--draws", "200"]) == 0  # fmt: skip
    assert "Warning: not identified by the data alone" in capsys.readouterr().out


def test_second_test_sharpens_the_prevalence(stool_only, both_tests):
    one, two = stool_only.summary(), both_tests.summary()
    width_one = one.loc["prevalence.all", "upper"] - one.loc["prevalence.all", "lower"]
    width_two = two.loc["prevalence.all", "upper"] - two.loc["prevalence.all", "lower"]
    assert width_two < 0.9 * width_one
    assert two.loc["sensitivity.serology", "median"] > two.loc["sensitivity.stool", "median"] + 0.4
    assert two.loc["specificity.stool", "median"] > 0.9
    assert 0.6 < two.loc["prevalence.all", "median"] < 0.9


# --------------------------------------------------------------------------------------------
# The marginalised likelihood against closed forms (no sampling)
# --------------------------------------------------------------------------------------------
def _likelihood_at_prior_means(data, priors, dependent=()) -> float:
    """The marginal log likelihood at the initial point: every Beta at its mean, every u at 0.5."""
    model = build_model(data, priors, dependent)
    point = model.initial_point()
    likelihood = model.compile_logp(vars=[model["likelihood"]], jacobian=False)
    return float(likelihood(point))


def _beta_mean(prior):
    return prior.alpha / (prior.alpha + prior.beta)


def test_independent_likelihood_matches_closed_form():
    data = load_test_results(DATA_FILE, ["serology", "stool"], count="count")
    priors = load_priors(PRIORS, data)
    value = _likelihood_at_prior_means(data, priors)
    pi = _beta_mean(priors.prevalence["all"])
    se = [_beta_mean(priors.sensitivity[t]) for t in data.tests]
    sp = [_beta_mean(priors.specificity[t]) for t in data.tests]
    expected = 0.0
    for (a, b), n in {(1, 1): 38, (1, 0): 87, (0, 1): 2, (0, 0): 35}.items():
        d1 = (se[0] if a else 1 - se[0]) * (se[1] if b else 1 - se[1])
        d0 = (1 - sp[0] if a else sp[0]) * (1 - sp[1] if b else sp[1])
        expected += n * np.log(pi * d1 + (1 - pi) * d0)
    assert value == pytest.approx(expected, rel=1e-9)


def test_dependent_likelihood_matches_dendukuri_joseph_cells():
    data = load_test_results(DATA_FILE, ["serology", "stool"], count="count")
    priors = load_priors(PRIORS, data)
    value = _likelihood_at_prior_means(data, priors, [("serology", "stool")])
    pi = _beta_mean(priors.prevalence["all"])
    s1, s2 = (_beta_mean(priors.sensitivity[t]) for t in data.tests)
    c1, c2 = (_beta_mean(priors.specificity[t]) for t in data.tests)
    cov1 = 0.5 * (min(s1, s2) - s1 * s2)  # u = 0.5 at the initial point
    cov0 = 0.5 * (min(c1, c2) - c1 * c2)
    cells = {
        (1, 1): (s1 * s2 + cov1, (1 - c1) * (1 - c2) + cov0, 38),
        (1, 0): (s1 * (1 - s2) - cov1, (1 - c1) * c2 - cov0, 87),
        (0, 1): ((1 - s1) * s2 - cov1, c1 * (1 - c2) - cov0, 2),
        (0, 0): ((1 - s1) * (1 - s2) + cov1, c1 * c2 + cov0, 35),
    }
    expected = sum(n * np.log(pi * d1 + (1 - pi) * d0) for d1, d0, n in cells.values())
    assert value == pytest.approx(expected, rel=1e-9)


def test_two_population_likelihood_uses_each_prevalence(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("site,serology,stool,n\nA,1,1,10\nA,0,0,20\nB,1,0,7\nB,0,1,3\n")
    priors_path = tmp_path / "p.toml"
    text = PRIORS.read_text().replace("[prevalence]\nalpha = 1\nbeta = 1\n", "")
    priors_path.write_text(
        text + "[prevalence.A]\nalpha = 1\nbeta = 3\n[prevalence.B]\nalpha = 3\nbeta = 1\n"
    )
    data = load_test_results(path, ["serology", "stool"], count="n", population="site")
    priors = load_priors(priors_path, data)
    value = _likelihood_at_prior_means(data, priors)
    se = [_beta_mean(priors.sensitivity[t]) for t in data.tests]
    sp = [_beta_mean(priors.specificity[t]) for t in data.tests]
    expected = 0.0
    for pi, a, b, n in ((0.25, 1, 1, 10), (0.25, 0, 0, 20), (0.75, 1, 0, 7), (0.75, 0, 1, 3)):
        d1 = (se[0] if a else 1 - se[0]) * (se[1] if b else 1 - se[1])
        d0 = (1 - sp[0] if a else sp[0]) * (1 - sp[1] if b else sp[1])
        expected += n * np.log(pi * d1 + (1 - pi) * d0)
    assert value == pytest.approx(expected, rel=1e-9)


def test_blank_results_are_marginalised(tmp_path):
    rows = ["serology,stool,extra,count"]
    rows += [f"{a},{b},,{n}" for (a, b), n in {(1, 1): 38, (1, 0): 87, (0, 1): 2}.items()]
    rows += ["0,0,,30", "0,,,5"]  # five subjects without a stool result
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(rows) + "\n")
    priors_text = PRIORS.read_text() + "\n[tests.extra]\n"
    priors_text += "sensitivity = { alpha = 2, beta = 2 }\nspecificity = { alpha = 2, beta = 2 }\n"
    priors_path = tmp_path / "p.toml"
    priors_path.write_text(priors_text)
    with_extra = load_test_results(path, ["serology", "stool", "extra"], count="count")
    without = load_test_results(path, ["serology", "stool"], count="count")
    assert with_extra.counts.sum() == 162 and len(without.counts) == 5
    a = _likelihood_at_prior_means(with_extra, load_priors(priors_path, with_extra))
    b = _likelihood_at_prior_means(without, load_priors(priors_path, without))
    assert a == pytest.approx(b, rel=1e-12)  # an all-blank test adds nothing to the likelihood


def test_one_row_per_subject_equals_pattern_counts(tmp_path):
    lines = ["id,serology,stool,site"]
    for (a, b), n in {(1, 1): 38, (1, 0): 87, (0, 1): 2, (0, 0): 35}.items():
        lines += [f"x,{a},{b},{'M' if i % 2 else 'Q'}" for i in range(n)]
    path = tmp_path / "subjects.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_test_results(path, ["serology", "stool"], population="site")
    assert set(data.populations) == {"M", "Q"} and data.counts.sum() == 162
    pooled = data.table().groupby(["serology", "stool"])["count"].sum().to_dict()
    assert pooled == {("+", "+"): 38, ("+", "-"): 87, ("-", "+"): 2, ("-", "-"): 35}


# --------------------------------------------------------------------------------------------
# Input problems and the CLI
# --------------------------------------------------------------------------------------------
def test_results_file_problems_have_rows_and_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,n,pop\n1,2,3,X\n0,1,-4,Y\n1,,5,\n")
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a", "b"], count="n", population="pop")
    places = {(p.row, p.column) for p in caught.value.problems}
    assert places == {(2, "b"), (3, "n"), (4, "pop")}
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a", "c"], count="n")
    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "c")]


@pytest.mark.parametrize("text", ["1_5", "+15", "15.0", "\u0661\u0665"])
def test_a_count_is_ascii_digits_only(tmp_path, text):
    """int() would read 1_5 as 15, and Arabic-Indic digits as a number."""
    path = tmp_path / "counts.csv"
    path.write_text(f"a,n\n1,4\n0,{text}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a"], count="n")
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (3, "n", text)


def test_priors_problems_name_the_entry(tmp_path):
    data = load_test_results(DATA_FILE, ["serology", "stool"], count="count")
    path = tmp_path / "p.toml"
    path.write_text(
        "[prevalence]\nalpha = 1\nbeta = 0\n[tests.serology]\n"
        "sensitivity = { alpha = 2, beta = 1 }\nspecificity = { alpha = -1, beta = 1 }\n"
    )
    with pytest.raises(InputError) as caught:
        load_priors(path, data)
    entries = {p.column for p in caught.value.problems}
    assert entries == {
        "prevalence",
        "tests.serology.specificity",
        "tests.stool.sensitivity",
        "tests.stool.specificity",
    }
    path.write_text("not = [valid")
    with pytest.raises(InputError, match="valid TOML"):
        load_priors(path, data)


def test_cli_bad_input_exits_two_with_places(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("serology,stool\n1,0\n1,yes\n")
    args = ["lca", str(path), "--test", "serology", "--test", "stool", "--priors", str(PRIORS)]
    assert main(args) == 2
    assert "row 3, column 'stool'" in capsys.readouterr().err
    good = [str(DATA_FILE), "--test", "serology", "--test", "stool", "--count", "count"]
    assert main(["lca", *good, "--priors", str(tmp_path / "none.toml")]) == 2
    assert "a readable file" in capsys.readouterr().err
    assert main([*args, "--dependent", "stool", "stool"]) == 2
    assert "--dependent" in capsys.readouterr().err


def test_cli_json_with_dependence_parses(capsys):
    args = ["lca", str(DATA_FILE), "--test", "serology", "--test", "stool", "--count", "count"]
    args += ["--priors", str(PRIORS), "--dependent", "serology", "stool"]
    assert main([*args, "--json", "--draws", "300", "--seed", "2"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["subjects"] == 162
    assert document["conditional_dependence"] == [["serology", "stool"]]
    estimates = document["estimates"]
    covariance = "cov_diseased.serology~stool"
    assert {covariance, "cov_healthy.serology~stool", "sensitivity.serology"} <= set(estimates)
    assert 0 <= estimates[covariance]["lower"] <= estimates[covariance]["upper"] < 0.25


def test_an_informative_prevalence_prior_moves_the_answer_as_importance_sampling_says():
    """Joseph's example has a uniform prevalence prior, so a prior the model ignored would go
    unnoticed there: with Beta(20, 80) the posterior prevalence must follow the exact answer."""
    data = load_test_results(DATA_FILE, ["stool"], count="count")
    uniform = load_priors(PRIORS, data)
    priors = LcaPriors({"all": BetaPrior(20.0, 80.0)}, uniform.sensitivity, uniform.specificity)
    summary = fit_latent_class(data, priors, draws=2000, seed=1).summary()
    rng = np.random.default_rng(0)
    n = 1_000_000
    pi, se, sp = rng.beta(20, 80, n), rng.beta(4.44, 13.31, n), rng.beta(71.25, 3.75, n)
    positive = pi * se + (1 - pi) * (1 - sp)
    log_w = 40 * np.log(positive) + 122 * np.log1p(-positive)
    weights = np.exp(log_w - log_w.max())
    order = np.argsort(pi)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    exact = pi[order][np.searchsorted(cumulative, 0.5)]
    assert summary.loc["prevalence.all", "median"] == pytest.approx(exact, abs=0.015)
    assert exact < PUBLISHED_STOOL["prevalence.all"][0] - 0.3  # the prior moved it


# --------------------------------------------------------------------------------------------
# Known-parameter recovery: dependent tests, and a population free of the disease
# --------------------------------------------------------------------------------------------
def _simulated(rng, prevalences, se, sp, n, pair_covariances=None):
    """Pattern counts of tests with the given accuracy; with covariances (c1, c0), the first two
    tests are dependent within each class (Dendukuri-Joseph cells)."""
    from model.synthesis.latent_class import BinaryResults

    tests = tuple("abc"[: len(se)])
    rows, groups = [], []
    for g, pi in enumerate(prevalences):
        diseased = rng.random(n) < pi
        results = np.where(diseased[:, None], rng.random((n, len(se))) < se,
                           rng.random((n, len(sp))) < 1 - sp).astype(int)  # fmt: skip
        if pair_covariances is not None:
            classes = ((True, se[0], se[1], pair_covariances[0]),
                       (False, 1 - sp[0], 1 - sp[1], pair_covariances[1]))  # fmt: skip
            for state, p_a, p_b, c in classes:
                rows_in = diseased == state
                cells = [p_a * p_b + c, p_a * (1 - p_b) - c, (1 - p_a) * p_b - c]
                cells.append(1 - sum(cells))
                k = rng.choice(4, size=rows_in.sum(), p=cells)
                results[rows_in, 0], results[rows_in, 1] = k < 2, k % 2 == 0
        rows.append(results)
        groups += [g] * n
    keys, inverse = np.unique(
        np.column_stack([groups, np.vstack(rows)]), axis=0, return_inverse=True
    )
    names = tuple(f"pop{g}" for g in range(len(prevalences)))
    return BinaryResults(tests, names, keys[:, 1:], np.bincount(inverse.ravel()), keys[:, 0])


def _vague_priors(data):
    accuracy = dict.fromkeys(data.tests, BetaPrior(2.0, 1.0))  # Se, Sp above 1/2: one labelling
    return LcaPriors(dict.fromkeys(data.populations, BetaPrior(1.0, 1.0)), accuracy, accuracy)


def test_dependence_model_recovers_dependent_tests_that_independence_gets_wrong():
    se, sp = np.array([0.85, 0.80, 0.75]), np.array([0.90, 0.85, 0.95])
    c1, c0 = 0.6 * (0.80 - 0.85 * 0.80), 0.6 * (0.85 - 0.90 * 0.85)
    data = _simulated(np.random.default_rng(11), (0.3, 0.7), se, sp, 1500, (c1, c0))
    priors = _vague_priors(data)
    dependent = fit_latent_class(data, priors, [("a", "b")], seed=1)
    independent = fit_latent_class(data, priors, seed=1)
    truth = {**{f"sensitivity.{t}": v for t, v in zip("abc", se, strict=True)},
             **{f"specificity.{t}": v for t, v in zip("abc", sp, strict=True)}}  # fmt: skip
    fitted = dependent.summary()["median"]
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, abs=0.04), name
    assert fitted["cov_diseased.a~b"] == pytest.approx(c1, abs=0.03)
    assert fitted["cov_healthy.a~b"] == pytest.approx(c0, abs=0.03)
    # Ignoring the dependence, the agreement of a and b is read as accuracy: both look better.
    biased = independent.summary()
    for name in ("sensitivity.a", "sensitivity.b", "specificity.a"):
        assert biased.loc[name, "lower"] > truth[name] + 0.02, name
    assert dependent.diagnostics["divergences"] == 0


def test_zero_inflated_population_without_disease_is_found_free():
    se, sp = np.array([0.9, 0.8]), np.array([0.95, 0.9])
    data = _simulated(np.random.default_rng(5), (0.4, 0.25, 0.0), se, sp, 400)
    fit = fit_latent_class(data, _vague_priors(data), seed=1, zero_inflated=["pop1", "pop2"])
    assert fit.disease_free["pop2"] > 0.9
    assert fit.disease_free["pop1"] < 0.01
    summary = fit.summary()
    assert summary.loc["prevalence.pop2", "upper"] == 0.0
    assert summary.loc["prevalence.pop1", "lower"] < 0.25 < summary.loc["prevalence.pop1", "upper"]
    assert fit.to_dict()["disease_free"] == fit.disease_free


def test_cli_refuses_overlapping_pairs_and_unknown_populations(capsys):
    args = ["lca", str(DATA_FILE), "--test", "serology", "--test", "stool", "--count", "count"]
    args += ["--priors", str(PRIORS)]
    overlapping = ["--dependent", "serology", "stool", "--dependent", "stool", "serology"]
    assert main([*args, *overlapping]) == 2
    assert "share no test" in capsys.readouterr().err
    assert main([*args, "--zero-inflated", "Montreal"]) == 2
    err = capsys.readouterr().err
    assert "--zero-inflated" in err and "(all)" in err


def test_a_presence_prior_is_read_and_checked(tmp_path):
    data = load_test_results(DATA_FILE, ["serology", "stool"], count="count")
    text = PRIORS.read_text()
    path = tmp_path / "priors.toml"
    path.write_text(text + "\n[presence]\nalpha = 3\nbeta = 1.5\n")
    assert load_priors(path, data).presence == BetaPrior(3.0, 1.5)
    assert load_priors(PRIORS, data).presence == BetaPrior(1.0, 1.0)
    path.write_text(text + "\n[presence]\nalpha = 0\nbeta = 1\n")
    with pytest.raises(InputError) as caught:
        load_priors(path, data)
    assert [p.column for p in caught.value.problems] == ["presence"]
