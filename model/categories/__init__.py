"""Radiology categories: BT-RADS and RANO 2.0, computed by their published rules.

Neuroradiology reports carry a BT-RADS category and trials use RANO 2.0: a probability is easier
to place beside them, and a disagreement between the two is what a tumor board wants to see.

- :mod:`~model.categories.scans`: a lesion's scans in time order, as both rule sets read them;
- :mod:`~model.categories.btrads`: the BT-RADS flowchart at the latest scan;
- :mod:`~model.categories.rano`: the RANO 2.0 response category at the latest scan;
- :mod:`~model.categories.agreement`: where a category and the model lean opposite ways.

The categories are shown, never counted: the model does not read them, nor the columns only they
read (``volume_prior_ml``, ``flair_change``, ``flair_change_fu1``-``3``, ``btrads_read``).

May import: :mod:`model.core`, :mod:`model.inputs`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.categories.agreement import disagreements
from model.categories.btrads import btrads_categories
from model.categories.rano import rano_categories
from model.categories.scans import scan_series
from model.inputs.schema import Cohort, text_column

CATEGORY_COLUMNS: tuple[str, ...] = (
    "btrads",
    "btrads_basis",
    "rano",
    "rano_basis",
    "btrads_read",
)
"""The columns :func:`radiology_categories` returns, in order."""


def radiology_categories(cohort: Cohort, bevacizumab: np.ndarray | None = None) -> pd.DataFrame:
    """Each lesion's BT-RADS and RANO 2.0 category at its latest scan, and why.

    Parameters
    ----------
    cohort : Cohort
    bevacizumab : numpy.ndarray of bool, optional
        Lesions scanned under bevacizumab (scored under the override); none by default.

    Returns
    -------
    pandas.DataFrame
        One row per lesion: ``btrads`` (a category, or those the row leaves open joined by
        " or "), ``btrads_basis`` (the flowchart's answers, and the columns that would settle an
        open category), ``rano`` and ``rano_basis`` (likewise), and ``btrads_read`` (the
        reader's category from the row, or None).
    """
    series = scan_series(cohort)
    treated = np.zeros(len(cohort), bool) if bevacizumab is None else np.asarray(bevacizumab)
    btrads, basis = btrads_categories(series, treated)
    rano, rano_basis = rano_categories(series)
    reads = cohort.table["btrads_read"]
    return pd.DataFrame(
        {
            "btrads": btrads,
            "btrads_basis": basis,
            "rano": rano,
            "rano_basis": rano_basis,
            "btrads_read": text_column(reads.astype(object).where(reads.notna(), None)),
        }
    )


__all__ = ["CATEGORY_COLUMNS", "disagreements", "radiology_categories"]
