"""How robust a recommendation is: to the utilities' uncertainty and to the posterior's.

A recommendation is the action of highest expected utility at the default parameters and the
lesion's mean P(recurrence). Three summaries say how much to lean on it:

- ``p_best``: the probability that it is the best action, over joint draws of the decision
  parameters (each from its triangular distribution on its plausible range, as in the
  probabilistic sensitivity analysis) and of the posterior (one posterior draw's P(recurrence)
  per parameter draw);
- ``expected_loss``: the expected utility given up by following it, E[max_a EU_a - EU_chosen]
  over the same draws (quality-adjusted life-weeks; 0 when it is always best);
- ``sensitive_to``: the one or two parameters whose plausible range moves its margin over the
  runner-up most (one at a time, the others at their defaults), each with the action that takes
  over at the end of its range where one does.

The immediate actions' utilities are linear in P, so a posterior draw's P enters them directly.
Waiting for a rescan or a PET is valued from the lesion's predictive distribution of the result,
which already averages over the posterior; it varies with the parameters only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from model.decision.parameters import DecisionParameters
from model.decision.sensitivity import draw_parameters
from model.decision.utilities import LesionContext, expected_utilities

DRAWS = 400
"""Joint parameter and posterior draws per lesion."""

Waiting = Callable[[DecisionParameters], float]
"""The expected utility of an action that waits for a result (a rescan, a PET), given the
parameters: it is computed from the lesion's predictive distribution of the result."""


@dataclass(frozen=True)
class Robustness:
    """How far to lean on a recommendation (see the module docstring).

    Attributes
    ----------
    p_best : float
    expected_loss : float
    sensitive_to : str
        ``"harm (treat if low); delay_loss"``: the parameters, most influential first; the
        action in parentheses takes over at that end of the parameter's range.
    """

    p_best: float
    expected_loss: float
    sensitive_to: str


def uncertain_parameters(params: DecisionParameters) -> list[str]:
    """The parameters whose plausible range is not a single value."""
    return [name for name in params.names() if params.ranges[name][1] > params.ranges[name][0]]


def option_utilities(
    p: float,
    params: DecisionParameters,
    situation: LesionContext,
    waiting: Mapping[str, Waiting],
) -> dict[str, float]:
    """Expected utility of every action open to the lesion.

    The immediate ones at P = p, and each waiting one from its predictive distribution.
    """
    immediate = expected_utilities(p, params, situation)
    options = {name: float(value) for name, value in immediate.items()}
    options.update({name: value(params) for name, value in waiting.items()})
    return options


def robustness(
    recommendation: str,
    p: float,
    p_draws: np.ndarray,
    params: DecisionParameters,
    situation: LesionContext,
    waiting: Mapping[str, Waiting],
    n: int = DRAWS,
    seed: int = 1,
) -> Robustness:
    """The robustness of one lesion's recommendation.

    Parameters
    ----------
    recommendation : str
        The action recommended at the default parameters.
    p : float
        The lesion's P(recurrence), at which it was recommended.
    p_draws : ndarray (S,)
        P(recurrence) under each posterior draw.
    params : DecisionParameters
        Defaults (the modes) and plausible ranges.
    situation : LesionContext
    waiting : mapping of str to callable
        The waiting actions open to the lesion (``"rescan"``, ``"pet"``), each its expected
        utility given the parameters.
    n : int, default 400
        Joint draws.
    seed : int, default 1

    Returns
    -------
    Robustness
    """
    rng = np.random.default_rng(seed)
    names = uncertain_parameters(params)
    drawn = draw_parameters(params, names, n, rng)
    posterior = np.asarray(p_draws, dtype=float)[rng.integers(0, len(p_draws), n)]
    best = regret = 0.0
    for i in range(n):
        varied = params.with_values(**{name: values[i] for name, values in drawn.items()})
        options = option_utilities(posterior[i], varied, situation, waiting)
        top = max(options.values())
        best += options[recommendation] == top
        regret += top - options[recommendation]
    sensitive = _most_sensitive(recommendation, p, params, situation, waiting, names)
    return Robustness(best / n, regret / n, sensitive)


def _margin(recommendation: str, options: Mapping[str, float]) -> tuple[float, str]:
    """The recommendation's margin over the best other action, and that action."""
    other = max((a for a in options if a != recommendation), key=options.__getitem__)
    return options[recommendation] - options[other], other


def _most_sensitive(recommendation, p, params, situation, waiting, names) -> str:
    base, _ = _margin(recommendation, option_utilities(p, params, situation, waiting))
    effects = []
    for name in names:
        worst, takes_over = 0.0, ""
        for end, value in zip(("low", "high"), params.ranges[name], strict=True):
            varied = params.with_values(**{name: value})
            margin, other = _margin(recommendation, option_utilities(p, varied, situation, waiting))
            if base - margin > worst:
                worst = base - margin
                takes_over = f" ({other} if {end})" if margin < 0 else ""
        effects.append((worst, name, takes_over))
    effects.sort(key=lambda effect: -effect[0])
    return "; ".join(f"{name}{takes_over}" for drop, name, takes_over in effects[:2] if drop > 0)
