"""What the tumor-board page shows for one lesion, computed by the package's own scorer.

:class:`LiveScorer` holds a fit and the decision parameters and answers the page's questions:

- :meth:`LiveScorer.answer` (every keystroke; milliseconds): P(recurrence) with its interval,
  the decision scale (which immediate action is best over which probabilities, in the lesion's
  context), the evidence waterfall, the BT-RADS and RANO categories, and the what-ifs: the same
  lesion with a pending PET result or with a given growth at the next scan;
- :meth:`LiveScorer.value` (on demand; about a second): :func:`model.decide`'s recommendation,
  its stability and the value of a PET or a rescan;
- :meth:`LiveScorer.report`: the lesion's report page, as ``rnbayes report`` writes it.

Every probability comes from :func:`model.scoring.predict.predict` on a record validated like a
patient file, so the page and ``rnbayes predict`` agree exactly. A wrong value comes back as a
list of ``{"field", "message"}`` for the page to show beside the field.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.errors import InputError, Problem
from model.decision.parameters import DecisionParameters
from model.fitting.sampling import Fit
from model.inputs.schema import Cohort, Field, is_missing

NOT_ON_THE_PAGE = ("lesion_id", "reference_diagnosis", "reference_source", "tumor_share_percent")
"""Fields the page does not ask for: the lesion is one lesion, and the label is an outcome."""

WHAT_IF_INTERVAL_WEEKS = 6.0
"""The rescan of the growth what-if: 6 weeks after the latest scan (the brief's 6-8 weeks)."""

VALUE_DRAWS = 250
"""Posterior draws of the pre-posterior analyses behind the value panel (``decide`` uses 1000)."""


@dataclass
class LiveScorer:
    """Answers for the live page, from one fit and one set of decision parameters.

    Parameters
    ----------
    fit : Fit
    params : DecisionParameters
    """

    fit: Fit
    params: DecisionParameters
    fields: tuple[Field, ...] = field(init=False)

    def __post_init__(self):
        from model.inputs.schema import schema_for

        schema = schema_for(self.fit.registry)
        self.fields = tuple(f for f in schema.fields if f.name not in NOT_ON_THE_PAGE)

    def cohort(self, record: Mapping[str, Any]) -> Cohort:
        """The form's values validated as a single-patient file (``source`` "the form").

        Raises
        ------
        model.core.errors.InputError
            A field the page does not have, or any value a patient file would be refused for.
        """
        from model.inputs.reading import cohort_from_records

        allowed = {f.name for f in self.fields}
        unknown = [str(k) for k in record if k not in allowed]
        if unknown:
            raise InputError(
                [Problem("the form", None, k, None, "a field of the page") for k in unknown]
            )
        values = {k: v for k, v in record.items() if v not in ("", None)}
        return cohort_from_records(values, source="the form", registry=self.fit.registry)

    def answer(
        self, record: Mapping[str, Any], what_if: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """P(recurrence), decision scale, waterfall, categories and what-ifs of one lesion.

        Parameters
        ----------
        record : mapping
            Field name to the value typed (text), as a patient JSON object holds it.
        what_if : mapping, optional
            ``pet_tbr`` (with ``pet_tracer``) and/or ``growth`` (fractional volume change at a
            rescan 6 weeks on).

        Returns
        -------
        dict
            ``errors`` (a list; empty when the record is valid) and, when valid, ``p``, ``low``,
            ``high``, ``ci_prob``, ``bands``, ``action``, ``terms``, ``categories``,
            ``what_if`` and ``notes``.
        """
        from model.decision.utilities import best_action, immediate_bands
        from model.decision.value import lesion_contexts
        from model.scoring.predict import encode_patients, predict

        try:
            cohort = self.cohort(record)
            table = predict(self.fit, cohort)
        except InputError as error:
            return {"errors": _field_errors(error)}
        row = table.iloc[0]
        _, lesions = encode_patients(self.fit, cohort)
        (context,) = lesion_contexts(lesions)
        p = float(row["p_recurrence"])
        terms = [{"name": "prior", "value": float(row["prior_log_odds"])}]
        terms += [
            {"name": str(name).removeprefix("llr_"), "value": float(value)}
            for name, value in row.items()
            if str(name).startswith("llr_") and np.isfinite(value) and value != 0
        ]
        return {
            "errors": [],
            "p": p,
            "low": float(row["ci_low"]),
            "high": float(row["ci_high"]),
            "ci_prob": table.attrs["ci_prob"],
            "bands": [
                {"action": a, "from": lo, "to": hi}
                for a, lo, hi in immediate_bands(self.params, context)
            ],
            "action": best_action(p, self.params, context),
            "context": {"symptomatic": context.symptomatic, "early": context.early},
            "terms": terms,
            "categories": {"btrads": _text(row["btrads"]), "rano": _text(row["rano"])},
            "what_if": self._what_ifs(cohort, what_if or {}, context, problems := []),
            "what_if_errors": problems,
            "notes": self._notes(row),
        }

    def _what_ifs(
        self, cohort: Cohort, what_if: Mapping[str, Any], context, problems: list[dict]
    ) -> list[dict]:
        """The scenarios asked for.

        A value that cannot be used skips its scenario and is put in ``problems``.
        """
        from model.decision.utilities import best_action
        from model.scoring.predict import predict

        table = cohort.table.copy()
        scenarios = []
        tbr = _what_if_number(what_if, "pet_tbr", 0.1, 20.0, problems)
        growth = _what_if_number(what_if, "growth", -0.95, 10.0, problems)
        if tbr is not None:
            pet = table.copy()
            pet["pet_tbr"] = tbr
            tracers = tuple(table["pet_tracer"].cat.categories)
            tracer = what_if.get("pet_tracer") or _text(table["pet_tracer"].iloc[0]) or "FET"
            if tracer not in tracers:
                expected = f"got {tracer!r}; expected one of {', '.join(tracers)}"
                problems.append({"field": "what_if.pet_tracer", "message": expected})
                tbr = None
        if tbr is not None:
            pet["pet_tracer"] = pd.Categorical(
                [tracer], categories=table["pet_tracer"].cat.categories
            )
            pet["pet_read"] = pd.Categorical([None], categories=table["pet_read"].cat.categories)
            scenarios.append(("pet", f"PET ({tracer}) TBR {tbr:.2f}", pet))
        latest = _latest_volume(table)
        if growth is not None and latest is not None:
            scan = _next_scan(table)
            if scan is not None:
                grown = table.copy()
                grown[f"volume_fu{scan}_ml"] = latest * (1.0 + growth)
                grown[f"interval_fu{scan}_weeks"] = WHAT_IF_INTERVAL_WEEKS
                grown[f"steroid_increase_fu{scan}"] = False  # planned with the dose unchanged
                label = f"rescan in 6 weeks, volume {100 * growth:+.0f}%"
                scenarios.append(("growth", label, grown))
        out = []
        for key, label, frame in scenarios:
            row = predict(self.fit, cohort.with_table(frame)).iloc[0]
            p = float(row["p_recurrence"])
            out.append({"key": key, "label": label, "p": p,
                        "action": best_action(p, self.params, context)})  # fmt: skip
        return out

    def _notes(self, row: pd.Series) -> list[str]:
        notes = []
        if not bool(row["center_seen"]):
            notes.append(
                "This center is not in the fit: its offsets are averaged over the "
                "between-center spread."
            )
        cohort = self.fit.provenance["cohort"]
        notes.append(
            f"Fitted to {cohort.get('name', 'an unnamed cohort')}"
            + (" (synthetic, calibrated to published figures)." if cohort.get("synthetic") else ".")
        )
        return notes

    def value(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The recommendation with its stability and the value of a PET or a rescan.

        Returns
        -------
        dict
            ``errors``, and when valid ``recommendation``, ``p_best``, ``margin``,
            ``evsi_pet``, ``evsi_rescan``, ``rescan_weeks``, ``tbr_treat_at``,
            ``tbr_manage_below``, ``growth_treat_at``, ``growth_manage_below``, ``units``.
        """
        from model.decision.value import decide

        try:
            row = decide(self.fit, self.cohort(record), self.params, n_draws=VALUE_DRAWS).iloc[0]
        except InputError as error:
            return {"errors": _field_errors(error)}
        keys = ("p_best", "margin", "evsi_pet", "evsi_rescan", "rescan_weeks", "tbr_treat_at",
                "tbr_manage_below", "growth_treat_at", "growth_manage_below")  # fmt: skip
        return {
            "errors": [],
            "recommendation": str(row["recommendation"]),
            **{k: _number(row[k]) for k in keys},
            "units": "quality-adjusted life-weeks",
        }

    def report(self, record: Mapping[str, Any], pdf: bool = False) -> tuple[str, bytes | None]:
        """The lesion's report page, as ``rnbayes report`` writes it, and its PDF if asked.

        Returns
        -------
        html : str
        pdf : bytes or None
            The page printed by headless Chromium, with ``pdf``.

        Raises
        ------
        model.core.errors.InputError
            When the record is not valid, or a PDF is asked for and Chromium is not installed.
        """
        from model.report.patient import lesion_reports

        cohort = self.cohort(record)
        with tempfile.TemporaryDirectory() as folder:
            files = lesion_reports(self.fit, cohort, Path(folder) / "report", self.params, pdf=pdf)
            html = files.pages[0].read_text(encoding="utf-8")
            return html, files.pdfs[0].read_bytes() if pdf else None


def _field_errors(error: InputError) -> list[dict[str, str]]:
    out = []
    for problem in error.problems:
        got = "" if problem.value is None else f"got {problem.value!r}; "
        out.append({"field": problem.column or "", "message": f"{got}expected {problem.expected}"})
    return out


def _text(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _what_if_number(
    what_if: Mapping[str, Any], key: str, low: float, high: float, problems: list[dict]
) -> float | None:
    """A what-if value as a plain number inside its range.

    Otherwise None, with a problem unless the value is absent.
    """
    from model.core.numbers import parse_number

    value = what_if.get(key)
    if value is None or value == "":
        return None
    number = parse_number(value.strip()) if isinstance(value, str) else None
    if number is None or not low <= number <= high:
        shown = value if isinstance(value, str) else type(value).__name__
        message = f"got {shown!r}; expected a number from {low:g} to {high:g}"
        problems.append({"field": f"what_if.{key}", "message": message})
        return None
    return number


def _latest_volume(table: pd.DataFrame) -> float | None:
    from model.inputs.vocabulary import MAX_FOLLOW_UPS

    columns = ["volume_baseline_ml", *(f"volume_fu{k}_ml" for k in range(1, MAX_FOLLOW_UPS + 1))]
    values = [float(table[c].iloc[0]) for c in columns if c in table]
    known = [v for v in values if np.isfinite(v)]
    return known[-1] if known else None


def _next_scan(table: pd.DataFrame) -> int | None:
    from model.inputs.vocabulary import MAX_FOLLOW_UPS

    for k in range(1, MAX_FOLLOW_UPS + 1):
        if not np.isfinite(float(table[f"volume_fu{k}_ml"].iloc[0])):
            return k
    return None
