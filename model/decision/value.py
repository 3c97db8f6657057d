"""Per-patient decisions: expected utilities, the value of information, what would change them.

For each lesion: the expected utility of each action, EVPI, EVSI of a PET, a perfusion study or one
more rescan, and the PET or growth result that would change the recommendation.

Pre-posterior analysis: for a test not yet done (a PET, a perfusion study, one more rescan), the
lesion's predictive distribution of the result y is, averaging over posterior draws s,

    p(y | data) = mean_s [ P_s(R | data) f_s(y | R, data) + P_s(N | data) f_s(y | N, data) ],

with f_s the class-conditional density of y given the lesion's other evidence (the within-class
evidence included), computed by the same closed forms as scoring
(:func:`model.likelihood.kernel.class_log_joint`). After seeing y, P(R | data, y) follows by Bayes'
rule, and its average over p(y | data) is the current probability. The expected value of sample
information is E_y[V(P(R | data, y))] - V(p), V the best immediate action's expected utility;
it is never negative and never above the expected value of perfect information.

The utilities are the surveillance-aware table of :mod:`model.decision.utilities`, in the lesion's
own context: symptomatic or not (a symptom recorded as present) and in the early window after
radiotherapy or not. Waiting for a rescan or a PET is priced by class
(:func:`model.decision.utilities.wait_costs`): a delay and a chance of losing the treatment window
under recurrence, untreated symptoms under necrosis.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import expit, logsumexp

from model.decision.parameters import DecisionParameters, load_decision_parameters
from model.decision.policy import RESCAN_INTERVALS
from model.decision.robust import robustness
from model.decision.utilities import (
    ASYMPTOMATIC_LATE,
    IMMEDIATE_ACTIONS,
    LesionContext,
    best_action,
    expected_utilities,
    immediate_value,
    perfect_information_value,
    value_after_waiting,
    wait_costs,
)
from model.fitting.sampling import Fit
from model.inputs.encode import NONE, VALUE, Evidence, Lesions
from model.inputs.schema import text_column
from model.inputs.vocabulary import MAX_FOLLOW_UPS
from model.likelihood.kernel import class_log_joint, patient_offsets
from model.likelihood.tables import ScoreTables
from model.modalities.registry import Registry
from model.modalities.spec import Marker
from model.scoring.predict import (
    PatientsLike,
    as_fit,
    encode_patients,
    predict,
    score_tables,
)

NECROSIS_ARM = ("manage", "treat_necrosis")
"""The immediate actions that manage a lesion as necrosis."""
PET, PERFUSION = "pet", "perfusion"
"""The modalities a decision can order: a PET referral, a perfusion study."""
GROWTH_GRID = np.linspace(-2.0, 3.0, 501)
"""log volume ratios a rescan could show."""
GRID_POINTS = 481


def value_grid(marker: Marker) -> np.ndarray:
    """log values a study of the marker could show: its physiological range, evenly spaced."""
    low, high = marker.physiological_range
    return np.linspace(np.log(low), np.log(high), GRID_POINTS)


@dataclass(frozen=True)
class Preposterior:
    """What a not-yet-done test could show and what each result would make of P(recurrence).

    Attributes
    ----------
    values : ndarray (G,)
        Possible results on the model's scale (log ratio, or log growth).
    probability : ndarray (G,)
        Predictive probability mass of each grid value (sums to 1).
    p_after : ndarray (G,)
        P(recurrence) after seeing each value, by Bayes' rule over draws (the result informs the
        parameters too): its predictive mean is the current probability, so the value of
        information computed from it is never negative.
    p_reported : ndarray (G,)
        What :func:`model.predict` reports once the result is added: the mean over draws of each
        draw's probability. Used for "what would change the decision". The two differ by about
        0.0002 for a typical lesion of the bundled cohort (95% of lesions within 0.012), more
        where parameter uncertainty is large (e.g. a tracer never used at the lesion's center).
    grid_mass : float
        Predictive probability the grid captured before normalisation (close to 1).
    """

    values: np.ndarray
    probability: np.ndarray
    p_after: np.ndarray
    p_reported: np.ndarray
    grid_mass: float = 1.0

    @property
    def p_now(self) -> float:
        """P(recurrence) before the test: the predictive mean of ``p_after``."""
        return float(np.sum(self.probability * self.p_after))

    def expected_value(
        self, params: DecisionParameters, context: LesionContext = ASYMPTOMATIC_LATE
    ) -> float:
        """E_y[V(P(R | data, y))]: the expected utility of acting after seeing the result."""
        return float(np.sum(self.probability * immediate_value(self.p_after, params, context)))

    def evsi(self, params: DecisionParameters, context: LesionContext = ASYMPTOMATIC_LATE) -> float:
        """Expected value of the sample information, gross of its costs (>= 0: V is convex)."""
        now = float(immediate_value(self.p_now, params, context))
        gain = self.expected_value(params, context) - now
        return 0.0 if -1e-9 < gain < 0 else gain  # rounding, not a negative value

    def value_if_waiting(
        self, params: DecisionParameters, weeks: float, context: LesionContext = ASYMPTOMATIC_LATE
    ) -> float:
        """Expected utility of waiting ``weeks`` for the result and acting on it, before its price.

        The wait's costs fall by class (:func:`model.decision.utilities.value_after_waiting`).
        """
        costs = wait_costs(params, weeks, context)
        return value_after_waiting(self.p_after, self.probability, params, costs, context)

    def plausible(self, tail: float = 5e-4) -> np.ndarray:
        """Mask of results inside the central 1 - 2 * tail of the predictive distribution."""
        cdf = np.cumsum(self.probability)
        return (cdf >= tail) & (cdf - self.probability <= 1 - tail)


def preposterior(
    lesion: Lesions,
    tables: ScoreTables,
    n_centers: int,
    registry: Registry,
    augment: Callable[[Lesions, np.ndarray], Lesions],
    grid: np.ndarray,
    offset: np.ndarray | None = None,
) -> Preposterior:
    """Pre-posterior analysis of one new observation for one lesion.

    Parameters
    ----------
    lesion : Lesions
        One encoded lesion, without the observation.
    tables : ScoreTables
        The fit's coefficient tables (possibly of a subset of draws).
    n_centers : int
        Training centers of the fit.
    registry : Registry
        The fit's modalities.
    augment : callable
        ``augment(lesions, values)`` returns the lesions (one copy per value) with the
        observation added.
    grid : ndarray
        Possible values of the observation on the model's scale, evenly spaced.
    offset : ndarray (S,), optional
        What the lesion's patient's other lesions add to its log-odds, per draw
        (:func:`model.likelihood.kernel.patient_offsets`); the new observation adds to it.

    Returns
    -------
    Preposterior
    """
    shift = np.zeros((tables.n_draws, 2))
    if offset is not None:
        shift[:, 1] = offset
    base = class_log_joint(lesion, tables, n_centers, registry)[0] + shift  # (S, 2)
    log_posterior = base - np.logaddexp(base[:, :1], base[:, 1:])  # log P_s(k | data)
    copies = augment(lesion.subset(np.zeros(len(grid), dtype=int)), grid)
    augmented = class_log_joint(copies, tables, n_centers, registry) + shift  # (G, S, 2)
    log_f = augmented - base[None]
    log_joint = logsumexp(log_posterior[None] + log_f, axis=1) - np.log(len(base))  # (G, 2)
    step = grid[1] - grid[0]
    mass = np.exp(logsumexp(log_joint, axis=1)) * step
    p_after = np.exp(log_joint[:, 1] - logsumexp(log_joint, axis=1))
    p_reported = expit(augmented[..., 1] - augmented[..., 0]).mean(axis=1)
    return Preposterior(grid, mass / mass.sum(), p_after, p_reported, float(mass.sum()))


def with_value(lesions: Lesions, marker: Marker, kind: str, log_value) -> Lesions:
    """The lesions with a numeric result of a marker's kind (replacing any result of the marker)."""
    n = len(lesions)
    evidence = Evidence(
        np.full(n, VALUE, dtype=np.int64),
        np.full(n, marker.kind_names.index(kind), dtype=np.int64),
        np.broadcast_to(np.asarray(log_value, float), (n,)).copy(),
        np.zeros(n),
    )
    return lesions.with_evidence(marker.name, evidence)


def without(lesions: Lesions, name: str) -> Lesions:
    """The lesions with no result of a modality, at the first scan or at follow-up."""
    n = len(lesions)
    none = Evidence(np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n), np.zeros(n))
    return lesions.with_evidence(name, none).without_trend(name)


