"""Cutoff analyses of a fit: per center, pooled over the training centers, and for a new center.

For a technique (DSC, ASL) or tracer (MET, FET, DOPA) the fit gives, for every posterior draw,
the class-conditional distribution of the log value at each center (the center's calibration
shift included) and at a center it has not seen (the shift integrated out). "Pooled" mixes the
training centers that used the modality, weighted by their training lesions with it. Every
quantity is computed per draw in closed form (:mod:`model.cutoffs.accuracy`) and summarised by its
posterior mean and equal-tailed interval. Cutoffs are given and reported on the natural scale
(rCBV, rCBF, TBR).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from model.cutoffs import accuracy as acc
from model.fitting.sampling import Fit
from model.inputs.encode import HISTOPATHOLOGY, VALUE
from model.inputs.vocabulary import TECHNIQUES, TRACERS
from model.scoring.predict import as_fit, encode_patients, score_tables

POOLED = "pooled"
NEW_CENTER = "new center"
MODALITIES = (*TECHNIQUES, *TRACERS)
DEFAULT_PREVALENCE = 0.6
"""Prevalence of recurrence among suspicious lesions in diagnostic cohorts: 638/1,068 (Fu 2022)."""

CLASSIC_CUTOFFS = {"DSC": 1.75, "ASL": 1.3, "MET": 1.5, "FET": 2.0, "DOPA": 1.6}
"""The cutoffs the literature argues about most (DSC rCBV 1.75, MET TBR 1.5, FET TBRmax 2.0)."""


def _family(modality: str) -> tuple[str, int]:
    if modality in TECHNIQUES:
        return "perf", TECHNIQUES.index(modality)
    if modality in TRACERS:
        return "pet", TRACERS.index(modality)
    raise ValueError(f"modality must be one of {MODALITIES}, not {modality!r}")


def _moments(fit: Fit, modality: str) -> tuple[np.ndarray, np.ndarray]:
    """Class means and spreads of the log value: (S, 2, C + 1), the last center unseen."""
    prefix, index = _family(modality)
    m = score_tables(fit).moments
    mean, sd = getattr(m, f"{prefix}_mean")[:, index], getattr(m, f"{prefix}_sd")[:, index]
    return mean.transpose(2, 0, 1), sd.transpose(2, 0, 1)


def _counts(fit: Fit, modality: str) -> np.ndarray:
    counts = fit.provenance["cohort"]["imaging_counts"][modality]
    return np.array([counts[c] for c in fit.centers], dtype=float)


def groups(fit: Fit, modality: str) -> list[str]:
    """The centers that used the modality in training, then "pooled" and "new center"."""
    used = [c for c, n in zip(fit.centers, _counts(fit, modality), strict=True) if n > 0]
    return [*used, POOLED, NEW_CENTER] if used else [NEW_CENTER]


def group_parameters(fit: Fit, modality: str, group: str):
    """Class means and spreads (S, 2, G) and group weights (G,) of one group.

    Parameters
    ----------
    fit : Fit
    modality : str
    group : str
        A training center, ``"pooled"`` or ``"new center"``.

    Returns
    -------
    mean, sd : arrays (S, 2, G)
    weights : array (G,)
    """
    mean, sd = _moments(fit, modality)
    if group == NEW_CENTER:
        index, weights = [len(fit.centers)], np.ones(1)
    elif group == POOLED:
        counts = _counts(fit, modality)
        if counts.sum() == 0:
            raise ValueError(f"no training lesion had {modality}: only the new-center view exists")
        index, weights = list(range(len(fit.centers))), counts / counts.sum()
    elif group in fit.centers:
        index, weights = [fit.centers.index(group)], np.ones(1)
    else:
        raise ValueError(
            f"group must be a training center, {POOLED!r} or {NEW_CENTER!r}, not {group!r}"
        )
    return mean[..., index], sd[..., index], weights


def _summary(draws: np.ndarray, ci_prob: float) -> dict[str, np.ndarray]:
    tail = (1 - ci_prob) / 2
    with np.errstate(invalid="ignore"):  # infinite likelihood ratios in some draws
        return {
            "mean": np.nanmean(draws, axis=0),
            "eti_low": np.nanquantile(draws, tail, axis=0),
            "eti_high": np.nanquantile(draws, 1 - tail, axis=0),
        }


def accuracy_table(
    fit: Fit | str | os.PathLike,
    modality: str,
    cutoffs,
    group_names: list[str] | None = None,
    prevalence: float = DEFAULT_PREVALENCE,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """Sensitivity, specificity, PPV, NPV and likelihood ratios at each cutoff, with intervals.

    Parameters
    ----------
    fit : Fit or path
    modality : {"DSC", "ASL", "MET", "FET", "DOPA"}
    cutoffs : sequence of float
        Cutoffs on the natural scale; "positive" means a value above the cutoff.
    group_names : list of str, optional
        Centers, ``"pooled"``, ``"new center"``; default :func:`groups`.
    prevalence : float, default 0.6
        Prevalence of recurrence for PPV and NPV.
    ci_prob : float, default 0.90

    Returns
    -------
    pandas.DataFrame
        Long format: ``modality``, ``group``, ``cutoff``, ``metric`` (``sensitivity``,
        ``specificity``, ``ppv``, ``npv``, ``lr_positive``, ``lr_negative``), ``mean``,
        ``eti_low``, ``eti_high``.
    """
    fit = as_fit(fit)
    log_cutoffs = np.log(np.asarray(cutoffs, float))
    rows = []
    for group in group_names or groups(fit, modality):
        se, sp = acc.accuracy(log_cutoffs, *group_parameters(fit, modality, group))
        ppv, npv = acc.predictive_values(se, sp, prevalence)
        lr_pos, lr_neg = acc.likelihood_ratios(se, sp)
        metrics = {
            "sensitivity": se,
            "specificity": sp,
            "ppv": ppv,
            "npv": npv,
            "lr_positive": lr_pos,
            "lr_negative": lr_neg,
        }
        for metric, draws in metrics.items():
            summary = _summary(draws, ci_prob)
            for j, cutoff in enumerate(np.asarray(cutoffs, float)):
                rows.append(
                    {
                        "modality": modality,
                        "group": group,
                        "cutoff": cutoff,
                        "metric": metric,
                        **{k: float(v[j]) for k, v in summary.items()},
                    }
                )
    table = pd.DataFrame(rows)
    table.attrs.update({"ci_prob": ci_prob, "prevalence": prevalence})
    return table


def _cutoff_range(mean: np.ndarray, sd: np.ndarray) -> tuple[float, float]:
    """Log cutoffs beyond which no draw's classes have mass worth a cutoff: 5 SD either side."""
    return float((mean - 5 * sd).min()), float((mean + 5 * sd).max())


