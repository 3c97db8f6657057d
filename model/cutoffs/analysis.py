"""Cutoff analyses of a fit: per center, pooled over the training centers, and for a new center.

For every kind of a registered marker (DSC, ASL, MET, FET, DOPA, ...) the fit gives, for every
posterior draw, the class-conditional distribution of the log value at each center (the center's
calibration shift and the misread mixture included) and at a center it has not seen (the shift
integrated out). "Pooled" mixes the training centers that used the kind, weighted by their training
lesions with it. Every quantity is computed per draw in closed form (:mod:`model.cutoffs.accuracy`)
and summarised by its posterior mean and equal-tailed interval. Cutoffs are given and reported on
the natural scale (rCBV, TBR, ADC); "positive" means the recurrence side of the cutoff (above it,
or below it for a marker where lower values point to recurrence).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from model.cutoffs import accuracy as acc
from model.evaluation.external import LabelledPredictions
from model.fitting.sampling import Fit
from model.inputs.encode import HISTOPATHOLOGY, VALUE
from model.modalities.spec import Kind, Marker
from model.scoring.curves import kind_slot
from model.scoring.predict import PatientsLike, as_fit, encode_patients, score_tables

POOLED = "pooled"
NEW_CENTER = "new center"
DEFAULT_PREVALENCE = 0.6
"""Prevalence of recurrence among suspicious lesions in diagnostic cohorts: 638/1,068 (Fu 2022)."""


def kinds(fit: Fit) -> tuple[str, ...]:
    """Every marker kind of the fit, in registry order (the ``modality`` argument's values)."""
    return tuple(k.name for m in fit.registry.markers for k in m.kinds)


def lookup(fit: Fit, modality: str) -> tuple[int, Marker, int, Kind]:
    """A kind's registry slot, its marker, its index among the marker's kinds, and the kind."""
    if modality not in kinds(fit):
        raise ValueError(f"modality must be one of {', '.join(kinds(fit))}, not {modality!r}")
    slot, marker, j = kind_slot(fit.registry, modality)
    return slot, marker, j, marker.kinds[j]


def classic_cutoff(fit: Fit, modality: str) -> float:
    """The kind's classic cutoff from its declaration (natural scale)."""
    return lookup(fit, modality)[3].classic_cutoff


def to_oriented(fit: Fit, modality: str, cutoffs) -> np.ndarray:
    """Natural-scale cutoffs as oriented log cutoffs (higher points to recurrence)."""
    marker = lookup(fit, modality)[1]
    return marker.direction * np.log(np.asarray(cutoffs, float))


def from_oriented(fit: Fit, modality: str, oriented) -> np.ndarray:
    """Oriented log cutoffs back on the natural scale."""
    marker = lookup(fit, modality)[1]
    return np.exp(marker.direction * np.asarray(oriented, float))


def _counts(fit: Fit, modality: str) -> np.ndarray:
    counts = fit.provenance["cohort"]["imaging_counts"][modality]
    return np.array([counts[c] for c in fit.centers], dtype=float)


def groups(fit: Fit, modality: str) -> list[str]:
    """The centers that used the kind in training, then "pooled" and "new center"."""
    used = [c for c, n in zip(fit.centers, _counts(fit, modality), strict=True) if n > 0]
    return [*used, POOLED, NEW_CENTER] if used else [NEW_CENTER]


def _group_index(fit: Fit, modality: str, group: str) -> tuple[list[int], np.ndarray]:
    if group == NEW_CENTER:
        return [len(fit.centers)], np.ones(1)
    if group == POOLED:
        counts = _counts(fit, modality)
        if counts.sum() == 0:
            raise ValueError(f"no training lesion had {modality}: only the new-center view exists")
        return list(range(len(fit.centers))), counts / counts.sum()
    if group in fit.centers:
        return [fit.centers.index(group)], np.ones(1)
    raise ValueError(
        f"group must be a training center, {POOLED!r} or {NEW_CENTER!r}, not {group!r}"
    )


def group_accuracy_inputs(fit: Fit, modality: str, group: str, weights: np.ndarray | None = None):
    """Class mixtures of the oriented log value in one group, for :mod:`~model.cutoffs.accuracy`.

    Parameters
    ----------
    fit : Fit
    modality : str
        A marker kind (``"DSC"``, ``"FET"``).
    group : str
        A training center, ``"pooled"`` or ``"new center"``.
    weights : array (C,), optional
        Center weights for ``"pooled"`` instead of the training lesion counts.

    Returns
    -------
    mean, sd : arrays (S, 2, A)
    weight : array (2, A)
    """
    slot, marker, j, _ = lookup(fit, modality)
    m = score_tables(fit).moments
    index, group_weights = _group_index(fit, modality, group)
    if weights is not None and group == POOLED:
        group_weights = np.asarray(weights, float) / np.sum(weights)
    location = marker.direction * m.location[slot, j][index].transpose(2, 1, 0)  # (S, 2, G)
    spread = m.spread[slot, j][index].T  # (S, G)
    return acc.mixture_components(location, spread, float(m.misread[slot]), group_weights)


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
    oriented = to_oriented(fit, modality, cutoffs)
    rows = []
    for group in group_names or groups(fit, modality):
        se, sp = acc.accuracy(oriented, *group_accuracy_inputs(fit, modality, group))
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
    """Oriented cutoffs beyond which no class has mass worth a cutoff: 5 SD either side."""
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
    mean, sd, weights = group_accuracy_inputs(fit, modality, group)
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
        summary = _summary(acc.auc(*group_accuracy_inputs(fit, modality, group)), ci_prob)
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
    mean, sd, weights = group_accuracy_inputs(fit, modality, group)
    objective = acc.youden_index if method == "youden" else acc.net_benefit(prevalence, threshold)
    low, high = _cutoff_range(mean, sd)
    return from_oriented(fit, modality, acc.optimal_cutoff(objective, mean, sd, weights, low, high))


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
    optimal = {
        c: to_oriented(fit, modality, optimal_cutoff_draws(fit, modality, c)) for c in centers
    }
    rows = []
    for source in centers:
        for target in centers:
            mean, sd, weights = group_accuracy_inputs(fit, modality, target)
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


def _accuracy_per_draw(cutoff: np.ndarray, mean, sd, weights):
    """Sensitivity and specificity when draw s uses its own oriented cutoff[s]: (S,) each."""
    se, sp = acc.accuracy(cutoff[:, None], mean, sd, weights)
    return se[:, 0], sp[:, 0]


def combined_table(
    fit: Fit | str | os.PathLike,
    first: str,
    second: str,
    first_cutoff: float,
    second_cutoff: float,
    group_names: list[str] | None = None,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """Sensitivity and specificity of "both positive" (AND) and "either positive" (OR) rules.

    Two kinds of different markers (``"DSC"`` and ``"FET"``); the markers are conditionally
    independent given the class and the center, so within a center their accuracies multiply. The
    "pooled" group weights centers by their training lesions with both kinds.
    """
    fit = as_fit(fit)
    if lookup(fit, first)[1] is lookup(fit, second)[1]:
        raise ValueError("a two-modality rule needs kinds of two different markers")
    both = np.minimum(_counts(fit, first), _counts(fit, second))
    rows = []
    for group in group_names or ([POOLED] if both.sum() > 0 else []) + [NEW_CENTER]:
        index, weights = _group_index(fit, first, group)
        if group == POOLED:
            weights = both / both.sum()
        per_group = []
        for modality, cutoff in ((first, first_cutoff), (second, second_cutoff)):
            oriented = to_oriented(fit, modality, [cutoff])
            per_center = [
                acc.accuracy(oriented, *group_accuracy_inputs(fit, modality, g))
                for g in _names(fit, index)
            ]
            per_group.append(
                tuple(np.concatenate([x[k] for x in per_center], axis=1) for k in (0, 1))
            )
        for rule in ("and", "or"):
            se, sp = acc.combined_accuracy(rule, per_group[0], per_group[1], weights)
            sides = [_side(fit, m, c) for m, c in ((first, first_cutoff), (second, second_cutoff))]
            row = {"rule": f" {rule.upper()} ".join(sides), "group": group}
            for name, draws in (("sensitivity", se), ("specificity", sp)):
                row.update({f"{name}_{k}": float(v) for k, v in _summary(draws, ci_prob).items()})
            rows.append(row)
    return pd.DataFrame(rows)


def _names(fit: Fit, index: list[int]) -> list[str]:
    """Group names of center indices (the unseen index is the new center)."""
    return [NEW_CENTER if i == len(fit.centers) else fit.centers[i] for i in index]


def _side(fit: Fit, modality: str, cutoff: float) -> str:
    """A rule's positive side in words: "DSC > 1.75", "ADC < 1.2"."""
    return f"{modality} {'>' if lookup(fit, modality)[1].direction == 1 else '<'} {cutoff:g}"


def _lesions_with_value(fit: Fit, lesions, modality: str) -> tuple[np.ndarray, np.ndarray]:
    """Which lesions have a numeric value of the kind, and their oriented log values."""
    slot, marker, j, _ = lookup(fit, modality)
    evidence = lesions.evidence[marker.name]
    use = (evidence.state == VALUE) & (evidence.kind == j)
    return use, marker.direction * evidence.value


def empirical_check(
    fit: Fit | str | os.PathLike,
    cohort,
    modality: str,
    cutoffs,
    ci_prob: float = 0.90,
) -> pd.DataFrame:
    """Model-implied against observed sensitivity and specificity on labelled lesions.

    Labelled means histopathology. Observed: the share of labelled recurrences on the recurrence
    side of each cutoff (necroses on the other side) among lesions with a numeric value of the
    kind at a training center, with Clopper-Pearson intervals. Model-implied: the same lesions'
    centers, each class weighted by its labelled lesions per center, with posterior intervals.

    Returns
    -------
    pandas.DataFrame
        ``cutoff``, ``metric``, ``n``, ``observed``, ``observed_low``, ``observed_high``,
        ``model_mean``, ``model_low``, ``model_high``.
    """
    fit = as_fit(fit)
    _, lesions = encode_patients(fit, cohort)
    has, oriented_value = _lesions_with_value(fit, lesions, modality)
    use = has & (lesions.label_source == HISTOPATHOLOGY) & (lesions.center >= 0)
    rows = []
    for cutoff, oriented in zip(
        np.asarray(cutoffs, float), to_oriented(fit, modality, cutoffs), strict=True
    ):
        for metric, k in (("sensitivity", 1), ("specificity", 0)):
            members = use & (lesions.label == k)
            n = int(members.sum())
            if n == 0:
                continue
            positive = oriented_value[members] > oriented
            hits = int(positive.sum() if k else (~positive).sum())
            interval = binomtest(hits, n).proportion_ci(confidence_level=ci_prob, method="exact")
            weights = np.bincount(lesions.center[members], minlength=len(fit.centers)) / n
            inputs = group_accuracy_inputs(fit, modality, POOLED, weights)
            se, sp = acc.accuracy([oriented], *inputs)
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
    cohort: PatientsLike | LabelledPredictions,
    modality: str = "DSC",
    cutoff: float | None = None,
    thresholds=None,
    ci_prob: float = 0.90,
    *,
    allow_bevacizumab: bool = False,
) -> pd.DataFrame:
    """Decision curves of the model against a single-cutoff rule on histopathology-labelled lesions.

    The lesions are those with a numeric value of ``modality`` (so every strategy is judged on
    the same lesions). Strategies: the model (its mean probability, with posterior bands from
    every draw's predictions), the rule "value on the recurrence side of ``cutoff``" (default the
    kind's classic cutoff), treat all and treat none.

    Parameters
    ----------
    fit : Fit or path
    cohort : path, Cohort, DataFrame, dict, list of dicts or LabelledPredictions
        The labelled cohort, or the fit's predictions for it already made by
        :func:`model.evaluation.external.labelled_predictions` (then its kept draws give the
        bands and the cohort is not scored again).
    modality, cutoff, thresholds, ci_prob
        The rule's kind and cutoff, the threshold probabilities and the band's probability.
    allow_bevacizumab : bool, default False
        Score lesions scanned under bevacizumab as if untreated (:func:`model.predict`).

    Returns
    -------
    pandas.DataFrame
        dcurves' long format (:func:`model.decision.curves.decision_curve`) plus, for the model's
        rows,
        ``net_benefit_low`` and ``net_benefit_high`` (posterior interval), and
        ``p_better_than_rule``, ``p_better_than_all``, ``p_better_than_none`` (posterior
        probability that the model's net benefit is the larger); and for every strategy
        ``p_best`` and ``evpi`` (:func:`model.decision.curves.decision_value`: the sampling
        uncertainty of these lesions, patients resampled together). For in-sample predictions
        that carry their leave-one-out probabilities
        (:func:`model.checks.loo.with_leave_one_out`), the model's rows also have
        ``net_benefit_loo``: the net benefit corrected for the optimism of scoring the lesions
        the fit was trained on.
    """
    from model.decision.curves import (
        DEFAULT_THRESHOLDS,
        decision_curve,
        decision_value,
        net_benefit_draws,
        probability_better,
    )

    fit = as_fit(fit)
    made = _labelled_with_value(fit, cohort, modality, allow_bevacizumab)
    cutoff = classic_cutoff(fit, modality) if cutoff is None else cutoff
    t = DEFAULT_THRESHOLDS if thresholds is None else np.asarray(thresholds, float)
    rule = _side(fit, modality, cutoff)
    positive = made.oriented > to_oriented(fit, modality, cutoff)
    data = pd.DataFrame(
        {"recurrence": made.recurrence, "model": made.mean, rule: positive.astype(float)}
    )
    table = decision_curve(data, "recurrence", ["model", rule], thresholds=t)
    nb = net_benefit_draws(made.draws, made.recurrence, t)
    summary = _summary(nb, ci_prob)
    model_rows = table["model"] == "model"
    table.loc[model_rows, "net_benefit_low"] = summary["eti_low"]
    table.loc[model_rows, "net_benefit_high"] = summary["eti_high"]
    for name, label in ((rule, "rule"), ("all", "all"), ("none", "none")):
        other = table.loc[table["model"] == name, "net_benefit"].to_numpy()
        table.loc[model_rows, f"p_better_than_{label}"] = probability_better(nb, other)
    value = decision_value(data, "recurrence", ["model", rule], t, made.patient)
    table = table.merge(value, on=["model", "threshold"], how="left", validate="one_to_one")
    if made.loo is not None:  # in-sample: the net benefit of the leave-one-out predictions
        loo = pd.DataFrame({"recurrence": made.recurrence, "loo": made.loo})
        corrected = decision_curve(loo, "recurrence", ["loo"], thresholds=t)
        table.loc[model_rows, "net_benefit_loo"] = corrected.loc[
            corrected["model"] == "loo", "net_benefit"
        ].to_numpy()
    table.attrs.update(
        {
            "n": len(made.mean),
            "modality": modality,
            "cutoff": cutoff,
            "ci_prob": ci_prob,
            "in_sample": made.in_sample,
        }
    )
    return table


class _LabelledWithValue(NamedTuple):
    """Histopathology-labelled lesions with a value of one kind, and the fit's predictions."""

    recurrence: np.ndarray  # (n,) bool
    oriented: np.ndarray  # (n,) oriented log values
    mean: np.ndarray  # (n,) posterior-mean P(recurrence)
    draws: np.ndarray  # (n, S) P(recurrence) per posterior draw
    patient: np.ndarray  # (n,) each lesion's patient
    in_sample: bool
    loo: np.ndarray | None  # (n,) leave-one-out P(recurrence), for in-sample predictions


def _labelled_with_value(
    fit: Fit, cohort: PatientsLike | LabelledPredictions, modality: str, allow_bevacizumab: bool
) -> _LabelledWithValue:
    """Score the cohort's labelled lesions with a value of ``modality``, or reuse predictions."""
    from model.likelihood.kernel import score

    made = cohort if isinstance(cohort, LabelledPredictions) else None
    if made is not None:
        lesions, labelled, in_sample = made.lesions, made.scored, made.in_sample
    else:
        cohort, lesions = encode_patients(fit, cohort, allow_bevacizumab)
        labelled = lesions.label_source == HISTOPATHOLOGY
        in_sample = cohort.digest == fit.provenance["cohort"]["digest"]
    has, oriented_value = _lesions_with_value(fit, lesions, modality)
    use = has & labelled
    if use.sum() < 2 or len(set(lesions.label[use])) < 2:
        raise ValueError(f"need histopathology-labelled lesions of both classes with {modality}")
    loo = None
    if made is not None:
        rows = use[made.scored]
        draws, mean = made.draws[rows], made.p[rows]
        loo = None if made.p_loo is None else made.p_loo[rows]
    else:  # the whole cohort: a lesion is scored with its patient's other lesions
        scored = score(lesions, score_tables(fit), len(fit.centers), fit.registry, keep_draws=True)
        draws = scored.p_draws[use]
        mean = draws.mean(axis=1)
    return _LabelledWithValue(
        lesions.label[use] == 1,
        oriented_value[use],
        mean,
        draws,
        lesions.patient[use],
        bool(in_sample),
        loo,
    )
