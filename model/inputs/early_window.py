"""How far a scan lies in the pseudoprogression window: a weight that falls smoothly with time.

Pseudoprogression is mostly seen within 12 weeks of the end of radiotherapy, less often up to six
months. A hard 12-week boundary would move a lesion's posterior by a step between day 84 and day
85, which no clinician could defend, so the window is a logistic weight of the months since
radiotherapy::

    w(t) = 1 / (1 + exp((t - midpoint) / width))

1 just after radiotherapy, 1/2 at the midpoint (12 weeks) and near 0 six months on. The class
prior reads it as the effect code ``x_early = w - 1/2`` and an imaging marker with an early shift
moves its treatment-effect location by ``w`` times the shift (:mod:`model.likelihood`).
"""

from __future__ import annotations

import numpy as np

from model.inputs.parameters import Parameters

MIDPOINT_ENTRY = "cohort_design.early_window_months"
WIDTH_ENTRY = "cohort_design.early_window_width_months"


def early_weight(months, midpoint: float, width: float) -> np.ndarray:
    """The pseudoprogression-window weight of each time since radiotherapy, in (0, 1).

    Parameters
    ----------
    months : array-like
        Months since the end of radiotherapy (NaN where unknown: the weight is NaN).
    midpoint : float
        Months at which the weight is 1/2.
    width : float
        Logistic scale in months (> 0): the weight falls from 0.73 to 0.27 over two widths.

    Returns
    -------
    numpy.ndarray
    """
    t = np.asarray(months, dtype=float)
    return 0.5 * (1.0 - np.tanh(0.5 * (t - midpoint) / width))


def window_of(parameters: Parameters) -> tuple[float, float]:
    """The (midpoint, width) of the early window in a parameter file."""
    return float(parameters.value(MIDPOINT_ENTRY)), float(parameters.value(WIDTH_ENTRY))
