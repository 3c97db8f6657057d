"""Leave-one-out checks of a fit on its training lesions (PSIS-LOO with ArviZ).

The pointwise log-likelihood of a lesion is the model's: the class log-joint of its evidence
(:func:`model.likelihood.kernel.class_log_joint`), with the class fixed by histopathology, mixed
with the follow-up label's accuracy, or marginalised when unlabelled. :func:`label_scores` asks how
well each subset of evidence predicts the histopathology label of a lesion left out: the fitted
parameters are those of the full model, the other modalities are hidden, and the LOO weights come
from PSIS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from model.fitting.sampling import Fit
from model.inputs.encode import FOLLOW_UP, HISTOPATHOLOGY, Lesions, no_evidence
from model.likelihood.kernel import class_log_joint
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
    """log p(lesion i | draw s) for every training lesion and draw: (n, S), and the lesions."""
    _, lesions = encode_patients(fit, cohort)
    if np.any(lesions.center < 0):
        raise ValueError("LOO needs the training lesions: every center must be a training center")
    ell = class_log_joint(lesions, score_tables(fit), len(fit.centers), fit.registry)  # (n, S, 2)
    se, sp = fit.draws.sensitivity, fit.draws.specificity  # (S,)
    out = logsumexp(ell, axis=2)
    histo = lesions.label_source == HISTOPATHOLOGY
    out[histo] = np.take_along_axis(ell[histo], lesions.label[histo][:, None, None], axis=2)[..., 0]
    follow = lesions.label_source == FOLLOW_UP
    says = (lesions.label[follow] == 1)[:, None]
    label = np.stack(
        [np.where(says, np.log1p(-sp), np.log(sp)), np.where(says, np.log(se), np.log1p(-se))], 2
    )
    out[follow] = logsumexp(ell[follow] + label, axis=2)
    return out, lesions


def loo(fit: Fit, cohort: PatientsLike):
    """PSIS-LOO of the fit on its training lesions (an ArviZ ``ELPDData``, pointwise)."""
    import arviz as az
    import xarray as xr

    log_lik, _ = pointwise_log_likelihood(fit, cohort)
    chains, draws = fit.posterior.sizes["chain"], fit.posterior.sizes["draw"]
    array = log_lik.T.reshape(chains, draws, -1)
    tree = xr.DataTree.from_dict(
        {
            "posterior": fit.posterior,
            "log_likelihood": xr.Dataset({"lesions": (("chain", "draw", "lesion"), array)}),
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


def label_scores(fit: Fit, cohort: PatientsLike) -> pd.DataFrame:
    """LOO predictive log score and Brier score of histopathology labels, per evidence subset.

    Returns
    -------
    pandas.DataFrame
        One row per subset of :func:`evidence_subsets`: ``n`` labelled lesions, ``elpd`` (sum of
        LOO log predictive probabilities of their labels), ``elpd_difference`` and its ``se``
        against all evidence, and ``brier``.
    """
    result = loo(fit, cohort)
    weights = result.log_weights.transpose("lesion", "chain", "draw").to_numpy()
    log_w = weights.reshape(len(weights), -1)  # (n, S), draws chain-major like the scorer's
    log_w = log_w - logsumexp(log_w, axis=1, keepdims=True)
    _, lesions = encode_patients(fit, cohort)
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
