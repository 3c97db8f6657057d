"""The model card: a TRIPOD+AI appendix filled from a fit, its cohort and an evaluation.

Every item of :data:`~model.report.tripod_ai.TRIPOD_AI` gets one of four statuses:

- ``filled``: what the fit file, the training cohort or the evaluation records answers it;
- ``partly filled``: those answer part of it, and the rest (named) is the authors';
- ``authors``: only the authors can answer it (ethics, funding, eligibility, ...);
- ``not applicable``: an evaluation-only item (E) when no evaluation is given.

Nothing is invented: a filled item states facts recorded in the fit's checksummed provenance, the
cohort whose digest matches it, or the evaluation document bound to the same fit.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model import __version__
from model.core.errors import InputError, Problem
from model.evaluation.display import METRIC_LABELS, interval_text, number_text
from model.fitting.sampling import Fit
from model.report.tripod_ai import TRIPOD_AI, ChecklistItem

FILLED, PARTLY, AUTHORS, NOT_APPLICABLE = "filled", "partly filled", "authors", "not applicable"

INTENDED_USE = (
    "Adults treated with surgery and chemoradiotherapy (typically 60 Gy in 30 fractions) for "
    "high-grade glioma whose surveillance MRI shows a new or enlarging enhancing lesion, which is "
    "either tumour recurrence or radiation necrosis / treatment effect. The model gives the "
    "posterior probability of recurrence with its uncertainty and an evidence breakdown, and "
    "supports the neuro-oncology tumour board's choice between surveillance, biopsy and "
    "treatment, and whether a PET or one more scan is worth waiting for. Intended users: tumour "
    "boards, neuroradiologists and clinical researchers."
)

NOT_A_DIAGNOSIS = (
    "Decision support, not a diagnosis: the probabilities come from a model fitted to the named "
    "cohort and are one input to the tumour board's judgement, not a replacement for it."
)

SYNTHETIC = (
    "The development cohort is synthetic: drawn from the model with parameters calibrated to "
    "published figures. It is not patient data, and no performance figure in this card is "
    "evidence about patients."
)

EVALUATION_FILES = {
    "evaluation.json": "rnbayes evaluate --out",
    "crossval.json": "rnbayes crossval --out",
}
"""The documents an evaluation folder may hold, and the command that writes each."""


@dataclass(frozen=True)
class Evaluation:
    """An evaluation document (``rnbayes evaluate`` or ``crossval``) bound to the card's fit."""

    design: str  # "external validation", "in-sample evaluation", "leave-one-center-out ..."
    file: str  # the document's name, with the command that wrote it
    cohort: str
    ci_prob: float
    labels: dict[str, int]
    scores: pd.DataFrame
    unseen_centers: list[str]
    failed_gate: list[str]
    follow_up: pd.DataFrame | None  # scores against follow-up labels, through their accuracy


@dataclass(frozen=True)
class CenterTable:
    """The training cohort per center: lesions, patients and reference labels."""

    rows: pd.DataFrame  # center, lesions, patients, recurrence, necrosis, follow_up, unlabelled


@dataclass(frozen=True)
class CardItem:
    """One checklist item as the card reports it."""

    item: ChecklistItem
    status: str
    text: str  # what rnbayes fills in ("" when nothing)
    authors: str  # what is left to the authors ("" when nothing)


@dataclass(frozen=True)
class ModelCard:
    """Everything the Markdown and HTML renderings show."""

    fit_name: str
    trained_on: str
    synthetic: bool
    items: list[CardItem]
    centers: pd.DataFrame | None
    evaluation: Evaluation | None
    created: str
    version: str


