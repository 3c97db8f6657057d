"""HL7 FHIR R4 results: one Bundle per lesion, for the hospital's record.

Each Bundle (type ``collection``) holds:

- the ``Patient``, its center as an ``Organization`` and the lesion as a ``BodyStructure``;
- one ``Observation`` per input (codes in :mod:`model.inputs.fhir`);
- a ``RiskAssessment``: ``prediction.outcome`` *tumour recurrence*, ``probabilityDecimal`` the
  posterior P(recurrence), the interval and the evidence in its ``rationale``, and a ``basis``
  that references every input Observation;
- a ``DiagnosticReport`` whose ``presentedForm`` is the lesion's self-contained HTML report
  (``rnbayes report``), base64-encoded, with the recommendation as its ``conclusion``.

Every Bundle is checked against the FHIR R4B models of ``fhir.resources`` before it is written
(R4B is R4 with technical corrections; these resources are the same in both). Identifiers are
UUIDs derived from the fit's checksum and the lesion, so the same fit and lesion give the same
Bundle ids. The RiskAssessment and the report say that this is decision support, not a
diagnosis, and whether the fit's cohort is synthetic.
"""

from __future__ import annotations

import base64
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.console import DECISION_SUPPORT
from model.core.files import atomic_write_text, safe_file_stem, write_folder
from model.core.outputs import json_text
from model.inputs.fhir import (
    IDENTIFIER_SYSTEMS,
    UCUM,
    observation_code,
    sent_fields,
    ucum_unit,
)
from model.inputs.schema import Cohort, Field, is_missing
from model.report.patient import ReportFiles

OUTCOME_SYSTEM = "urn:rnbayes:outcome"
REPORT_SYSTEM = "urn:rnbayes:report"


def lesion_bundle(
    cohort: Cohort,
    i: int,
    prediction: pd.Series,
    recommendation: str,
    html: str,
    provenance: dict[str, Any],
    issued: datetime,
) -> dict[str, Any]:
    """The Bundle of lesion ``i`` of ``cohort``.

    Parameters
    ----------
    cohort : Cohort
    i : int
        The lesion's position in the cohort.
    prediction : pandas.Series
        Its row of :func:`model.scoring.predict.predict` (with ``attrs`` ``ci_prob`` passed in
        ``provenance``).
    recommendation : str
        The recommended action, in words.
    html : str
        The lesion's report page.
    provenance : dict
        ``checksum`` (the fit's), ``cohort`` (its name), ``synthetic`` (bool), ``ci_prob``.
    issued : datetime
        When the results were made (timezone-aware).

    Returns
    -------
    dict
        The Bundle as JSON-ready Python values.
    """
    row = cohort.table.iloc[i]
    key = f"{provenance['checksum']}:{row['patient_id']}:{row['lesion_id']}"

    def url(what: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'rnbayes:{key}:{what}')}"

    patient, lesion, center = url("patient"), url("lesion"), url("center")
    entries = [
        _entry(center, {"resourceType": "Organization", **_identified("center", row["center"])}),
        _entry(
            patient,
            {
                "resourceType": "Patient",
                **_identified("patient_id", row["patient_id"]),
                "managingOrganization": {"reference": center},
            },
        ),
        _entry(
            lesion,
            {
                "resourceType": "BodyStructure",
                **_identified("lesion_id", row["lesion_id"]),
                "description": "enhancing lesion on surveillance MRI after chemoradiotherapy",
                "patient": {"reference": patient},
            },
        ),
    ]
    observations = []
    for field in sent_fields(cohort.schema.fields):
        value = _value(field, row[field.name])
        if value is None:
            continue
        reference = url(f"observation:{field.name}")
        observations.append(reference)
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "code": observation_code(field),
            "subject": {"reference": patient},
            "focus": [{"reference": lesion}],
            **value,
        }
        entries.append(_entry(reference, resource))
    p = float(prediction["p_recurrence"])
    level = round(100 * provenance["ci_prob"])
    interval = (
        f"{level}% interval {prediction['ci_low']:.3f} to {prediction['ci_high']:.3f} "
        "(posterior draws)"
    )
    cohort_note = f"Fitted to: {provenance['cohort']}" + (
        " (synthetic, calibrated to published figures)." if provenance["synthetic"] else "."
    )
    entries.append(
        _entry(
            url("risk"),
            {
                "resourceType": "RiskAssessment",
                "status": "final",
                "subject": {"reference": patient},
                "occurrenceDateTime": issued.isoformat(timespec="seconds"),
                "method": {"text": "rnbayes hierarchical Bayesian latent-class model"},
                "basis": [{"reference": r} for r in observations],
                "prediction": [
                    {
                        "outcome": {
                            "coding": [
                                {
                                    "system": OUTCOME_SYSTEM,
                                    "code": "recurrence",
                                    "display": "tumour recurrence",
                                }
                            ],
                            "text": "tumour recurrence (versus radiation necrosis or treatment "
                            "effect)",
                        },
                        "probabilityDecimal": p,
                        "rationale": f"Posterior mean P(recurrence) {p:.3f}; {interval}. "
                        + _evidence_text(prediction),
                    }
                ],
                "note": [{"text": f"{DECISION_SUPPORT} {cohort_note}{_override(prediction)}"}],
            },
        )
    )
    entries.append(
        _entry(
            url("report"),
            {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {
                    "coding": [
                        {
                            "system": REPORT_SYSTEM,
                            "code": "recurrence-vs-necrosis",
                            "display": "tumour recurrence versus radiation necrosis",
                        }
                    ],
                    "text": "rnbayes tumour-board report",
                },
                "subject": {"reference": patient},
                "issued": issued.isoformat(timespec="seconds"),
                "result": [{"reference": r} for r in observations],
                "conclusion": f"P(recurrence) {p:.3f} ({interval}); recommended: "
                f"{recommendation}. {DECISION_SUPPORT} {cohort_note}",
                "presentedForm": [
                    {
                        "contentType": "text/html",
                        "language": "en",
                        "data": base64.b64encode(html.encode("utf-8")).decode("ascii"),
                        "title": "rnbayes tumour-board report",
                    }
                ],
            },
        )
    )
    return {"resourceType": "Bundle", "id": url("bundle")[9:], "type": "collection",
            "timestamp": issued.isoformat(timespec="seconds"), "entry": entries}  # fmt: skip


