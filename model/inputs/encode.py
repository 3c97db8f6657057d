"""A validated cohort as the arrays the model and the scorer read.

Both the PyMC model and the NumPy/numba scorer consume :class:`Lesions`, so the meaning of every
array (which index is DSC, how a read is stored, what a missing symptom looks like) is decided here
once. Each registered modality becomes one :class:`Evidence` of four aligned arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from model.inputs.early_window import early_weight, window_of
from model.inputs.parameters import Parameters
from model.inputs.schema import Cohort, follow_up_columns
from model.inputs.vocabulary import MAX_FOLLOW_UPS, SYMPTOMS
from model.modalities.spec import BinaryTest, Marker

NONE, VALUE, READ = 0, 1, 2
"""Evidence states: no result, a number, a qualitative read (or a binary test's result)."""

UNSEEN_CENTER = -1
"""Center index of a lesion from a center the fit has not seen."""

HISTOPATHOLOGY, FOLLOW_UP, FOLLOW_UP_SCANS = 0, 1, 2
"""Reference-label sources (``-1`` when a lesion has no label). The model reads histopathology as
the class and a follow-up label as an imperfect reference; a label made from the recorded follow-up
scans only restates their growth, which is already evidence, so the model leaves it out."""


class Evidence(NamedTuple):
    """One modality's results for n lesions.

    Attributes
    ----------
    state : int array (n,)
        :data:`NONE`, :data:`VALUE` or :data:`READ`.
    kind : int array (n,)
        Index into the marker's kinds (0 when the state is NONE, and for a binary test).
    value : float array (n,)
        Natural log of the value (VALUE) or of the read's cutoff (READ); 0 otherwise.
    sign : float array (n,)
        For a READ: +1 positive (the recurrence side of the cutoff, or a positive test), -1
        negative; 0 otherwise.
    """

    state: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    sign: np.ndarray

    def subset(self, index) -> Evidence:
        """The results at ``index``."""
        return Evidence(*(a[index] for a in self))


class Trend(NamedTuple):
    """One marker's values at n lesions' follow-up scans, as changes since its last measurement.

    Attributes
    ----------
    change : float array (n, scans)
        log(value / the value at the last scan that measured it); 0 where not measured.
    weeks : float array (n, scans)
        Weeks since that last measurement; 0 where not measured.
    mask : float array (n, scans)
        1 where follow-up scan j measured the marker and an earlier scan had measured it too.
    """

    change: np.ndarray
    weeks: np.ndarray
    mask: np.ndarray

    def subset(self, index) -> Trend:
        """The trends at ``index``."""
        return Trend(*(a[index] for a in self))


def no_evidence(n: int) -> Evidence:
    """n lesions without a result."""
    return Evidence(np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n), np.zeros(n))


