"""Latent-class analysis without sampling: the whole model density at a point that is not the
prior mean, the summaries of given draws, and the fit around a replaced sampler.

These run in seconds (no NUTS), so mutation testing of ``synthesis.latent_class`` uses them with
the likelihood and input tests of ``test_latent_class.py``; the fitted reproductions of Joseph
et al. (1995) stay there.
"""

from __future__ import annotations

import itertools
import tomllib

import numpy as np
import pytest
import xarray as xr
from scipy import special, stats

import model.synthesis.latent_class as lca
from model.core.errors import InputError
from model.synthesis.latent_class import (
    MISSING,
    BetaPrior,
    BinaryResults,
    LatentClassFit,
    LcaPriors,
    build_model,
    fit_latent_class,
    load_priors,
    load_test_results,
)

# Three tests, two populations, some results not done; every prior different.
DATA = BinaryResults(
    tests=("x", "y", "z"),
    populations=("P", "Q"),
    patterns=np.array(
        [[1, 1, 0], [1, 0, MISSING], [0, 1, 1], [0, 0, 0], [MISSING, 1, 1], [1, MISSING, MISSING]]
    ),
    counts=np.array([12, 7, 3, 20, 4, 6]),
    population=np.array([0, 0, 1, 1, 0, 1]),
)
PRIORS = LcaPriors(
    prevalence={"P": BetaPrior(2.0, 5.0), "Q": BetaPrior(6.0, 3.0)},
    sensitivity={"x": BetaPrior(8.0, 2.0), "y": BetaPrior(3.0, 1.5), "z": BetaPrior(5.0, 4.0)},
    specificity={"x": BetaPrior(9.0, 1.0), "y": BetaPrior(2.5, 2.0), "z": BetaPrior(7.0, 3.0)},
)
POINT = {
    "prevalence": np.array([0.31, 0.64]),
    "sensitivity": np.array([0.83, 0.58, 0.71]),
    "specificity": np.array([0.92, 0.66, 0.77]),
}


