"""Decision curve analysis with the conventions of the dcurves package, plus posterior bands.

For a threshold probability t, a lesion is positive when its predicted probability is >= t, and

    tp_rate = P(positive | outcome) * prevalence
    fp_rate = P(positive | no outcome) * (1 - prevalence)
    net_benefit = tp_rate - fp_rate * t / (1 - t) - harm
    net_intervention_avoided = (net_benefit - net_benefit of treating all) / (t / (1 - t))

with the prevalence observed in the data unless given (case-control data), and the strategies
"all" (every lesion positive) and "none" (no lesion positive) added. As in dcurves, a probability of
exactly 0 or 1 is moved by machine epsilon so that it is negative (positive) at threshold 0 (1).
Output is dcurves' long format, so results are interchangeable (Vickers AJ & Elkin EB, Med Decis
Making 2006; dcurves, MSKCC-Epi-Bio).

Beyond dcurves: :func:`net_benefit_draws` gives the net benefit of every posterior draw of a
model's predictions, and :func:`probability_better` the posterior probability that one strategy
beats another at each threshold. :func:`decision_value` gives, per threshold, each strategy's
probability of being the best one and the expected value of perfect information (EVPI) about
which is best, from the sampling uncertainty of the validation sample (a Bayesian bootstrap over
patients; Sadatsafavi M et al., Med Decis Making 2023;43:564-575, as bayesDCA does).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from model.core.errors import InputError, Problem

DCA_COLUMNS = (
    "model",
    "threshold",
    "n",
    "prevalence",
    "harm",
    "test_pos_rate",
    "tp_rate",
    "fp_rate",
    "net_benefit",
    "net_intervention_avoided",
)
DEFAULT_THRESHOLDS = np.arange(100) / 100
"""dcurves' default thresholds: 0, 0.01, ..., 0.99."""


def _nudged(risk: np.ndarray) -> np.ndarray:
    """A risk of exactly 0 is never test-positive, not even at threshold 0 (as in dcurves)."""
    return np.where(risk == 0, -sys.float_info.epsilon, risk)


def rates(risk, outcome, thresholds, prevalence: float | None = None) -> dict[str, np.ndarray]:
    """Test-positive, true-positive and false-positive rates at each threshold.

    Parameters
    ----------
    risk : array (..., n)
        Predicted probabilities; leading axes (e.g. posterior draws) are kept.
    outcome : array (n,) of bool or 0/1
    thresholds : array (T,)
    prevalence : float, optional
        Prevalence for case-control data; default the observed share of outcomes.

    Returns
    -------
    dict of str to array (..., T)
        ``test_pos_rate``, ``tp_rate``, ``fp_rate``; plus ``prevalence`` (float).
    """
    y = np.asarray(outcome).astype(bool)
    risk = _nudged(np.asarray(risk, float))
    t = np.asarray(thresholds, float)
    prevalence = float(y.mean()) if prevalence is None else float(prevalence)
    positive = risk[..., None, :] >= t[:, None]  # (..., T, n)
    return {
        "test_pos_rate": positive.mean(axis=-1),
        "tp_rate": positive[..., y].mean(axis=-1) * prevalence,
        "fp_rate": positive[..., ~y].mean(axis=-1) * (1 - prevalence),
        "prevalence": prevalence,
    }