@dataclass(frozen=True, eq=False)
class Lesions:
    """Arrays describing n lesions, index-aligned with the cohort's rows.

    Attributes
    ----------
    patient : int array (n,)
        Each lesion's patient: lesions with the same number are one patient's, who is counted
        once for the symptoms and the prior (:mod:`model.likelihood.patients`).
    center : int array (n,)
        Index into the fit's center list, or :data:`UNSEEN_CENTER`.
    x_early, x_mgmt, x_reirradiation : float arrays (n,)
        Effect-coded covariates of the class prior: +0.5 / -0.5 / 0 (unknown). ``x_early`` is
        ``early_weight - 0.5``, between -0.5 and +0.5 (:mod:`model.inputs.early_window`), 0 when
        the time since radiotherapy is unknown; ``x_reirradiation`` is +0.5 after a second course
        of radiotherapy. The class prior reads an unknown MGMT or re-irradiation status as the
        mixture over what it hides (:mod:`model.likelihood.class_prior`).
    early_weight : float array (n,)
        The pseudoprogression-window weight in (0, 1) by which a marker with an early shift moves
        its treatment-effect location; 0 (imaging read as late) when the time is unknown.
    x_edema : float array (n,)
        log(edema ratio / the reference ratio) of the patient's largest known edema ratio (the
        symptoms are the patient's); 0 when none is known.
    x_eloquent, x_steroid : float arrays (n,)
        Effect-coded eloquent location (yes when any of the patient's lesions is eloquent) and
        steroid increase.
    evidence : mapping of str to Evidence
        Each registered modality's results, in registry order.
    trends : mapping of str to Trend
        The follow-up values of each marker that declares its change between scans
        (:data:`model.modalities.spec.FOLLOW_UP_PARAMETERS`), in registry order.
    symptom_yes, symptom_no : float arrays (n, items)
        1 where the item is recorded yes / no; both 0 when unknown.
    growth, growth_weeks : float arrays (n, 3)
        log(volume_j / volume_(j-1)) and the interval in weeks; 0 where there is no scan.
    growth_mask : float array (n, 3)
        1 where follow-up scan j exists.
    growth_steroid : float array (n, 3)
        1 where the steroid dose was raised before follow-up scan j, 0 where it was not or there
        is no scan, -1 where the scan exists and the change is not recorded.
    label : int array (n,)
        -1 none, 0 necrosis, 1 recurrence.
    label_source : int array (n,)
        -1 none, :data:`HISTOPATHOLOGY`, :data:`FOLLOW_UP` or :data:`FOLLOW_UP_SCANS`.
    """

    patient: np.ndarray
    center: np.ndarray
    x_early: np.ndarray
    early_weight: np.ndarray
    x_mgmt: np.ndarray
    x_reirradiation: np.ndarray
    x_edema: np.ndarray
    x_eloquent: np.ndarray
    x_steroid: np.ndarray
    evidence: Mapping[str, Evidence]
    trends: Mapping[str, Trend]
    symptom_yes: np.ndarray
    symptom_no: np.ndarray
    growth: np.ndarray
    growth_weeks: np.ndarray
    growth_mask: np.ndarray
    growth_steroid: np.ndarray
    label: np.ndarray
    label_source: np.ndarray

    def __len__(self) -> int:
        return len(self.center)

    def subset(self, index: np.ndarray | slice) -> Lesions:
        """The lesions at ``index`` (rows), as a new :class:`Lesions`.

        Lesions keep their patients; a lesion taken more than once is a what-if copy, and each
        further copy is a patient of its own (not a sibling of the first).
        """
        values = {}
        for f in fields(self):
            array = getattr(self, f.name)
            if f.name in ("evidence", "trends"):
                values[f.name] = {name: e.subset(index) for name, e in array.items()}
            elif f.name == "patient":
                values[f.name] = _copies_apart(array, index)
            else:
                values[f.name] = array[index]
        return Lesions(**values)

    def with_evidence(self, name: str, evidence: Evidence) -> Lesions:
        """These lesions with one modality's results replaced (its follow-up values kept)."""
        if name not in self.evidence:
            raise KeyError(f"no modality {name!r} in these lesions")
        return replace(self, evidence={**self.evidence, name: evidence})

    def without_trend(self, name: str) -> Lesions:
        """These lesions with no follow-up values of a marker."""
        if name not in self.trends:
            return self
        empty = Trend(*(np.zeros_like(a) for a in self.trends[name]))
        return replace(self, trends={**self.trends, name: empty})


def _copies_apart(patient: np.ndarray, index: np.ndarray | slice) -> np.ndarray:
    """``patient[index]``, with each repeat of a lesion given a new patient number."""
    positions = np.arange(len(patient))[index]
    out = patient[positions].copy()
    repeat = np.zeros(len(positions), bool)
    _, first = np.unique(positions, return_index=True)
    repeat[np.setdiff1d(np.arange(len(positions)), first)] = True
    start = int(patient.max()) + 1 if len(patient) else 0
    out[repeat] = start + np.arange(repeat.sum())
    return out


