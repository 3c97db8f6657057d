"""Per-lesion tumor-board pages and their index.

Each page is one self-contained HTML file: inline CSS, figures as inline SVG, no script and no
network fetch. Everything the user supplied is escaped by Jinja2's autoescaping.
A fit that failed its convergence gate gets pages only when forced, and they say so at the top.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from model import __version__
from model.categories import CATEGORY_COLUMNS
from model.core.console import terminal_text
from model.core.errors import InputError, Problem
from model.core.files import atomic_write_text, safe_file_stem, write_folder
from model.decision.parameters import DecisionParameters, load_decision_parameters
from model.decision.thresholds import ACTIONS, classic_thresholds
from model.decision.utilities import LesionContext, immediate_bands
from model.decision.value import decide
from model.fitting.sampling import Fit
from model.inputs.encode import NONE, UNSEEN_CENTER, VALUE
from model.inputs.schema import Cohort, follow_up_columns, is_missing, lesion_name
from model.inputs.vocabulary import MAX_FOLLOW_UPS
from model.likelihood.tables import center_columns
from model.modalities.registry import Registry
from model.modalities.spec import Marker
from model.report import figures
from model.scoring.curves import class_log_densities
from model.scoring.predict import (
    PatientsLike,
    as_cohort,
    as_fit,
    bevacizumab_window,
    encode_patients,
    predict,
    score_tables,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"


def term_names(registry: Registry) -> dict[str, str]:
    """The evidence breakdown's columns and their labels, in waterfall order."""
    return {
        "prior_log_odds": "prior (center, time since radiotherapy, MGMT, re-irradiation)",
        **{f"llr_{m.name}": m.label for m in registry},
        "llr_symptoms": "symptoms",
        "llr_growth": "growth (follow-up scans)",
        "llr_other_lesions": "the patient's other lesions (shared symptoms, class concordance)",
    }


def reference_lines(kind) -> list[float]:
    """Cutoffs drawn on a kind's density plot: its classic cutoff and the reads' cutoffs."""
    return sorted({kind.classic_cutoff, *kind.read_cutoffs})


def environment() -> Environment:
    """The Jinja2 environment of the report templates, autoescaping everything.

    Control and format characters in a value (an escape sequence in a center's name, say) are
    shown as escapes, as on the terminal: HTML has no use for them, and some browsers act on them.
    """
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_printable,
    )


def _printable(value):
    """A template value with control characters escaped; markup we made passes as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return terminal_text(value)
    return value


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`lesion_reports` wrote."""

    index: Path
    pages: list[Path]
    pdfs: list[Path]
    under_bevacizumab: list[str]
    """Ids of the lesions reported under the bevacizumab override."""
    predictions: pd.DataFrame
    """:func:`model.predict`'s table of the lesions, as the pages show it."""
    decisions: pd.DataFrame
    """:func:`model.decide`'s table of the lesions, as the pages show it."""


def require_gate(fit: Fit, force: bool) -> None:
    """Refuse a fit that failed its convergence gate unless forced."""
    if not fit.gate.passed and not force:
        failures = "; ".join(fit.gate.failures())
        raise InputError(
            [
                Problem(
                    "fit",
                    None,
                    None,
                    None,
                    "a fit that passed its convergence gate "
                    f"({failures}); use --force to report anyway, marked as failed",
                )
            ]
        )