def _cutoff_grid(mean: np.ndarray, sd: np.ndarray, n: int = 600) -> np.ndarray:
    return np.linspace(*_cutoff_range(mean, sd), n)


def roc_table(
    fit: Fit | str | os.PathLike,
    modality: str,
    group: str,
    ci_prob: float = 0.90,
    points: int = 101,
) -> pd.DataFrame:
    """The ROC curve with posterior bands: TPR at a grid of false-positive rates.

    Returns
    -------
    pandas.DataFrame
        ``fpr``, ``tpr_mean``, ``tpr_low``, ``tpr_high``; ``attrs["auc"]`` holds the AUC summary.
    """
    fit = as_fit(fit)
    mean, sd, weights = group_parameters(fit, modality, group)
    grid = _cutoff_grid(mean, sd)
    se, sp = acc.accuracy(grid, mean, sd, weights)
    fpr_grid = np.linspace(0, 1, points)
    # per draw, TPR as a function of FPR (both fall as the cutoff rises; reverse to increasing)
    tpr = np.array(
        [
            np.interp(fpr_grid, (1 - sp[s])[::-1], se[s][::-1], left=0, right=1)
            for s in range(len(se))
        ]
    )
    summary = _summary(tpr, ci_prob)
    table = pd.DataFrame(
        {
            "fpr": fpr_grid,
            "tpr_mean": summary["mean"],
            "tpr_low": summary["eti_low"],
            "tpr_high": summary["eti_high"],
        }
    )
    area = _summary(acc.auc(mean, sd, weights), ci_prob)
    table.attrs.update(
        {
            "auc": {k: float(v) for k, v in area.items()},
            "ci_prob": ci_prob,
            "modality": modality,
            "group": group,
        }
    )
    return table


