"""A marker measured again at follow-up: its change between scans as evidence.

A marker that declares its change between scans (:data:`model.modalities.spec.FOLLOW_UP_PARAMETERS`:
perfusion and amino-acid PET in the bundled file) may be measured again at each follow-up scan.
Its change since the last scan that measured it is a trajectory, exactly as growth is
(:mod:`model.likelihood.growth`): a lesion of class k has its own rate r ~ Normal(rho_k, tau) per
six weeks, and a follow-up value after w six-week units shows d = log(v / v_before) ~ Normal(r w,
sigma), so successive changes of one lesion are correlated evidence. Under recurrence the marker
moves towards recurrence faster: rho_1 = rho_0 + direction x separation (rising perfusion, rising
uptake). The lesion's center and the marker's kind cancel in the change, which is why the change is
modelled rather than the follow-up value itself: the value at the first scan is already evidence,
and a second value read as if independent of it would count the same lesion twice.

The likelihood reuses the growth trajectory's sums and closed forms (P, W, Q, m of the changes;
no steroid term), and the marker's own misread mixture bounds what the follow-up values together
can say, as it bounds one measurement.
"""

from __future__ import annotations

import numpy as np

from model.inputs.encode import Lesions
from model.inputs.vocabulary import GROWTH_WEEKS
from model.likelihood.growth import growth_sums
from model.modalities.registry import Registry


def trend_sums(lesions: Lesions, registry: Registry) -> np.ndarray:
    """(n, slot, 4): P, W, Q, m of each marker's follow-up changes, zeros where it has none.

    Slots follow the registry, as the scorer's evidence slots do; a modality without follow-up
    values (a binary test, a marker that declares no change) has zeros.
    """
    out = np.zeros((len(lesions), len(registry), 4))
    for e, modality in enumerate(registry):
        trend = lesions.trends.get(modality.name)
        if trend is None:
            continue
        sums = growth_sums(
            trend.change, trend.weeks / GROWTH_WEEKS, trend.mask, lambda x: x.sum(axis=1)
        )
        out[:, e] = np.stack(sums, axis=1)
    return out


def has_trend(lesions: Lesions, name: str) -> np.ndarray:
    """(n,) bool: which lesions have at least one follow-up value of the marker ``name``."""
    trend = lesions.trends.get(name)
    if trend is None:
        return np.zeros(len(lesions), dtype=bool)
    return trend.mask.sum(axis=1) > 0