def lesion_reports(
    fit: Fit | str | os.PathLike,
    patients: PatientsLike,
    out_dir: str | os.PathLike,
    params: DecisionParameters | None = None,
    *,
    pdf: bool = False,
    force: bool = False,
    ci_prob: float = 0.90,
    allow_bevacizumab: bool = False,
) -> ReportFiles:
    """Write one report page per lesion, and an index.

    Parameters
    ----------
    fit : Fit or path
    patients : path, Cohort, DataFrame, dict or list of dicts
    out_dir : path-like
        Folder for ``index.html`` and one ``NNN_<id>.html`` per lesion (and ``.pdf`` with ``pdf``).
        Written whole and swapped in: afterwards it holds exactly this run's files. An existing
        folder must be empty or an earlier report's.
    params : DecisionParameters, optional
        Defaults to ``data/decision.toml``.
    pdf : bool, default False
        Also print each page to PDF with headless Chromium.
    force : bool, default False
        Report a fit that failed its convergence gate (each page then says so at the top).
    ci_prob : float, default 0.90
    allow_bevacizumab : bool, default False
        Report lesions scanned under bevacizumab, scored as if untreated; each such page says so
        at its top. By default they are refused (see :func:`model.predict`).

    Returns
    -------
    ReportFiles
    """
    fit = as_fit(fit)
    require_gate(fit, force)
    params = params if params is not None else load_decision_parameters()
    cohort = as_cohort(patients, fit.registry)
    predictions = predict(fit, cohort, ci_prob=ci_prob, allow_bevacizumab=allow_bevacizumab)
    decisions = decide(fit, cohort, params, allow_bevacizumab=allow_bevacizumab)
    _, lesions = encode_patients(fit, cohort, allow_bevacizumab)
    out = Path(out_dir)
    env = environment()
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    provenance = _provenance(fit, params)
    names: list[str] = []

    def write(folder: Path) -> None:
        rows = []
        for i in range(len(cohort)):
            lesion = _lesion_context(cohort, predictions, lesions, i, fit, ci_prob)
            weeks = decisions["rescan_weeks"].iloc[i]
            labels = figures.action_labels(weeks if np.isfinite(weeks) else params.rescan_weeks)
            context = {
                "lesion": lesion,
                "decision": _decision_context(
                    decisions.iloc[i], params, decisions.attrs["pet_tracer"]
                ),
                "provenance": provenance,
                "ci_prob": ci_prob,
                "created": created,
                "labels": labels,
            }
            context["figures"] = _figures(context, fit, lesions, i)
            name = f"{i + 1:03d}_{safe_file_stem(lesion['name'])}"
            names.append(name)
            page = atomic_write_text(
                folder / f"{name}.html", env.get_template("lesion.html.j2").render(**context)
            )
            if pdf:
                from model.report.pdf import print_pdf

                print_pdf(page, folder / f"{name}.pdf")
            rows.append(
                {
                    "href": page.name,
                    "name": lesion["name"],
                    "center": lesion["center"],
                    "p": lesion["p"],
                    "low": lesion["low"],
                    "high": lesion["high"],
                    "recommendation": labels[context["decision"]["recommendation"]],
                    "categories": lesion["categories"],
                }
            )
        index = env.get_template("index.html.j2").render(
            rows=rows, provenance=provenance, ci_prob=ci_prob, created=created
        )
        atomic_write_text(folder / "index.html", index)

    write_folder(out, write, owner="report")
    return ReportFiles(
        out / "index.html",
        [out / f"{n}.html" for n in names],
        [out / f"{n}.pdf" for n in names] if pdf else [],
        [str(i) for i in predictions["patient_id"][predictions["under_bevacizumab"]]],
        predictions,
        decisions,
    )