def load_evaluation(folder: str | os.PathLike, fit: Fit) -> Evaluation:
    """Read an evaluation folder's document and check that it evaluates this fit.

    ``evaluation.json`` (``rnbayes evaluate --out``) must name the fit's checksum;
    ``crossval.json`` (``rnbayes crossval --out``) must be a study of the fit's training cohort.

    Raises
    ------
    InputError
        No document, a document that is not one, or one about another fit or cohort.
    """
    folder = Path(folder)
    found = [name for name in EVALUATION_FILES if (folder / name).is_file()]
    if len(found) != 1:
        raise InputError(
            [
                Problem(
                    folder.name,
                    None,
                    None,
                    ", ".join(found) or "no evaluation document",
                    "a folder written by 'rnbayes evaluate --out' (evaluation.json) or "
                    "'rnbayes crossval --out' (crossval.json), holding exactly one of them",
                )
            ]
        )
    name = found[0]
    document = _read_document(folder / name)
    if name == "evaluation.json":
        _require_equal(name, "fit_checksum", document, fit.provenance["checksum"], "this fit")
        design = "in-sample evaluation" if document["in_sample"] else "external validation"
        failed_gate: list[str] = []
    else:
        digest = fit.provenance["cohort"]["digest"]
        _require_equal(name, "cohort_digest", document, digest, "the fit's training cohort")
        design = "leave-one-center-out validation (internal-external)"
        failed_gate = list(document["failed_gate"])
    return Evaluation(
        design=design,
        file=f"{name} ({EVALUATION_FILES[name]})",
        cohort=str(document["cohort"]),
        ci_prob=float(document["ci_prob"]),
        labels={k: int(v) for k, v in document["labels"].items()},
        scores=pd.DataFrame(document["scores"]),
        unseen_centers=[str(c) for c in document["unseen_centers"]],
        failed_gate=failed_gate,
        follow_up=pd.DataFrame(document["follow_up_scores"])
        if document.get("follow_up_scores")
        else None,
    )


REQUIRED_KEYS = ("cohort", "ci_prob", "labels", "scores", "unseen_centers")


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(
            [Problem(path.name, None, None, None, f"a JSON document ({error})")]
        ) from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(document, dict) or k not in document]
    if missing:
        raise InputError(
            [
                Problem(path.name, None, key, None, "the entry rnbayes writes there")
                for key in missing
            ]
        )
    problems = [
        Problem(path.name, None, f"{key}[{i}]", str(row)[:80], SCORE_ROW)
        for key in ("scores", "follow_up_scores")
        for i, row in enumerate(document.get(key) or [])
        if not _score_row(row)
    ]
    if not isinstance(document["scores"], list) or not document["scores"]:
        problems.append(Problem(path.name, None, "scores", None, "a list of " + SCORE_ROW))
    if problems:
        raise InputError(problems)
    return document


SCORE_ROW = (
    "a score as rnbayes writes it: group (text), n and n_recurrence (whole numbers), metric "
    "(text), value and its four interval bounds (numbers or null), flagged (true or false)"
)

NUMBER_KEYS = ("value", "posterior_low", "posterior_high", "bootstrap_low", "bootstrap_high")


def _score_row(row: Any) -> bool:
    """Whether one score of an evaluation document has the fields and types rnbayes writes."""

    def number(x: Any) -> bool:
        return x is None or (isinstance(x, int | float) and not isinstance(x, bool))

    return (
        isinstance(row, dict)
        and isinstance(row.get("group"), str)
        and isinstance(row.get("metric"), str)
        and all(
            isinstance(row.get(k), int) and not isinstance(row.get(k), bool)
            for k in ("n", "n_recurrence")
        )
        and all(number(row.get(k, "absent")) for k in NUMBER_KEYS)
        and isinstance(row.get("flagged"), bool)
    )


def _require_equal(name: str, key: str, document: dict, wanted: str, what: str) -> None:
    found = document.get(key)
    if found != wanted:
        raise InputError(
            [
                Problem(
                    name,
                    None,
                    key,
                    None if found is None else str(found),
                    f"{wanted} ({what}); this evaluation is of another "
                    + ("fit" if key == "fit_checksum" else "cohort")
                    + " (or was written before rnbayes recorded it: rerun the command)",
                )
            ]
        )


