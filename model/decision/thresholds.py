"""The probabilities of recurrence at which the best of managing, biopsying and treating changes.

For an asymptomatic lesion (:mod:`model.decision.utilities`) the three actions differ only
through the surveillance loss L, the harm h' = h - M that treating a necrosis now adds to
watching it (M: what surveillance's false alarms cost it), the biopsy's harm R and its accuracy
(se, sp): the treatment threshold is h' / (h' + L); biopsy beats managing above the testing
threshold ((1 - sp) h' + R) / ((1 - sp) h' + se L) and beats treating below the test-treatment
threshold (sp h' - R) / (sp h' + (1 - se) L). These are Pauker and Kassirer's thresholds
(N Engl J Med 1980) with the benefit B replaced by L and the harm H by h': the classic ones
(:func:`classic_thresholds`, L = B and M = 0) price managing a recurrence as necrosis as never
treating it. A parameter file under which h' <= 0 (watching a necrosis costs more than treating
it) would put the treatment threshold outside (0, 1], and is refused.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from model.decision.parameters import DecisionParameters
from model.decision.utilities import net_harm, surveillance_loss

ACTIONS = ("manage", "biopsy", "treat", "resect", "treat_necrosis", "rescan", "pet")
"""Action names: manage as necrosis (under surveillance), biopsy then act, treat as recurrence,
re-resect, treat symptomatic necrosis (steroids, bevacizumab), rescan at a short interval, refer
for amino-acid PET."""


class Thresholds(NamedTuple):
    """Probabilities of recurrence at which the best immediate action changes.

    Attributes
    ----------
    treat : float
        Treat rather than manage above this (no biopsy available).
    test : float
        Biopsy rather than manage above this.
    test_treat : float
        Treat rather than biopsy above this.

    Biopsy is the best action for test < p < test_treat; when test >= test_treat it never is, and
    the treatment threshold alone decides.
    """

    treat: float
    test: float
    test_treat: float

    @property
    def biopsy_ever_best(self) -> bool:
        """Whether some probability makes biopsy the best immediate action."""
        return self.test < self.test_treat


def thresholds(
    benefit: float,
    harm: float,
    test_harm: float,
    test_sensitivity: float,
    test_specificity: float,
) -> Thresholds:
    """The treatment, testing and test-treatment thresholds (exact closed forms).

    Parameters
    ----------
    benefit : float
        Benefit of treating a recurrence (> 0).
    harm : float
        Harm of treating necrosis (> 0).
    test_harm : float
        Harm of the biopsy itself (>= 0).
    test_sensitivity, test_specificity : float
        Biopsy accuracy for recurrence, in [0, 1].

    Returns
    -------
    Thresholds
        ``test`` is ``inf`` when the biopsy cannot find recurrence (sensitivity 0, specificity 1);
        ``test_treat`` is ``-inf`` when it cannot rule it out (sensitivity 1, specificity 0).

    Examples
    --------
    >>> t = thresholds(benefit=8, harm=6, test_harm=0, test_sensitivity=1, test_specificity=1)
    >>> t.treat, t.test, t.test_treat
    (0.42857142857142855, 0.0, 1.0)
    """
    b, h, r, se, sp = map(float, (benefit, harm, test_harm, test_sensitivity, test_specificity))
    test_denominator = (1 - sp) * h + se * b
    treat_denominator = sp * h + (1 - se) * b
    test = ((1 - sp) * h + r) / test_denominator if test_denominator > 0 else np.inf
    test_treat = (sp * h - r) / treat_denominator if treat_denominator > 0 else -np.inf
    return Thresholds(h / (h + b), test, test_treat)


def parameter_thresholds(params: DecisionParameters, early: bool = False) -> Thresholds:
    """The surveillance-aware thresholds of an asymptomatic lesion.

    Parameters
    ----------
    params : DecisionParameters
    early : bool, default False
        Within the early window after radiotherapy (the harm of treating necrosis is
        ``harm_early``).

    Returns
    -------
    Thresholds
        :func:`thresholds` with the surveillance loss in place of the benefit, and the harm net
        of what surveillance's false alarms cost.
    """
    return thresholds(
        surveillance_loss(params),
        net_harm(params, early),
        params.biopsy_harm,
        params.biopsy_sensitivity,
        params.biopsy_specificity,
    )


def classic_thresholds(params: DecisionParameters) -> Thresholds:
    """The classic Pauker-Kassirer thresholds: managing a recurrence as necrosis forgoes B.

    The reference the surveillance-aware thresholds depart from; the late-window harm.
    """
    return thresholds(
        params.benefit,
        params.harm,
        params.biopsy_harm,
        params.biopsy_sensitivity,
        params.biopsy_specificity,
    )
