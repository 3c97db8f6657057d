"""A validated cohort as the arrays the model and the scorer read.

Both the PyMC model and the NumPy/numba scorer consume :class:`Lesions`, so the meaning of every
array (which index is DSC, how a read is stored, what a missing symptom looks like) is decided here
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from model.inputs.schema import Cohort
from model.inputs.vocabulary import MAX_FOLLOW_UPS, SYMPTOMS, TECHNIQUES, TRACERS

NONE, VALUE, READ = 0, 1, 2
"""Imaging states: no result, a number, a qualitative read at a cutoff."""

UNSEEN_CENTER = -1
"""Center index of a lesion from a center the fit has not seen."""

HISTOPATHOLOGY, FOLLOW_UP = 0, 1
"""Reference-label sources (``-1`` when a lesion has no label)."""


@dataclass(frozen=True, eq=False)
class Lesions:
    """Arrays describing n lesions, index-aligned with the cohort's rows.

    Attributes
    ----------
    center : int array (n,)
        Index into the fit's center list, or :data:`UNSEEN_CENTER`.
    x_early, x_mgmt : float arrays (n,)
        Effect-coded covariates: +0.5 / -0.5 / 0 (unknown). ``x_early`` is +0.5 within
        ``early_window_months`` of the end of radiotherapy.
    perf_state, pet_state : int arrays (n,)
        :data:`NONE`, :data:`VALUE` or :data:`READ`.
    perf_kind, pet_kind : int arrays (n,)
        Index into :data:`~model.inputs.vocabulary.TECHNIQUES` /
        :data:`~model.inputs.vocabulary.TRACERS`
        (0 when the state is NONE).
    perf_value, pet_value : float arrays (n,)
        Natural log of the ratio (VALUE) or of the read's cutoff (READ); 0 when NONE.
    perf_sign, pet_sign : float arrays (n,)
        For a READ: +1 positive (value above the cutoff), -1 negative; 0 otherwise.
    symptom_yes, symptom_no : float arrays (n, 5)
        1 where the item is recorded yes / no; both 0 when unknown.
    growth, growth_weeks : float arrays (n, 3)
        log(volume_j / volume_(j-1)) and the interval in weeks; 0 where there is no scan.
    growth_mask : float array (n, 3)
        1 where follow-up scan j exists.
    label : int array (n,)
        -1 none, 0 necrosis, 1 recurrence.
    label_source : int array (n,)
        -1 none, :data:`HISTOPATHOLOGY` or :data:`FOLLOW_UP`.
    """

    center: np.ndarray
    x_early: np.ndarray
    x_mgmt: np.ndarray
    perf_state: np.ndarray
    perf_kind: np.ndarray
    perf_value: np.ndarray
    perf_sign: np.ndarray
    pet_state: np.ndarray
    pet_kind: np.ndarray
    pet_value: np.ndarray
    pet_sign: np.ndarray
    symptom_yes: np.ndarray
    symptom_no: np.ndarray
    growth: np.ndarray
    growth_weeks: np.ndarray
    growth_mask: np.ndarray
    label: np.ndarray
    label_source: np.ndarray

    def __len__(self) -> int:
        return len(self.center)

    def subset(self, index: np.ndarray | slice) -> Lesions:
        """The lesions at ``index`` (rows), as a new :class:`Lesions`."""
        return Lesions(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def encode(cohort: Cohort, centers: Sequence[str], early_window_months: float) -> Lesions:
    """Turn a validated cohort into model arrays.

    Parameters
    ----------
    cohort : Cohort
    centers : sequence of str
        The fit's centers, in index order; other centers become :data:`UNSEEN_CENTER`.
    early_window_months : float
        Months after radiotherapy that count as the early (pseudoprogression) window.

    Returns
    -------
    Lesions
    """
    t = cohort.table
    n = len(t)
    position = {name: i for i, name in enumerate(centers)}
    months = t["months_since_rt"].to_numpy(float)
    arrays: dict[str, np.ndarray] = {
        "center": np.array([position.get(c, UNSEEN_CENTER) for c in t["center"]], dtype=np.int64),
        "x_early": np.where(
            np.isnan(months), 0.0, np.where(months <= early_window_months, 0.5, -0.5)
        ),
        "x_mgmt": _effect_code(t["mgmt_methylated"]),
    }
    for prefix, kind_col, value_col, names in (
        ("perf", "perfusion_technique", "perfusion_ratio", TECHNIQUES),
        ("pet", "pet_tracer", "pet_tbr", TRACERS),
    ):
        source = "perfusion" if prefix == "perf" else "pet"
        arrays.update(
            _imaging(
                prefix,
                t[kind_col].to_numpy(object),
                t[value_col].to_numpy(float),
                t[f"{source}_read"].to_numpy(object),
                t[f"{source}_read_cutoff"].to_numpy(float),
                names,
            )
        )
    yes = np.zeros((n, len(SYMPTOMS)))
    no = np.zeros((n, len(SYMPTOMS)))
    for j, item in enumerate(SYMPTOMS):
        values = t[item]
        yes[:, j] = (values == True).fillna(False).to_numpy(float)  # noqa: E712 (nullable boolean)
        no[:, j] = (values == False).fillna(False).to_numpy(float)  # noqa: E712
    arrays["symptom_yes"], arrays["symptom_no"] = yes, no
    arrays.update(_growth(t))
    diagnosis = t["reference_diagnosis"].to_numpy(object)
    source = t["reference_source"].to_numpy(object)
    arrays["label"] = np.select(
        [diagnosis == "recurrence", diagnosis == "necrosis"], [1, 0], -1
    ).astype(np.int64)
    arrays["label_source"] = np.select(
        [source == "histopathology", source == "follow_up"], [HISTOPATHOLOGY, FOLLOW_UP], -1
    ).astype(np.int64)
    return Lesions(**arrays)


def _effect_code(values) -> np.ndarray:
    yes = (values == True).fillna(False).to_numpy(bool)  # noqa: E712
    no = (values == False).fillna(False).to_numpy(bool)  # noqa: E712
    return np.select([yes, no], [0.5, -0.5], 0.0)


def _imaging(prefix, kind, value, read, cutoff, names) -> dict[str, np.ndarray]:
    has_value = ~np.isnan(value)
    has_read = np.array([r is not None and r == r for r in read])  # NaN-safe
    state = np.select([has_value, has_read], [VALUE, READ], NONE).astype(np.int64)
    index = {name: i for i, name in enumerate(names)}
    kind_index = np.array(
        [index.get(k, 0) if s != NONE else 0 for k, s in zip(kind, state, strict=True)]
    )
    log_value = np.zeros(len(state))
    log_value[has_value] = np.log(value[has_value])
    reads = state == READ
    log_value[reads] = np.log(cutoff[reads])
    sign = np.zeros(len(state))
    sign[reads] = np.where(read[reads] == "positive", 1.0, -1.0)
    return {
        f"{prefix}_state": state,
        f"{prefix}_kind": kind_index.astype(np.int64),
        f"{prefix}_value": log_value,
        f"{prefix}_sign": sign,
    }


def _growth(t) -> dict[str, np.ndarray]:
    n = len(t)
    growth = np.zeros((n, MAX_FOLLOW_UPS))
    weeks = np.zeros((n, MAX_FOLLOW_UPS))
    mask = np.zeros((n, MAX_FOLLOW_UPS))
    previous = t["volume_baseline_ml"].to_numpy(float)
    for j in range(MAX_FOLLOW_UPS):
        volume = t[f"volume_fu{j + 1}_ml"].to_numpy(float)
        present = ~np.isnan(volume) & ~np.isnan(previous)
        growth[present, j] = np.log(volume[present] / previous[present])
        weeks[present, j] = t[f"interval_fu{j + 1}_weeks"].to_numpy(float)[present]
        mask[present, j] = 1.0
        previous = volume
    return {"growth": growth, "growth_weeks": weeks, "growth_mask": mask}