def center_table(fit: Fit, cohort) -> CenterTable:
    """Lesions, patients and reference labels per center of the fit's training cohort.

    Raises
    ------
    InputError
        When the cohort is not the one the fit was trained on (its digest differs).
    """
    from model.inputs.encode import FOLLOW_UP, FOLLOW_UP_SCANS, HISTOPATHOLOGY
    from model.scoring.predict import encode_patients

    table, lesions = encode_patients(fit, cohort, allow_bevacizumab=True)
    if table.digest != fit.provenance["cohort"]["digest"]:
        raise InputError(
            [
                Problem(
                    Path(str(table.source)).name,
                    None,
                    None,
                    None,
                    "the cohort the fit was trained on ("
                    + fit.provenance["cohort"]["name"]
                    + "); this file's contents differ from it",
                )
            ]
        )
    centers = table.table["center"].to_numpy(object)
    histology = lesions.label_source == HISTOPATHOLOGY
    follow_up = np.isin(lesions.label_source, (FOLLOW_UP, FOLLOW_UP_SCANS))
    rows = []
    for center in table.centers:
        at = centers == center
        rows.append(
            {
                "center": center,
                "lesions": int(at.sum()),
                "patients": len(set(lesions.patient[at])),
                "recurrence": int((at & histology & (lesions.label == 1)).sum()),
                "necrosis": int((at & histology & (lesions.label == 0)).sum()),
                "follow_up": int((at & follow_up).sum()),
                "unlabelled": int((at & (lesions.label < 0)).sum()),
            }
        )
    rows.append(
        {
            "center": "all centers",
            **{k: sum(r[k] for r in rows) for k in rows[0] if k != "center"},
            "patients": len(set(lesions.patient)),
        }
    )
    return CenterTable(pd.DataFrame(rows))


def model_card(
    fit: Fit | str | os.PathLike,
    *,
    cohort=None,
    evaluation: str | os.PathLike | None = None,
) -> ModelCard:
    """Fill the TRIPOD+AI checklist from a fit, its training cohort and an evaluation.

    Parameters
    ----------
    fit : Fit or path
    cohort : path, Cohort or DataFrame, optional
        The training cohort, for the participant flow per center; default the rows stored in the
        fit (``--store-data``), or the bundled cohort for the bundled fit. Without it, those items
        are filled from the counts the fit records.
    evaluation : path, optional
        A folder written by ``rnbayes evaluate --out`` or ``rnbayes crossval --out`` for this fit.

    Returns
    -------
    ModelCard

    Raises
    ------
    InputError
        A cohort other than the fit's training cohort, or an evaluation of another fit.
    """
    from datetime import UTC, datetime

    from model.scoring.predict import as_fit

    fit = as_fit(fit)
    source = _training_cohort(fit, cohort)
    centers = None if source is None else center_table(fit, source).rows
    scored = None if evaluation is None else load_evaluation(evaluation, fit)
    facts = _Facts(fit, centers, scored)
    items = [_fill(item, facts) for item in TRIPOD_AI]
    return ModelCard(
        fit_name=fit.provenance["checksum"][:12],
        trained_on=fit.provenance["cohort"]["name"],
        synthetic=bool(fit.provenance["cohort"].get("synthetic")),
        items=items,
        centers=centers,
        evaluation=scored,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )


def _training_cohort(fit: Fit, cohort):
    if cohort is not None:
        return cohort
    if fit.training_data is not None:
        return fit.stored_training_rows()
    if fit.provenance["cohort"].get("synthetic"):
        from model.core.files import bundled

        return bundled("cohort.csv")
    return None


@dataclass(frozen=True)
class _Facts:
    fit: Fit
    centers: pd.DataFrame | None
    evaluation: Evaluation | None

    @property
    def cohort(self) -> dict[str, Any]:
        return self.fit.provenance["cohort"]

    @property
    def onboarded(self) -> list[dict[str, Any]]:
        return self.fit.provenance.get("onboarded", [])

    @property
    def training_centers(self) -> list[str]:
        new = {r["center"] for r in self.onboarded}
        return [c for c in self.cohort["centers"] if c not in new]

    def total(self, column: str) -> int:
        assert self.centers is not None
        return int(self.centers.iloc[-1][column])