def encode(cohort: Cohort, centers: Sequence[str], parameters: Parameters) -> Lesions:
    """Turn a validated cohort into model arrays.

    Parameters
    ----------
    cohort : Cohort
    centers : sequence of str
        The fit's centers, in index order; other centers become :data:`UNSEEN_CENTER`.
    parameters : Parameters
        The fit's parameter file: its modalities (the cohort must have been validated against the
        same declarations), the early window (:func:`model.inputs.early_window.window_of`) and the
        reference edema ratio (``context.edema_reference_ratio``) and the tumour share that makes
        a mixed specimen recurrence (``context.mixed_recurrence_tumor_percent``).

    Returns
    -------
    Lesions
    """
    registry = parameters.registry
    weight = early_weight(cohort.table["months_since_rt"].to_numpy(float), *window_of(parameters))
    edema_reference = float(parameters.value("context.edema_reference_ratio"))
    if cohort.registry.structure() != registry.structure():
        raise ValueError("the cohort was validated against other modalities than the fit's")
    t = cohort.table
    n = len(t)
    position = {name: i for i, name in enumerate(centers)}
    yes = np.zeros((n, len(SYMPTOMS)))
    no = np.zeros((n, len(SYMPTOMS)))
    for j, item in enumerate(SYMPTOMS):
        values = t[item]
        yes[:, j] = (values == True).fillna(False).to_numpy(float)  # noqa: E712 (nullable boolean)
        no[:, j] = (values == False).fillna(False).to_numpy(float)  # noqa: E712
    label, label_source = reference_labels(
        t, float(parameters.value("context.mixed_recurrence_tumor_percent"))
    )
    patient = cohort.patient_index
    return Lesions(
        patient=patient,
        center=np.array([position.get(c, UNSEEN_CENTER) for c in t["center"]], dtype=np.int64),
        x_early=np.nan_to_num(weight - 0.5),
        early_weight=np.nan_to_num(weight),
        x_mgmt=_effect_code(t["mgmt_methylated"]),
        x_reirradiation=_effect_code(t["reirradiated"]),
        x_edema=np.nan_to_num(
            np.log(_patient_max(t["edema_ratio"].to_numpy(float), patient) / edema_reference)
        ),
        x_eloquent=_patient_max(_effect_code(t["eloquent_location"]), patient),
        x_steroid=_effect_code(t["steroid_increase"]),
        evidence={m.name: _evidence(t, m) for m in registry},
        trends={m.name: _trend(t, m) for m in registry if getattr(m, "follow_up", False)},
        symptom_yes=yes,
        symptom_no=no,
        **_growth(t),
        label=label,
        label_source=label_source,
    )


def reference_labels(table: pd.DataFrame, recurrence_percent: float) -> tuple[np.ndarray, ...]:
    """Each lesion's class label and its source, as :class:`Lesions` holds them.

    A mixed specimen is recurrence when its tumour share is at least ``recurrence_percent``
    (``context.mixed_recurrence_tumor_percent``), and treatment effect below it. Without a share
    it is recurrence when any tumour counts (``recurrence_percent`` 0); otherwise its class is
    not known and the lesion is read as unlabelled.

    Returns
    -------
    label, label_source : int arrays (n,)
    """
    diagnosis = table["reference_diagnosis"].to_numpy(object)
    source = table["reference_source"].to_numpy(object)
    share = table["tumor_share_percent"].to_numpy(float)
    mixed = diagnosis == "mixed"
    mixed_recurrence = mixed & ((share >= recurrence_percent) | (recurrence_percent == 0))
    mixed_necrosis = mixed & (share < recurrence_percent)
    label = np.select(
        [diagnosis == "recurrence", diagnosis == "necrosis", mixed_recurrence, mixed_necrosis],
        [1, 0, 1, 0],
        -1,
    ).astype(np.int64)
    label_source = np.select(
        [source == "histopathology", source == "follow_up", source == "follow_up_scans"],
        [HISTOPATHOLOGY, FOLLOW_UP, FOLLOW_UP_SCANS],
        -1,
    )
    return label, np.where(label >= 0, label_source, -1).astype(np.int64)


def _patient_max(values: np.ndarray, patient: np.ndarray) -> np.ndarray:
    """Each lesion's patient's largest value (NaN where none of the patient's is known)."""
    return pd.Series(values).groupby(patient).transform("max").to_numpy(float)


def _effect_code(values) -> np.ndarray:
    yes = (values == True).fillna(False).to_numpy(bool)  # noqa: E712
    no = (values == False).fillna(False).to_numpy(bool)  # noqa: E712
    return np.select([yes, no], [0.5, -0.5], 0.0)


