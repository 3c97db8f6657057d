"""Bayesian latent-class analysis of binary tests without a gold standard, in PyMC.

Every subject of population *g* has a latent disease state D (prevalence ``pi_g``) and results
on tests *j* = 1..J with sensitivity ``Se_j`` and specificity ``Sp_j``, shared by all populations
(the Hui-Walter design when there are two or more populations). Each of these parameters has a
Beta prior read from a TOML file (:func:`load_priors`); with one population and two tests the
model is not identified by the data alone, so the priors must carry real information (Joseph,
Gyorkos & Coupal 1995).

Likelihood. Tests are conditionally independent given D by default:
``P(r | D=1) = prod_j Se_j^r_j (1 - Se_j)^(1 - r_j)``, likewise with ``1 - Sp_j`` for D=0. A
missing result (blank cell) drops out of the product (it is marginalised). D is marginalised,
not sampled: each distinct pattern (with its count) adds
``count * logsumexp(log pi + log P(r | D=1), log(1 - pi) + log P(r | D=0))`` to the log density
(a ``pm.Potential``), and NUTS samples the continuous parameters.

Conditional dependence (optional) between pairs of tests (a, b) follows the fixed-effects
covariance model of Dendukuri & Joseph (2001, Biometrics 57:158-167): given D=1 the joint
probabilities of the pair are ``Se_a Se_b + c1``, ``Se_a (1 - Se_b) - c1``,
``(1 - Se_a) Se_b - c1`` and ``(1 - Se_a)(1 - Se_b) + c1`` for (+,+), (+,-), (-,+), (-,-), and
likewise with the specificities and a covariance ``c0`` given D=0 (both tests negative:
``Sp_a Sp_b + c0``). Here the covariances are restricted to positive dependence and get uniform
priors over their feasible range: ``c1 = u1 (min(Se_a, Se_b) - Se_a Se_b)`` and
``c0 = u0 (min(Sp_a, Sp_b) - Sp_a Sp_b)`` with ``u1, u0 ~ Uniform(0, 1)``. When only one test of
the pair was done, its own marginal applies (the covariance cancels). Several pairs may be
dependent if they share no test (a test dependent on two others needs higher-order terms).

Zero-inflated prevalence (optional, Branscum, Gardner & Johnson 2005, Prev Vet Med 68:145-163):
a named population may be free of the disease altogether. Its prevalence is ``Z_g pi_g`` with
``Z_g ~ Bernoulli(tau)``, ``tau`` (``presence``, the probability that such a population has the
disease at all) having a Beta prior (``[presence]`` in the priors file, Beta(1, 1) without one).
``Z_g`` is marginalised: the population adds
``logsumexp(log tau + sum count * mixture(pi_g), log(1 - tau) + sum count * log P(r | D=0))``.
The fit reports ``P(Z_g = 0 | data)`` and, for every draw, the prevalence with ``Z_g`` drawn
from its conditional posterior, so every summary below averages over it.

Input is one row per subject (0/1 result per test column, blank = not done) or one row per
result pattern with a count column; an optional column names each row's population.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from model.core.errors import InputError, Problem
from model.core.numbers import parse_whole
from model.core.strict_toml import read_toml
from model.synthesis.io import (
    LEVEL,
    interval,
    missing_columns,
    read_csv_records,
    sample_posterior,
)

MISSING = -1
"""Code of a blank (not done) result in :attr:`BinaryResults.patterns`."""


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BinaryResults:
    """Distinct result patterns with their counts.

    Parameters
    ----------
    tests : tuple of str
        Test (column) names, in column order of :attr:`patterns`.
    populations : tuple of str
        Population names (``("all",)`` without a population column).
    patterns : numpy.ndarray of int, shape (n, J)
        1 positive, 0 negative, :data:`MISSING` not done.
    counts : numpy.ndarray of int, shape (n,)
        Subjects with the pattern.
    population : numpy.ndarray of int, shape (n,)
        Index into :attr:`populations` of each pattern.
    """

    __test__ = False  # not a pytest test class, despite the name

    tests: tuple[str, ...]
    populations: tuple[str, ...]
    patterns: np.ndarray
    counts: np.ndarray
    population: np.ndarray

    def table(self) -> pd.DataFrame:
        """The patterns as a DataFrame (``+``, ``-``, blank), with population and count."""
        cells = np.where(self.patterns == 1, "+", np.where(self.patterns == 0, "-", ""))
        frame = pd.DataFrame(cells, columns=list(self.tests))
        frame.insert(0, "population", [self.populations[i] for i in self.population])
        frame["count"] = self.counts
        return frame


def load_test_results(
    path: str | os.PathLike,
    tests: Sequence[str],
    count: str | None = None,
    population: str | None = None,
) -> BinaryResults:
    """Load and validate binary test results.

    Parameters
    ----------
    path : path-like
        CSV with a header row.
    tests : sequence of str
        Columns holding the test results: ``0``, ``1`` or blank (not done).
    count : str, optional
        Column with the number of subjects of each row (one row per pattern); without it every
        row is one subject.
    population : str, optional
        Column naming each row's population; without it all rows are one population.

    Returns
    -------
    BinaryResults

    Raises
    ------
    model.core.errors.InputError
        Listing every problem: an unknown or repeated column name, a result other than 0/1/blank,
        a count that is not a whole number >= 0, a blank population. Rows are spreadsheet rows.
    """
    name = Path(path).name
    header, rows = read_csv_records(path)
    problems = _column_problems(name, header, tests, count, population)
    if problems:
        raise InputError(problems)
    index = {column: header.index(column) for column in header}
    patterns, counts, groups = [], [], []
    for number, cells in rows:
        patterns.append([_result(name, number, t, cells[index[t]], problems) for t in tests])
        counts.append(
            _row_count(name, number, count, cells[index[count]] if count else "1", problems)
        )
        group = cells[index[population]] if population else "all"
        if not group:
            problems.append(Problem(name, number, population, "", "a population name"))
        groups.append(group)
    if not rows:
        problems.append(Problem(name, None, None, None, "at least one data row"))
    if problems:
        raise InputError(problems)
    return _aggregate(tuple(tests), np.asarray(patterns), np.asarray(counts), groups)


def _column_problems(
    file: str, header: list[str], tests: Sequence[str], count: str | None, population: str | None
) -> list[Problem]:
    wanted = {t: "0/1 test results" for t in tests}
    wanted.update({c: what for c, what in ((count, "counts"), (population, "populations")) if c})
    problems = missing_columns(file, header, wanted)
    named = [*tests, *(c for c in (count, population) if c)]
    for column in sorted({c for c in named if named.count(c) > 1}):
        problems.append(Problem("command line", None, column, column, "each column named once"))
    if not tests:
        problems.append(Problem("command line", None, "--test", None, "at least one test column"))
    return problems


def _result(file: str, row: int, column: str, text: str, problems: list[Problem]) -> int:
    if text in ("0", "1"):
        return int(text)
    if text:
        problems.append(Problem(file, row, column, text, "0, 1 or blank (not done)"))
    return MISSING


def _row_count(file: str, row: int, column: str | None, text: str, problems: list[Problem]) -> int:
    value = parse_whole(text)
    if value is None:
        problems.append(Problem(file, row, column, text, "a whole number >= 0"))
        return -1
    return value


def _aggregate(
    tests: tuple[str, ...], patterns: np.ndarray, counts: np.ndarray, groups: list[str]
) -> BinaryResults:
    populations = tuple(dict.fromkeys(groups))
    group_index = np.array([populations.index(g) for g in groups])
    keys = np.column_stack([group_index, patterns])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    totals = np.bincount(inverse.reshape(-1), weights=counts, minlength=len(unique))
    keep = totals > 0
    return BinaryResults(
        tests=tests,
        populations=populations,
        patterns=unique[keep, 1:].astype(np.int64),
        counts=totals[keep].astype(np.int64),
        population=unique[keep, 0].astype(np.int64),
    )


# --------------------------------------------------------------------------------------------
# Priors
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BetaPrior:
    """A Beta(alpha, beta) prior."""

    alpha: float
    beta: float


@dataclass(frozen=True)
class LcaPriors:
    """Beta priors of a latent-class analysis.

    Parameters
    ----------
    prevalence : dict of str to BetaPrior
        By population name.
    sensitivity, specificity : dict of str to BetaPrior
        By test name.
    presence : BetaPrior, default Beta(1, 1)
        Probability that a zero-inflated population has the disease at all.
    """

    prevalence: dict[str, BetaPrior]
    sensitivity: dict[str, BetaPrior]
    specificity: dict[str, BetaPrior]
    presence: BetaPrior = BetaPrior(1.0, 1.0)


def load_priors(path: str | os.PathLike, data: BinaryResults) -> LcaPriors:
    """Read the Beta priors of a TOML file for the tests and populations of ``data``.

    The file has one ``[tests.<name>]`` table per test with ``sensitivity`` and ``specificity``
    as ``{ alpha = a, beta = b }`` and a ``[prevalence]`` table that either holds ``alpha`` and
    ``beta`` itself (all populations) or one ``[prevalence.<population>]`` table per population.
    An optional ``[presence]`` table (``alpha``, ``beta``) is the prior of a zero-inflated
    population having the disease at all.
    Tables for tests not analysed are ignored, so one file can serve several runs.

    Parameters
    ----------
    path : path-like
    data : BinaryResults
        Its tests and populations are the entries required.

    Returns
    -------
    LcaPriors

    Raises
    ------
    model.core.errors.InputError
        For an unreadable file, invalid TOML, a missing entry or Beta parameters that are not
        numbers > 0; the entry (e.g. ``tests.stool.sensitivity``) is the problem's column.
    """
    name = Path(path).name
    document = read_toml(path)
    problems: list[Problem] = []
    test_tables = document.get("tests", {})
    prevalence_table = document.get("prevalence")

    def beta(entry: str, value: Any) -> BetaPrior:
        prior = _beta_prior(value)
        if prior is None:
            hint = _entry_hint(entry, document)
            expected = f"a Beta prior {{ alpha = a, beta = b }} with a > 0 and b > 0{hint}"
            problems.append(Problem(name, None, entry, _shown(value), expected))
            return BetaPrior(1.0, 1.0)
        return prior

    sensitivity, specificity = {}, {}
    for test in data.tests:
        table = test_tables.get(test, {}) if isinstance(test_tables, dict) else {}
        sensitivity[test] = beta(f"tests.{test}.sensitivity", table.get("sensitivity"))
        specificity[test] = beta(f"tests.{test}.specificity", table.get("specificity"))
    if isinstance(prevalence_table, dict) and "alpha" in prevalence_table:
        shared = beta("prevalence", prevalence_table)
        prevalence = dict.fromkeys(data.populations, shared)
    else:
        tables = prevalence_table if isinstance(prevalence_table, dict) else {}
        prevalence = {g: beta(f"prevalence.{g}", tables.get(g)) for g in data.populations}
    presence = BetaPrior(1.0, 1.0)
    if "presence" in document:
        presence = beta("presence", document["presence"])
    if problems:
        raise InputError(problems)
    return LcaPriors(prevalence, sensitivity, specificity, presence)


def _beta_prior(value: Any) -> BetaPrior | None:
    if not isinstance(value, dict):
        return None
    a, b = value.get("alpha"), value.get("beta")
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    if not numbers or not (a > 0 and b > 0):
        return None
    return BetaPrior(float(a), float(b))


def _shown(value: Any) -> str | None:
    return None if value is None else str(value)


def _entry_hint(entry: str, document: dict) -> str:
    parts = entry.split(".")
    if len(parts) != 3:
        return ""
    known = list(document.get("tests", {})) if isinstance(document.get("tests"), dict) else []
    if parts[1] in known:
        return ""
    close = difflib.get_close_matches(parts[1], known, n=1)
    return f"; the file has no [tests.{parts[1]}] table" + (
        f" (did you mean [tests.{close[0]}]?)" if close else ""
    )


# --------------------------------------------------------------------------------------------
# Model and fit
# --------------------------------------------------------------------------------------------
def build_model(
    data: BinaryResults,
    priors: LcaPriors,
    dependent: Sequence[tuple[str, str]] = (),
    zero_inflated: Sequence[str] = (),
):
    """The latent-class model as a :class:`pymc.Model` (see the module docstring).

    Parameters
    ----------
    data : BinaryResults
    priors : LcaPriors
    dependent : sequence of pairs of str, optional
        Pairs of tests whose results are conditionally dependent given the disease state; no
        test may be in two pairs.
    zero_inflated : sequence of str, optional
        Populations that may be free of the disease altogether.

    Returns
    -------
    pymc.Model
        Free variables ``prevalence`` (dim ``population``), ``sensitivity`` and ``specificity``
        (dim ``test``); with ``dependent`` the fractions ``u_diseased`` and ``u_healthy`` (dim
        ``pair``) of their feasible ranges that the covariances ``cov_diseased`` and
        ``cov_healthy`` take; with ``zero_inflated`` the probability ``presence``.

    Raises
    ------
    ValueError
        When a pair does not name two different tests of ``data``, a test is in two pairs, or a
        zero-inflated population is not one of ``data``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    pairs = _pairs(data, dependent)
    inflated = _inflated(data, zero_inflated)
    coords = {"population": list(data.populations), "test": list(data.tests)}
    if pairs:
        coords["pair"] = [pair_label(data.tests[a], data.tests[b]) for a, b in pairs]
    with pm.Model(coords=coords) as model:
        prevalence = _beta("prevalence", priors.prevalence, data.populations, "population")
        se = _beta("sensitivity", priors.sensitivity, data.tests, "test")
        sp = _beta("specificity", priors.specificity, data.tests, "test")
        observed = data.patterns != MISSING
        positive = (data.patterns == 1).astype(float)
        independent = observed.copy()
        log1 = log0 = pt.zeros(len(data.counts))
        if pairs:
            joint1, joint0 = _joint_pairs(se, sp, pairs)
            for k, (a, b) in enumerate(pairs):
                both = observed[:, a] & observed[:, b]
                independent[both, a] = independent[both, b] = False
                cell = np.where(both, 2 * (1 - data.patterns[:, a]) + (1 - data.patterns[:, b]), 0)
                log1 = log1 + pt.switch(both, pt.log(joint1[k][cell]), 0.0)
                log0 = log0 + pt.switch(both, pt.log(joint0[k][cell]), 0.0)
        mask = independent.astype(float)
        log1 = log1 + pt.sum(mask * (positive * pt.log(se) + (1 - positive) * pt.log1p(-se)), 1)
        log0 = log0 + pt.sum(mask * (positive * pt.log1p(-sp) + (1 - positive) * pt.log(sp)), 1)
        pi = prevalence[data.population]
        mixture = data.counts * pt.logaddexp(pt.log(pi) + log1, pt.log1p(-pi) + log0)
        if inflated is None:
            pm.Potential("likelihood", pt.sum(mixture))
            return model
        presence = pm.Beta("presence", priors.presence.alpha, priors.presence.beta)
        member = _membership(data)  # (populations, patterns)
        diseased, free = pt.dot(member, mixture), pt.dot(member, data.counts * log0)
        either = pt.logaddexp(pt.log(presence) + diseased, pt.log1p(-presence) + free)
        pm.Potential("likelihood", pt.sum(pt.switch(inflated, either, diseased)))
    return model