UPDATING_ITEMS = ("12f", "24")
"""Evaluation items about model updating, which an onboarded fit answers without an evaluation."""


def _fill(item: ChecklistItem, facts: _Facts) -> CardItem:
    updated = item.item in UPDATING_ITEMS and facts.onboarded
    if item.applies == "E" and facts.evaluation is None and not updated:
        return CardItem(item, NOT_APPLICABLE, "Evaluation studies only; no evaluation given.", "")
    if item.item in FIXED:
        return CardItem(item, FILLED, FIXED[item.item], "")
    filler = FILLERS.get(item.item)
    if filler is None:
        return CardItem(item, AUTHORS, "", "all of it")
    text, authors = filler(facts)
    if not text:
        return CardItem(item, AUTHORS, "", authors)
    return CardItem(item, PARTLY if authors else FILLED, text, authors)


def _objectives(f: _Facts) -> tuple[str, str]:
    text = "Development of a hierarchical Bayesian latent-class model of recurrence against "
    text += "radiation necrosis"
    if f.evaluation:
        text += f", and its {f.evaluation.design} on {f.evaluation.cohort}"
    return text + ".", "the study's own objectives and hypotheses"


def _data_sources(f: _Facts) -> tuple[str, str]:
    text = f"Development: {f.cohort['name']} (SHA-256 {f.cohort['digest'][:16]}...)."
    if f.cohort.get("synthetic"):
        text += " " + SYNTHETIC
    if f.evaluation:
        text += f" Evaluation: {f.evaluation.cohort} ({f.evaluation.design})."
    return text, "why these data were used and how representative they are"


def _setting(f: _Facts) -> tuple[str, str]:
    names = f.training_centers
    text = f"{len(names)} centers: {', '.join(names)}"
    if f.centers is not None:
        sizes = dict(zip(f.centers["center"], f.centers["lesions"], strict=True))
        text = f"{len(names)} centers: " + ", ".join(f"{c} ({sizes[c]} lesions)" for c in names)
    return text + ".", "the care setting and where the centers are"


def _treatments(f: _Facts) -> tuple[str, str]:
    window = f.fit.parameters.value("context.bevacizumab_window_weeks")
    return (
        "Every lesion follows surgery and chemoradiotherapy. Re-irradiation shifts the prior odds "
        "of recurrence (a covariate); a steroid increase is context for the clinical-decline "
        "model, not evidence of class, and one before a rescan shrinks that rescan's growth (a "
        "covariate of growth, in either class). Lesions scanned within "
        f"{window:g} weeks of bevacizumab, which suppresses enhancement and perfusion, are "
        "refused unless an explicit override scores them, and every output then says so.",
        "the treatments the study's patients received",
    )


def _outcome(f: _Facts) -> tuple[str, str]:
    share = f.fit.parameters.value("context.mixed_recurrence_tumor_percent")
    se, sp = (
        _posterior_mean(f.fit, "reference_sensitivity"),
        _posterior_mean(f.fit, "reference_specificity"),
    )
    return (
        "Tumour recurrence (1) against radiation necrosis / treatment effect (0) of the lesion "
        "at the index scan, a latent class. Reference standards: histopathology, taken as truth "
        f"(a mixed specimen counts as recurrence when tumour is at least {share:g}% of it), and "
        "follow-up imaging, an imperfect reference whose sensitivity and specificity are model "
        f"parameters (posterior means {se:.2f} and {sp:.2f}); lesions without either enter "
        "unlabelled.",
        "the follow-up horizon, why this outcome, and how it was assessed at each center",
    )


def _predictor_choice(f: _Facts) -> tuple[str, str]:
    entries = f.fit.provenance["parameters"]["entries"].values()
    priors = [e for e in entries if e["group"] == "model"]
    assumed = sum(str(e["source"]).startswith("Assumption") for e in priors)
    return (
        "The registered modalities, chosen from the literature before any data were seen; their "
        "priors come from published pooled accuracy. Of the model's "
        f"{len(priors)} priors in the parameter file the fit was made with, "
        f"{len(priors) - assumed} cite a published source and {assumed} are marked assumptions. "
        "No predictor is selected from the data.",
        "",
    )


