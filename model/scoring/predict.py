"""Per-lesion posterior probability of recurrence, with its interval and evidence breakdown.

Scoring never re-samples and never imports PyMC: it evaluates the class-conditional likelihoods
of every posterior draw in closed form (:mod:`model.likelihood.kernel`) and averages.

For each lesion and draw s, the posterior log-odds is the prior log-odds plus one log likelihood
ratio per registered modality (``llr_perfusion``, ``llr_pet``, ...: the modalities are
conditionally independent given the class), ``llr_symptoms`` and ``llr_growth``. :func:`predict`
reports ``p_recurrence``, the mean over draws of P(recurrence) (the posterior predictive
probability), its equal-tailed ``ci_prob`` interval over draws (parameter uncertainty), and each
term averaged over draws, so that ``prior_log_odds`` plus the ``llr_*`` columns equals
``log_odds`` (the mean log-odds over draws).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.categories import disagreements, radiology_categories
from model.fitting.sampling import Fit, load_fit
from model.inputs.encode import UNSEEN_CENTER, Lesions, encode
from model.inputs.reading import (
    BLOCK_ROWS,
    cohort_blocks,
    cohort_from_records,
    load_cohort,
    load_patient,
)
from model.inputs.schema import Cohort, text_column
from model.inputs.treatment import WINDOW_ENTRY, check_bevacizumab
from model.likelihood.kernel import contributions, score
from model.likelihood.tables import ScoreTables, build_tables
from model.modalities.registry import Registry

PatientsLike = (
    Cohort | pd.DataFrame | Mapping[str, Any] | Iterable[Mapping[str, Any]] | str | os.PathLike
)
INTERVAL_KIND = "equal-tailed interval over posterior draws"


def as_cohort(patients: PatientsLike, registry: Registry | None = None) -> Cohort:
    """Validate patients given as a file path (CSV or JSON), DataFrame, dict or list of dicts.

    ``registry`` names the modalities whose columns are known (a fit's; default the bundled
    parameter file's).
    """
    if isinstance(patients, Cohort):
        return patients
    if isinstance(patients, str | os.PathLike):
        path = Path(patients)
        loader = load_patient if path.suffix.lower() == ".json" else load_cohort
        return loader(path, registry)
    return cohort_from_records(patients, registry=registry)


def as_fit(fit: Fit | str | os.PathLike) -> Fit:
    """A :class:`Fit`, loading it from a file if given a path."""
    return fit if isinstance(fit, Fit) else load_fit(fit)


def score_tables(fit: Fit) -> ScoreTables:
    """The fit's per-draw coefficient tables, built once per fit object."""
    if "tables" not in fit._cache:
        fit._cache["tables"] = build_tables(fit.draws, fit.registry)
    return fit._cache["tables"]


def encode_patients(
    fit: Fit, patients: PatientsLike, allow_bevacizumab: bool = False
) -> tuple[Cohort, Lesions]:
    """Validate patients against a fit's modalities and encode them against its centers.

    Lesions scanned under bevacizumab are refused unless ``allow_bevacizumab``
    (:mod:`model.inputs.treatment`).
    """
    cohort = as_cohort(patients, fit.registry)
    check_bevacizumab(cohort, bevacizumab_window(fit), allow_bevacizumab)
    return cohort, encode(cohort, fit.centers, fit.parameters)


def bevacizumab_window(fit: Fit) -> float:
    """Weeks after a bevacizumab dose during which the fit does not read a lesion's images."""
    return float(fit.parameters.value(WINDOW_ENTRY))


def predict(
    fit: Fit | str | os.PathLike,
    patients: PatientsLike,
    ci_prob: float = 0.90,
    *,
    allow_bevacizumab: bool = False,
) -> pd.DataFrame:
    """Posterior probability of recurrence for each lesion.

    Parameters
    ----------
    fit : Fit or path
        A fit (:func:`model.fit`) or its file (:func:`model.load_fit`).
    patients : path, Cohort, DataFrame, dict or list of dicts
        Lesions in the cohort format; reference labels, if present, are ignored (they are the
        outcome, not evidence). Centers unseen in training are integrated over the center
        distribution. A CSV file is read and scored a block of rows at a time.
    ci_prob : float, default 0.90
        Probability mass of the interval.
    allow_bevacizumab : bool, default False
        Score lesions scanned within the fit's bevacizumab window (``context.bevacizumab_window_
        weeks``, 12 weeks in the bundled parameters) as if untreated; by default they are refused
        with an :class:`~model.core.errors.InputError`.

    Returns
    -------
    pandas.DataFrame
        One row per lesion: ``patient_id``, ``lesion_id``, ``center``, ``center_seen``,
        ``under_bevacizumab`` (scored under the override), ``p_recurrence``, ``ci_low``,
        ``ci_high``, ``log_odds``, ``p_patient_recurrence`` (P(any of the patient's lesions is
        recurrence), the lesion's own for a patient's only lesion) with ``patient_ci_low`` and
        ``patient_ci_high``; the lesion's radiology categories at its latest scan
        (:func:`model.categories.radiology_categories`: ``btrads``, ``btrads_basis``, ``rano``,
        ``rano_basis``, ``btrads_read``) and ``category_flag``, where a category and the model
        lean opposite ways (:func:`model.categories.disagreements`; ``""`` where none does);
        ``prior_log_odds``, one ``llr_<modality>`` per registered modality
        (``llr_perfusion``, ``llr_pet``, ...), ``llr_symptoms``, ``llr_growth`` and
        ``llr_other_lesions`` (what the patient's other lesions add; 0 for an only lesion). A
        patient's lesions are scored together. ``attrs`` records ``ci_prob``, the interval kind
        and the fit's gate result.

    Examples
    --------
    >>> import model
    >>> fit = model.load_fit(model.bundled("fit.nc"))  # doctest: +SKIP
    >>> model.predict(fit, {"patient_id": "p1", "center": "C01",
    ...                     "perfusion_technique": "DSC", "perfusion_ratio": 2.9})  # doctest: +SKIP
    """
    fit = as_fit(fit)
    blocks = prediction_blocks(fit, patients, ci_prob, allow_bevacizumab=allow_bevacizumab)
    frame = pd.concat(blocks, ignore_index=True)
    frame.attrs.update(prediction_attrs(fit, ci_prob))
    return frame


def prediction_attrs(fit: Fit, ci_prob: float) -> dict[str, Any]:
    """What a predictions table records besides its rows: interval, gate and training cohort."""
    return {
        "ci_prob": ci_prob,
        "interval": INTERVAL_KIND,
        "gate_passed": fit.gate.passed,
        "cohort": fit.provenance["cohort"]["name"],
    }


def prediction_blocks(
    fit: Fit,
    patients: PatientsLike,
    ci_prob: float = 0.90,
    block_rows: int = BLOCK_ROWS,
    *,
    allow_bevacizumab: bool = False,
) -> Iterator[pd.DataFrame]:
    """Predictions a block of lesions at a time, in the columns of :func:`predict`.

    A CSV file is read, validated and scored ``block_rows`` rows at a time, so memory does not
    grow with the file; other inputs are validated whole and scored in blocks. Blocks stop at the
    first invalid row of a file, and one :class:`~model.core.errors.InputError` listing every
    problem follows once the file has been read: results already taken must then be discarded.

    Parameters
    ----------
    fit : Fit
    patients : path, Cohort, DataFrame, dict or list of dicts
    ci_prob : float, default 0.90
    block_rows : int, default :data:`model.inputs.reading.BLOCK_ROWS`
    allow_bevacizumab : bool, default False
        See :func:`predict`.

    Yields
    ------
    pandas.DataFrame
    """
    if not 0 < ci_prob < 1:
        raise ValueError("ci_prob must be strictly between 0 and 1")
    tables = score_tables(fit)
    window = bevacizumab_window(fit)
    for cohort in _whole_patients(_cohort_blocks(patients, fit.registry, block_rows)):
        treated = check_bevacizumab(cohort, window, allow_bevacizumab)
        lesions = encode(cohort, fit.centers, fit.parameters)
        result = score(lesions, tables, len(fit.centers), fit.registry, ci_prob=ci_prob)
        yield _prediction_frame(fit, cohort, lesions, result, treated)


def _cohort_blocks(patients: PatientsLike, registry: Registry, block_rows: int) -> Iterator[Cohort]:
    if isinstance(patients, str | os.PathLike) and Path(patients).suffix.lower() != ".json":
        yield from cohort_blocks(patients, registry, block_rows)
        return
    cohort = as_cohort(patients, registry)
    for start in range(0, len(cohort), block_rows):
        yield cohort.subset(slice(start, start + block_rows))


def _whole_patients(blocks: Iterable[Cohort]) -> Iterator[Cohort]:
    """Regroup blocks so that each patient's lesions are in one (they are scored together).

    A block's last patient waits for the next block, which may hold more of its lesions.
    """
    waiting: Cohort | None = None
    for block in blocks:
        if waiting is not None:
            block = waiting.joined(block)
        patient = block.patient_index
        last = int(np.argmax(patient == patient[-1])) if len(block) else 0
        ready, waiting = block.subset(slice(0, last)), block.subset(slice(last, None))
        if len(ready):
            yield ready
    if waiting is not None and len(waiting):
        yield waiting


def _prediction_frame(
    fit: Fit, cohort: Cohort, lesions: Lesions, result, treated: np.ndarray
) -> pd.DataFrame:
    names = contributions(fit.registry)
    interval = (result.p_low, result.p_high)
    terms = pd.DataFrame(result.terms, columns=["prior_log_odds", *(f"llr_{c}" for c in names[1:])])
    frame = pd.DataFrame(
        {
            "patient_id": cohort.table["patient_id"].to_numpy(),
            "lesion_id": text_column(cohort.table["lesion_id"]),
            "center": cohort.table["center"].to_numpy(),
            "center_seen": lesions.center != UNSEEN_CENTER,
            "under_bevacizumab": treated,
            "p_recurrence": result.p_mean,
            "ci_low": result.p_low,
            "ci_high": result.p_high,
            "log_odds": result.terms.sum(axis=1),
            "p_patient_recurrence": result.patient_p_mean,
            "patient_ci_low": result.patient_p_low,
            "patient_ci_high": result.patient_p_high,
        }
    )
    categories = radiology_categories(cohort, treated)
    categories["category_flag"] = disagreements(
        categories["btrads"], categories["rano"], categories["btrads_read"], *interval
    )
    return pd.concat([frame, categories, terms], axis=1)


def recurrence_draws(
    fit: Fit | str | os.PathLike, patients: PatientsLike, *, allow_bevacizumab: bool = False
) -> np.ndarray:
    """P(recurrence) for every lesion and posterior draw: an (n, S) array.

    Parameters
    ----------
    fit : Fit or path
    patients : path, Cohort, DataFrame, dict or list of dicts
    allow_bevacizumab : bool, default False
        See :func:`predict`.

    Returns
    -------
    numpy.ndarray
    """
    fit = as_fit(fit)
    _, lesions = encode_patients(fit, patients, allow_bevacizumab)
    return score(
        lesions, score_tables(fit), len(fit.centers), fit.registry, keep_draws=True
    ).p_draws
