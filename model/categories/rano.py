"""RANO 2.0: the response category of a lesion's latest scan, from its enhancing volumes.

Source: Wen PY, van den Bent M, Youssef G, et al. RANO 2.0: update to the Response Assessment in
Neuro-Oncology criteria for high- and low-grade gliomas in adults. J Clin Oncol
2023;41:5187-5199.

The rules :func:`rano_categories` applies, in their volumetric form, to enhancing disease:

- **PD** (progression): the enhancing volume at least 40% above the smallest earlier volume (the
  nadir), the volumetric equivalent of 25% in the product of two diameters;
- **PR** (partial response): at least 65% below the nadir (50% bidimensionally);
- **SD** (stable disease): in between;
- within 12 weeks of the end of radiotherapy, growth is **preliminary PD**, to be confirmed on
  the next scan, since pseudoprogression is common then; new enhancement outside the radiation
  field is PD at any time;
- a preliminary PD is confirmed (PD) when the next scan is again at least 40% larger than the
  preliminary-PD scan; otherwise it was not progression (SD), and the nadir carries on;
- a raised steroid dose alone is not progression, and clinical decline is progression only when
  attributed to the tumour, a judgement no rule here makes: neither enters the category.

What a row cannot give is said, not guessed:

- RANO's baseline is the post-radiotherapy scan. A row holds at most the scan before the question
  scan (``volume_prior_ml``): the nadir is the smallest of the row's earlier volumes. Without
  ``volume_prior_ml`` the question scan is the first reference, and a row with no earlier volume
  at its latest scan is **not assessable**.
- ``out_of_field`` not recorded is read as in-field enhancement, the common case.
- When ``months_since_rt`` is missing, both sides of the 12-week rule are shown when they differ.
- Measurability (10 mm in two diameters) and the 4-week confirmation of a response are not
  checked.

The volumetric thresholds agree with an open implementation of RANO 2.0 (RANO2.0-assist, Kujawa A
et al., 2025). The full text of Wen et al. 2023 was not available to this project: the 12-week
and confirmation rules follow its published summary and should be checked against the paper
before clinical use.
"""

from __future__ import annotations

import numpy as np

from model.categories.scans import SCANS, ScanSeries

PROGRESSION = 0.40
"""Growth of the enhancing volume over the nadir that is progression."""

RESPONSE = 0.65
"""Shrinkage of the enhancing volume below the nadir that is a partial response."""

EARLY_WEEKS = 12
"""Weeks after the end of radiotherapy during which growth alone is only preliminary PD."""

PR, SD, PRELIMINARY_PD, PD, NOT_ASSESSABLE = range(5)
CATEGORIES: tuple[str, ...] = ("PR", "SD", "preliminary PD", "PD", "not assessable")
"""Category names, indexed by the codes above."""

(
    OUT_OF_FIELD,
    NO_REFERENCE,
    EARLY_GROWTH,
    GROWTH,
    CONFIRMED,
    NOT_CONFIRMED,
    SHRINKAGE,
    STABLE,
) = range(8)
_REASONS: tuple[str, ...] = (
    "new enhancement outside the radiation field",
    "no earlier volume to compare with (volume_prior_ml)",
    f"enhancing volume {{change}} against the nadir within {EARLY_WEEKS} weeks of radiotherapy: "
    "confirm on the next scan",
    f"enhancing volume {{change}} against the nadir, {EARLY_WEEKS} weeks or more after "
    "radiotherapy",
    "preliminary PD confirmed: enhancing volume {change} against the preliminary-PD scan",
    "preliminary PD not confirmed: enhancing volume {change} against the preliminary-PD scan",
    f"enhancing volume {{change}} against the nadir ({RESPONSE:.0%} or more smaller)",
    f"enhancing volume {{change}} against the nadir (between -{RESPONSE:.0%} and "
    f"+{PROGRESSION:.0%})",
)


