"""What each action is worth under each class: the surveillance-aware utility table.

Utilities are in quality-adjusted life-weeks, counted against an asymptomatic necrosis left under
surveillance (0). Write B for the benefit of treating a recurrence promptly, L for the
surveillance loss (below), h for the harm of treating necrosis as recurrence (``harm_early``
within the early window after radiotherapy, ``harm`` after it), s = 1 for a lesion with a symptom
recorded as present and 0 otherwise, S for ``symptomatic_necrosis_loss``, Hn for
``necrosis_treatment_harm``, Rb and Rr for the harms of biopsy and re-resection, and se, sp for the
biopsy's accuracy. Per class (necrosis, recurrence):

==================  ==========================  ===============================
action              necrosis                    recurrence
==================  ==========================  ===============================
manage              -s S - M                    B - L
treat               -h - s S                    B
treat_necrosis      -Hn - M (symptomatic)       B - L - Hn
resect              -Rr                         B - Rr
biopsy              -Rb - (1 - sp)(h + s S)     -Rb + B - (1 - se) c_R
                    - sp c_N
==================  ==========================  ===============================

"Manage" is managing as necrosis: continued surveillance, so a recurrence is found later and
treated, at the cost L, and a necrosis may be read as progression: with the false-alarm
probability A = 1 - sp_s^(K - 1) (sp_s = ``surveillance_specificity`` per scan, every round but
the last, which shows what the lesion is). A false alarm is worked up by biopsy, which calls the
necrosis recurrence, and so has it treated, only if it too is wrong: M = A (Rb + (1 - sp) h). A
biopsy is acted on: a positive one is treated as recurrence, a negative one managed as necrosis in
the better of two ways, surveillance (c_N = s S + M, c_R = L) or, for a symptomatic lesion when
Hn < S, treating the necrosis (c_N = Hn + M, c_R = L + Hn). Re-resection
treats a recurrence and yields histology, and its debulking relieves a symptomatic necrosis.

The surveillance loss: each routine round costs ``delay_loss`` (d) while the treatment window is
open, loses the window with probability q = ``window_loss`` (all of B), and otherwise finds the
recurrence with probability f = ``surveillance_detection``; round K = ``surveillance_rounds``
always finds it. With a = (1 - q)(1 - f),

    L = sum_{k=1..K} a^(k-1) [q B + (1 - q) f_k min(k d, B)],    f_k = f for k < K, f_K = 1.

It lies in [0, B]. With one round and d = B it is B, A is 0, and the table is the classic
Pauker-Kassirer one (managing a recurrence as necrosis forgoes its treatment); with d = q = 0 it
is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.decision.parameters import DecisionParameters

IMMEDIATE_ACTIONS = ("manage", "biopsy", "treat", "resect", "treat_necrosis")
"""Actions taken now, without waiting for more information; ``treat_necrosis`` only for a
symptomatic lesion."""
CLASSIC_ACTIONS = ("manage", "biopsy", "treat")
"""The three actions of the Pauker-Kassirer thresholds."""


@dataclass(frozen=True)
class LesionContext:
    """What the utilities of a lesion depend on besides P(recurrence).

    Attributes
    ----------
    symptomatic : bool
        A symptom is recorded as present: necrosis left untreated costs
        ``symptomatic_necrosis_loss`` per round, and treating the necrosis is an action.
    early : bool
        Within the early window after radiotherapy (``harm_early`` applies). An unknown time
        counts as late.
    """

    symptomatic: bool = False
    early: bool = False


ASYMPTOMATIC_LATE = LesionContext()
"""The context of the thresholds the README and ``rnbayes thresholds`` show first."""


def surveillance_loss(params: DecisionParameters) -> float:
    """L: what managing a true recurrence as necrosis, under surveillance, costs it (QALW).

    Parameters
    ----------
    params : DecisionParameters

    Returns
    -------
    float
        In [0, ``params.benefit``].

    Examples
    --------
    One round whose delay costs the whole benefit is the classic model's loss, B:

    >>> from model.decision.parameters import load_decision_parameters
    >>> classic = load_decision_parameters().with_values(delay_loss=8, surveillance_rounds=1)
    >>> surveillance_loss(classic)
    8.0
    """
    b, q, f, rounds = (
        params.benefit,
        params.window_loss,
        params.surveillance_detection,
        params.rounds,
    )
    reach = 1.0  # P(the round is reached, the window open and the recurrence not yet found)
    loss = 0.0
    for k in range(1, rounds + 1):
        found = 1.0 if k == rounds else f
        delayed = found * min(k * params.delay_loss, b)
        loss += reach * (delayed + q * (b - delayed))  # q b + (1 - q) delayed, exact at b
        reach *= (1 - q) * (1 - found)
    return loss


def false_alarm(params: DecisionParameters) -> float:
    """A: the probability surveillance reads a necrosis as progression before its last round."""
    return 1.0 - params.surveillance_specificity ** (params.rounds - 1)


def false_alarm_cost(params: DecisionParameters, early: bool) -> float:
    """M: what surveillance's false alarms cost a necrosis, A (Rb + (1 - sp) h).

    Each false alarm is worked up by biopsy (its harm), which has the necrosis treated as
    recurrence (the harm h) only if it too calls it recurrence.
    """
    workup = params.biopsy_harm + (1 - params.biopsy_specificity) * treatment_harm(params, early)
    return false_alarm(params) * workup


def net_harm(params: DecisionParameters, early: bool) -> float:
    """h' = h - M: what treating an asymptomatic necrosis now adds to watching it."""
    return treatment_harm(params, early) - false_alarm_cost(params, early)


