"""rnbayes: Bayesian decision support for recurrence vs radiation necrosis after glioma therapy.

The public API is re-exported here and imported lazily, so that ``import model`` (and the
``rnbayes`` command's start-up) stays fast: PyMC is only imported when a model is built or fitted.

Decision support, not a diagnosis. The bundled cohort is synthetic.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Cohort": "model.inputs.schema",
    "load_cohort": "model.inputs.reading",
    "load_patient": "model.inputs.reading",
    "cohort_from_records": "model.inputs.reading",
    "summarize": "model.inputs.schema",
    "InputError": "model.core.errors",
    "Problem": "model.core.errors",
    "Parameters": "model.inputs.parameters",
    "load_parameters": "model.inputs.parameters",
    "simulate": "model.checks.simulation",
    "SimulationTruth": "model.checks.simulation",
    "fit": "model.fitting.sampling",
    "load_fit": "model.fitting.sampling",
    "Fit": "model.fitting.sampling",
    "SamplerSettings": "model.fitting.sampling",
    "predict": "model.scoring.predict",
    "radiology_categories": "model.categories",
    "recurrence_draws": "model.scoring.predict",
    "write_predictions": "model.scoring.stream",
    "bundled": "model.core.files",
    "decide": "model.decision.value",
    "decision_curve": "model.decision.curves",
    "load_decision_parameters": "model.decision.parameters",
    "DecisionParameters": "model.decision.parameters",
}

#: Subpackages reachable as attributes after a plain ``import model`` (``model.decision``, ...).
_SUBPACKAGES = frozenset(
    {
        "checks",
        "core",
        "cutoffs",
        "decision",
        "evaluation",
        "fitting",
        "inputs",
        "likelihood",
        "modalities",
        "report",
        "scoring",
        "synthesis",
    }
)

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'model' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_SUBPACKAGES])