def pair_label(a: str, b: str) -> str:
    """The name of a dependent pair in outputs: ``a~b``."""
    return f"{a}~{b}"


def _membership(data: BinaryResults) -> np.ndarray:
    """Shape (populations, patterns): 1 where the pattern belongs to the population."""
    return (data.population[None, :] == np.arange(len(data.populations))[:, None]).astype(float)


def _inflated(data: BinaryResults, zero_inflated: Sequence[str]) -> np.ndarray | None:
    """Per population, whether it is zero-inflated; None when none is."""
    unknown = [g for g in zero_inflated if g not in data.populations]
    if unknown:
        raise ValueError(f"zero-inflated populations must be among {data.populations}: {unknown}")
    if not zero_inflated:
        return None
    return np.array([g in zero_inflated for g in data.populations])


def _beta(name: str, table: dict[str, BetaPrior], keys: Sequence[str], dim: str):
    import pymc as pm

    alpha = np.array([table[k].alpha for k in keys])
    beta = np.array([table[k].beta for k in keys])
    return pm.Beta(name, alpha=alpha, beta=beta, dims=dim)


def _pairs(data: BinaryResults, dependent: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    """Column indices of each dependent pair, checked."""
    pairs: list[tuple[int, int]] = []
    seen: set[str] = set()
    for a, b in dependent:
        if a == b or a not in data.tests or b not in data.tests:
            raise ValueError(f"dependent tests must be two different tests of {data.tests}")
        shared = {a, b} & seen
        if shared:
            raise ValueError(
                f"test '{sorted(shared)[0]}' is in two dependent pairs: only pairs that share no "
                "test are modelled (a test dependent on two others needs higher-order terms)"
            )
        seen |= {a, b}
        pairs.append((data.tests.index(a), data.tests.index(b)))
    return pairs


def _joint_pairs(se, sp, pairs: list[tuple[int, int]]):
    """Per pair, the probabilities of (+,+), (+,-), (-,+), (-,-) given D=1 and given D=0."""
    import pymc as pm
    import pytensor.tensor as pt

    a, b = (list(side) for side in zip(*pairs, strict=True))
    u1 = pm.Uniform("u_diseased", 0.0, 1.0, dims="pair")
    u0 = pm.Uniform("u_healthy", 0.0, 1.0, dims="pair")
    se_a, se_b, sp_a, sp_b = se[a], se[b], sp[a], sp[b]
    c1 = pm.Deterministic("cov_diseased", u1 * (pt.minimum(se_a, se_b) - se_a * se_b), dims="pair")
    c0 = pm.Deterministic("cov_healthy", u0 * (pt.minimum(sp_a, sp_b) - sp_a * sp_b), dims="pair")
    joint1 = pair_cells(se_a, se_b, c1, pt.stack)
    joint0 = pair_cells(1 - sp_a, 1 - sp_b, c0, pt.stack)
    return [joint1[:, k] for k in range(len(pairs))], [joint0[:, k] for k in range(len(pairs))]


def pair_cells(p_a, p_b, cov, stack):
    """P(+,+), P(+,-), P(-,+), P(-,-) of two tests positive with probabilities p_a and p_b.

    ``cov`` is the covariance of the two results within the class (Dendukuri & Joseph 2001);
    ``stack`` joins the four cells on a new first axis (``numpy.stack`` or ``pytensor``'s).
    """
    return stack([p_a * p_b + cov, p_a * (1 - p_b) - cov, (1 - p_a) * p_b - cov,
                  (1 - p_a) * (1 - p_b) + cov])  # fmt: skip


@dataclass(frozen=True)
class LatentClassFit:
    """Posterior draws of a latent-class analysis.

    Parameters
    ----------
    data : BinaryResults
    draws : dict of str to numpy.ndarray
        Flattened draws keyed ``prevalence.<population>``, ``sensitivity.<test>``,
        ``specificity.<test>``; with dependence ``cov_diseased.<a~b>`` and
        ``cov_healthy.<a~b>`` per pair; with zero inflation ``presence``. A zero-inflated
        population's prevalence draws include its drawn disease-free state (0).
    dependent : tuple of pairs of str
        The conditionally dependent pairs (empty when tests are independent).
    diagnostics : dict
        The convergence gate (:meth:`model.fitting.diagnostics.Gate.to_dict`).
    disease_free : dict of str to float
        Per zero-inflated population, the posterior probability that it is free of the disease.
    """

    data: BinaryResults
    draws: dict[str, np.ndarray]
    dependent: tuple[tuple[str, str], ...] = ()
    diagnostics: dict[str, Any] = field(default_factory=dict)
    disease_free: dict[str, float] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Posterior median and 95% equal-tailed interval of every parameter.

        Returns
        -------
        pandas.DataFrame
            Index: the keys of :attr:`draws`; columns ``median``, ``lower``, ``upper``.
        """
        table = pd.DataFrame(
            {key: interval(values) for key, values in self.draws.items()},
            index=["median", "lower", "upper"],
        ).T
        table.index.name = "parameter"
        return table

    def likelihood_ratios(self) -> pd.DataFrame:
        """Each test's positive and negative likelihood ratio, median and 95% interval.

        ``LR+ = Se / (1 - Sp)`` and ``LR- = (1 - Se) / Sp``, draw by draw: how far a positive or
        a negative result moves the odds of disease (the marginal ratio of one test, whatever
        dependence it has with another).

        Returns
        -------
        pandas.DataFrame
            Index ``lr_positive.<test>`` and ``lr_negative.<test>``; columns as :meth:`summary`.
        """
        ratios = {}
        for test in self.data.tests:
            se, sp = self.draws[f"sensitivity.{test}"], self.draws[f"specificity.{test}"]
            ratios[f"lr_positive.{test}"] = interval(se / (1 - sp))
            ratios[f"lr_negative.{test}"] = interval((1 - se) / sp)
        table = pd.DataFrame(ratios, index=["median", "lower", "upper"]).T
        table.index.name = "parameter"
        return table

    def pattern_table(self) -> pd.DataFrame:
        """P(diseased | result pattern) for every observed pattern, with its likelihood ratio.

        For each posterior draw, ``P(D=1 | r) = pi P(r | D=1) / (pi P(r | D=1) + (1 - pi)
        P(r | D=0))`` with the pattern's population prevalence (and the pair's covariances under
        dependence); the table gives its posterior mean (what a clinician reads: the
        probability of disease given the results and the data) and 95% interval, and the
        pattern's likelihood ratio ``P(r | D=1) / P(r | D=0)`` (median and interval). A blank
        result was not done and drops out.

        Returns
        -------
        pandas.DataFrame
            The patterns of :meth:`BinaryResults.table` (population, one column per test,
            count) with ``p_diseased``, ``p_lower``, ``p_upper``, ``lr``, ``lr_lower``,
            ``lr_upper``.
        """
        log1, log0 = _pattern_log_likelihoods(self)  # (S, n)
        prevalence = np.stack([self.draws[f"prevalence.{p}"] for p in self.data.populations], 1)
        pi = prevalence[:, self.data.population]
        with np.errstate(divide="ignore"):  # a disease-free draw (pi = 0) gives log 0 = -inf
            p = special.expit(np.log(pi) - np.log1p(-pi) + log1 - log0)
        ratio = np.exp(log1 - log0)
        table = self.data.table()
        table["p_diseased"] = p.mean(axis=0)
        table[["p_lower", "p_upper"]] = np.quantile(p, [0.025, 0.975], axis=0).T
        table[["lr", "lr_lower", "lr_upper"]] = np.quantile(ratio, [0.5, 0.025, 0.975], axis=0).T
        return table

    def predictive_check(self, seed: int = 0) -> pd.DataFrame:
        """Posterior predictive check of the pattern counts.

        Subjects are grouped by population and by which tests were done; each group's N
        subjects fall into the 2^k result patterns of its k tests with the model's
        probabilities ``pi P(r | D=1) + (1 - pi) P(r | D=0)``. For every posterior draw a
        replicate of the group's counts is drawn (multinomial), so each pattern, observed or
        not, gets its expected count and a 95% predictive interval. The discrepancy
        ``sum (count - expected)^2 / expected`` of the data against that of the replicates gives
        the posterior predictive p-value (``attrs["ppp"]``): near 0 when the data fit worse than
        the model's own replicates (Gelman, Meng & Stern 1996).

        Returns
        -------
        pandas.DataFrame
            Population, one column per test (``+``, ``-``, blank = not done), ``count``
            (observed, 0 for a pattern not seen), ``expected``, ``lower``, ``upper`` and
            ``outside`` (the count lies outside its interval).
        """
        rng = np.random.default_rng(seed)
        observed = {
            (int(g), tuple(r)): int(c)
            for g, r, c in zip(
                self.data.population, self.data.patterns, self.data.counts, strict=True
            )
        }
        groups: dict[tuple[int, tuple[bool, ...]], int] = {}
        for (g, r), c in observed.items():
            key = (g, tuple(v != MISSING for v in r))
            groups[key] = groups.get(key, 0) + c
        rows, t_data, t_rep = [], 0.0, 0.0
        for (g, done), total in groups.items():
            combos = _all_patterns(done)
            every = BinaryResults(
                self.data.tests, self.data.populations, combos,
                np.zeros(len(combos), int), np.full(len(combos), g),
            )  # fmt: skip
            log1, log0 = _pattern_log_likelihoods(LatentClassFit(every, self.draws, self.dependent))
            pi = self.draws[f"prevalence.{self.data.populations[g]}"][:, None]
            p = pi * np.exp(log1) + (1 - pi) * np.exp(log0)  # (S, combos)
            p = p / p.sum(axis=1, keepdims=True)
            replicates = np.array([rng.multinomial(total, q) for q in p])  # (S, combos)
            counts = np.array([observed.get((g, tuple(r)), 0) for r in combos])
            expected = total * p
            t_data = t_data + ((counts - expected) ** 2 / expected).sum(axis=1)
            t_rep = t_rep + ((replicates - expected) ** 2 / expected).sum(axis=1)
            low, high = np.quantile(replicates, [0.025, 0.975], axis=0)
            for i, r in enumerate(combos):
                rows.append((g, r, counts[i], expected[:, i].mean(), low[i], high[i]))
        table = BinaryResults(
            self.data.tests, self.data.populations, np.array([r for _, r, *_ in rows]),
            np.array([c for _, _, c, *_ in rows]), np.array([g for g, *_ in rows]),
        ).table()  # fmt: skip
        table["expected"] = [e for *_, e, _, _ in rows]
        table["lower"] = [lo for *_, lo, _ in rows]
        table["upper"] = [hi for *_, hi in rows]
        table["outside"] = (table["count"] < table["lower"]) | (table["count"] > table["upper"])
        table.attrs["ppp"] = float(np.mean(t_rep >= t_data))
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the data's patterns and the diagnostics."""
        return {
            "model": "Bayesian latent-class model, disease state marginalised",
            "level": LEVEL,
            "tests": list(self.data.tests),
            "populations": list(self.data.populations),
            "conditional_dependence": [list(pair) for pair in self.dependent] or None,
            "disease_free": self.disease_free or None,
            "subjects": int(self.data.counts.sum()),
            "estimates": {k: dict(v) for k, v in self.summary().to_dict(orient="index").items()},
            "likelihood_ratios": {
                k: dict(v) for k, v in self.likelihood_ratios().to_dict(orient="index").items()
            },
            "patterns": self.pattern_table().to_dict(orient="records"),
            "predictive_check": {
                "ppp": (check := self.predictive_check()).attrs["ppp"],
                "patterns": check.to_dict(orient="records"),
            },
            "warnings": identification_warnings(
                self.data, self.dependent, tuple(self.disease_free)
            ),
            "diagnostics": self.diagnostics,
        }


