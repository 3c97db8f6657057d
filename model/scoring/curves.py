"""What one measurement says: each marker kind's class densities and likelihood-ratio curve.

For a kind (``"DSC"``, ``"FET"``), a center (or a new one) and a grid of values, every posterior
draw gives the class-conditional log densities of the log value (the misread mixture included) and
their difference, the log likelihood ratio. These are the curves the reports and notebooks show
with posterior bands, and the curves whose monotonicity and bounds the tests check. Growth has the
same two curves for one rescan interval.
"""

from __future__ import annotations

import numpy as np

from model.inputs.vocabulary import GROWTH_WEEKS
from model.likelihood.draws import PosteriorDraws
from model.likelihood.tables import ScoreTables
from model.modalities.forms import misread_log_density, numpy_backend
from model.modalities.registry import Registry
from model.modalities.spec import Marker


def natural_grid(marker: Marker, points: int = 200) -> np.ndarray:
    """Values across the marker's physiological range, evenly spaced on the log scale."""
    low, high = marker.physiological_range
    return np.exp(np.linspace(np.log(low), np.log(high), points))


def kind_slot(registry: Registry, kind: str) -> tuple[int, Marker, int]:
    """A kind's registry slot, its marker and its index among the marker's kinds."""
    for slot, marker in enumerate(registry):
        if isinstance(marker, Marker) and kind in marker.kind_names:
            return slot, marker, marker.kind_names.index(kind)
    raise ValueError(f"no marker has a kind {kind!r}")


def class_log_densities(
    tables: ScoreTables, registry: Registry, kind: str, center: int, values, early: float = 0.0
) -> np.ndarray:
    """log p(log value | class) per draw, value and class: (S, G, 2).

    Parameters
    ----------
    tables : ScoreTables
    registry : Registry
    kind : str
    center : int
        Index on the tables' center axis (:func:`model.likelihood.tables.center_columns`: C is a
        new center).
    values : array (G,)
        Natural-scale values.
    early : float, default 0.0
        The pseudoprogression-window weight (:mod:`model.inputs.early_window`): 0 long after
        radiotherapy.
    """
    slot, _, j = kind_slot(registry, kind)
    m = tables.moments
    loc, sd = m.at(slot, j, center, early)  # (2, S), (S,)
    sd = sd[:, None]  # (S, 1)
    u = np.log(np.asarray(values, float))[None, :]  # (1, G)
    eps = float(m.misread[slot])
    xp = numpy_backend()
    necrosis = misread_log_density(u, loc[0][:, None], loc[1][:, None], sd, eps, xp)
    recurrence = misread_log_density(u, loc[1][:, None], loc[0][:, None], sd, eps, xp)
    return np.stack([necrosis, recurrence], axis=-1)


def llr_curve(
    tables: ScoreTables, registry: Registry, kind: str, center: int, values, early: float = 0.0
) -> np.ndarray:
    """The log likelihood ratio (recurrence vs necrosis) of one measurement: (S, G).

    At a center (index on the tables' center axis) and pseudoprogression-window weight, as
    :func:`class_log_densities`.
    """
    log_density = class_log_densities(tables, registry, kind, center, values, early)
    return log_density[..., 1] - log_density[..., 0]


def growth_llr_curve(draws: PosteriorDraws, volume_ratios, weeks: float) -> np.ndarray:
    """The log likelihood ratio of one rescan showing each volume ratio after ``weeks``: (S, G)."""
    g = np.log(np.asarray(volume_ratios, float))[None, :]
    w = weeks / GROWTH_WEEKS
    r0, r1 = draws.growth_rate[:, :1] * w, draws.growth_rate[:, 1:] * w
    sd = draws.scan_sd(weeks)[:, None]  # one rescan, its lesion's own rate unknown
    xp = numpy_backend()
    necrosis = misread_log_density(g, r0, r1, sd, draws.growth_misread, xp)
    recurrence = misread_log_density(g, r1, r0, sd, draws.growth_misread, xp)
    return recurrence - necrosis