def _predictors(f: _Facts) -> tuple[str, str]:
    from model.modalities.spec import Marker

    parts = []
    for modality in f.fit.registry:
        if isinstance(modality, Marker):
            kinds = ", ".join(k.label for k in modality.kinds)
            parts.append(f"{modality.label} ({kinds}; {modality.unit})")
        else:
            parts.append(f"{modality.label} (positive or negative)")
    return (
        "Imaging: "
        + "; ".join(parts)
        + ". Growth at up to three rescans (log volume ratio per week), with a steroid increase "
        "before each as its covariate. Symptoms (headache, "
        "seizure, focal deficit, cognitive change) through one clinical-decline factor, with "
        "edema-to-lesion ratio, eloquent location and steroid increase as its context. Class "
        "prior: time since radiotherapy (a pseudoprogression-window weight, 1/2 at "
        f"{f.fit.early_window_months:g} months), "
        "MGMT methylation and re-irradiation.",
        "how and when each was measured at the centers, and any blinding to the outcome",
    )


def _sample_size(f: _Facts) -> tuple[str, str]:
    c = f.cohort
    return (
        f"Development: {c['n_lesions']} lesions, {c['n_histopathology']} with histopathology.",
        "how the study size was arrived at and why it suffices",
    )


def _missing(f: _Facts) -> tuple[str, str]:
    n = f.cohort["n_lesions"]
    counts = f.cohort["imaging_counts"]
    shares = ", ".join(
        f"{kind} {sum(by_center.values()) / n:.0%}" for kind, by_center in counts.items()
    )
    return (
        "Nothing is imputed. A lesion's likelihood uses the results it has, so a missing "
        "modality leaves the probability where the others put it (missing at random given the "
        "class and covariates, an assumption); an unknown MGMT or re-irradiation status is the "
        "mixture of its levels, weighted by their assumed shares, and other unknown covariates "
        "are coded midway between their levels; lesions without a reference label enter "
        f"unlabelled. Lesions with each result: "
        f"{shares}.",
        "why any lesions were left out of the cohort",
    )


def _data_use(f: _Facts) -> tuple[str, str]:
    text = (
        "Every lesion, labelled or not, is used to fit the model (a latent-class model learns "
        "from unlabelled lesions too); no split. Internal validation: Pareto-smoothed "
        "leave-one-out (rnbayes fit-report)"
    )
    if f.evaluation:
        text += f"; {f.evaluation.design} ({f.evaluation.file})"
    return text + ".", ""


def _model_type(f: _Facts) -> tuple[str, str]:
    s = f.fit.provenance["sampler"]
    gate = f.fit.gate
    return (
        "Hierarchical Bayesian latent-class model (PyMC), sampled by NUTS "
        f"({s['sampler']}): {s['chains']} chains of {s['draws']} draws after {s['tune']} "
        f"warm-up, seed {s['seed']}. Convergence gate (R-hat at most 1.01, bulk and tail ESS at "
        f"least 400, no divergences): {'passed' if gate.passed else 'FAILED'} (max R-hat "
        f"{gate.max_rhat:.3f}, min ESS {min(gate.min_ess_bulk, gate.min_ess_tail):.0f}, "
        f"{gate.divergences} divergences). Priors: the parameter file (SHA-256 "
        f"{f.fit.provenance['parameters_digest'][:16]}...); nothing is tuned on the outcome.",
        "",
    )