def identification_warnings(
    data: BinaryResults,
    dependent: Sequence[tuple[str, str]] = (),
    zero_inflated: Sequence[str] = (),
) -> list[str]:
    """Why the data alone cannot identify the model, if they cannot; empty when they can.

    The data's degrees of freedom are, per population and set of tests done, one fewer than the
    2^k patterns of its k tests; the model has a prevalence per population, a sensitivity and a
    specificity per test, two covariances per dependent pair and, with zero inflation, the
    probability of presence. With more parameters than
    degrees of freedom the posterior follows the priors where the data are silent (Joseph,
    Gyorkos & Coupal 1995), so the priors must carry real information. A test never done, or
    never positive or never negative, says nothing about its own accuracy.
    """
    groups = {
        (int(g), tuple(r != MISSING)) for g, r in zip(data.population, data.patterns, strict=True)
    }
    freedom = sum(2 ** sum(done) - 1 for _, done in groups)
    covariances = 2 * len(dependent)
    parameters = len(data.populations) + 2 * len(data.tests) + covariances + bool(zero_inflated)
    warnings = []
    if parameters > freedom:
        warnings.append(
            f"not identified by the data alone: {parameters} parameters ({len(data.populations)} "
            f"prevalence{'s' if len(data.populations) != 1 else ''}, {len(data.tests)} "
            "sensitivities and specificities"
            + (f", {covariances} covariances" if covariances else "")
            + (", the probability of presence" if zero_inflated else "")
            + f") from {freedom} degrees of freedom in the pattern counts; the answer rests on "
            "the priors where the data are silent"
        )
    for j, test in enumerate(data.tests):
        done = data.patterns[:, j] != MISSING
        results = set(data.patterns[done, j].tolist())
        if not done.any():
            warnings.append(f"test '{test}' was never done: its accuracy is its prior")
        elif len(results) < 2:
            word = "positive" if results == {1} else "negative"
            warnings.append(f"test '{test}' is always {word}: the data say little of its accuracy")
    return warnings