def _free(model, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values on the sampler's scale: the logit of every Beta and Uniform(0, 1) parameter."""
    point = {
        f"{name}_{'interval' if name.startswith('u_') else 'logodds'}__": special.logit(value)
        for name, value in values.items()
    }
    assert set(point) == {v.name for v in model.value_vars}
    return point


def _prior_density(values: dict[str, np.ndarray]) -> float:
    total = 0.0
    for name, table in (
        ("prevalence", PRIORS.prevalence),
        ("sensitivity", PRIORS.sensitivity),
        ("specificity", PRIORS.specificity),
    ):
        for value, prior in zip(values[name], table.values(), strict=True):
            total += stats.beta.logpdf(value, prior.alpha, prior.beta)
    return total


def _cell(result: int, p_positive: float) -> float:
    return 1.0 if result == MISSING else (p_positive if result == 1 else 1 - p_positive)


def test_the_whole_density_at_a_point_that_is_not_the_prior_mean():
    """Beta priors by population and test, and the likelihood with blanks marginalised."""
    model = build_model(DATA, PRIORS)
    logp = model.compile_logp(jacobian=False)(_free(model, POINT))
    dims = {name: model.named_vars_to_dims[name] for name in POINT}
    assert dims == {
        "prevalence": ("population",), "sensitivity": ("test",), "specificity": ("test",),
    }  # fmt: skip
    se, sp = POINT["sensitivity"], POINT["specificity"]
    expected = _prior_density(POINT)
    for pattern, n, g in zip(DATA.patterns, DATA.counts, DATA.population, strict=True):
        pi = POINT["prevalence"][g]
        diseased = np.prod([_cell(r, s) for r, s in zip(pattern, se, strict=True)])
        healthy = np.prod([_cell(r, 1 - c) for r, c in zip(pattern, sp, strict=True)])
        expected += n * np.log(pi * diseased + (1 - pi) * healthy)
    assert logp == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("pair", [("x", "z"), ("z", "y")])
def test_the_dependent_pair_density_and_its_covariances(pair):
    """Dendukuri-Joseph cells for the pair where both were done, its own marginal otherwise."""
    model = build_model(DATA, PRIORS, dependent=[pair])
    u1, u0 = 0.37, 0.81
    values = {**POINT, "u_diseased": np.array([u1]), "u_healthy": np.array([u0])}
    point = _free(model, values)
    logp = model.compile_logp(jacobian=False)(point)
    se, sp = POINT["sensitivity"], POINT["specificity"]
    a, b = (DATA.tests.index(t) for t in pair)
    c1 = u1 * (min(se[a], se[b]) - se[a] * se[b])
    c0 = u0 * (min(sp[a], sp[b]) - sp[a] * sp[b])
    expected = _prior_density(POINT)  # the Uniform(0, 1) densities are 1
    for pattern, n, g in zip(DATA.patterns, DATA.counts, DATA.population, strict=True):
        pi = POINT["prevalence"][g]
        diseased = np.prod([_cell(r, s) for r, s in zip(pattern, se, strict=True)])
        healthy = np.prod([_cell(r, 1 - c) for r, c in zip(pattern, sp, strict=True)])
        if pattern[a] != MISSING and pattern[b] != MISSING:
            same = 1 if pattern[a] == pattern[b] else -1
            diseased *= 1 + same * c1 / (_cell(pattern[a], se[a]) * _cell(pattern[b], se[b]))
            healthy *= 1 + same * c0 / (_cell(pattern[a], 1 - sp[a]) * _cell(pattern[b], 1 - sp[b]))
        expected += n * np.log(pi * diseased + (1 - pi) * healthy)
    assert logp == pytest.approx(expected, rel=1e-10)
    covariances = model.replace_rvs_by_values([model["cov_diseased"], model["cov_healthy"]])
    covariances = model.compile_fn(covariances, inputs=model.value_vars, on_unused_input="ignore")(
        point
    )
    assert [float(c[0]) for c in covariances] == pytest.approx([c1, c0], rel=1e-12)


def test_a_dependent_pair_must_be_two_different_tests():
    for pair in (("x", "x"), ("x", "w"), ("w", "x")):
        with pytest.raises(ValueError, match=r"two different tests of \('x', 'y', 'z'\)"):
            build_model(DATA, PRIORS, dependent=[pair])
    with pytest.raises(ValueError, match="test 'y' is in two dependent pairs"):
        build_model(DATA, PRIORS, dependent=[("x", "y"), ("y", "z")])


# --------------------------------------------------------------------------------------------
# Summaries and the fit around a replaced sampler
# --------------------------------------------------------------------------------------------
def test_summary_and_json_of_given_draws():
    rng = np.random.default_rng(5)
    draws = {
        **{f"prevalence.{p}": rng.beta(2, 5, 300) for p in "PQ"},
        **{f"{a}.{t}": rng.beta(8, 2, 300) for a in ("sensitivity", "specificity") for t in "xyz"},
    }
    for name, accuracy in (("cov_diseased", "sensitivity"), ("cov_healthy", "specificity")):
        a, b = draws[f"{accuracy}.x"], draws[f"{accuracy}.y"]
        feasible = rng.uniform(0, 1, 300) * (np.minimum(a, b) - a * b)  # as fitted
        draws[f"{name}.x~y"] = feasible
    fit = LatentClassFit(DATA, draws, (("x", "y"),), {"divergences": 0})
    table = fit.summary()
    assert table.index.tolist() == list(draws) and table.index.name == "parameter"
    assert table.columns.tolist() == ["median", "lower", "upper"]
    for name, values in draws.items():
        expected = [np.quantile(values, q) for q in (0.5, 0.025, 0.975)]
        np.testing.assert_allclose(table.loc[name], expected, rtol=1e-12)
    document = fit.to_dict()
    assert document == {
        "model": "Bayesian latent-class model, disease state marginalised",
        "level": 0.95,
        "tests": ["x", "y", "z"],
        "populations": ["P", "Q"],
        "conditional_dependence": [["x", "y"]],
        "disease_free": None,
        "subjects": 52,
        "estimates": {k: dict(v) for k, v in table.iterrows()},
        "likelihood_ratios": {k: dict(v) for k, v in fit.likelihood_ratios().iterrows()},
        "patterns": fit.pattern_table().to_dict(orient="records"),
        "predictive_check": {
            "ppp": fit.predictive_check().attrs["ppp"],
            "patterns": fit.predictive_check().to_dict(orient="records"),
        },
        "warnings": [],
        "diagnostics": {"divergences": 0},
    }
    assert len(document["patterns"]) == len(DATA.counts)
    assert LatentClassFit(DATA, draws).to_dict()["conditional_dependence"] is None


def test_fit_hands_the_sampler_its_settings_and_names_every_draw(replaced_sampler):
    chains, draws = 2, 3
    shape = (chains, draws)

    def values(*dims):
        size = int(np.prod(shape)) * int(np.prod(dims or (1,)))
        return np.linspace(0.01, 0.99, size).reshape(*shape, *dims)

    posterior = xr.Dataset(
        {
            "prevalence": (("chain", "draw", "population"), values(2)),
            "sensitivity": (("chain", "draw", "test"), values(3)),
            "specificity": (("chain", "draw", "test"), values(3)[..., ::-1]),
            "cov_diseased": (("chain", "draw", "pair"), values(1)),
            "cov_healthy": (("chain", "draw", "pair"), values(1)[::-1]),
        }
    )
    calls = replaced_sampler(lca, posterior, {"passed": False})
    fit = fit_latent_class(DATA, PRIORS, [("x", "y")], draws=3, tune=9, chains=2, seed=4)
    free = ["prevalence", "sensitivity", "specificity", "u_diseased", "u_healthy"]
    assert calls == [(free, (3, 9, 2, 4))]
    expected = {}
    for name, labels in (
        ("prevalence", DATA.populations),
        ("sensitivity", DATA.tests),
        ("specificity", DATA.tests),
    ):
        for i, label in enumerate(labels):
            expected[f"{name}.{label}"] = posterior[name].values[..., i].reshape(-1)
    expected["cov_diseased.x~y"] = posterior["cov_diseased"].values.reshape(-1)
    expected["cov_healthy.x~y"] = posterior["cov_healthy"].values.reshape(-1)
    assert list(fit.draws) == list(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(fit.draws[name], value)
    assert fit.dependent == (("x", "y"),) and fit.diagnostics == {"passed": False}
    assert fit.data is DATA
    independent = fit_latent_class(DATA, PRIORS)
    assert calls[-1] == (free[:3], (1000, 1000, 2, 0))
    assert "cov_diseased.x~y" not in independent.draws and independent.dependent == ()


# --------------------------------------------------------------------------------------------
# Reading results and priors
# --------------------------------------------------------------------------------------------
def test_patterns_are_aggregated_by_population_and_zero_counts_dropped(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("site,a,b,n\nQ,1,0,2\nP,1,,3\nQ,1,0,5\nP,0,0,0\nP,1,,1\n")
    data = load_test_results(path, ["a", "b"], count="n", population="site")
    assert data.tests == ("a", "b") and data.populations == ("Q", "P")  # order of appearance
    patterns = map(tuple, data.patterns.tolist())
    rows = sorted(zip(data.population.tolist(), patterns, data.counts.tolist(), strict=True))
    assert rows == [(0, (1, 0), 7), (1, (1, MISSING), 4)]
    assert data.counts.dtype == data.patterns.dtype == data.population.dtype == np.int64
    table = data.table()
    assert table.columns.tolist() == ["population", "a", "b", "count"]
    assert sorted(map(tuple, table.values.tolist())) == [("P", "+", "", 4), ("Q", "+", "-", 7)]


def test_results_file_problems_are_worded_for_the_user(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n")
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a", "a"], count="b")
    found = [(p.file, p.row, p.column, p.value, p.expected) for p in caught.value.problems]
    assert found == [("command line", None, "a", "a", "each column named once")]
    with pytest.raises(InputError) as caught:
        load_test_results(path, [])
    found = [(p.file, p.column, p.expected) for p in caught.value.problems]
    assert found == [("command line", "--test", "at least one test column")]
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a"])
    assert [(p.file, p.row, p.expected) for p in caught.value.problems] == [
        ("r.csv", None, "at least one data row")
    ]
    path.write_text("a,n,g\n2,1,\n")
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a"], count="n", population="g")
    found = [(p.row, p.column, p.value, p.expected) for p in caught.value.problems]
    assert found == [(2, "a", "2", "0, 1 or blank (not done)"), (2, "g", "", "a population name")]
    path.write_text("a,n,g\n1,x,P\n")
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a"], count="n", population="g")
    assert [(p.row, p.column, p.value, p.expected) for p in caught.value.problems] == [
        (2, "n", "x", "a whole number >= 0")
    ]
    with pytest.raises(InputError) as caught:
        load_test_results(path, ["a", "w"], count="v", population="site")
    assert [(p.row, p.column, p.expected) for p in caught.value.problems] == [
        (1, "w", "a column of 0/1 test results (the file has: a, n, g)"),
        (1, "v", "a column of counts (the file has: a, n, g)"),
        (1, "site", "a column of populations (the file has: a, n, g)"),
    ]


def test_priors_shared_or_by_population_and_extra_tests_ignored(tmp_path):
    path = tmp_path / "p.toml"
    tests = "".join(
        f"[tests.{t}]\nsensitivity = {{ alpha = {i + 2}, beta = 1 }}\n"
        f"specificity = {{ alpha = 1, beta = {i + 3} }}\n"
        for i, t in enumerate("xyzw")
    )
    path.write_text("[prevalence]\nalpha = 4\nbeta = 0.5\n" + tests)
    priors = load_priors(path, DATA)
    assert priors.prevalence == {"P": BetaPrior(4.0, 0.5), "Q": BetaPrior(4.0, 0.5)}
    assert priors.sensitivity == {t: BetaPrior(i + 2.0, 1.0) for i, t in enumerate("xyz")}
    assert priors.specificity == {t: BetaPrior(1.0, i + 3.0) for i, t in enumerate("xyz")}
    path.write_text(
        "[prevalence.Q]\nalpha = 1\nbeta = 2\n[prevalence.P]\nalpha = 3\nbeta = 4\n" + tests
    )
    priors = load_priors(path, DATA)
    assert priors.prevalence == {"P": BetaPrior(3.0, 4.0), "Q": BetaPrior(1.0, 2.0)}


def _prevalence_problems(tmp_path, value: str) -> list:
    """The problems of a priors file whose tests are fine and whose prevalence is ``value``."""
    path = tmp_path / "p.toml"
    good = "{ alpha = 1, beta = 1 }"
    path.write_text(
        f"prevalence = {value}\n"
        + "".join(f"[tests.{t}]\nsensitivity = {good}\nspecificity = {good}\n" for t in "xyz")
    )
    with pytest.raises(InputError) as caught:
        load_priors(path, DATA)
    return caught.value.problems


@pytest.mark.parametrize(
    "value",
    [
        "{ alpha = 2 }",
        "{ alpha = true, beta = 1 }",
        "{ alpha = 1, beta = 0 }",
        "{ alpha = 0, beta = 1 }",
        '{ alpha = "2", beta = 1 }',
    ],
)
def test_a_beta_prior_needs_two_positive_numbers(tmp_path, value):
    (problem,) = _prevalence_problems(tmp_path, value)
    shown = str(tomllib.loads(f"v = {value}")["v"])
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "p.toml", None, "prevalence", shown
    )  # fmt: skip
    assert problem.expected == "a Beta prior { alpha = a, beta = b } with a > 0 and b > 0"


@pytest.mark.parametrize("value", ["true", "0", "-1.5", '"2"'])
def test_a_prevalence_that_is_not_a_table_is_wanted_for_each_population(tmp_path, value):
    found = [(p.column, p.value) for p in _prevalence_problems(tmp_path, value)]
    assert found == [("prevalence.P", None), ("prevalence.Q", None)]


def test_a_misspelt_test_table_is_pointed_out(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        "[prevalence]\nalpha = 1\nbeta = 1\n[tests.xx]\nsensitivity = { alpha = 1, beta = 1 }\n"
        "[tests.y]\nsensitivity = { alpha = 1, beta = 1 }\n"
        "[tests.z]\nsensitivity = { alpha = 1, beta = 1 }\nspecificity = { alpha = 1, beta = 1 }\n"
    )
    with pytest.raises(InputError) as caught:
        load_priors(path, DATA)
    found = {p.column: p.expected.split("b > 0")[1] for p in caught.value.problems}
    assert found == {
        "tests.x.sensitivity": "; the file has no [tests.x] table (did you mean [tests.xx]?)",
        "tests.x.specificity": "; the file has no [tests.x] table (did you mean [tests.xx]?)",
        "tests.y.specificity": "",
    }
    assert all(p.value is None for p in caught.value.problems)
    path.write_text("[prevalence]\nalpha = 1\nbeta = 1\n[tests.abc]\n")
    with pytest.raises(InputError) as caught:
        load_priors(path, DATA)
    assert caught.value.problems[0].expected.endswith("; the file has no [tests.x] table")
    path.write_text("tests = 5\n[prevalence]\nalpha = 1\nbeta = 1\n")  # not a table of tests
    with pytest.raises(InputError) as caught:
        load_priors(path, DATA)
    assert [p.column for p in caught.value.problems] == [
        f"tests.{t}.{q}" for t in "xyz" for q in ("sensitivity", "specificity")
    ]
    beta = "a Beta prior { alpha = a, beta = b } with a > 0 and b > 0"
    assert [p.expected for p in caught.value.problems] == [
        f"{beta}; the file has no [tests.{t}] table" for t in "xyz" for _ in range(2)
    ]
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="valid TOML"):
        load_priors(path, DATA)
    with pytest.raises(InputError, match="a readable file"):
        load_priors(tmp_path / "absent.toml", DATA)


def test_every_pattern_of_two_tests_reaches_the_likelihood():
    """All nine patterns of two tests (blanks included) in one population, against the sum."""
    patterns = np.array(list(itertools.product([1, 0, MISSING], repeat=2)))
    data = BinaryResults(("x", "y"), ("all",), patterns, np.arange(1, 10), np.zeros(9, int))
    priors = LcaPriors({"all": BetaPrior(1, 1)}, PRIORS.sensitivity, PRIORS.specificity)
    model = build_model(data, priors)
    values = {"prevalence": np.array([0.4]), "sensitivity": POINT["sensitivity"][:2]}
    values["specificity"] = POINT["specificity"][:2]
    point = _free(model, values)
    logp = model.compile_logp(vars=[model["likelihood"]], jacobian=False)(point)
    se, sp = values["sensitivity"], values["specificity"]
    expected = sum(
        n
        * np.log(
            0.4 * _cell(r[0], se[0]) * _cell(r[1], se[1])
            + 0.6 * _cell(r[0], 1 - sp[0]) * _cell(r[1], 1 - sp[1])
        )
        for r, n in zip(patterns, range(1, 10), strict=True)
    )
    assert logp == pytest.approx(expected, rel=1e-12)


def test_a_grouped_number_in_a_priors_file_is_refused(tmp_path):
    (problem,) = _prevalence_problems(tmp_path, "{ alpha = 1_5, beta = 1 }")
    assert (problem.column, problem.value) == ("prevalence", "1_5")


# --------------------------------------------------------------------------------------------
# Several dependent pairs, and a population that may be free of the disease
# --------------------------------------------------------------------------------------------
FOUR = BinaryResults(
    tests=("w", "x", "y", "z"),
    populations=("P", "Q"),
    patterns=np.array(
        [[1, 1, 0, 1], [1, 0, 1, 1], [0, 0, 0, 0], [0, 1, MISSING, 1], [1, 1, 1, 1], [0, 0, 1, 0]]
    ),
    counts=np.array([9, 4, 30, 3, 2, 11]),
    population=np.array([0, 0, 1, 1, 0, 1]),
)
FOUR_PRIORS = LcaPriors(
    prevalence={"P": BetaPrior(2.0, 3.0), "Q": BetaPrior(1.5, 4.0)},
    sensitivity={t: BetaPrior(4.0 + i, 2.0) for i, t in enumerate("wxyz")},
    specificity={t: BetaPrior(6.0, 1.0 + i) for i, t in enumerate("wxyz")},
    presence=BetaPrior(3.0, 2.0),
)
FOUR_POINT = {
    "prevalence": np.array([0.42, 0.17]),
    "sensitivity": np.array([0.81, 0.74, 0.66, 0.88]),
    "specificity": np.array([0.93, 0.79, 0.85, 0.71]),
    "u_diseased": np.array([0.3, 0.6]),
    "u_healthy": np.array([0.8, 0.25]),
    "presence": np.array(0.37),
}


def _pattern_probability(pattern, accuracy, pairs, covariances, positive) -> float:
    """P(pattern | class), the pairs' cells where both were done, each test's own otherwise."""
    probability, paired = 1.0, set()
    for (a, b), c in zip(pairs, covariances, strict=True):
        if pattern[a] != MISSING and pattern[b] != MISSING:
            pa, pb = positive(accuracy[a]), positive(accuracy[b])
            cells = {(1, 1): pa * pb + c, (1, 0): pa * (1 - pb) - c}
            cells |= {(0, 1): (1 - pa) * pb - c, (0, 0): (1 - pa) * (1 - pb) + c}
            probability *= cells[(pattern[a], pattern[b])]
            paired |= {a, b}
    for j, r in enumerate(pattern):
        if j not in paired:
            probability *= _cell(r, positive(accuracy[j]))
    return probability


def test_two_disjoint_pairs_and_a_zero_inflated_population_at_a_point():
    pairs = [(0, 1), (2, 3)]
    model = build_model(FOUR, FOUR_PRIORS, dependent=[("w", "x"), ("y", "z")], zero_inflated=["Q"])
    assert model.coords["pair"] == ("w~x", "y~z")
    logp = model.compile_logp(jacobian=False)(_free(model, FOUR_POINT))
    se, sp = FOUR_POINT["sensitivity"], FOUR_POINT["specificity"]
    c1 = [
        u * (min(se[a], se[b]) - se[a] * se[b])
        for u, (a, b) in zip(FOUR_POINT["u_diseased"], pairs, strict=True)
    ]
    c0 = [
        u * (min(sp[a], sp[b]) - sp[a] * sp[b])
        for u, (a, b) in zip(FOUR_POINT["u_healthy"], pairs, strict=True)
    ]
    expected = stats.beta.logpdf(FOUR_POINT["presence"], 3.0, 2.0)
    for name in ("prevalence", "sensitivity", "specificity"):
        table = getattr(FOUR_PRIORS, name)
        for value, prior in zip(FOUR_POINT[name], table.values(), strict=True):
            expected += stats.beta.logpdf(value, prior.alpha, prior.beta)
    diseased_pop, free_pop = np.zeros(2), np.zeros(2)
    for pattern, n, g in zip(FOUR.patterns, FOUR.counts, FOUR.population, strict=True):
        pi = FOUR_POINT["prevalence"][g]
        d1 = _pattern_probability(pattern, se, pairs, c1, lambda s: s)
        d0 = _pattern_probability(pattern, sp, pairs, c0, lambda s: 1 - s)
        diseased_pop[g] += n * np.log(pi * d1 + (1 - pi) * d0)
        free_pop[g] += n * np.log(d0)
    tau = FOUR_POINT["presence"]
    expected += diseased_pop[0]  # P is not zero-inflated
    expected += np.logaddexp(np.log(tau) + diseased_pop[1], np.log1p(-tau) + free_pop[1])
    assert logp == pytest.approx(expected, rel=1e-9)


def test_a_disease_free_population_is_bayes_rule_over_presence():
    """With every draw at one point, P(free) is (1 - tau) L0 / ((1 - tau) L0 + tau L1)."""
    point = {
        "prevalence.P": 0.42, "prevalence.Q": 0.17, "presence": 0.37,
        **{f"sensitivity.{t}": v for t, v in zip("wxyz", FOUR_POINT["sensitivity"], strict=True)},
        **{f"specificity.{t}": v for t, v in zip("wxyz", FOUR_POINT["specificity"], strict=True)},
    }  # fmt: skip
    fit = LatentClassFit(FOUR, {k: np.full(4000, v) for k, v in point.items()})
    rows = FOUR.population == 1
    se, sp = FOUR_POINT["sensitivity"], FOUR_POINT["specificity"]
    log1 = log0 = 0.0
    for pattern, n in zip(FOUR.patterns[rows], FOUR.counts[rows], strict=True):
        d1 = np.prod([_cell(r, s) for r, s in zip(pattern, se, strict=True)])
        d0 = np.prod([_cell(r, 1 - c) for r, c in zip(pattern, sp, strict=True)])
        log1 += n * np.log(0.17 * d1 + 0.83 * d0)
        log0 += n * np.log(d0)
    free = 0.63 * np.exp(log0) / (0.63 * np.exp(log0) + 0.37 * np.exp(log1))
    inflated = lca._with_disease_free(fit, ["Q"], np.random.default_rng(0))
    assert inflated.disease_free == {"Q": pytest.approx(free, rel=1e-10)}
    # Each draw's prevalence is 0 in the disease-free share, the population's otherwise.
    drawn = inflated.draws["prevalence.Q"]
    assert set(np.unique(drawn)) == {0.0, 0.17}
    assert np.mean(drawn == 0) == pytest.approx(free, abs=0.025)
    assert np.array_equal(inflated.draws["prevalence.P"], fit.draws["prevalence.P"])


def test_zero_inflation_needs_a_population_of_the_data():
    with pytest.raises(ValueError, match="zero-inflated populations must be among"):
        build_model(FOUR, FOUR_PRIORS, zero_inflated=["R"])
