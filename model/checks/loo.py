"""Leave-one-out checks of a fit on its training lesions (PSIS-LOO with ArviZ).

The pointwise log-likelihood is a patient's, as the model's: each lesion's class log-joint
(:func:`model.likelihood.kernel.class_log_terms`), with the class fixed by histopathology, mixed
with the follow-up label's accuracy, or marginalised when unlabelled, and the lesions of one
patient marginalised together (:mod:`model.likelihood.patients`). :func:`label_scores` asks how
well each subset of evidence predicts the histopathology label of a lesion whose patient is left
out (the lesion scored on its own evidence): the fitted
parameters are those of the full model, the other modalities are hidden, and the LOO weights come
from PSIS.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from model.evaluation.external import LabelledPredictions
from model.fitting.sampling import Fit
from model.inputs.encode import FOLLOW_UP, HISTOPATHOLOGY, Lesions, no_evidence
from model.likelihood.kernel import class_log_joint, class_log_terms, score
from model.likelihood.patients import PatientGroups, patient_log_likelihood
from model.modalities.registry import Registry
from model.scoring.predict import PatientsLike, encode_patients, score_tables


def evidence_subsets(registry: Registry) -> dict[str, tuple[str, ...]]:
    """The subsets of evidence compared: nothing, each source alone, all imaging, everything."""
    imaging = registry.names
    return {
        "prior only": (),
        **{f"{name} only": (name,) for name in (*imaging, "symptoms", "growth")},
        "all imaging": imaging,
        "all evidence": (*imaging, "symptoms", "growth"),
    }


def pointwise_log_likelihood(fit: Fit, cohort: PatientsLike) -> tuple[np.ndarray, Lesions]:
    """log p(patient | draw s) for every training patient and draw: (P, S), and the lesions.

    A patient is left out whole: its lesions share its symptoms and its class concordance
    (:mod:`model.likelihood.patients`); a patient with one lesion is that lesion.
    """
    _, lesions = encode_patients(fit, cohort)
    if np.any(lesions.center < 0):
        raise ValueError("LOO needs the training lesions: every center must be a training center")
    tables = score_tables(fit)
    prior, symptoms, evidence = class_log_terms(
        lesions, tables, len(fit.centers), fit.registry
    )  # (n, S, 2) each
    groups = PatientGroups.of(lesions.patient)
    out = patient_log_likelihood(
        prior[groups.first],
        symptoms[groups.first],
        evidence + label_log_likelihood(lesions, fit.draws.sensitivity, fit.draws.specificity),
        groups.index,
        groups.present,
        tables.concordance,
        np,
        logsumexp,
    )
    return out, lesions


def label_log_likelihood(lesions: Lesions, se: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """Per lesion, draw and class, the reference label's log-likelihood (n, S, 2), as the model's.

    Histopathology fixes the class (-1e6 for the other: exp() of it is 0, without infinities);
    a follow-up label has the fitted accuracy; no label (or one made from the recorded scans) adds
    nothing.
    """
    out = np.zeros((len(lesions), len(se), 2))
    histo = lesions.label_source == HISTOPATHOLOGY
    out[histo, :, :] = -1e6
    out[np.flatnonzero(histo), :, lesions.label[histo]] = 0.0
    follow = lesions.label_source == FOLLOW_UP
    says = (lesions.label[follow] == 1)[:, None]
    out[follow] = np.stack(
        [np.where(says, np.log1p(-sp), np.log(sp)), np.where(says, np.log(se), np.log1p(-se))], 2
    )
    return out


def loo(fit: Fit, cohort: PatientsLike):
    """PSIS-LOO of the fit on its training patients (an ArviZ ``ELPDData``, pointwise)."""
    return _psis(fit, pointwise_log_likelihood(fit, cohort)[0])


def _psis(fit: Fit, log_lik: np.ndarray):
    """PSIS-LOO of pointwise log-likelihoods (P, S) with the fit's chains and draws."""
    import arviz as az
    import xarray as xr

    chains, draws = fit.posterior.sizes["chain"], fit.posterior.sizes["draw"]
    array = log_lik.T.reshape(chains, draws, -1)
    tree = xr.DataTree.from_dict(
        {
            "posterior": fit.posterior,
            "log_likelihood": xr.Dataset({"patients": (("chain", "draw", "patient"), array)}),
        }
    )
    return az.loo(tree, pointwise=True)