def _all_patterns(done: tuple[bool, ...]) -> np.ndarray:
    """Every result pattern of the tests marked done (:data:`MISSING` for the others)."""
    k = sum(done)
    results = (np.arange(2**k)[:, None] >> np.arange(k)[::-1]) & 1  # rows of k bits
    out = np.full((2**k, len(done)), MISSING)
    out[:, [i for i, d in enumerate(done) if d]] = 1 - results  # all-positive first
    return out


def _pattern_log_likelihoods(fit: LatentClassFit) -> tuple[np.ndarray, np.ndarray]:
    """log P(r | D=1) and log P(r | D=0) of every pattern at every draw, each (S, n).

    The numbers :func:`build_model`'s likelihood mixes, from the posterior draws.
    """
    data = fit.data
    se = np.stack([fit.draws[f"sensitivity.{t}"] for t in data.tests], 1)[:, None, :]  # (S,1,J)
    sp = np.stack([fit.draws[f"specificity.{t}"] for t in data.tests], 1)[:, None, :]
    observed = data.patterns != MISSING
    positive = (data.patterns == 1).astype(float)
    independent = observed.copy()
    log1 = log0 = np.zeros((se.shape[0], len(data.counts)))
    for a, b in _pairs(data, fit.dependent):
        both = observed[:, a] & observed[:, b]
        independent[both, a] = independent[both, b] = False
        label = pair_label(data.tests[a], data.tests[b])
        c1, c0 = fit.draws[f"cov_diseased.{label}"], fit.draws[f"cov_healthy.{label}"]
        joint1 = pair_cells(se[:, 0, a], se[:, 0, b], c1, lambda x: np.stack(x, 1))
        joint0 = pair_cells(1 - sp[:, 0, a], 1 - sp[:, 0, b], c0, lambda x: np.stack(x, 1))
        cell = np.where(both, 2 * (1 - data.patterns[:, a]) + (1 - data.patterns[:, b]), 0)
        log1 = log1 + np.where(both, np.log(joint1[:, cell]), 0.0)
        log0 = log0 + np.where(both, np.log(joint0[:, cell]), 0.0)
    mask = independent.astype(float)
    log1 = log1 + np.sum(mask * (positive * np.log(se) + (1 - positive) * np.log1p(-se)), -1)
    log0 = log0 + np.sum(mask * (positive * np.log1p(-sp) + (1 - positive) * np.log(sp)), -1)
    return log1, log0


