"""BT-RADS: the Brain Tumor Reporting and Data System's flowchart, at a lesion's latest scan.

Sources: Weinberg BD, Gore A, Shu HKG, et al. Management-based structured reporting of
posttreatment glioma response with the Brain Tumor Reporting and Data System. J Am Coll Radiol
2018;15:767-771; the categories and flowchart at https://btrads.com.

The flowchart, node by node, as :func:`flowchart` follows it for one scan against the scan before:

1. Suitable prior? No: **0**. Not reached here: every scan of a row has one (the question scan is
   compared with the scan it grew from).
2. Imaging unchanged: **2**.
3. Improved. On bevacizumab: **1b** at the first scan after starting it, **1a** when the
   improvement is sustained. Otherwise, steroid dose increased (the improvement is likely a
   steroid effect): **1b**. Neither: **1a**.
4. Worse. Less than 90 days after radiotherapy: **3a**. Otherwise, what is worse? FLAIR or
   enhancement alone: **3b**. Both, by more than 40%: **4**. Both, by 40% or less: progressive
   (worse over more than one scan) **4**, else **3c**.

What the flowchart leaves to the reader is fixed here, and said:

- enhancement is worse, unchanged or improved by its volume against the scan before
  (:data:`~model.categories.scans.UNCHANGED_WITHIN`); FLAIR by the radiologist's reading
  (``flair_change``); the imaging as a whole is worse when either is, improved when one improved
  and neither is worse;
- "by more than 40%" is read on the enhancing volume against the scan before;
- perfusion is not a node of the flowchart, and is not added to it: it enters P(recurrence),
  shown beside the category, so that a disagreement between the two is informative.

An input the row does not record is not guessed. The flowchart is followed for every value it
could take, and the category is the set of outcomes (``"3b or 4"``), with the columns that would
settle it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache
from itertools import product

import numpy as np

from model.categories.scans import UNKNOWN, WORSE, ScanSeries
from model.inputs.vocabulary import BTRADS_CATEGORIES, FLAIR_CHANGES

EARLY_DAYS = 90
"""Worsening within this many days of the end of radiotherapy favours treatment effect (3a)."""

MARKED_GROWTH = 0.40
"""Worsening of both components by more than this fraction is highly suspicious (4)."""


@dataclass(frozen=True)
class Findings:
    """What the flowchart asks about one scan; ``None`` where the row does not say.

    Attributes
    ----------
    enhancement : str or None
        ``"worse"``, ``"unchanged"`` or ``"improved"`` against the scan before.
    flair : str or None
        The same, for the FLAIR hyperintensity.
    early : bool or None
        Fewer than :data:`EARLY_DAYS` days after the end of radiotherapy.
    marked : bool or None
        The enhancing volume more than :data:`MARKED_GROWTH` above the scan before.
    progressive : bool or None
        The scan before was worse than its own prior too.
    bevacizumab : bool or None
        Scanned under bevacizumab.
    first_bevacizumab_scan : bool or None
        The first scan since bevacizumab was started.
    steroids : bool or None
        The steroid dose was raised before this scan.
    """

    enhancement: str | None
    flair: str | None
    early: bool | None
    marked: bool | None
    progressive: bool | None
    bevacizumab: bool | None
    first_bevacizumab_scan: bool | None
    steroids: bool | None


_DOMAINS = {"flair": FLAIR_CHANGES, "enhancement": FLAIR_CHANGES}
"""Values an unknown finding can take (booleans otherwise)."""


def flowchart(f: Findings) -> tuple[str, tuple[str, ...]]:
    """One scan's BT-RADS category, from findings that are all known, and the answers given.

    Parameters
    ----------
    f : Findings
        No field ``None`` (those the path does not reach may be anything).

    Returns
    -------
    category : str
        One of :data:`~model.inputs.vocabulary.BTRADS_CATEGORIES`.
    path : tuple of str
        The flowchart's answers on the way, in words.
    """
    worse = f.enhancement == "worse" or f.flair == "worse"
    if not worse and "improved" not in (f.enhancement, f.flair):
        return "2", ("unchanged",)
    if not worse:
        if f.bevacizumab:
            if f.first_bevacizumab_scan:
                return "1b", ("improved", "first scan on bevacizumab")
            return "1a", ("improved", "sustained on bevacizumab")
        if f.steroids:
            return "1b", ("improved", "steroid dose increased")
        return "1a", ("improved", "no medication effect")
    if f.early:
        return "3a", ("worse", f"within {EARLY_DAYS} days of radiotherapy")
    path = ("worse", f"{EARLY_DAYS} days or more after radiotherapy")
    if f.flair != "worse":
        return "3b", (*path, "enhancement alone worse")
    if f.enhancement != "worse":
        return "3b", (*path, "FLAIR alone worse")
    path = (*path, "enhancement and FLAIR worse")
    if f.marked:
        return "4", (*path, f"by more than {MARKED_GROWTH:.0%}")
    path = (*path, f"by {MARKED_GROWTH:.0%} or less")
    if f.progressive:
        return "4", (*path, "progressive over scans")
    return "3c", (*path, "not progressive")


@dataclass(frozen=True)
class Outcome:
    """The categories a scan's recorded findings leave open, and why.

    Attributes
    ----------
    categories : tuple of str
        Every category some value of the unknown findings leads to, least suspicious first.
    path : tuple of str
        The answers all those ways share.
    unsettled : tuple of str
        The unknown findings (names of :class:`Findings` fields) whose value changes the category.
    """

    categories: tuple[str, ...]
    path: tuple[str, ...]
    unsettled: tuple[str, ...]


@lru_cache(maxsize=4096)
def outcome(findings: Findings) -> Outcome:
    """Follow the flowchart for every value the unknown findings could take.

    Parameters
    ----------
    findings : Findings

    Returns
    -------
    Outcome
    """
    unknown = [f.name for f in fields(findings) if getattr(findings, f.name) is None]
    results = {}
    for values in product(*(_DOMAINS.get(name, (False, True)) for name in unknown)):
        assumed = dict(zip(unknown, values, strict=True))
        results[tuple(values)] = flowchart(replace(findings, **assumed))
    categories = sorted({c for c, _ in results.values()}, key=BTRADS_CATEGORIES.index)
    paths = [path for _, path in results.values()]
    shared = paths[0][: min(map(len, paths))]
    while any(path[: len(shared)] != shared for path in paths):
        shared = shared[:-1]
    unsettled = tuple(
        name
        for k, name in enumerate(unknown)
        if any(
            results[values][0] != results[(*values[:k], other, *values[k + 1 :])][0]
            for values in results
            for other in _DOMAINS.get(name, (False, True))
        )
    )
    return Outcome(tuple(categories), shared, unsettled)


def btrads_categories(series: ScanSeries, bevacizumab: np.ndarray) -> tuple[list[str], list[str]]:
    """Each lesion's BT-RADS category at its latest scan, and the answers that led there.

    Parameters
    ----------
    series : ScanSeries
    bevacizumab : numpy.ndarray of bool
        Lesions scanned under bevacizumab at the question scan (scored under the override). The
        format records bevacizumab before the question scan only: a follow-up scan of such a
        lesion may or may not be under it; one of any other lesion is read as not.

    Returns
    -------
    categories : list of str
        A category, or those the row leaves open joined by " or ".
    basis : list of str
        The flowchart's answers, then the inputs that would settle an open category.
    """
    codes = finding_codes(series, bevacizumab)
    if not len(codes):
        return [], []
    distinct, inverse = np.unique(codes, axis=0, return_inverse=True)
    described = [_described(*findings_at(row)) for row in distinct]
    return [described[k][0] for k in inverse.ravel()], [described[k][1] for k in inverse.ravel()]


FINDING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Findings))


def finding_codes(series: ScanSeries, bevacizumab: np.ndarray) -> np.ndarray:
    """The findings at each lesion's latest scan, coded: an (n, 9) int array.

    Columns: the :class:`Findings` fields in order (a change as its index in
    :data:`~model.inputs.vocabulary.FLAIR_CHANGES`, a flag as 0 or 1, :data:`UNKNOWN` where
    the row does not say), then the index of the latest scan (0: the question scan).
    """
    rows = np.arange(len(series))
    j = series.latest
    before = np.maximum(j - 1, 0)
    previous_volume = np.where(j == 0, series.prior, series.volume[rows, before])
    volume = series.volume[rows, j]
    known = ~np.isnan(volume) & ~np.isnan(previous_volume)
    marked = np.where(known, volume > (1 + MARKED_GROWTH) * previous_volume, UNKNOWN)
    days = series.weeks[rows, j] * 7
    early = np.where(np.isnan(days), UNKNOWN, days < EARLY_DAYS)
    enhancement_before = series.enhancement[rows, before]
    flair_before = series.flair[rows, before]
    progressive = np.select(
        [j == 0, (enhancement_before == WORSE) | (flair_before == WORSE), flair_before == UNKNOWN],
        [0, 1, UNKNOWN],
    )  # otherwise 0: the scan before was not worse
    treated = np.where(bevacizumab, np.where(j == 0, 1, UNKNOWN), 0)
    return np.column_stack(
        [
            series.enhancement[rows, j],
            series.flair[rows, j],
            early,
            marked,
            progressive,
            treated,
            np.where(treated == 0, 0, UNKNOWN),  # the first scan on bevacizumab: not recorded
            series.steroid_increase[rows, j],
            j,
        ]
    ).astype(int)


def findings_at(row: np.ndarray) -> tuple[Findings, int]:
    """A row of :func:`finding_codes` as :class:`Findings` and the scan index."""
    changes = {"enhancement", "flair"}
    values = {
        name: _change(row[k]) if name in changes else _flag(row[k])
        for k, name in enumerate(FINDING_NAMES)
    }
    return Findings(**values), int(row[-1])


def _described(findings: Findings, scan: int) -> tuple[str, str]:
    result = outcome(findings)
    said = "; ".join(result.path)
    if result.unsettled:
        columns = ", ".join(settling_column(name, scan) for name in result.unsettled)
        said = f"{said}; open: {columns}" if said else f"open: {columns}"
    return " or ".join(result.categories), said


def _change(code: int) -> str | None:
    return None if code == UNKNOWN else FLAIR_CHANGES[code]


def _flag(code) -> bool | None:
    return None if code == UNKNOWN else bool(code)


def settling_column(name: str, scan: int) -> str:
    """The input that would settle an unknown finding at a scan (0: the question scan)."""
    flair = "flair_change" if scan == 0 else f"flair_change_fu{scan}"
    flair_before = "flair_change" if scan == 1 else f"flair_change_fu{scan - 1}"
    return {
        "enhancement": "volume_prior_ml" if scan == 0 else f"volume_fu{scan}_ml",
        "flair": flair,
        "early": "months_since_rt",
        "marked": "volume_prior_ml",
        "progressive": flair_before,
        "steroids": "steroid_increase" if scan == 0 else f"steroid_increase_fu{scan}",
        "bevacizumab": f"bevacizumab at follow-up {scan} (not in the format)",
        "first_bevacizumab_scan": "the first scan on bevacizumab or not (not in the format)",
    }[name]