def _present(column) -> np.ndarray:
    """NaN-safe: which cells of an object column hold a value."""
    values = column.to_numpy(object)
    return np.array([v is not None and v == v for v in values], dtype=bool)


def _evidence(t, modality: Marker | BinaryTest) -> Evidence:
    n = len(t)
    if isinstance(modality, BinaryTest):
        result = t[modality.column].to_numpy(object)
        has = _present(t[modality.column])
        sign = np.where(has, np.where(result == "positive", 1.0, -1.0), 0.0)
        return Evidence(
            np.where(has, READ, NONE).astype(np.int64), np.zeros(n, np.int64), np.zeros(n), sign
        )
    value = t[modality.value_column].to_numpy(float)
    has_value = ~np.isnan(value)
    if modality.has_reads:
        has_read = _present(t[modality.read_column])
        cutoff = t[modality.read_cutoff_column].to_numpy(float)
        read = t[modality.read_column].to_numpy(object)
    else:
        has_read, cutoff, read = np.zeros(n, bool), np.full(n, np.nan), np.full(n, None)
    state = np.select([has_value, has_read], [VALUE, READ], NONE).astype(np.int64)
    if modality.kind_column is None:
        kind = np.zeros(n, np.int64)
    else:
        index = {name: i for i, name in enumerate(modality.kind_names)}
        kinds = t[modality.kind_column].to_numpy(object)
        kind = np.array(
            [index.get(k, 0) if s != NONE else 0 for k, s in zip(kinds, state, strict=True)],
            dtype=np.int64,
        )
    log_value = np.zeros(n)
    log_value[has_value] = np.log(value[has_value])
    reads = state == READ
    log_value[reads] = np.log(cutoff[reads])
    sign = np.zeros(n)
    sign[reads] = np.where(read[reads] == "positive", 1.0, -1.0)
    return Evidence(state, kind, log_value, sign)


def _trend(t, marker: Marker) -> Trend:
    """A marker's follow-up values as changes since its last measurement.

    Scans are consecutive: a follow-up scan needs the one before it
    (:mod:`model.inputs.validation`).
    """
    n = len(t)
    change, weeks, mask = (np.zeros((n, MAX_FOLLOW_UPS)) for _ in range(3))
    previous = t[marker.value_column].to_numpy(float)
    measured_at = np.zeros(n)
    elapsed = np.zeros(n)
    for j, column in enumerate(follow_up_columns(marker)):
        elapsed = elapsed + np.nan_to_num(t[f"interval_fu{j + 1}_weeks"].to_numpy(float))
        value = t[column].to_numpy(float)
        present = ~np.isnan(value) & ~np.isnan(previous)
        change[present, j] = np.log(value[present] / previous[present])
        weeks[present, j] = (elapsed - measured_at)[present]
        mask[present, j] = 1.0
        measured = ~np.isnan(value)
        previous = np.where(measured, value, previous)
        measured_at = np.where(measured, elapsed, measured_at)
    return Trend(change, weeks, mask)


def _growth(t) -> dict[str, np.ndarray]:
    n = len(t)
    growth = np.zeros((n, MAX_FOLLOW_UPS))
    weeks = np.zeros((n, MAX_FOLLOW_UPS))
    mask = np.zeros((n, MAX_FOLLOW_UPS))
    steroid = np.zeros((n, MAX_FOLLOW_UPS))
    previous = t["volume_baseline_ml"].to_numpy(float)
    for j in range(MAX_FOLLOW_UPS):
        volume = t[f"volume_fu{j + 1}_ml"].to_numpy(float)
        present = ~np.isnan(volume) & ~np.isnan(previous)
        growth[present, j] = np.log(volume[present] / previous[present])
        weeks[present, j] = t[f"interval_fu{j + 1}_weeks"].to_numpy(float)[present]
        mask[present, j] = 1.0
        raised = t[f"steroid_increase_fu{j + 1}"]
        recorded = raised.notna().to_numpy(bool)
        steroid[present, j] = np.where(recorded, raised.fillna(False).to_numpy(float), -1.0)[
            present
        ]
        previous = volume
    return {
        "growth": growth,
        "growth_weeks": weeks,
        "growth_mask": mask,
        "growth_steroid": steroid,
    }