def fit_latent_class(
    data: BinaryResults,
    priors: LcaPriors,
    dependent: Sequence[tuple[str, str]] = (),
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    zero_inflated: Sequence[str] = (),
) -> LatentClassFit:
    """Fit the latent-class model with NUTS (nutpie).

    Parameters
    ----------
    data : BinaryResults
    priors : LcaPriors
    dependent : sequence of pairs of str, optional
        Pairs of tests modelled as conditionally dependent (see the module docstring).
    draws, tune, chains : int, optional
        Kept and warm-up draws per chain, and chains (defaults 1000, 1000, 2).
    seed : int, default 0
        Seeds the sampler and the draws of each zero-inflated population's state.
    zero_inflated : sequence of str, optional
        Populations that may be free of the disease (see the module docstring).

    Returns
    -------
    LatentClassFit
    """
    dependent = tuple((a, b) for a, b in dependent)
    model = build_model(data, priors, dependent, zero_inflated)
    posterior, gate = sample_posterior(model, draws, tune, chains, seed)
    out: dict[str, np.ndarray] = {}
    for name, dim, labels in (
        ("prevalence", "population", data.populations),
        ("sensitivity", "test", data.tests),
        ("specificity", "test", data.tests),
    ):
        for i, label in enumerate(labels):
            out[f"{name}.{label}"] = posterior[name].isel({dim: i}).values.reshape(-1)
    for k, (a, b) in enumerate(dependent):
        for name in ("cov_diseased", "cov_healthy"):
            values = posterior[name].isel(pair=k).values.reshape(-1)
            out[f"{name}.{pair_label(a, b)}"] = values
    if not zero_inflated:
        return LatentClassFit(data, out, dependent, gate.to_dict())
    out["presence"] = posterior["presence"].values.reshape(-1)
    fit = LatentClassFit(data, out, dependent, gate.to_dict())
    return _with_disease_free(fit, zero_inflated, np.random.default_rng(seed))