def _heterogeneity(f: _Facts) -> tuple[str, str]:
    from model.fitting.diagnostics import parameter_summary

    taus = [v for v in f.fit.posterior.data_vars if v.endswith("_tau_center")]
    table = parameter_summary(f.fit.posterior, taus, ci_prob=0.90)
    spreads = "; ".join(
        f"{name.removesuffix('_tau_center')} {row['mean']:.2f} [{row['eti_low']:.2f}, "
        f"{row['eti_high']:.2f}]"
        for name, row in table.iterrows()
    )
    text = (
        "Centers are partially pooled: each has a prevalence offset and a calibration shift per "
        "marker family, with the between-center standard deviations estimated (posterior mean "
        "[90% interval]; logit scale for the prevalence, log scale for markers): "
        f"{spreads}. A center the fit never saw is scored by integrating over its unknown "
        "effects."
    )
    if f.evaluation is not None and len(set(f.evaluation.scores["group"])) > 1:
        text += " Performance per center: item 23b."
    return text, ""


def _updating(f: _Facts) -> tuple[str, str]:
    if not f.onboarded:
        return "None: the fit records no updating.", ""
    return (
        "; ".join(
            f"center {r['center']} onboarded from {r['lesions']} of its lesions without "
            f"refitting ({r['created']}): its prevalence offset and calibration shifts drawn "
            "with the population posterior as prior (rnbayes onboard)"
            for r in f.onboarded
        )
        + ".",
        "",
    )


def _how_predicted(f: _Facts) -> tuple[str, str]:
    version = f.fit.provenance["package_version"]
    if f.evaluation is not None and f.evaluation.design.startswith("leave-one-center-out"):
        return (
            f"rnbayes {version} (rnbayes crossval): each center's lesions scored as a new "
            "center's by a fit of the same model specification to the other centers; each "
            "lesion's posterior-mean P(recurrence) over that fit's draws.",
            "",
        )
    return (
        f"rnbayes {version} from the fit file (checksum "
        f"{f.fit.provenance['checksum'][:16]}...): each lesion's posterior-mean P(recurrence) "
        "over the posterior draws, a center the fit never saw scored as a new center "
        "(rnbayes evaluate, rnbayes predict).",
        "",
    )


def _fairness(f: _Facts) -> tuple[str, str]:
    return "", (
        "The model takes no sociodemographic inputs, and rnbayes did not examine performance "
        "across sociodemographic groups; say what was done."
    )


def _differences(f: _Facts) -> tuple[str, str]:
    if f.evaluation is None:
        return "", "differences from any evaluation data (no evaluation given)"
    e = f.evaluation
    unseen = ", ".join(e.unseen_centers) or "none"
    text = f"{e.design} on {e.cohort}; centers the fit never saw (scored as new centers): {unseen}."
    if e.design.startswith("in-sample"):
        text += " This is the training cohort: apparent performance, optimistic."
    return text, "differences in setting, eligibility, outcome and predictors"


def _data_sharing(f: _Facts) -> tuple[str, str]:
    if f.cohort.get("synthetic"):
        return "The synthetic development cohort ships with rnbayes (data/cohort.csv).", ""
    return "", "where the study data can be had"


def _code_sharing(f: _Facts) -> tuple[str, str]:
    return (
        f"rnbayes {f.fit.provenance['package_version']} is open source (MIT licence); its "
        "commands reproduce every figure of this card from the fit file.",
        "the repository address and version the study used",
    )


def _flow(f: _Facts) -> tuple[str, str]:
    if f.centers is None:
        c = f.cohort
        return (
            f"{c['n_lesions']} lesions: {c['n_labelled']} with a reference label, "
            f"{c['n_histopathology']} of them by histopathology.",
            "patients and outcome counts (give the training cohort with --cohort), follow-up time",
        )
    return (
        f"{f.total('patients')} patients with {f.total('lesions')} lesions. Histopathology: "
        f"{f.total('recurrence')} recurrences and {f.total('necrosis')} necroses; a follow-up "
        f"label: {f.total('follow_up')}; no reference label: {f.total('unlabelled')}. Per "
        "center: the table of centers.",
        "the follow-up time and a flow diagram",
    )


def _characteristics(f: _Facts) -> tuple[str, str]:
    counts = f.cohort["imaging_counts"]
    available = ", ".join(f"{kind} {sum(v.values())}" for kind, v in counts.items())
    return (
        f"Lesions with each imaging result: {available} (per center in the fit's provenance, "
        "rnbayes summary --json)."
        + (" Labels per center: the table of centers." if f.centers is not None else ""),
        "key dates, demographics and treatments",
    )


