"""Decisions: turning P(recurrence) into manage / rescan / biopsy / treat.

- :mod:`~model.decision.parameters`: the editable utilities, probabilities and costs, with sources;
- :mod:`~model.decision.utilities`: the surveillance-aware utility of each action by class;
- :mod:`~model.decision.thresholds`: the surveillance-aware and the classic Pauker-Kassirer
  thresholds;
- :mod:`~model.decision.policy`: the rescan policy over several rounds (backward induction);
- :mod:`~model.decision.value`: per-patient recommendation, EVPI and EVSI of PET, perfusion, rescan;
- :mod:`~model.decision.sensitivity`: probabilistic and one-way sensitivity of the thresholds;
- :mod:`~model.decision.curves`: decision curves (net benefit), dcurves' format and numbers;
- :mod:`~model.decision.plots`: figures (returned, never shown).

Reads fits only. May import: core, modalities, inputs, likelihood, fitting, scoring.
"""

from model.decision.parameters import DecisionParameters, load_decision_parameters
from model.decision.thresholds import (
    ACTIONS,
    Thresholds,
    classic_thresholds,
    parameter_thresholds,
    thresholds,
)
from model.decision.utilities import LesionContext, expected_utilities, surveillance_loss

__all__ = [
    "ACTIONS",
    "DecisionParameters",
    "LesionContext",
    "Thresholds",
    "classic_thresholds",
    "expected_utilities",
    "load_decision_parameters",
    "parameter_thresholds",
    "surveillance_loss",
    "thresholds",
]