def treatment_harm(params: DecisionParameters, early: bool) -> float:
    """h: the harm of treating necrosis as recurrence, in or after the early window."""
    return params.harm_early if early else params.harm


def class_utilities(
    params: DecisionParameters, context: LesionContext = ASYMPTOMATIC_LATE
) -> dict[str, tuple[float, float]]:
    """The utility table: (under necrosis, under recurrence) for each action open to the lesion.

    Parameters
    ----------
    params : DecisionParameters
    context : LesionContext, optional
        Asymptomatic and late by default.

    Returns
    -------
    dict of str to (float, float)
        Keyed by action, in the order of :data:`IMMEDIATE_ACTIONS`; ``treat_necrosis`` only for a
        symptomatic lesion.
    """
    b, loss, h = params.benefit, surveillance_loss(params), treatment_harm(params, context.early)
    untreated = params.symptomatic_necrosis_loss if context.symptomatic else 0.0
    medical = params.necrosis_treatment_harm
    alarm = false_alarm_cost(params, context.early)
    if context.symptomatic and medical < untreated:  # a negative biopsy: the better necrosis arm
        negative = (medical + alarm, loss + medical)
    else:
        negative = (untreated + alarm, loss)
    se, sp = params.biopsy_sensitivity, params.biopsy_specificity
    table = {
        "manage": (-untreated - alarm, b - loss),
        "biopsy": (
            -params.biopsy_harm - (1 - sp) * (h + untreated) - sp * negative[0],
            -params.biopsy_harm + b - (1 - se) * negative[1],
        ),
        "treat": (-h - untreated, b),
        "resect": (-params.resection_harm, b - params.resection_harm),
    }
    if context.symptomatic:
        table["treat_necrosis"] = (-medical - alarm, b - loss - medical)
    return table


def expected_utilities(
    p, params: DecisionParameters, context: LesionContext = ASYMPTOMATIC_LATE
) -> dict[str, np.ndarray]:
    """Expected utility of each immediate action at P(recurrence) = p.

    Parameters
    ----------
    p : float or array
    params : DecisionParameters
    context : LesionContext, optional

    Returns
    -------
    dict of str to ndarray
        Keyed as :func:`class_utilities`, each shaped like ``p``: p u_R + (1 - p) u_N.
    """
    p = np.asarray(p, dtype=float)
    return {
        action: p * recurrence + (1 - p) * necrosis
        for action, (necrosis, recurrence) in class_utilities(params, context).items()
    }


def best_action(p: float, params: DecisionParameters, context: LesionContext) -> str:
    """The immediate action of highest expected utility at P = p (ties: the earlier listed)."""
    eu = expected_utilities(p, params, context)
    return max(eu, key=lambda name: float(eu[name]))