def _with_disease_free(
    fit: LatentClassFit, zero_inflated: Sequence[str], rng: np.random.Generator
) -> LatentClassFit:
    """Each zero-inflated population's P(disease-free | data), and its state drawn per draw.

    Per draw, the population is diseased with probability ``tau L1 / (tau L1 + (1 - tau) L0)``,
    ``L1`` being its likelihood at its prevalence and ``L0`` its likelihood with none diseased.
    """
    log1, log0 = _pattern_log_likelihoods(fit)
    tau = fit.draws["presence"]
    draws, disease_free = dict(fit.draws), {}
    for g, population in enumerate(fit.data.populations):
        if population not in zero_inflated:
            continue
        rows = fit.data.population == g
        pi = fit.draws[f"prevalence.{population}"][:, None]
        counts = fit.data.counts[rows]
        diseased = (
            counts @ np.logaddexp(np.log(pi) + log1[:, rows], np.log1p(-pi) + log0[:, rows]).T
        )
        free = log0[:, rows] @ counts
        p_diseased = special.expit(np.log(tau) + diseased - np.log1p(-tau) - free)
        disease_free[population] = float(np.mean(1.0 - p_diseased))
        draws[f"prevalence.{population}"] = np.where(
            rng.random(len(tau)) < p_diseased, pi[:, 0], 0.0
        )
    return LatentClassFit(fit.data, draws, fit.dependent, fit.diagnostics, disease_free)