def net_benefit(tp_rate, fp_rate, thresholds, harm=0.0) -> np.ndarray:
    """Net benefit from true- and false-positive rates (arrays broadcast over thresholds)."""
    t = np.asarray(thresholds, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return tp_rate - fp_rate * (t / (1 - t)) - harm


def decision_curve(
    data: pd.DataFrame,
    outcome: str,
    models: Sequence[str],
    thresholds=None,
    harm: Mapping[str, float] | None = None,
    prevalence: float | None = None,
) -> pd.DataFrame:
    """Decision curves for any table of outcomes and predicted probabilities.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per lesion.
    outcome : str
        Column of outcomes (True / 1 for recurrence, False / 0 otherwise).
    models : sequence of str
        Columns of predicted probabilities in [0, 1] (a 0/1 rule is a probability too).
    thresholds : array, optional
        Threshold probabilities; default 0, 0.01, ..., 0.99 (as dcurves).
    harm : mapping of str to float, optional
        Harm of each model's strategy (e.g. the burden of the test it needs), in net-benefit units.
    prevalence : float, optional
        For case-control data: the population prevalence.

    Returns
    -------
    pandas.DataFrame
        dcurves' long format: ``model``, ``threshold``, ``n``, ``prevalence``, ``harm``,
        ``test_pos_rate``, ``tp_rate``, ``fp_rate``, ``net_benefit``,
        ``net_intervention_avoided`` (per 100 patients' worth of the net benefit's units;
        undefined, NaN, at threshold 0, where dcurves divides by zero); the models in order,
        then ``all`` and ``none``.

    Raises
    ------
    model.core.errors.InputError
        Missing columns, missing values, outcomes other than 0/1, probabilities outside [0, 1].
    """
    t = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, float)
    y, risks = _checked(data, outcome, list(models), harm, prevalence)
    harm = dict(harm or {})
    strategies = {**risks, "all": np.ones(len(y)), "none": np.zeros(len(y))}
    frames = []
    for name, risk in strategies.items():
        r = rates(risk, y, t, prevalence)
        h = float(harm.get(name, 0.0))
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "threshold": t,
                    "n": len(y),
                    "prevalence": r["prevalence"],
                    "harm": h,
                    "test_pos_rate": r["test_pos_rate"],
                    "tp_rate": r["tp_rate"],
                    "fp_rate": r["fp_rate"],
                    "net_benefit": net_benefit(r["tp_rate"], r["fp_rate"], t, h),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    treat_all = np.tile(
        table.loc[table["model"] == "all", "net_benefit"].to_numpy(), len(strategies)
    )
    odds = table["threshold"] / (1 - table["threshold"])
    table["net_intervention_avoided"] = (table["net_benefit"] - treat_all) / odds.where(odds > 0)
    return table[list(DCA_COLUMNS)]


def _checked(data, outcome, models, harm, prevalence):
    problems = []
    source = "<decision curve data>"
    for column in [outcome, *models]:
        if column not in data.columns:
            problems.append(Problem(source, None, column, None, "a column of the data (missing)"))
    for name in harm or {}:
        if name not in [*models, "all", "none"]:
            problems.append(
                Problem(source, None, name, None, "a harm for one of the models, 'all' or 'none'")
            )
    if prevalence is not None and not 0 < prevalence < 1:
        problems.append(Problem(source, None, "prevalence", str(prevalence), "a number in (0, 1)"))
    if problems:
        raise InputError(problems)
    y = data[outcome]
    valid = y.isin([0, 1, True, False]) & y.notna()
    problems += [
        Problem(source, label, outcome, str(v), "1/True (recurrence) or 0/False")
        for label, v in y[~valid].items()
    ]
    risks = {}
    for model in models:
        values = pd.to_numeric(data[model], errors="coerce")
        bad = values.isna() | (values < 0) | (values > 1)
        problems += [
            Problem(source, label, model, str(data[model][label]), "a probability in [0, 1]")
            for label in values.index[bad]
        ]
        risks[model] = values.to_numpy(float)
    if problems:
        raise InputError(problems)
    return y.astype(bool).to_numpy(), risks


def net_benefit_draws(
    p_draws, outcome, thresholds=None, prevalence: float | None = None, harm: float = 0.0
) -> np.ndarray:
    """Net benefit of a model's predictions for every posterior draw: (S, T).

    Parameters
    ----------
    p_draws : array (n, S)
        P(recurrence) per lesion and draw (:func:`model.recurrence_draws`).
    outcome : array (n,)
    thresholds : array (T,), optional
    prevalence, harm : as in :func:`decision_curve`.
    """
    t = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, float)
    p = np.asarray(p_draws, float).T  # (S, n)
    out = np.empty((p.shape[0], len(t)))
    for start in range(0, p.shape[0], 256):  # bounded memory: (256, T, n) booleans at a time
        r = rates(p[start : start + 256], outcome, t, prevalence)
        out[start : start + 256] = net_benefit(r["tp_rate"], r["fp_rate"], t, harm)
    return out