def best_by_class(
    p, params: DecisionParameters, context: LesionContext = ASYMPTOMATIC_LATE
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class utilities of the best immediate action at each p: (under necrosis, recurrence).

    The expected utility of acting optimally, V(p), is p u_R + (1 - p) u_N of these; a later
    decision (after a rescan or a PET) weighs them by class, since waiting costs differ by class.
    """
    p = np.asarray(p, dtype=float)
    table = class_utilities(params, context)
    necrosis = np.array([u for u, _ in table.values()])
    recurrence = np.array([u for _, u in table.values()])
    eu = p[..., None] * recurrence + (1 - p[..., None]) * necrosis
    best = eu.argmax(axis=-1)
    return necrosis[best], recurrence[best]


def immediate_value(
    p, params: DecisionParameters, context: LesionContext = ASYMPTOMATIC_LATE
) -> np.ndarray:
    """V(p): the best immediate action's expected utility (convex in p)."""
    return np.max(np.stack(list(expected_utilities(p, params, context).values())), axis=0)


def perfect_information_value(
    p, params: DecisionParameters, context: LesionContext = ASYMPTOMATIC_LATE
) -> np.ndarray:
    """Expected utility of acting knowing the class: p max_a u_R(a) + (1 - p) max_a u_N(a).

    Less :func:`immediate_value`, it is the expected value of perfect information (EVPI).
    """
    table = class_utilities(params, context)
    best_r = max(r for _, r in table.values())
    best_n = max(n for n, _ in table.values())
    p = np.asarray(p, dtype=float)
    return p * best_r + (1 - p) * best_n


@dataclass(frozen=True)
class WaitCosts:
    """What waiting ``weeks`` for a result (a rescan, a PET) costs, by class.

    Attributes
    ----------
    delay : float
        Under recurrence, with the window still open: ``delay_loss`` in proportion to a round.
    window : float
        Under recurrence: probability the window is lost meanwhile, 1 - (1 - q)^(weeks / round).
        A lost window leaves the recurrence untreatable: utility 0.
    necrosis : float
        Under necrosis: symptomatic necrosis left untreated, in proportion to a round.
    """

    delay: float
    window: float
    necrosis: float


def wait_costs(
    params: DecisionParameters, weeks: float, context: LesionContext = ASYMPTOMATIC_LATE
) -> WaitCosts:
    """The costs of waiting ``weeks`` before acting (see :class:`WaitCosts`)."""
    rounds = weeks / params.rescan_weeks
    untreated = params.symptomatic_necrosis_loss if context.symptomatic else 0.0
    return WaitCosts(
        params.delay_loss * rounds, 1 - (1 - params.window_loss) ** rounds, untreated * rounds
    )


def value_after_waiting(
    p_after,
    mass,
    params: DecisionParameters,
    costs: WaitCosts,
    context: LesionContext = ASYMPTOMATIC_LATE,
) -> float:
    """Expected utility of waiting for a result, then acting optimally on it (before its price).

    Parameters
    ----------
    p_after : array
        P(recurrence) after each possible result.
    mass : array
        Predictive probability of each result (sums to 1).
    params : DecisionParameters
    costs : WaitCosts
    context : LesionContext, optional

    Returns
    -------
    float
        sum_y m(y) [p'(y) (1 - w) (u_R*(y) - delay) + (1 - p'(y)) (u_N*(y) - necrosis)], with
        u* the per-class utilities of the best action at p'(y) and w the window probability.
    """
    p_after, mass = np.asarray(p_after, float), np.asarray(mass, float)
    necrosis, recurrence = best_by_class(p_after, params, context)
    under_r = (1 - costs.window) * (recurrence - costs.delay)
    return float(np.sum(mass * (p_after * under_r + (1 - p_after) * (necrosis - costs.necrosis))))


def immediate_bands(
    params: DecisionParameters,
    context: LesionContext = ASYMPTOMATIC_LATE,
    grid_size: int = 2001,
) -> list[tuple[str, float, float]]:
    """The runs of P(recurrence) over which each immediate action is best, in the context.

    Parameters
    ----------
    params : DecisionParameters
    context : LesionContext, optional
    grid_size : int, default 2001
        Points of the probability grid; a band's ends are grid points.

    Returns
    -------
    list of (action, p_from, p_to)
        In order of p, covering [0, 1].
    """
    p = np.linspace(0.0, 1.0, grid_size)
    eu = expected_utilities(p, params, context)
    names = np.array(list(eu))[np.argmax(np.stack(list(eu.values())), axis=0)]
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
    ends = np.r_[starts[1:] - 1, grid_size - 1]
    return [(str(names[s]), float(p[s]), float(p[e])) for s, e in zip(starts, ends, strict=True)]
