"""How the thresholds move with the decision parameters: probabilistic and one-way analyses.

The thresholds are the surveillance-aware ones of an asymptomatic lesion after the early window
(:func:`model.decision.thresholds.parameter_thresholds`).

Probabilistic sensitivity analysis draws every parameter from a triangular distribution on its
plausible range with its mode at the default, and reports the distribution of each threshold.
The one-way (tornado) analysis moves one parameter at a time to the ends of its range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.decision.parameters import WHOLE_NUMBERS, DecisionParameters
from model.decision.thresholds import parameter_thresholds

THRESHOLD_PARAMETERS = (
    "benefit",
    "harm",
    "biopsy_harm",
    "biopsy_sensitivity",
    "biopsy_specificity",
    "delay_loss",
    "window_loss",
    "surveillance_detection",
    "surveillance_specificity",
    "surveillance_rounds",
)
"""The parameters the surveillance-aware thresholds of a late lesion depend on."""


def draw_parameters(
    params: DecisionParameters, names, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draw the named parameters from triangular distributions on their plausible ranges.

    Each has its mode at the default; a collapsed range stays at the default, a value set
    outside its range (``DecisionParameters.with_values`` allows it) widens the range to reach
    it, and a whole-number parameter (``surveillance_rounds``) is rounded.

    Returns
    -------
    dict of str to ndarray (n,)
    """
    draws = {}
    for name in names:
        mode = getattr(params, name)
        low, high = params.ranges[name]
        low, high = min(low, mode), max(high, mode)  # a value set outside its range widens it
        drawn = rng.triangular(low, mode, high, n) if high > low else np.full(n, mode)
        draws[name] = np.round(drawn) if name in WHOLE_NUMBERS else drawn
    return draws


def probabilistic_sensitivity(
    params: DecisionParameters, n: int = 4000, seed: int = 1
) -> pd.DataFrame:
    """Thresholds under parameters drawn from their plausible ranges.

    Parameters
    ----------
    params : DecisionParameters
        Defaults (the modes) and ranges.
    n : int, default 4000
        Parameter sets drawn.
    seed : int, default 1

    Returns
    -------
    pandas.DataFrame
        One row per draw: the drawn parameters and the ``treat``, ``test`` and ``test_treat``
        thresholds.
    """
    draws = draw_parameters(params, THRESHOLD_PARAMETERS, n, np.random.default_rng(seed))
    rows = []
    for i in range(n):
        t = parameter_thresholds(params.with_values(**{k: v[i] for k, v in draws.items()}))
        rows.append({**{k: v[i] for k, v in draws.items()}, **t._asdict()})
    return pd.DataFrame(rows)


def summarize_psa(samples: pd.DataFrame, ci_prob: float = 0.90) -> pd.DataFrame:
    """Mean, median and equal-tailed interval of each threshold over the PSA draws.

    Parameters
    ----------
    samples : pandas.DataFrame
        From :func:`probabilistic_sensitivity`.
    ci_prob : float, default 0.90

    Returns
    -------
    pandas.DataFrame
        Indexed by threshold; columns ``mean``,
        ``median``, ``eti_low``, ``eti_high``, and ``p_biopsy_ever_best`` (share of draws in which
        biopsy is the best action for some probability).
    """
    tail = (1 - ci_prob) / 2
    rows = {}
    for name in ("treat", "test", "test_treat"):
        x = samples[name].to_numpy()
        rows[name] = {
            "mean": x.mean(),
            "median": np.median(x),
            "eti_low": np.quantile(x, tail),
            "eti_high": np.quantile(x, 1 - tail),
        }
    table = pd.DataFrame(rows).T
    table["p_biopsy_ever_best"] = float((samples["test"] < samples["test_treat"]).mean())
    return table


def tornado(params: DecisionParameters) -> pd.DataFrame:
    """One-way sensitivity of each threshold to each parameter's plausible range.

    Parameters
    ----------
    params : DecisionParameters

    Returns
    -------
    pandas.DataFrame
        Rows (``threshold``, ``parameter``) with the parameter's ``low`` and ``high`` values,
        the threshold ``at_low``, ``at_high`` and at the ``default``, and the ``swing``
        (|at_high - at_low|), sorted by swing within each threshold.
    """
    base = parameter_thresholds(params)._asdict()
    rows = []
    for name in THRESHOLD_PARAMETERS:
        low, high = params.ranges[name]
        at_low = parameter_thresholds(params.with_values(**{name: low}))._asdict()
        at_high = parameter_thresholds(params.with_values(**{name: high}))._asdict()
        for threshold in base:
            rows.append(
                {
                    "threshold": threshold,
                    "parameter": name,
                    "low": low,
                    "high": high,
                    "default": base[threshold],
                    "at_low": at_low[threshold],
                    "at_high": at_high[threshold],
                    "swing": abs(at_high[threshold] - at_low[threshold]),
                }
            )
    table = pd.DataFrame(rows)
    return table.sort_values(["threshold", "swing"], ascending=[True, False], ignore_index=True)
