"""Patients with several lesions: the patient's symptoms count once, and its lesions share a class.

A patient has lesions i = 1..m, each of class c_i (0 necrosis, 1 recurrence). With pi the
patient's prior P(recurrence) (center, time since radiotherapy and MGMT belong to the patient),
rho the concordance (``prevalence.patient_concordance``) and L_ik lesion i's own evidence under
class k (imaging, growth and its reference label):

- classes: with probability rho all the patient's lesions share one class, recurrence with
  probability pi; otherwise each lesion's class is drawn on its own with pi. Every lesion is still
  recurrence with probability pi, as a patient's only lesion is, and two lesions' classes correlate
  by rho: the patient effect, in closed form.
- symptoms are the patient's: the latent clinical decline (:mod:`model.likelihood.symptoms`)
  depends on whether any lesion is recurrence, S_1, or none is, S_0. Two lesions of one patient
  count its symptoms once.

So, with A = prod_i (pi L_i1 + (1 - pi) L_i0) and N = prod_i (1 - pi) L_i0,

    p(patient) = rho [pi prod L_i1 S_1 + (1 - pi) prod L_i0 S_0]
                 + (1 - rho) [(A - N) S_1 + N S_0],

and A - N, the configurations with at least one recurrence, is summed by the first recurrent
lesion j, sum_j [prod_{i<j} (1 - pi) L_i0] pi L_j1 [prod_{i>j} (pi L_i1 + (1 - pi) L_i0)]: m
positive terms, no cancellation. With one lesion, p = pi L_1 S_1 + (1 - pi) L_0 S_0, the lesion's
own likelihood, whatever rho.

:func:`patient_log_likelihood` is written once for NumPy and PyTensor (the PyMC model's
likelihood, and the leave-one-out checks); :func:`configuration_log_weights` enumerates the 2^m
class configurations, for each lesion's posterior in a patient (the scorer) and as the reference the
closed form is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from types import ModuleType

import numpy as np

_ABSENT = -1e30
"""Log-weight of an empty slot's "first recurrent lesion" term: exp() of it is exactly 0."""


@dataclass(frozen=True, eq=False)
class PatientGroups:
    """Which lesions belong to which patient.

    Attributes
    ----------
    first : int array (P,)
        Each patient's first lesion (its prior and symptoms are read there).
    slots : int array (P, M)
        Each patient's lesions in order, padded with -1 to the largest count M.
    """

    first: np.ndarray
    slots: np.ndarray

    @classmethod
    def of(cls, patient: np.ndarray) -> PatientGroups:
        """Group lesions by their patient number (:attr:`model.inputs.encode.Lesions.patient`)."""
        patient = np.asarray(patient)
        if not len(patient):
            return cls(np.zeros(0, np.int64), np.zeros((0, 1), np.int64))
        _, first, inverse, counts = np.unique(
            patient, return_index=True, return_inverse=True, return_counts=True
        )
        order = np.argsort(inverse, kind="stable")
        rank = np.arange(len(patient)) - np.repeat(np.cumsum(counts) - counts, counts)
        slots = np.full((len(first), counts.max()), -1, dtype=np.int64)
        slots[inverse[order], rank] = order
        return cls(first.astype(np.int64), slots)

    @property
    def counts(self) -> np.ndarray:
        """Lesions per patient: (P,)."""
        return (self.slots >= 0).sum(axis=1)

    @property
    def index(self) -> np.ndarray:
        """:attr:`slots` with the padding pointing at lesion 0 (masked by :attr:`present`)."""
        return np.where(self.slots >= 0, self.slots, 0)

    @property
    def present(self) -> np.ndarray:
        """(P, M) float: 1 where a slot holds a lesion."""
        return (self.slots >= 0).astype(np.float64)


def patient_log_likelihood(
    prior, symptoms, evidence, index, present, concordance, xp: ModuleType, logsumexp
):
    """log p(patient's evidence) of every patient, classes marginalised: (P, ...).

    Parameters
    ----------
    prior, symptoms : array (P, ..., 2)
        Per patient and class: log P(class), and log p(symptoms | any lesion recurrence) in the
        recurrence slot and log p(symptoms | none) in the necrosis slot.
    evidence : array (n, ..., 2)
        Per lesion and class: log p(the lesion's own evidence and label | its class).
    index, present : arrays (P, M)
        :attr:`PatientGroups.index` and :attr:`PatientGroups.present` (data of the backend: a
        compiled model takes another cohort's patients).
    concordance : float or array broadcasting with (P, ...)
        rho.
    xp : module
        ``numpy`` or ``pytensor.tensor``.
    logsumexp : callable
        ``logsumexp(x, axis)`` of that backend.

    Returns
    -------
    array (P, ...)
    """
    own = evidence[index]  # (P, M, ..., 2)
    mask = present > 0
    for _ in range(own.ndim - 3):
        mask = xp.expand_dims(mask, -1)
    lp0, lp1 = xp.expand_dims(prior[..., 0], 1), xp.expand_dims(prior[..., 1], 1)
    e0, e1 = own[..., 0], own[..., 1]
    necrosis = xp.where(mask, lp0 + e0, 0.0)
    mixed = xp.where(mask, xp.logaddexp(lp1 + e1, lp0 + e0), 0.0)
    recurrence = xp.where(mask, lp1 + e1, _ABSENT)
    before = xp.cumsum(necrosis, axis=1) - necrosis
    after = xp.sum(mixed, axis=1, keepdims=True) - xp.cumsum(mixed, axis=1)
    log_any = logsumexp(before + recurrence + after, axis=1)
    log_none = xp.sum(necrosis, axis=1)
    s0, s1 = symptoms[..., 0], symptoms[..., 1]
    independent = xp.logaddexp(s1 + log_any, s0 + log_none)
    shared = xp.logaddexp(
        prior[..., 1] + xp.sum(xp.where(mask, e1, 0.0), axis=1) + s1,
        prior[..., 0] + xp.sum(xp.where(mask, e0, 0.0), axis=1) + s0,
    )
    return xp.logaddexp(xp.log(concordance) + shared, xp.log1p(-concordance) + independent)


def configurations(m: int) -> np.ndarray:
    """Every class configuration of m lesions: (2^m, m) of 0 and 1, all-necrosis first."""
    return np.array(list(product((0, 1), repeat=m)), dtype=np.int64).reshape(2**m, m)


def configuration_log_weights(
    prior: np.ndarray, symptoms: np.ndarray, evidence: np.ndarray, concordance: np.ndarray
) -> np.ndarray:
    """log p(classes, evidence) of one patient for each class configuration: (2^m, S).

    Parameters
    ----------
    prior, symptoms : array (S, 2)
        The patient's log P(class) and symptom log-likelihoods (as in
        :func:`patient_log_likelihood`).
    evidence : array (m, S, 2)
        Each lesion's own evidence.
    concordance : array (S,)

    Returns
    -------
    numpy.ndarray
        Rows in the order of :func:`configurations`.
    """
    m = len(evidence)
    out = np.empty((2**m, evidence.shape[1]))
    lesions = np.arange(m)
    for row, config in enumerate(configurations(m)):
        log_classes = np.log1p(-concordance) + prior[:, config].sum(axis=1)
        if config.min() == config.max():
            log_classes = np.logaddexp(log_classes, np.log(concordance) + prior[:, config[0]])
        own = evidence[lesions, :, config].sum(axis=0)
        out[row] = log_classes + own + symptoms[:, int(config.max())]
    return out