def with_rescan(lesions: Lesions, log_growth: np.ndarray, weeks: float) -> Lesions:
    """The lesions with one more follow-up scan showing the given log growth.

    The rescan is planned with the steroid dose unchanged before it.
    """
    slot = int(lesions.growth_mask[0].sum())
    if slot >= MAX_FOLLOW_UPS:
        raise ValueError(f"a lesion holds at most {MAX_FOLLOW_UPS} follow-up scans")
    growth, weeks_, mask, steroid = (
        lesions.growth.copy(),
        lesions.growth_weeks.copy(),
        lesions.growth_mask.copy(),
        lesions.growth_steroid.copy(),
    )
    growth[:, slot], weeks_[:, slot], mask[:, slot] = log_growth, weeks, 1.0
    steroid[:, slot] = 0.0
    return replace(
        lesions, growth=growth, growth_weeks=weeks_, growth_mask=mask, growth_steroid=steroid
    )


def decide(
    fit: Fit | str | os.PathLike,
    patients: PatientsLike,
    params: DecisionParameters | None = None,
    *,
    pet_tracer: str = "FET",
    perfusion_technique: str = "DSC",
    n_draws: int | None = 1000,
    allow_bevacizumab: bool = False,
) -> pd.DataFrame:
    """Recommendation, expected utilities and value of information for each lesion.

    Parameters
    ----------
    fit : Fit or path
    patients : path, Cohort, DataFrame, dict or list of dicts
    params : DecisionParameters, optional
        Defaults to the bundled ``data/decision.toml``.
    pet_tracer : str, default "FET"
        Tracer of a PET referral (for lesions without PET): a kind of the ``pet`` modality.
    perfusion_technique : str, default "DSC"
        Technique of a perfusion study (for lesions without one): a kind of ``perfusion``.
    n_draws : int or None, default 1000
        Posterior draws used by the pre-posterior analyses (evenly thinned; None: all).
    allow_bevacizumab : bool, default False
        Decide for lesions scanned under bevacizumab as if untreated (see :func:`model.predict`);
        by default they are refused.

    Returns
    -------
    pandas.DataFrame
        One row per lesion: ``patient_id``, ``lesion_id``, ``p_recurrence``,
        ``under_bevacizumab`` (scored under the override); the lesion's context, ``symptomatic``
        (a symptom recorded as present) and ``early_window`` (within the early window after
        radiotherapy); the expected utility of each action open to it (surveillance-aware:
        :mod:`model.decision.utilities`): ``eu_manage`` (manage as necrosis, under
        surveillance), ``eu_biopsy``, ``eu_treat``, ``eu_resect``, ``eu_treat_necrosis`` (NaN
        for an asymptomatic lesion), ``eu_rescan`` (the best of one rescan at each interval of
        :data:`model.decision.policy.RESCAN_INTERVALS`, then the best immediate action; its
        interval in ``rescan_weeks``), ``eu_pet`` (referral, then the best immediate action; NaN
        if the lesion has PET); ``recommendation`` and ``margin`` (over the second best);
        ``evpi``; ``evsi_pet`` and ``evsi_perfusion`` (gross of costs; for a lesion that has the
        test, the value it had given the other evidence), ``evsi_rescan`` (at ``rescan_weeks``;
        NaN if no follow-up slot is left); and what would change the decision, among plausible
        results and with the probability the lesion's report would then show: ``tbr_treat_at``
        (the PET TBR from which up treating is best), ``tbr_manage_below`` (the highest TBR below
        that at which managing as necrosis, under surveillance or by treating the necrosis, is
        best), ``growth_treat_at`` and ``growth_manage_below`` (volume change at the rescan, as
        a fraction: 0.25 = +25%). Flip points are offered only where they would change the best
        immediate action (none to treat where treating is already best, none to manage where
        the lesion is already managed as necrosis) and only for a test the lesion lacks (no TBR
        flip for a lesion with PET); NaN otherwise, or where no plausible result gives that
        action. How far to lean on the recommendation (:mod:`model.decision.robust`): ``p_best``,
        the probability it is the best action over the decision parameters' plausible ranges and
        the posterior; ``expected_loss``, the utility expected to be given up by following it;
        ``sensitive_to``, the one or two parameters its margin depends on most. Per patient:
        ``p_patient_recurrence`` (P(any of its lesions is recurrence)) and
        ``patient_action``, the immediate action best at that probability in the lesion's
        context. A lesion of a patient with several is analysed given the others (their evidence
        acts as its prior). Expected utilities are in the units of ``params``
        (quality-adjusted life-weeks).
    """
    fit = as_fit(fit)
    params = params if params is not None else load_decision_parameters()
    tests = {}
    for name, kind in ((PET, pet_tracer), (PERFUSION, perfusion_technique)):
        marker = fit.registry[name] if name in fit.registry else None
        if not isinstance(marker, Marker) or kind not in marker.kind_names:
            known = ", ".join(marker.kind_names) if isinstance(marker, Marker) else "none"
            raise ValueError(f"{name} kind must be one of the fit's ({known}), not {kind!r}")
        tests[name] = (marker, kind)
    cohort, lesions = encode_patients(fit, patients, allow_bevacizumab)
    predictions = predict(fit, cohort, allow_bevacizumab=allow_bevacizumab)
    probability = predictions["p_recurrence"].to_numpy()
    tables = score_tables(fit)
    if n_draws is not None and n_draws < tables.n_draws:
        tables = tables.select(np.linspace(0, tables.n_draws - 1, n_draws).round().astype(int))
    context = (tables, len(fit.centers), fit.registry, params, tests)
    offsets = patient_offsets(lesions, *context[:3])
    situations = lesion_contexts(lesions)
    rows = [
        _decide_one(lesions.subset([i]), probability[i], offsets[i], situations[i], *context)
        for i in range(len(lesions))
    ]
    table = pd.DataFrame(rows)
    table.insert(0, "patient_id", cohort.table["patient_id"].to_numpy())
    table.insert(1, "lesion_id", text_column(cohort.table["lesion_id"]))
    table.insert(2, "p_recurrence", probability)
    table.insert(3, "under_bevacizumab", predictions["under_bevacizumab"].to_numpy())
    table.insert(4, "symptomatic", [c.symptomatic for c in situations])
    table.insert(5, "early_window", [c.early for c in situations])
    p_patient = predictions["p_patient_recurrence"].to_numpy()
    table["p_patient_recurrence"] = p_patient
    table["patient_action"] = [
        best_action(p, params, c) for p, c in zip(p_patient, situations, strict=True)
    ]
    table.attrs.update(
        {
            "units": "quality-adjusted life-weeks",
            "pet_tracer": pet_tracer,
            "perfusion_technique": perfusion_technique,
        }
    )
    return table


