"""Expected utilities of the immediate actions and the Pauker-Kassirer thresholds.

With P(recurrence) = p, benefit B of treating a recurrence, harm H of treating necrosis, biopsy
harm R and biopsy sensitivity / specificity (se, sp), utilities counted against managing necrosis
as necrosis:

- manage as necrosis: 0;
- treat: p B - (1 - p) H;
- biopsy, then act on its result: p se B - (1 - p) (1 - sp) H - R.

The treatment threshold is H / (H + B); biopsy beats managing above the testing threshold
((1 - sp) H + R) / ((1 - sp) H + se B) and beats treating below the test-treatment threshold
(sp H - R) / (sp H + (1 - se) B) (Pauker SG & Kassirer JP, N Engl J Med 1980).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from model.decision.parameters import DecisionParameters

ACTIONS = ("manage", "biopsy", "treat", "rescan", "pet")
"""Action names: manage as necrosis, biopsy then act, treat as recurrence, rescan in 6-8 weeks,
refer for amino-acid PET."""


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


def parameter_thresholds(params: DecisionParameters) -> Thresholds:
    """:func:`thresholds` for a :class:`DecisionParameters`."""
    return thresholds(
        params.benefit,
        params.harm,
        params.biopsy_harm,
        params.biopsy_sensitivity,
        params.biopsy_specificity,
    )


def expected_utilities(p, params: DecisionParameters) -> dict[str, np.ndarray]:
    """Expected utility of managing, biopsying and treating at P(recurrence) = p.

    Parameters
    ----------
    p : float or array
    params : DecisionParameters

    Returns
    -------
    dict of str to ndarray
        ``"manage"``, ``"biopsy"``, ``"treat"``, each shaped like ``p``.
    """
    p = np.asarray(p, dtype=float)
    se, sp = params.biopsy_sensitivity, params.biopsy_specificity
    return {
        "manage": np.zeros_like(p),
        "biopsy": p * se * params.benefit - (1 - p) * (1 - sp) * params.harm - params.biopsy_harm,
        "treat": p * params.benefit - (1 - p) * params.harm,
    }


def immediate_value(p, params: DecisionParameters) -> np.ndarray:
    """The best of managing, biopsying and treating at P(recurrence) = p (convex in p)."""
    eu = expected_utilities(p, params)
    return np.maximum(np.maximum(eu["manage"], eu["biopsy"]), eu["treat"])