def _analysis_counts(f: _Facts) -> tuple[str, str]:
    c = f.cohort
    text = (
        f"Development: {c['n_lesions']} lesions ({c['n_labelled']} labelled, "
        f"{c['n_histopathology']} by histopathology)."
    )
    if f.evaluation is not None:
        overall = f.evaluation.scores.iloc[0]
        text += (
            f" Evaluation: {int(overall['n'])} histopathology-labelled lesions, "
            f"{int(overall['n_recurrence'])} recurrences."
        )
    return text, ""


def _specification(f: _Facts) -> tuple[str, str]:
    p = f.fit.provenance
    return (
        f"The fit file itself (checksum {p['checksum'][:16]}..., model specification "
        f"{p['model_spec_hash'][:16]}..., model version {p['model_version']}), with rnbayes "
        f"{p['package_version']}: rnbayes predict FIT PATIENTS, or model.predict in Python. "
        "The file is tamper-evident: a changed byte is refused.",
        "any restriction on reuse of the fit file",
    )


def _performance(f: _Facts) -> tuple[str, str]:
    if f.evaluation is None:
        return "", (
            "performance with intervals: run rnbayes evaluate (an external cohort) or rnbayes "
            "crossval (leave-one-center-out) and pass its folder with --evaluation"
        )
    e = f.evaluation
    overall = e.scores[e.scores["group"] == e.scores["group"].iloc[0]]
    level = round(100 * e.ci_prob)
    text = f"{e.design}, {overall['group'].iloc[0]}: " + "; ".join(
        f"{METRIC_LABELS[r.metric]} {number_text(r.value)} ({level}% bootstrap "
        f"{interval_text(r.bootstrap_low, r.bootstrap_high)}, posterior "
        f"{interval_text(r.posterior_low, r.posterior_high)})"
        for r in overall.itertuples()
        if r.metric in METRIC_LABELS
    )
    text += "."
    if e.follow_up is not None:
        pooled = e.follow_up[e.follow_up["group"] == e.follow_up["group"].iloc[0]]
        by_metric = dict(zip(pooled["metric"], pooled["value"], strict=True))
        text += (
            f" Against {int(pooled['n'].iloc[0])} follow-up labels, each prediction carried "
            "through the reference's sensitivity and specificity: c-statistic "
            f"{number_text(by_metric['c_statistic'])}, calibration intercept "
            f"{number_text(by_metric['calibration_intercept'])}."
        )
    if e.design.startswith("in-sample"):
        text += " In-sample: apparent performance, optimistic."
    return text, "key subgroups, and the reliability and decision-curve plots of the folder"


def _heterogeneity_results(f: _Facts) -> tuple[str, str]:
    if f.evaluation is None:
        return "", "run rnbayes crossval or evaluate and pass --evaluation"
    scores = f.evaluation.scores
    groups = list(dict.fromkeys(scores["group"]))[1:]
    if not groups:
        return "", "no center had labelled lesions of both classes"
    flagged = sorted({r.group for r in scores.itertuples() if r.flagged})
    text = f"Per-center scores of {len(groups)} centers: the table of scores."
    text += (
        " Miscalibrated (a calibration interval excludes the calibrated value): "
        + ", ".join(flagged)
        + "."
        if flagged
        else " No center's calibration interval excludes the calibrated value."
    )
    if f.evaluation.failed_gate:
        text += " Folds that failed the convergence gate: " + ", ".join(f.evaluation.failed_gate)
        text += "."
    return text, ""


def _update_results(f: _Facts) -> tuple[str, str]:
    if not f.onboarded:
        return "None: the fit records no updating.", ""
    return (
        _updating(f)[0],
        "the onboarded fit's performance on the new center (rnbayes evaluate on its lesions)",
    )