def lesion_contexts(lesions: Lesions) -> list[LesionContext]:
    """Each lesion's decision context: a symptom recorded as present; within the early window.

    Within the window means before its midpoint (window weight above 1/2,
    :mod:`model.inputs.early_window`); an unknown time since radiotherapy counts as late.
    """
    symptomatic = lesions.symptom_yes.sum(axis=1) > 0
    early = lesions.x_early > 0
    return [LesionContext(bool(s), bool(e)) for s, e in zip(symptomatic, early, strict=True)]


def _decide_one(lesion, p, offset, situation, tables, n_centers, registry, params, tests) -> dict:
    eu = {name: float(v) for name, v in expected_utilities(p, params, situation).items()}
    now = max(eu.values())
    row: dict = {f"eu_{name}": eu.get(name, np.nan) for name in IMMEDIATE_ACTIONS}

    def analyse(base, augment, grid):
        return preposterior(base, tables, n_centers, registry, augment, grid, offset)

    def study(name: str) -> Preposterior:
        marker, kind = tests[name]
        return analyse(
            without(lesion, name), lambda ls, y: with_value(ls, marker, kind, y), value_grid(marker)
        )

    def pet_referral(values: DecisionParameters) -> float:
        waited = pet.value_if_waiting(values, values.pet_delay_weeks, situation)
        return waited - values.pet_cost

    def best_rescan(values: DecisionParameters) -> float:
        return max(
            pre.value_if_waiting(values, weeks, situation) - values.scan_cost
            for weeks, pre in rescans.items()
        )

    waiting = {}
    pet = study(PET)
    row["evsi_pet"] = pet.evsi(params, situation)
    has_pet = lesion.evidence[PET].state[0] != NONE
    row["eu_pet"] = np.nan if has_pet else pet_referral(params)
    if not has_pet:
        waiting["pet"] = pet_referral
    current = max(eu, key=eu.__getitem__)  # the best immediate action now, as best_action
    row["tbr_treat_at"], row["tbr_manage_below"] = (
        (np.nan, np.nan) if has_pet else _flips(pet, params, situation, np.exp, current)
    )
    row["evsi_perfusion"] = study(PERFUSION).evsi(params, situation)

    if lesion.growth_mask[0].sum() < MAX_FOLLOW_UPS:
        rescans = {
            weeks: analyse(lesion, lambda ls, g, w=weeks: with_rescan(ls, g, w), GROWTH_GRID)
            for weeks in RESCAN_INTERVALS
        }
        waiting["rescan"] = best_rescan
        worth = {
            weeks: pre.value_if_waiting(params, weeks, situation) - params.scan_cost
            for weeks, pre in rescans.items()
        }
        weeks = max(worth, key=worth.__getitem__)
        row["rescan_weeks"], row["eu_rescan"] = weeks, worth[weeks]
        row["evsi_rescan"] = rescans[weeks].evsi(params, situation)
        row["growth_treat_at"], row["growth_manage_below"] = _flips(
            rescans[weeks], params, situation, np.expm1, current
        )
    else:
        row["rescan_weeks"] = row["evsi_rescan"] = row["eu_rescan"] = np.nan
        row["growth_treat_at"] = row["growth_manage_below"] = np.nan

    options = {a: row[f"eu_{a}"] for a in (*IMMEDIATE_ACTIONS, "rescan", "pet")}
    ranked = sorted((v, a) for a, v in options.items() if np.isfinite(v))
    row["recommendation"] = ranked[-1][1]
    row["margin"] = ranked[-1][0] - ranked[-2][0]
    row["evpi"] = float(perfect_information_value(p, params, situation)) - now
    base = class_log_joint(lesion, tables, n_centers, registry)[0]
    p_draws = expit(base[:, 1] + offset - base[:, 0])
    robust = robustness(row["recommendation"], p, p_draws, params, situation, waiting)
    row["p_best"], row["expected_loss"] = robust.p_best, robust.expected_loss
    row["sensitive_to"] = robust.sensitive_to
    return row


