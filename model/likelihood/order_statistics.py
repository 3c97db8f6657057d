"""Exact order statistics of a row of posterior draws, without sorting it (numba).

The interval of P(recurrence) needs, per lesion, two pairs of neighbouring order statistics of
thousands of draws. A full sort per lesion is the slowest part of scoring; this selects them exactly
in about one pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit

SAMPLE = 128
MARGIN = 8


@njit(cache=True)
def _kth_pair(w: np.ndarray, j: int):
    """The j-th and (j+1)-th smallest values of w (0-based; w is reordered in place)."""
    lo, hi = 0, len(w) - 1
    while lo < hi:  # Hoare quickselect
        pivot = w[(lo + hi) >> 1]
        i, k = lo, hi
        while i <= k:
            while w[i] < pivot:
                i += 1
            while w[k] > pivot:
                k -= 1
            if i <= k:
                w[i], w[k] = w[k], w[i]
                i += 1
                k -= 1
        if j <= k:
            hi = k
        elif j >= i:
            lo = i
        else:
            break
    second = np.inf
    for v in w[j + 1 :]:  # everything right of j is >= w[j]
        second = min(second, v)
    return w[j], second


@njit(cache=True)
def _bracket(sample: np.ndarray, k: int, n: int):
    """Values that bracket the k-th smallest of n, read off a sorted sample of them."""
    m = len(sample)
    position = int((k + 0.5) / n * m)
    low = sample[position - MARGIN] if position - MARGIN > 0 else -np.inf
    high = sample[position + MARGIN + 1] if position + MARGIN + 1 < m else np.inf
    return low, high


@njit(cache=True)
def order_statistics(
    values: np.ndarray, k1: int, k2: int, scratch1: np.ndarray, scratch2: np.ndarray
):
    """The k1-th, (k1+1)-th, k2-th and (k2+1)-th smallest of ``values`` (0-based, k1 <= k2).

    Exact. A sorted strided sample of 128 values brackets each order statistic; one pass counts
    the values below each bracket and collects those inside; a quickselect on each bracket's few
    hundred values finishes. If a bracket missed (rare), a full sort decides.

    Parameters
    ----------
    values : 1-d float array
        Left unchanged.
    k1, k2 : int
    scratch1, scratch2 : 1-d float arrays
        Work space at least as long as ``values``.

    Returns
    -------
    tuple of four floats
    """
    n = len(values)
    if n <= 2 * SAMPLE or k2 + 1 >= n:
        ordered = np.sort(values)
        return ordered[k1], ordered[min(k1 + 1, n - 1)], ordered[k2], ordered[min(k2 + 1, n - 1)]
    stride = n // SAMPLE
    sample = np.sort(values[: stride * SAMPLE : stride])
    low1, high1 = _bracket(sample, k1, n)
    low2, high2 = _bracket(sample, k2, n)
    below1 = below2 = count1 = count2 = 0
    for v in values:
        if v < low1:
            below1 += 1
        elif v <= high1:
            scratch1[count1] = v
            count1 += 1
        if v < low2:
            below2 += 1
        elif v <= high2:
            scratch2[count2] = v
            count2 += 1
    if below1 <= k1 < below1 + count1 - 1 and below2 <= k2 < below2 + count2 - 1:
        a, b = _kth_pair(scratch1[:count1], k1 - below1)
        c, d = _kth_pair(scratch2[:count2], k2 - below2)
        return a, b, c, d
    ordered = np.sort(values)
    return ordered[k1], ordered[k1 + 1], ordered[k2], ordered[k2 + 1]