def _limitations(f: _Facts) -> tuple[str, str]:
    notes = []
    if f.cohort.get("synthetic"):
        notes.append("the development cohort is synthetic")
    if not f.fit.gate.passed:
        notes.append("the fit failed its convergence gate")
    if f.evaluation is not None and f.evaluation.design.startswith("in-sample"):
        notes.append("the evaluation is in-sample")
    if f.evaluation is not None and f.evaluation.follow_up is not None:
        notes.append(
            f"{f.evaluation.labels['follow_up_scans']} labels made from the lesions' own "
            "recorded scans are not scored (incorporation bias)"
        )
    elif f.evaluation is not None and f.evaluation.labels.get("follow_up"):
        notes.append(
            f"{f.evaluation.labels['follow_up']} lesions with only a follow-up label are not "
            "scored (an imperfect reference)"
        )
    notes.append("missing results are assumed missing at random given class and covariates")
    return (
        "Recorded by rnbayes: " + "; ".join(notes) + ".",
        "the study's own limitations and their effect on bias and generalisability",
    )


FIXED = {
    "3b": INTENDED_USE + " " + NOT_A_DIAGNOSIS,
    "12b": (
        "Each continuous marker is modelled on the log scale as a normal distribution per class "
        "and technique, with a calibration shift per center and a misread probability that "
        "bounds what one measurement can say; binary tests by sensitivity and specificity; "
        "growth as a log-volume rate per week with a rate per lesion shared by its rescans, "
        "shifted after a steroid increase."
    ),
    "12e": (
        "Discrimination: c-statistic. Calibration: intercept and slope (logistic recalibration), "
        "expected calibration error and the CORP reliability diagram with a bootstrap band. "
        "Overall: Brier score. Clinical utility: decision curves with P(best strategy) and EVPI "
        "per threshold. Each score has a posterior interval (parameter uncertainty) and a "
        "bootstrap interval over patients (sampling uncertainty)."
    ),
    "13": (
        "None used: the prevalence of recurrence is a model parameter (with center and covariate "
        "effects), so no resampling or weighting is needed and none would keep the probabilities "
        "calibrated."
    ),
    "15": (
        "The posterior probability of recurrence with its equal-tailed interval, and the "
        "evidence as log likelihood ratios per modality. The recommendation (surveillance, "
        "biopsy, treatment) maximises expected utility under the utilities of the decision "
        "parameter file; each lesion's thresholds follow from them (Pauker-Kassirer, with "
        "surveillance), and the reports show them. No probability cut-off is tuned on the data."
    ),
    "27a": (
        "Inputs are read strictly: a value that is not a number in the expected unit and range "
        "stops the run with its file, row and column (nothing is reinterpreted); a missing "
        "result is left out of the likelihood; a lesion under bevacizumab is refused; a center "
        "the fit never saw is scored as a new center, with wider intervals."
    ),
    "27b": (
        "Users enter measured values (perfusion ratios, PET uptake ratios, ADC, volumes), "
        "symptoms and context in the patient file format or on the command line, and read the "
        "per-lesion report. Measuring perfusion and PET maps needs neuroradiology and "
        "nuclear-medicine expertise; the report is read by the tumour board."
    ),
}
"""Items every fit answers alike: what the model is, not what a cohort holds."""


FILLERS = {
    "4": _objectives,
    "5a": _data_sources,
    "6a": _setting,
    "6c": _treatments,
    "8a": _outcome,
    "9a": _predictor_choice,
    "9b": _predictors,
    "10": _sample_size,
    "11": _missing,
    "12a": _data_use,
    "12c": _model_type,
    "12d": _heterogeneity,
    "12f": _updating,
    "12g": _how_predicted,
    "14": _fairness,
    "16": _differences,
    "18e": _data_sharing,
    "18f": _code_sharing,
    "20a": _flow,
    "20b": _characteristics,
    "21": _analysis_counts,
    "22": _specification,
    "23a": _performance,
    "23b": _heterogeneity_results,
    "24": _update_results,
    "26": _limitations,
}
"""Each item rnbayes can fill, and how: a function of the facts giving (text, authors' part)."""


def _posterior_mean(fit: Fit, variable: str) -> float:
    return float(fit.posterior[variable].mean())