def _flips(
    pre: Preposterior,
    params: DecisionParameters,
    situation: LesionContext,
    to_natural,
    current: str,
) -> tuple[float, float]:
    """Find what result would change the best immediate action, ``current``.

    Scanning down from the highest plausible result: where the top run of "treat" begins, and the
    first result below it at which the lesion would be managed as necrosis (under surveillance,
    or by treating a symptomatic necrosis: :data:`NECROSIS_ARM`). A result that would only
    confirm the current action is no flip point: treating's is not given where treating is
    already best, nor managing's where the lesion is already managed as necrosis.

    Larger values (TBR, rCBV, growth) favour recurrence, so these bound the middle region; scanning
    from the top ignores the far low tail, where an implausible result can move the reported
    probability erratically.
    """
    eu = expected_utilities(pre.p_reported, params, situation)
    names = np.array(list(eu))
    best = names[np.argmax(np.stack(list(eu.values())), axis=0)][pre.plausible()][::-1]
    values = pre.values[pre.plausible()][::-1]
    treat_run = int(np.argmax(best != "treat")) if np.any(best != "treat") else len(best)
    treat_at = float(to_natural(values[treat_run - 1])) if treat_run > 0 else np.nan
    below = np.flatnonzero(np.isin(best[treat_run:], NECROSIS_ARM))
    manage_below = float(to_natural(values[treat_run + below[0]])) if below.size else np.nan
    return (
        np.nan if current == "treat" else treat_at,
        np.nan if current in NECROSIS_ARM else manage_below,
    )