def rano_categories(series: ScanSeries) -> tuple[list[str], list[str]]:
    """Each lesion's RANO 2.0 category at its latest scan, and the reason, in words.

    Parameters
    ----------
    series : ScanSeries

    Returns
    -------
    categories : list of str
        One of :data:`CATEGORIES`, or two joined by " or " where the row does not say whether a
        scan was within 12 weeks of radiotherapy and the answer matters.
    reasons : list of str
    """
    late = assess(series, series.weeks)
    early = assess(series, np.where(np.isnan(series.weeks), 0.0, series.weeks))
    code, reason, change, scan = late
    shown = np.where(np.isfinite(change), change, 0)  # NaN and inf: the reason has no number
    percent = np.where(np.isinf(change), NEW, np.round(shown * 100))
    keys = np.column_stack([code, reason, percent, scan, early[0]]).astype(int)
    if not len(keys):
        return [], []
    distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
    described = [_described(*key) for key in distinct]
    return [described[k][0] for k in inverse.ravel()], [described[k][1] for k in inverse.ravel()]


NEW = 10**9
"""The coded change of new enhancement (over a nadir of 0)."""


def assess(series: ScanSeries, weeks: np.ndarray) -> tuple[np.ndarray, ...]:
    """Follow every lesion's scans in order and keep each one's latest category.

    Parameters
    ----------
    series : ScanSeries
    weeks : numpy.ndarray
        (n, k) weeks from the end of radiotherapy to each scan (NaN reads as 12 or more).

    Returns
    -------
    code, reason, change, scan : numpy.ndarray
        Each lesion's category code (:data:`CATEGORIES`), reason code, the volume change that
        decided it (a fraction; ``inf`` for new enhancement), and the scan that decided it.
    """
    n = len(series)
    nadir = series.prior.copy()
    preliminary = np.full(n, np.nan)
    code = np.full(n, NOT_ASSESSABLE)
    reason = np.full(n, NO_REFERENCE)
    change = np.full(n, np.nan)
    scan = np.zeros(n)
    done = series.out_of_field == 1
    code[done], reason[done] = PD, OUT_OF_FIELD

    def settle(mask, category, why, delta, s):
        code[mask], reason[mask], change[mask], scan[mask] = category, why, delta[mask], s

    for s in range(SCANS):
        v = series.volume[:, s]
        active = ~np.isnan(v) & ~done
        with np.errstate(divide="ignore"):  # over a nadir of 0: new enhancement
            over_nadir = v / nadir - 1
        over_preliminary = v / preliminary - 1
        confirming = active & ~np.isnan(preliminary)
        confirmed = confirming & (v >= (1 + PROGRESSION) * preliminary)
        refuted = confirming & ~confirmed
        settle(confirmed, PD, CONFIRMED, over_preliminary, s)
        settle(refuted, SD, NOT_CONFIRMED, over_preliminary, s)
        done |= confirmed
        preliminary = np.where(refuted, np.nan, preliminary)

        judged = active & ~confirming
        first = judged & np.isnan(nadir)
        settle(first, NOT_ASSESSABLE, NO_REFERENCE, over_nadir, s)
        compared = judged & ~first
        grew = compared & (v >= (1 + PROGRESSION) * nadir)
        early = grew & (weeks[:, s] < EARLY_WEEKS)
        settle(early, PRELIMINARY_PD, EARLY_GROWTH, over_nadir, s)
        preliminary = np.where(early, v, preliminary)
        settle(grew & ~early, PD, GROWTH, over_nadir, s)
        done |= grew & ~early
        shrank = compared & ~grew & (v <= (1 - RESPONSE) * nadir)
        settle(shrank, PR, SHRINKAGE, over_nadir, s)
        settle(compared & ~grew & ~shrank, SD, STABLE, over_nadir, s)
        nadir = np.fmin(nadir, v)  # growth leaves it, a missing scan too
    return code, reason, change, scan


def _described(code: int, reason: int, percent: int, scan: int, if_early: int) -> tuple[str, str]:
    """A category and its reason in words.

    Both sides of the 12-week rule where they differ (``if_early``: the category had every
    unknown time been within 12 weeks).
    """
    delta = "new" if percent == NEW else f"{percent:+d}%"
    where = "the question scan" if scan == 0 else f"follow-up {scan}"
    text = _REASONS[reason].format(change=delta)
    if reason not in (OUT_OF_FIELD, NO_REFERENCE):
        text = f"{text}, at {where}"
    if if_early != code:
        pair = sorted({code, if_early})
        return " or ".join(CATEGORIES[c] for c in pair), f"{text}; depends on months_since_rt"
    return CATEGORIES[code], text