def _provenance(fit: Fit, params: DecisionParameters) -> dict:
    p, gate = fit.provenance, fit.gate
    cohort, sampler = p["cohort"], p["sampler"]
    gate_text = (
        f"{'passed' if gate.passed else 'FAILED'}: max R-hat {gate.max_rhat:.3f}, min ESS bulk "
        f"{gate.min_ess_bulk:.0f} / tail {gate.min_ess_tail:.0f}, {gate.divergences} divergences"
    )
    rows = [
        ("model fitted to", cohort["name"]),
        (
            "training cohort",
            f"{cohort['n_lesions']} lesions, {len(cohort['centers'])} centers, "
            f"{cohort['n_labelled']} labelled ({cohort['n_histopathology']} histopathology)",
        ),
        ("fit created", p["created"]),
        (
            "sampler",
            f"{sampler['sampler']}, {sampler['chains']} chains x {sampler['draws']} draws, "
            f"seed {sampler['seed']}",
        ),
        ("convergence gate", gate_text),
        ("model version", f"{p['model_version']} (spec {p['model_spec_hash'][:12]})"),
        ("decision parameters", ", ".join(f"{k} {v:g}" for k, v in params.values().items())),
    ]
    return {
        "rows": rows,
        "cohort": cohort["name"],
        "synthetic": bool(cohort.get("synthetic")),
        "gate_passed": gate.passed,
        "gate_failures": "; ".join(gate.failures()),
        "package_version": __version__,
        "bevacizumab_window_weeks": bevacizumab_window(fit),
    }