def _hide(lesions: Lesions, keep: tuple[str, ...]) -> Lesions:
    from dataclasses import replace

    changes = {
        "evidence": {
            name: e if name in keep else no_evidence(len(lesions))
            for name, e in lesions.evidence.items()
        }
    }
    if "symptoms" not in keep:
        changes["symptom_yes"] = np.zeros_like(lesions.symptom_yes)
        changes["symptom_no"] = np.zeros_like(lesions.symptom_no)
    if "growth" not in keep:
        changes["growth_mask"] = np.zeros_like(lesions.growth_mask)
    return replace(lesions, **changes)


def lesion_log_weights(fit: Fit, cohort: PatientsLike) -> tuple[np.ndarray, Any, Lesions]:
    """Each lesion's PSIS-LOO log weights over the posterior draws: (n, S), normalised.

    A lesion's weights are its patient's: leaving one lesion out leaves its patient out.

    Returns
    -------
    log_weights : numpy.ndarray (n, S)
        Draws in the scorer's order (chain-major); ``logsumexp`` over draws is 0.
    result : arviz ELPDData
        The PSIS-LOO result (Pareto k per patient).
    lesions : Lesions
        The cohort's lesions, encoded.
    """
    log_lik, lesions = pointwise_log_likelihood(fit, cohort)
    result = _psis(fit, log_lik)
    weights = result.log_weights.transpose("patient", "chain", "draw").to_numpy()
    log_w = weights.reshape(len(weights), -1)  # (P, S), draws chain-major like the scorer's
    log_w = log_w - logsumexp(log_w, axis=1, keepdims=True)
    return log_w[np.unique(lesions.patient, return_inverse=True)[1]], result, lesions


def with_leave_one_out(
    made: LabelledPredictions, fit: Fit, cohort: PatientsLike
) -> LabelledPredictions:
    """In-sample predictions with their leave-one-out probabilities (``p_loo``) added.

    ``p_loo`` of a lesion is sum_s w_s P_s(recurrence), with w its patient's PSIS-LOO weights:
    the prediction of a fit that had not seen the patient (its label included), without
    refitting. Net benefit and calibration from it are corrected for the optimism of scoring
    the training lesions.

    Raises
    ------
    ValueError
        When the predictions are not in-sample (the fit never saw these lesions: nothing to
        correct).
    """
    if not made.in_sample or made.scored is None:
        raise ValueError("leave-one-out corrects in-sample predictions only")
    log_w, _, lesions = lesion_log_weights(fit, cohort)
    draws = score(
        lesions, score_tables(fit), len(fit.centers), fit.registry, keep_draws=True
    ).p_draws  # every draw: the weights are over all of them, not the kept ones
    p_loo = np.sum(np.exp(log_w) * draws, axis=1)
    return made._replace(p_loo=p_loo[made.scored])


def label_scores(fit: Fit, cohort: PatientsLike) -> pd.DataFrame:
    """LOO predictive log score and Brier score of histopathology labels, per evidence subset.

    Returns
    -------
    pandas.DataFrame
        One row per subset of :func:`evidence_subsets`: ``n`` labelled lesions, ``elpd`` (sum of
        LOO log predictive probabilities of their labels), ``elpd_difference`` and its ``se``
        against all evidence, and ``brier``.
    """
    log_w, result, lesions = lesion_log_weights(fit, cohort)
    labelled = lesions.label_source == HISTOPATHOLOGY
    tables, n_centers = score_tables(fit), len(fit.centers)
    y = lesions.label[labelled]
    pointwise = {}
    rows = []
    subsets = evidence_subsets(fit.registry)
    for name, keep in subsets.items():
        hidden = _hide(lesions, keep).subset(labelled)
        ell = class_log_joint(hidden, tables, n_centers, fit.registry)
        log_p = ell[..., 1] - logsumexp(ell, axis=2)  # log P_s(recurrence)
        with np.errstate(divide="ignore"):
            log_q = np.log(-np.expm1(log_p))  # log P_s(necrosis); -inf where P_s(recurrence) = 1
        log_label = np.where(y[:, None] == 1, log_p, log_q)
        p_loo = np.exp(logsumexp(log_w[labelled] + log_p, axis=1))
        pointwise[name] = logsumexp(log_w[labelled] + log_label, axis=1)
        rows.append(
            {
                "evidence": name,
                "n": int(labelled.sum()),
                "elpd": pointwise[name].sum(),
                "brier": float(np.mean((p_loo - y) ** 2)),
            }
        )
    table = pd.DataFrame(rows)
    full = pointwise["all evidence"]
    table["elpd_difference"] = [pointwise[n].sum() - full.sum() for n in subsets]
    table["se"] = [np.sqrt(len(full) * np.var(pointwise[n] - full)) for n in subsets]
    table.attrs["pareto_k_max"] = float(np.max(result.pareto_k))
    return table
