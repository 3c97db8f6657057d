"""The rescan policy: whether waiting for one more scan is worth it, round by round, and when.

Watching is a test: a rescan after w weeks shows growth, whose likelihood under each class is the
fitted one at that interval (averaged over posterior draws, so parameter uncertainty is part of
it). It costs a scan; under recurrence the wait costs ``delay_loss`` in proportion to a round and
loses the treatment window with probability 1 - (1 - window_loss)^(w / rescan_weeks) (a lost
window leaves the recurrence untreatable: utility 0); under necrosis a symptomatic lesion bears
its untreated loss meanwhile (:func:`model.decision.utilities.wait_costs`). With up to ``rounds``
rescans allowed, each at one of the offered intervals, backward induction on a fine grid of
P(recurrence) gives, for each number of rescans still allowed, the band of probabilities where
each action is best:

    V_0(p) = max over the immediate actions (manage, biopsy, treat, resect[, treat_necrosis])
    V_k(p) = max(V_0(p), max_w [ E_g[V_(k-1)(p'(g))] - p w_R E_g|R[U_(k-1)(p'(g))]
                                 - p (1 - w_R) delay_w - (1 - p) necrosis_w - scan_cost ])

where p'(g) is Bayes' update of p by the growth g seen at the rescan, w_R the window probability
and U the value under recurrence of the policy followed afterwards. Without window loss this is
the expected value of acting on the rescan, less its costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.decision.parameters import DecisionParameters
from model.decision.utilities import (
    ASYMPTOMATIC_LATE,
    LesionContext,
    class_utilities,
    wait_costs,
)
from model.inputs.vocabulary import GROWTH_WEEKS
from model.likelihood.draws import PosteriorDraws

TIE = 1e-9
"""QALW by which waiting must beat acting now to be chosen: less is rounding."""
RESCAN_INTERVALS: tuple[float, ...] = (4.0, 6.0, 8.0, 12.0)
"""Rescan intervals a board chooses between, in weeks: 4 (RANO's confirmation scan), 6-8 (the
short-interval follow-up of BT-RADS 3a/3b) and 12 (routine surveillance)."""


@dataclass(frozen=True)
class GrowthLikelihood:
    """Predictive density of log growth over one rescan interval, per class, on a grid.

    Attributes
    ----------
    growth : ndarray (G,)
        log(volume after / volume before).
    weights : ndarray (G,)
        Quadrature (trapezoid) weights of the grid.
    density : ndarray (2, G)
        Class-conditional densities (necrosis, recurrence), each integrating to 1 on the grid.
    weeks : float
        The rescan interval.
    """

    growth: np.ndarray
    weights: np.ndarray
    density: np.ndarray
    weeks: float


def growth_likelihood(
    draws: PosteriorDraws, weeks: float, n_draws: int = 1000, grid_size: int = 1201
) -> GrowthLikelihood:
    """The fitted growth likelihood of one rescan, averaged over posterior draws.

    The marginal of a single rescan, its lesion's own rate unknown: per class, the average over
    draws of a normal density (misread with the draw's probability as the other class), on an
    evenly spaced grid from 8 sd below the lowest class mean to 8 sd above the highest. A policy
    over several rounds that reuses it treats the rounds as independent, and so overstates what
    later rounds add (the lesion's rescans share its rate); per-lesion decisions
    (:func:`model.decision.value.decide`) condition each rescan on the earlier ones.

    Parameters
    ----------
    draws : PosteriorDraws
    weeks : float
        Interval of the rescan.
    n_draws : int, default 1000
        Draws averaged (evenly thinned).
    grid_size : int, default 1201

    Returns
    -------
    GrowthLikelihood
    """
    thinned = draws.thin(n_draws)
    mean = thinned.growth_rate * weeks / GROWTH_WEEKS  # (S, 2)
    sd = thinned.scan_sd(weeks)[:, None]  # (S, 1): one spread for both classes
    low, high = (mean - 8 * sd).min(), (mean + 8 * sd).max()
    g = np.linspace(low, high, grid_size)
    z = (g[None, :, None] - mean[:, None, :]) / sd[:, None, :]  # (S, G, 2)
    own = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sd[:, None, :])
    e = thinned.growth_misread  # a misread scan looks like the other class
    density = ((1 - e) * own + e * own[..., ::-1]).mean(axis=0).T
    weights = np.full(grid_size, g[1] - g[0])
    weights[[0, -1]] /= 2
    density /= (density * weights).sum(axis=1, keepdims=True)
    return GrowthLikelihood(g, weights, density, float(weeks))


@dataclass(frozen=True, eq=False)
class RescanPolicy:
    """The optimal action at every P(recurrence), for each number of rescans still allowed.

    Attributes
    ----------
    p : ndarray (P,)
        The probability grid.
    value : ndarray (rounds + 1, P)
        Expected utility of acting optimally with k = 0..rounds rescans still allowed.
    action : ndarray of str (rounds + 1, P)
    weeks : ndarray (rounds + 1, P)
        The interval of the best rescan where the action is ``rescan``; NaN elsewhere.
    bands : pandas.DataFrame
        ``rescans_left``, ``action``, ``weeks``, ``p_from``, ``p_to``: contiguous bands of the
        grid with one action (and, for a rescan, one interval).
    """

    p: np.ndarray
    value: np.ndarray
    action: np.ndarray
    weeks: np.ndarray
    bands: pd.DataFrame

    def action_at(self, p: float, rescans_left: int) -> str:
        """The optimal action at probability ``p`` with ``rescans_left`` rescans allowed."""
        return str(self.action[rescans_left, int(np.argmin(np.abs(self.p - p)))])


def rescan_policy(
    likelihoods: GrowthLikelihood | Sequence[GrowthLikelihood],
    params: DecisionParameters,
    rounds: int = 3,
    grid_size: int = 2001,
    context: LesionContext = ASYMPTOMATIC_LATE,
) -> RescanPolicy:
    """Solve the finite-horizon rescan problem by backward induction.

    Parameters
    ----------
    likelihoods : GrowthLikelihood or sequence of them
        From :func:`growth_likelihood`, one per rescan interval offered (the fit's growth model
        at that interval).
    params : DecisionParameters
    rounds : int, default 3
        Most rescans allowed.
    grid_size : int, default 2001
        Points of the probability grid.
    context : LesionContext, optional
        Symptomatic or not, early window or not (asymptomatic and late by default).

    Returns
    -------
    RescanPolicy
    """
    if rounds < 0:
        raise ValueError("rounds must be >= 0")
    offered = [likelihoods] if isinstance(likelihoods, GrowthLikelihood) else list(likelihoods)
    p = np.linspace(0.0, 1.0, grid_size)
    table = class_utilities(params, context)
    names = [*table, "rescan"]
    necrosis = np.array([u for u, _ in table.values()])[:, None]
    recurrence = np.array([u for _, u in table.values()])[:, None]
    immediate = p * recurrence + (1 - p) * necrosis  # (A, P)
    first = immediate.argmax(axis=0)
    value, under_r = immediate.max(axis=0), recurrence[first, 0]
    values, actions = [value], [np.array(names)[first]]
    weeks = [np.full(grid_size, np.nan)]
    steps = [_rescan_step(likelihood, p) for likelihood in offered]
    for _ in range(rounds):
        options, options_r = [immediate], [np.repeat(recurrence, grid_size, axis=1)]
        for likelihood, (updated, mass, conditional) in zip(offered, steps, strict=True):
            cost = wait_costs(params, likelihood.weeks, context)
            later_r = np.interp(updated, p, under_r)
            expected_r = (conditional * later_r).sum(axis=1)  # E[U(p') | recurrence]
            total = (mass * np.interp(updated, p, value)).sum(axis=1)
            options.append(
                (
                    total
                    - p * cost.window * expected_r
                    - p * (1 - cost.window) * cost.delay
                    - (1 - p) * cost.necrosis
                    - params.scan_cost
                )[None]
            )
            options_r.append(
                ((1 - cost.window) * (expected_r - cost.delay) - params.scan_cost)[None]
            )
        stacked, stacked_r = np.vstack(options), np.vstack(options_r)
        # a rescan must beat acting now by more than rounding: ties go to the immediate action
        margin = np.where(np.arange(len(stacked)) >= len(table), TIE, 0.0)[:, None]
        best = (stacked - margin).argmax(axis=0)
        value, under_r = stacked[best, np.arange(grid_size)], stacked_r[best, np.arange(grid_size)]
        is_rescan = best >= len(table)
        interval = np.array([likelihood.weeks for likelihood in offered])
        values.append(value)
        actions.append(np.array(names)[np.minimum(best, len(table))])
        weeks.append(np.where(is_rescan, interval[np.maximum(best - len(table), 0)], np.nan))
    return RescanPolicy(
        p, np.array(values), np.array(actions), np.array(weeks), _bands(p, actions, weeks)
    )


def _rescan_step(likelihood: GrowthLikelihood, p: np.ndarray):
    """Bayes' update of each grid probability by each growth value, and the weights of each."""
    f0, f1 = likelihood.density
    joint1 = p[:, None] * f1[None, :]
    joint0 = (1 - p)[:, None] * f0[None, :]
    marginal = joint1 + joint0
    updated = np.divide(
        joint1, marginal, out=np.repeat(p[:, None], len(f0), axis=1), where=marginal > 0
    )
    mass = marginal * likelihood.weights[None, :]
    conditional = (f1 * likelihood.weights)[None, :]
    return updated, mass, conditional


def _bands(p: np.ndarray, actions: list[np.ndarray], weeks: list[np.ndarray]) -> pd.DataFrame:
    rows = []
    for k, (row, interval) in enumerate(zip(actions, weeks, strict=True)):
        labels = [f"{a}@{w}" for a, w in zip(row, interval, strict=True)]
        start = 0
        for i in range(1, len(row) + 1):
            if i == len(row) or labels[i] != labels[start]:
                rows.append(
                    {
                        "rescans_left": k,
                        "action": row[start],
                        "weeks": interval[start],
                        "p_from": p[start],
                        "p_to": p[i - 1],
                    }
                )
                start = i
    return pd.DataFrame(rows)


def policy_by_delay(
    likelihoods: GrowthLikelihood | Sequence[GrowthLikelihood],
    params: DecisionParameters,
    delays: Sequence[float] | None = None,
    rescans_left: int = 1,
    context: LesionContext = ASYMPTOMATIC_LATE,
) -> pd.DataFrame:
    """How the policy with ``rescans_left`` rescans allowed moves with the delay loss.

    Parameters
    ----------
    likelihoods : GrowthLikelihood or sequence of them
    params : DecisionParameters
    delays : sequence of float, optional
        ``delay_loss`` values; 33 from 0 to the benefit by default (at the benefit, with one
        round, the surveillance loss is the classic model's).
    rescans_left : int, default 1
    context : LesionContext, optional

    Returns
    -------
    pandas.DataFrame
        ``delay_loss``, ``surveillance_loss`` and the policy's bands (``action``, ``weeks``,
        ``p_from``, ``p_to``) at each delay loss.
    """
    from model.decision.utilities import surveillance_loss

    delays = np.linspace(0.0, params.benefit, 33) if delays is None else delays
    frames = []
    for delay in delays:
        varied = params.with_values(delay_loss=float(delay))
        policy = rescan_policy(likelihoods, varied, rounds=rescans_left, context=context)
        bands = policy.bands[policy.bands["rescans_left"] == rescans_left].drop(
            columns="rescans_left"
        )
        frames.append(
            bands.assign(delay_loss=float(delay), surveillance_loss=surveillance_loss(varied))
        )
    table = pd.concat(frames, ignore_index=True)
    return table[["delay_loss", "surveillance_loss", "action", "weeks", "p_from", "p_to"]]