def _format(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _lesion_context(
    cohort: Cohort, predictions: pd.DataFrame, lesions, i: int, fit: Fit, ci_prob
) -> dict:
    row = cohort.table.iloc[i]
    inputs = []
    for name, value in row.items():
        if name not in ("patient_id", "lesion_id", "center") and not is_missing(value):
            inputs.append((cohort.schema.by_name[name].description, _format(value)))
    prediction = predictions.iloc[i]
    absent = {m.name for m in fit.registry if lesions.evidence[m.name].state[i] == NONE}
    siblings = np.flatnonzero(lesions.patient == lesions.patient[i])
    if len(siblings) == 1:
        absent.add("other_lesions")
    context = {
        "patient_id": str(row["patient_id"]),
        "name": lesion_name(row["patient_id"], row["lesion_id"]),
        "patient": _patient_context(predictions, siblings, i),
        "center": str(row["center"]),
        "center_seen": bool(prediction["center_seen"]),
        "inputs": inputs,
        "p": float(prediction["p_recurrence"]),
        "low": float(prediction["ci_low"]),
        "high": float(prediction["ci_high"]),
        "log_odds": float(prediction["log_odds"]),
        "terms": [
            (label, float(prediction[column]))
            for column, label in term_names(fit.registry).items()
            if column.removeprefix("llr_") not in absent
        ],
        "not_done": [m.label for m in fit.registry if m.name in absent],
        "has_pet": "pet" in lesions.evidence and bool(lesions.evidence["pet"].state[i] != NONE),
        "under_bevacizumab": bool(prediction["under_bevacizumab"]),
        "bevacizumab_weeks": row["bevacizumab_last_dose_weeks"],
        "categories": {
            column: prediction[column] for column in (*CATEGORY_COLUMNS, "category_flag")
        },
        "sequential": _sequential(
            cohort, lesions, i, fit, ci_prob, bool(prediction["under_bevacizumab"])
        ),
    }
    return context


def _patient_context(predictions: pd.DataFrame, siblings: np.ndarray, i: int) -> dict | None:
    """The patient's lesions side by side, and P(any of them is recurrence); None for one."""
    if len(siblings) == 1:
        return None
    rows = predictions.iloc[siblings]
    return {
        "lesions": [
            {
                "lesion_id": str(r.lesion_id),
                "p": r.p_recurrence,
                "low": r.ci_low,
                "high": r.ci_high,
                "this": int(j) == i,
            }
            for j, r in zip(siblings, rows.itertuples(), strict=True)
        ],
        "p": float(predictions["p_patient_recurrence"].iloc[i]),
        "low": float(predictions["patient_ci_low"].iloc[i]),
        "high": float(predictions["patient_ci_high"].iloc[i]),
    }


def _sequential(
    cohort: Cohort, lesions, i: int, fit: Fit, ci_prob: float, under_bevacizumab: bool
) -> list[dict]:
    """P(recurrence) with the evidence up to each scan (baseline imaging, follow-up 1, ...).

    Each step also gives the log-odds its rescan added (``added``), by its growth and by the marker
    values measured again at it: the rescans share the lesion's growth rate (and its rate of
    change of each marker), so a rescan that only confirms the earlier growth adds less than the
    first did.
    The patient's other lesions are scored with it at every step, as they are for its probability.

    ``under_bevacizumab``: the lesion was scored under the explicit override, and so is each step.
    """
    scans = int(lesions.growth_mask[i].sum())
    if scans == 0:
        return []
    siblings = np.flatnonzero(lesions.patient == lesions.patient[i])
    patient = cohort.table.iloc[siblings]
    own = int(np.flatnonzero(siblings == i)[0])
    followed = [m for m in fit.registry.markers if m.follow_up]
    # the marker values measured at each follow-up scan, left out with the scan
    later = [[follow_up_columns(m)[j] for m in followed] for j in range(MAX_FOLLOW_UPS)]
    variants = []
    for m in range(scans + 1):
        variant = patient.copy()
        variant["patient_id"] = f"step {m}"  # each step its own patient
        for j in range(m + 1, MAX_FOLLOW_UPS + 1):
            for column in (f"volume_fu{j}_ml", f"interval_fu{j}_weeks", *later[j - 1]):
                variant.iloc[own, variant.columns.get_loc(column)] = np.nan
            variant.iloc[own, variant.columns.get_loc(f"steroid_increase_fu{j}")] = pd.NA
        variants.append(variant)
    table = pd.concat(variants, ignore_index=True)
    result = predict(
        fit, cohort.with_table(table), ci_prob=ci_prob, allow_bevacizumab=under_bevacizumab
    ).iloc[own :: len(siblings)]
    labels = ["baseline imaging", *(f"follow-up {j}" for j in range(1, scans + 1))]
    rescans = result[["llr_growth", *(f"llr_{m.name}" for m in followed)]].sum(axis=1)
    added = np.diff(rescans.to_numpy(), prepend=rescans.iloc[0])
    return [
        {
            "label": label,
            "p": r.p_recurrence,
            "low": r.ci_low,
            "high": r.ci_high,
            "added": float(step),
        }
        for label, r, step in zip(labels, result.itertuples(), added, strict=True)
    ]


def _decision_context(row: pd.Series, params: DecisionParameters, tracer: str) -> dict:
    flips = _flip_lines(row, tracer)
    evsi_rescan = row["evsi_rescan"]
    situation = LesionContext(bool(row["symptomatic"]), bool(row["early_window"]))
    return {
        "recommendation": row["recommendation"],
        "margin": float(row["margin"]),
        "bands": immediate_bands(params, situation),
        "situation": situation,
        "classic": classic_thresholds(params),
        "rescan_weeks": row["rescan_weeks"],
        "evpi": float(row["evpi"]),
        "evsi_pet": float(row["evsi_pet"]),
        "evsi_rescan": f"{evsi_rescan:.2f}"
        if np.isfinite(evsi_rescan)
        else "not computed (three follow-ups already)",
        "pet_tracer": tracer,
        "flips": flips,
        "expected": {a: float(row[f"eu_{a}"]) for a in ACTIONS},
        "p_best": float(row["p_best"]),
        "expected_loss": float(row["expected_loss"]),
        "sensitive_to": row["sensitive_to"],
    }


def _flip_lines(row: pd.Series, tracer: str) -> list[str]:
    lines = []
    if np.isfinite(row["tbr_treat_at"]):
        lines.append(
            f"A {tracer} TBR of {row['tbr_treat_at']:.2f} or more would make treating "
            "as recurrence the best immediate action."
        )
    if np.isfinite(row["tbr_manage_below"]):
        lines.append(
            f"A {tracer} TBR of {row['tbr_manage_below']:.2f} or less would make "
            "managing as necrosis the best immediate action (under surveillance, or by treating "
            "the necrosis)."
        )
    if np.isfinite(row["growth_treat_at"]):
        lines.append(
            f"Growth of {100 * row['growth_treat_at']:+.0f}% or more at the next rescan would make "
            "treating the best immediate action."
        )
    if np.isfinite(row["growth_manage_below"]):
        lines.append(
            f"A volume change of {100 * row['growth_manage_below']:+.0f}% or less at the next "
            "rescan would make managing as necrosis the best immediate action."
        )
    return lines or ["No plausible PET or rescan result would change the best immediate action."]


def _figures(context: dict, fit: Fit, lesions, i: int) -> dict:
    """The page's figures as inline SVG (``densities`` and ``sequential`` None where empty)."""
    lesion, decision, labels = context["lesion"], context["decision"], context["labels"]
    densities = _density_figure(fit, lesions, i, context["ci_prob"])
    result = {
        "probability": figures.inline_svg(
            figures.probability_figure(
                lesion["p"],
                lesion["low"],
                lesion["high"],
                decision["bands"],
                decision["recommendation"],
                labels,
            ),
            "P(recurrence) on the decision scale, with the best next step",
        ),
        "waterfall": figures.inline_svg(
            figures.waterfall_figure(
                {
                    "prior": lesion["terms"][0][1],
                    **{k.split(" (")[0]: v for k, v in lesion["terms"][1:]},
                },
                lesion["p"],
            ),
            "evidence waterfall",
        ),
        "utilities": figures.inline_svg(
            figures.utilities_figure(decision["expected"], decision["recommendation"], labels),
            "expected utility of each action",
        ),
        "densities": None
        if densities is None
        else figures.inline_svg(densities, "class-conditional densities"),
        "sequential": None,
    }
    if lesion["sequential"]:
        s = lesion["sequential"]
        result["sequential"] = figures.inline_svg(
            figures.sequential_figure(
                [r["label"] for r in s],
                [r["p"] for r in s],
                [r["low"] for r in s],
                [r["high"] for r in s],
            ),
            "probability after each scan",
        )
    return result


def _density_figure(fit: Fit, lesions, i: int, ci_prob: float):
    """Each marker's class densities at the lesion's center, where the lesion has the marker.

    Returns
    -------
    matplotlib.figure.Figure or None
        None for a lesion without any marker.
    """
    tables = score_tables(fit)
    thin = np.linspace(0, tables.n_draws - 1, min(tables.n_draws, 1000)).round().astype(int)
    tables = tables.select(thin)
    center = lesions.center[i]
    column = int(center_columns(lesions, len(fit.centers))[i])
    early = float(lesions.early_weight[i])
    label = "a new center" if center == UNSEEN_CENTER else fit.centers[center]
    if early >= 0.05:  # the treatment-effect location visibly moved
        label += f", pseudoprogression-window weight {early:.2f}"
    tail = (1 - ci_prob) / 2
    panels = []
    for slot, marker in enumerate(fit.registry):
        evidence = lesions.evidence[marker.name]
        if not isinstance(marker, Marker) or evidence.state[i] == NONE:
            continue
        kind = marker.kinds[evidence.kind[i]]
        loc, sd = tables.moments.at(slot, evidence.kind[i], column, early)
        log_grid = np.linspace((loc - 4 * sd).min(), (loc + 4 * sd).max(), 300)
        density = np.exp(
            class_log_densities(tables, fit.registry, kind.name, column, np.exp(log_grid), early)
        ).transpose(2, 0, 1)  # (2, S, G)
        bands = np.stack(
            [density.mean(axis=1), *np.quantile(density, [tail, 1 - tail], axis=1)], axis=1
        )
        value = float(np.exp(evidence.value[i]))
        shown = value if evidence.state[i] == VALUE else None
        lines = reference_lines(kind)
        if shown is None and not np.isclose(lines, value).any():  # a read's own cutoff, once
            lines = sorted([*lines, value])
        panels.append(figures.DensityPanel(kind.label, np.exp(log_grid), bands, shown, lines))
    return figures.density_figure(panels, label) if panels else None
