"""The rescan policy: whether waiting 6-8 weeks for one more scan is worth it, round by round.

Watching is a test: a rescan shows growth, whose likelihood under each class is the fitted one
(averaged over posterior draws, so parameter uncertainty is part of it), and costs a scan plus
``delay_loss`` under recurrence. With up to ``rounds`` rescans allowed, backward induction on a
fine grid of P(recurrence) gives, for each number of rescans still allowed, the band of
probabilities where managing, rescanning, biopsying or treating is best:

    V_0(p) = max(manage, biopsy, treat)
    V_k(p) = max(V_0(p), -scan_cost - p delay_loss + E_g[V_(k-1)(p'(g))])

where p'(g) is Bayes' update of p by the growth g seen at the rescan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.decision.parameters import DecisionParameters
from model.decision.thresholds import expected_utilities
from model.inputs.vocabulary import GROWTH_WEEKS
from model.likelihood.draws import PosteriorDraws

POLICY_ACTIONS = ("manage", "biopsy", "treat", "rescan")


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
    """

    growth: np.ndarray
    weights: np.ndarray
    density: np.ndarray


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
    return GrowthLikelihood(g, weights, density)


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
    bands : pandas.DataFrame
        ``rescans_left``, ``action``, ``p_from``, ``p_to``: contiguous bands of the grid.
    """

    p: np.ndarray
    value: np.ndarray
    action: np.ndarray
    bands: pd.DataFrame

    def action_at(self, p: float, rescans_left: int) -> str:
        """The optimal action at probability ``p`` with ``rescans_left`` rescans allowed."""
        return str(self.action[rescans_left, int(np.argmin(np.abs(self.p - p)))])


def rescan_policy(
    likelihood: GrowthLikelihood,
    params: DecisionParameters,
    rounds: int = 3,
    grid_size: int = 2001,
) -> RescanPolicy:
    """Solve the finite-horizon rescan problem by backward induction.

    Parameters
    ----------
    likelihood : GrowthLikelihood
        From :func:`growth_likelihood` (the fit's growth model at the rescan interval).
    params : DecisionParameters
    rounds : int, default 3
        Most rescans allowed.
    grid_size : int, default 2001
        Points of the probability grid.

    Returns
    -------
    RescanPolicy
    """
    if rounds < 0:
        raise ValueError("rounds must be >= 0")
    p = np.linspace(0.0, 1.0, grid_size)
    eu = expected_utilities(p, params)
    immediate = np.stack([eu["manage"], eu["biopsy"], eu["treat"]])
    f0, f1 = likelihood.density
    joint1 = p[:, None] * f1[None, :]
    joint0 = (1 - p)[:, None] * f0[None, :]
    marginal = joint1 + joint0
    updated = np.divide(
        joint1, marginal, out=np.repeat(p[:, None], len(f0), axis=1), where=marginal > 0
    )
    mass = marginal * likelihood.weights[None, :]
    values = [immediate.max(axis=0)]
    actions = [np.array(POLICY_ACTIONS[:3])[immediate.argmax(axis=0)]]
    for _ in range(rounds):
        later = np.interp(updated, p, values[-1])
        rescan = (mass * later).sum(axis=1) - params.scan_cost - p * params.delay_loss
        options = np.vstack([immediate, rescan])
        best = options.argmax(axis=0)  # ties go to the immediate action (listed first)
        values.append(options.max(axis=0))
        actions.append(np.array(POLICY_ACTIONS)[best])
    return RescanPolicy(p, np.array(values), np.array(actions), _bands(p, actions))


def _bands(p: np.ndarray, actions: list[np.ndarray]) -> pd.DataFrame:
    rows = []
    for k, row in enumerate(actions):
        start = 0
        for i in range(1, len(row) + 1):
            if i == len(row) or row[i] != row[start]:
                rows.append(
                    {"rescans_left": k, "action": row[start], "p_from": p[start], "p_to": p[i - 1]}
                )
                start = i
    return pd.DataFrame(rows)