def _override(prediction: pd.Series) -> str:
    if not bool(prediction.get("under_bevacizumab", False)):
        return ""
    return (
        " Scanned under bevacizumab, which suppresses enhancement and perfusion: scored as if "
        "untreated only because the user overrode the refusal (--allow-bevacizumab)."
    )


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource}


def _identified(field: str, value: Any) -> dict[str, Any]:
    if is_missing(value):
        return {}
    return {"identifier": [{"system": IDENTIFIER_SYSTEMS[field], "value": str(value)}]}


def _value(field: Field, value: Any) -> dict[str, Any] | None:
    """The Observation's value of one cell, or None when the cell is missing."""
    if is_missing(value):
        return None
    if field.kind == "number":
        unit = ucum_unit(field)
        quantity = {"value": float(value), "unit": unit, "system": UCUM, "code": unit}
        return {"valueQuantity": quantity}
    if field.kind == "yesno":
        return {"valueBoolean": bool(value)}
    return {"valueString": str(value)}


def _evidence_text(prediction: pd.Series) -> str:
    terms = [
        f"{name.removeprefix('llr_')} {value:+.2f}"
        for name, value in prediction.items()
        if str(name).startswith("llr_") and np.isfinite(value) and value != 0
    ]
    prior = prediction["prior_log_odds"]
    return f"Prior log-odds {prior:+.2f}; log likelihood ratios: " + (
        ", ".join(terms) if terms else "none"
    )


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Check a Bundle against the FHIR R4B models; a failure is a bug here, so it raises.

    Raises
    ------
    pydantic.ValidationError
    """
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)


def write_bundles(
    fit,
    patients,
    out_dir: str | os.PathLike,
    params=None,
    *,
    report: ReportFiles | None = None,
    ci_prob: float = 0.90,
    force: bool = False,
    allow_bevacizumab: bool = False,
) -> list[Path]:
    """Write one FHIR Bundle per lesion into a folder (written whole, as the reports are).

    Parameters
    ----------
    fit : Fit or path
    patients : path, Cohort, DataFrame, dict or list of dicts
    out_dir : path-like
        Folder for ``NNN_<id>.json``, one per lesion.
    params : DecisionParameters, optional
    report : ReportFiles, optional
        What ``rnbayes report`` has just written for these lesions (pages, predictions and
        decisions); otherwise the pages are rendered for the Bundles.
    ci_prob : float, default 0.90
    force, allow_bevacizumab : bool
        As for :func:`model.report.patient.lesion_reports`.

    Returns
    -------
    list of Path
        The Bundles written.
    """
    from model.decision.parameters import load_decision_parameters
    from model.report.patient import lesion_reports
    from model.scoring.predict import as_cohort, as_fit

    fit = as_fit(fit)
    params = params if params is not None else load_decision_parameters()
    cohort = as_cohort(patients, fit.registry)
    if report is None:
        with tempfile.TemporaryDirectory() as folder:
            report = lesion_reports(
                fit, cohort, Path(folder) / "pages", params, force=force, ci_prob=ci_prob,
                allow_bevacizumab=allow_bevacizumab,
            )  # fmt: skip
            htmls = [page.read_text(encoding="utf-8") for page in report.pages]
    else:
        htmls = [page.read_text(encoding="utf-8") for page in report.pages]
    predictions, decisions = report.predictions, report.decisions
    cohort_name = fit.provenance["cohort"]
    provenance = {
        "checksum": fit.provenance["checksum"],
        "cohort": cohort_name.get("name", "unknown"),
        "synthetic": bool(cohort_name.get("synthetic")),
        "ci_prob": ci_prob,
    }
    issued = datetime.now(UTC).replace(microsecond=0)
    bundles = []
    for i in range(len(cohort)):
        bundle = lesion_bundle(
            cohort, i, predictions.iloc[i], str(decisions["recommendation"].iloc[i]),
            htmls[i], provenance, issued,
        )  # fmt: skip
        validate_bundle(bundle)
        stem = "_".join(str(v) for v in predictions.iloc[i][["patient_id", "lesion_id"]] if v)
        bundles.append((f"{i + 1:03d}_{safe_file_stem(stem)}.json", bundle))

    def write(folder: Path) -> None:
        for name, bundle in bundles:
            atomic_write_text(folder / name, json_text(bundle, indent=1) + "\n")

    out = write_folder(out_dir, write, owner="fhir")
    return [out / name for name, _ in bundles]