def auc_table(
    fit: Fit | str | os.PathLike,
    modality: str,
    group_names: list[str] | None = None,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """AUC per group: ``group``, ``mean``, ``eti_low``, ``eti_high``."""
    fit = as_fit(fit)
    rows = []
    for group in group_names or groups(fit, modality):
        summary = _summary(acc.auc(*group_parameters(fit, modality, group)), ci_prob)
        rows.append(
            {"modality": modality, "group": group, **{k: float(v) for k, v in summary.items()}}
        )
    return pd.DataFrame(rows)


def optimal_cutoff_draws(
    fit: Fit | str | os.PathLike,
    modality: str,
    group: str,
    method: str = "youden",
    threshold: float | None = None,
    prevalence: float = DEFAULT_PREVALENCE,
) -> np.ndarray:
    """Posterior draws of the optimal cutoff (natural scale): (S,).

    Parameters
    ----------
    method : {"youden", "utility"}
        Maximise sensitivity + specificity - 1, or net benefit at ``threshold`` (the probability
        at which treating and not treating are equally good, e.g. the decision parameters'
        treatment threshold H / (H + B)) with recurrence prevalence ``prevalence``.
    """
    fit = as_fit(fit)
    if method not in {"youden", "utility"}:
        raise ValueError("method must be 'youden' or 'utility'")
    if method == "utility" and (threshold is None or not 0 < threshold < 1):
        raise ValueError("utility-optimal cutoffs need a threshold probability in (0, 1)")
    mean, sd, weights = group_parameters(fit, modality, group)
    if len(weights) == 1:  # one center: closed form
        log_ratio = 0.0
        if method == "utility":
            log_ratio = np.log((1 - prevalence) / prevalence * threshold / (1 - threshold))
        return np.exp(acc.binormal_optimal(mean, sd, log_ratio))
    # a mixture of centers: coarse-to-fine grid search
    objective = acc.youden_index if method == "youden" else acc.net_benefit(prevalence, threshold)
    low, high = _cutoff_range(mean, sd)
    return np.exp(acc.optimal_cutoff(objective, mean, sd, weights, low, high))


def optimal_cutoff_table(
    fit: Fit | str | os.PathLike,
    modality: str,
    group_names: list[str] | None = None,
    threshold: float | None = None,
    prevalence: float = DEFAULT_PREVALENCE,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """Youden-optimal (and, given a threshold, utility-optimal) cutoffs per group."""
    fit = as_fit(fit)
    methods = ["youden"] + (["utility"] if threshold is not None else [])
    rows = []
    for group in group_names or groups(fit, modality):
        for method in methods:
            draws = optimal_cutoff_draws(fit, modality, group, method, threshold, prevalence)
            summary = _summary(draws, ci_prob)
            rows.append(
                {
                    "modality": modality,
                    "group": group,
                    "method": method,
                    "median": float(np.median(draws)),
                    **{k: float(v) for k, v in summary.items()},
                }
            )
    return pd.DataFrame(rows)


def transport_table(
    fit: Fit | str | os.PathLike, modality: str, ci_prob: float = 0.90
) -> pd.DataFrame:
    """What a center's Youden-optimal cutoff does at another center.

    Returns
    -------
    pandas.DataFrame
        One row per (``from_center``, ``to_center``): the sensitivity and specificity at
        ``to_center`` of ``from_center``'s optimal cutoff, and ``youden_loss``, the loss in
        sensitivity + specificity - 1 against ``to_center``'s own optimal cutoff (each with mean
        and interval, per draw).
    """
    fit = as_fit(fit)
    centers = [g for g in groups(fit, modality) if g in fit.centers]
    optimal = {c: np.log(optimal_cutoff_draws(fit, modality, c)) for c in centers}
    rows = []
    for source in centers:
        for target in centers:
            mean, sd, weights = group_parameters(fit, modality, target)
            # each draw's cutoff applied in the same draw: diagonal of the (S, S) evaluation
            se_from, sp_from = _accuracy_per_draw(optimal[source], mean, sd, weights)
            se_own, sp_own = _accuracy_per_draw(optimal[target], mean, sd, weights)
            loss = (se_own + sp_own) - (se_from + sp_from)
            row = {"modality": modality, "from_center": source, "to_center": target}
            for name, draws in (
                ("sensitivity", se_from),
                ("specificity", sp_from),
                ("youden_loss", loss),
            ):
                summary = _summary(draws, ci_prob)
                row.update({f"{name}_{k}": float(v) for k, v in summary.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def _accuracy_per_draw(log_cutoff: np.ndarray, mean, sd, weights):
    """Sensitivity and specificity when draw s uses its own cutoff log_cutoff[s]: (S,) each."""
    from scipy.special import ndtr

    c = log_cutoff[:, None]
    se = (ndtr((mean[:, 1, :] - c) / sd[:, 1, :]) * weights).sum(axis=-1)
    sp = (ndtr((c - mean[:, 0, :]) / sd[:, 0, :]) * weights).sum(axis=-1)
    return se, sp


def combined_table(
    fit: Fit | str | os.PathLike,
    technique: str,
    tracer: str,
    perfusion_cutoff: float,
    pet_cutoff: float,
    group_names: list[str] | None = None,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """Sensitivity and specificity of "both above" (AND) and "either above" (OR) rules.

    The within-class correlation of log perfusion and log TBR is part of the calculation; the
    "pooled" group weights centers by their training lesions with both modalities' kinds.
    """
    fit = as_fit(fit)
    t, r = TECHNIQUES.index(technique), TRACERS.index(tracer)
    mx, sx = _moments(fit, technique)
    my, sy = _moments(fit, tracer)
    rho = score_tables(fit).moments.rho[:, t, r].transpose(2, 0, 1)  # (S, 2, C + 1)
    both = np.minimum(_counts(fit, technique), _counts(fit, tracer))
    rows = []
    for group in group_names or [NEW_CENTER] + ([POOLED] if both.sum() > 0 else []):
        if group == NEW_CENTER:
            index, weights = [len(fit.centers)], np.ones(1)
        elif group == POOLED:
            index, weights = list(range(len(fit.centers))), both / both.sum()
        else:
            index, weights = [fit.centers.index(group)], np.ones(1)
        parameters = (
            mx[..., index],
            sx[..., index],
            my[..., index],
            sy[..., index],
            rho[..., index],
        )
        for rule in ("and", "or"):
            se, sp = acc.combined_accuracy(
                rule, np.log(perfusion_cutoff), np.log(pet_cutoff), *parameters, weights
            )
            row = {
                "rule": f"{technique} > {perfusion_cutoff:g} {rule.upper()} "
                f"{tracer} > {pet_cutoff:g}",
                "group": group,
            }
            for name, draws in (("sensitivity", se), ("specificity", sp)):
                row.update({f"{name}_{k}": float(v) for k, v in _summary(draws, ci_prob).items()})
            rows.append(row)
    return pd.DataFrame(rows)


def empirical_check(
    fit: Fit | str | os.PathLike,
    cohort,
    modality: str,
    cutoffs,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """Model-implied against observed sensitivity and specificity on labelled lesions.

    Labelled means histopathology. Observed: the share of labelled recurrences above (necroses at
    or below) each cutoff among lesions with a numeric value of the modality at a training
    center, with Clopper-Pearson intervals. Model-implied: the same lesions' centers, each class
    weighted by its labelled lesions per center, with posterior intervals.

    Returns
    -------
    pandas.DataFrame
        ``cutoff``, ``metric``, ``n``, ``observed``, ``observed_low``, ``observed_high``,
        ``model_mean``, ``model_low``, ``model_high``.
    """
    fit = as_fit(fit)
    prefix, index = _family(modality)
    _, lesions = encode_patients(fit, cohort)
    value = getattr(lesions, f"{prefix}_value")
    use = (
        (getattr(lesions, f"{prefix}_state") == VALUE)
        & (getattr(lesions, f"{prefix}_kind") == index)
        & (lesions.label_source == HISTOPATHOLOGY)
        & (lesions.center >= 0)
    )
    mean, sd = _moments(fit, modality)
    mean, sd = mean[..., : len(fit.centers)], sd[..., : len(fit.centers)]
    rows = []
    for cutoff in np.asarray(cutoffs, float):
        for metric, k in (("sensitivity", 1), ("specificity", 0)):
            members = use & (lesions.label == k)
            n = int(members.sum())
            if n == 0:
                continue
            hits = int(
                (value[members] > np.log(cutoff)).sum()
                if k
                else (value[members] <= np.log(cutoff)).sum()
            )
            interval = binomtest(hits, n).proportion_ci(confidence_level=ci_prob, method="exact")
            weights = np.bincount(lesions.center[members], minlength=len(fit.centers)) / n
            se, sp = acc.accuracy([np.log(cutoff)], mean, sd, weights)
            model = _summary((se if k else sp)[:, 0], ci_prob)
            rows.append(
                {
                    "modality": modality,
                    "cutoff": cutoff,
                    "metric": metric,
                    "n": n,
                    "observed": hits / n,
                    "observed_low": interval.low,
                    "observed_high": interval.high,
                    "model_mean": float(model["mean"]),
                    "model_low": float(model["eti_low"]),
                    "model_high": float(model["eti_high"]),
                }
            )
    return pd.DataFrame(rows)


def labelled_decision_curves(
    fit: Fit | str | os.PathLike,
    cohort,
    modality: str = "DSC",
    cutoff: float | None = None,
    thresholds=None,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """Decision curves of the model against a single-cutoff rule on histopathology-labelled lesions.

    The lesions are those with a numeric value of ``modality`` (so every strategy is judged on
    the same lesions). Strategies: the model (its mean probability, with posterior bands from
    every draw's predictions), the rule "value above ``cutoff``", treat all and treat none.

    Returns
    -------
    pandas.DataFrame
        dcurves' long format (:func:`model.decision.curves.decision_curve`) plus, for the model's
        rows,
        ``net_benefit_low`` and ``net_benefit_high`` (posterior interval), and
        ``p_better_than_rule``, ``p_better_than_all``, ``p_better_than_none`` (posterior
        probability that the model's net benefit is the larger).
    """
    from model.decision.curves import (
        DEFAULT_THRESHOLDS,
        decision_curve,
        net_benefit_draws,
        probability_better,
    )
    from model.scoring.predict import as_cohort, recurrence_draws

    fit = as_fit(fit)
    prefix, index = _family(modality)
    cohort = as_cohort(cohort)
    _, lesions = encode_patients(fit, cohort)
    use = (
        (getattr(lesions, f"{prefix}_state") == VALUE)
        & (getattr(lesions, f"{prefix}_kind") == index)
        & (lesions.label_source == HISTOPATHOLOGY)
    )
    if use.sum() < 2 or len(set(lesions.label[use])) < 2:
        raise ValueError(f"need histopathology-labelled lesions of both classes with {modality}")
    cutoff = CLASSIC_CUTOFFS[modality] if cutoff is None else cutoff
    t = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, float)
    subset = type(cohort)(cohort.table[use].reset_index(drop=True), cohort.source)
    draws = recurrence_draws(fit, subset)
    rule = f"{modality} > {cutoff:g}"
    data = pd.DataFrame(
        {
            "recurrence": lesions.label[use] == 1,
            "model": draws.mean(axis=1),
            rule: (getattr(lesions, f"{prefix}_value")[use] > np.log(cutoff)).astype(float),
        }
    )
    table = decision_curve(data, "recurrence", ["model", rule], thresholds=t)
    nb = net_benefit_draws(draws, data["recurrence"].to_numpy(), t)
    summary = _summary(nb, ci_prob)
    model_rows = table["model"] == "model"
    table.loc[model_rows, "net_benefit_low"] = summary["eti_low"]
    table.loc[model_rows, "net_benefit_high"] = summary["eti_high"]
    for name, label in ((rule, "rule"), ("all", "all"), ("none", "none")):
        other = table.loc[table["model"] == name, "net_benefit"].to_numpy()
        table.loc[model_rows, f"p_better_than_{label}"] = probability_better(nb, other)
    in_sample = cohort.digest == fit.provenance["cohort"]["digest"]
    table.attrs.update(
        {
            "n": int(use.sum()),
            "modality": modality,
            "cutoff": cutoff,
            "ci_prob": ci_prob,
            "in_sample": in_sample,
        }
    )
    return table