def probability_better(net_benefit_a, net_benefit_b) -> np.ndarray:
    """Posterior probability that strategy A's net benefit exceeds B's, per threshold.

    Either argument may be (S, T) draws or (T,) fixed values (a rule, treat all, treat none).
    """
    a, b = np.atleast_2d(net_benefit_a), np.atleast_2d(net_benefit_b)
    return (a > b).mean(axis=0)


def decision_value(
    data: pd.DataFrame,
    outcome: str,
    models: Sequence[str],
    thresholds=None,
    groups=None,
    resamples: int = 4000,
    seed: int = 1,
) -> pd.DataFrame:
    """Each strategy's probability of being best, and the EVPI, per threshold.

    The net benefit of every strategy (the models, treat all, treat none) is recomputed on
    ``resamples`` Bayesian-bootstrap copies of the sample: each patient (``groups``; each row by
    default) gets a Dirichlet(1, ..., 1) weight, shared by its lesions. A model's decisions are
    those of its given probabilities; what varies is the sample they are judged on.

    Parameters
    ----------
    data, outcome, models, thresholds
        As :func:`decision_curve`.
    groups : array (n,), optional
        Each row's patient: a patient's lesions are weighted together.
    resamples : int, default 4000
    seed : int, default 1

    Returns
    -------
    pandas.DataFrame
        ``model``, ``threshold``, ``p_best`` (the share of resamples in which the strategy has
        the largest net benefit; ties shared) and ``evpi`` (the same for every strategy of a
        threshold: E[max net benefit] - max E[net benefit], in net-benefit units, 0 when one
        strategy is best in every resample), models in order, then ``all`` and ``none``; and
        for every strategy X a column ``p_above_X``: the share of resamples in which the row's
        strategy has the larger net benefit than X (NaN on X's own rows; ties count for
        neither), so any two strategies can be compared.
    """
    t = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, float)
    y, risks = _checked(data, outcome, list(models), None, None)
    strategies = {**risks, "all": np.ones(len(y)), "none": np.zeros(len(y))}
    odds = t / (1 - t)
    # each lesion's share of the net benefit at each threshold: (n, strategies, T)
    positive = np.stack([_nudged(risk)[:, None] >= t[None, :] for risk in strategies.values()], 1)
    share = positive * np.where(y[:, None], 1.0, -odds[None, :])[:, None, :]
    _, group = np.unique(
        np.arange(len(y)) if groups is None else np.asarray(groups), return_inverse=True
    )
    weights = np.random.default_rng(seed).dirichlet(np.ones(group.max() + 1), size=resamples)
    lesion_weights = weights[:, group]
    lesion_weights /= lesion_weights.sum(axis=1, keepdims=True)  # (K, n)
    benefit = np.einsum("kn,nst->kst", lesion_weights, share)  # (K, strategies, T)
    best = benefit == benefit.max(axis=1, keepdims=True)
    p_best = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)  # (strategies, T)
    evpi = benefit.max(axis=1).mean(axis=0) - benefit.mean(axis=0).max(axis=0)
    table = pd.DataFrame(
        {
            "model": np.repeat(list(strategies), len(t)),
            "threshold": np.tile(t, len(strategies)),
            "p_best": p_best.reshape(-1),
            "evpi": np.tile(np.maximum(evpi, 0.0), len(strategies)),
        }
    )
    for j, other in enumerate(strategies):  # P(this strategy's net benefit > other's)
        above = (benefit > benefit[:, j : j + 1, :]).mean(axis=0)  # (strategies, T)
        above[j] = np.nan
        table[f"p_above_{other}"] = above.reshape(-1)
    return table
