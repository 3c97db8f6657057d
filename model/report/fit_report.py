"""The fit report: convergence, parameters, prior against posterior, checks on the training data."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from model.checks.loo import label_scores, loo
from model.core.files import atomic_write_text
from model.decision.parameters import load_decision_parameters
from model.fitting.diagnostics import parameter_summary
from model.fitting.sampling import Fit
from model.inputs.encode import HISTOPATHOLOGY
from model.likelihood.draws import hyperparameters, parameter_variables
from model.report import fit_figures as ff
from model.report.figures import inline_svg as svg
from model.report.patient import _provenance, environment, require_gate
from model.scoring.predict import as_cohort, as_fit, encode_patients, predict, score_tables


def fit_report(
    fit: Fit | str | os.PathLike,
    out: str | os.PathLike,
    cohort=None,
    *,
    force: bool = False,
    ci_prob: float = 0.90,
) -> Path:
    """Write the fit report (one self-contained HTML file).

    Parameters
    ----------
    fit : Fit or path
    out : path-like
        The HTML file to write.
    cohort : path, Cohort or DataFrame, optional
        The training lesions, for predictive checks, calibration and LOO; default the rows stored
        in the fit (``--store-data``), if any.
    force : bool, default False
        Report a fit that failed its convergence gate (the report then says so at the top).
    ci_prob : float, default 0.90

    Returns
    -------
    pathlib.Path
    """
    fit = as_fit(fit)
    require_gate(fit, force)
    summary, variables = _summary(fit, ci_prob)
    columns = ["mean", "sd", "eti_low", "eti_high", "ess_bulk", "ess_tail", "r_hat"]
    worst = summary["ess_bulk"].nsmallest(4).index
    context = {
        "provenance": _provenance(fit, load_decision_parameters()),
        "ci_prob": ci_prob,
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary_columns": columns,
        "summary_rows": [
            (name, [f"{row[c]:.0f}" if c.startswith("ess") else f"{row[c]:.3f}" for c in columns])
            for name, row in summary.iterrows()
        ],
        "figures": {
            "diagnostics": svg(ff.diagnostics_figure(summary), "ESS and R-hat"),
            "ranks": svg(
                ff.rank_figure(fit.posterior, [(n, *variables[n]) for n in worst]),
                "rank histograms",
            ),
            "priors": svg(
                ff.prior_posterior_figure(fit.posterior, fit.parameters), "priors and posteriors"
            ),
            "likelihood_ratios": svg(
                ff.likelihood_ratio_figure(
                    score_tables(fit), fit.draws, fit.registry, len(fit.centers), ci_prob
                ),
                "likelihood-ratio curves",
            ),
        },
    }
    if cohort is None:
        cohort = fit.stored_training_rows()
    if cohort is not None:
        checks = _data_checks(fit, as_cohort(cohort, fit.registry), ci_prob)
        context["figures"].update(checks.pop("figures"))
        context.update(checks)
    html = environment().get_template("fit.html.j2").render(**context)
    return atomic_write_text(out, html)


def _summary(fit: Fit, ci_prob: float) -> tuple[pd.DataFrame, dict[str, tuple[str, dict]]]:
    """The parameter summary indexed by the parameter file's dotted names, in its order.

    Returns
    -------
    summary : pandas.DataFrame
        One row per population parameter, named as in the parameter file
        (``modality.perfusion.DSC.sigma``), not as its posterior variable
        (``perfusion_sigma[DSC]``).
    variables : dict of str to (str, dict)
        Each dotted name's posterior variable and coordinates.
    """
    entries = parameter_variables(fit.registry)
    summary = parameter_summary(fit.posterior, hyperparameters(fit.registry), ci_prob=ci_prob)
    arviz = {
        var + (f"[{', '.join(selection.values())}]" if selection else ""): entry
        for entry, var, selection in entries
    }
    order = [entry for entry, _, _ in entries]
    return summary.rename(index=arviz).loc[order], {e: (v, s) for e, v, s in entries}


def _data_checks(fit: Fit, cohort, ci_prob: float) -> dict:
    """Posterior predictive checks, calibration and LOO on the training lesions."""
    _, lesions = encode_patients(fit, cohort)
    labelled = lesions.label_source == HISTOPATHOLOGY
    p = predict(fit, cohort)["p_recurrence"].to_numpy()[labelled]
    calibration_fig, calibration = ff.calibration_figure(
        p, (lesions.label[labelled] == 1).astype(float)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto k warnings: counted in the report
        result = loo(fit, cohort)
        labels = label_scores(fit, cohort)
    if cohort.digest == fit.provenance["cohort"]["digest"]:
        note = (
            "In-sample: these are the lesions the model was fitted to (labels included), so the "
            "calibration is optimistic; the leave-one-out scores below correct for that."
        )
    else:
        note = "These lesions are not the training cohort."
    predictive = ff.predictive_check_figure(
        score_tables(fit), fit.draws, lesions, len(fit.centers), ci_prob, fit.registry
    )
    return {
        "data": {"note": note},
        "calibration": calibration,
        "loo": {
            "elpd": float(result.elpd),
            "se": float(result.se),
            "p": float(result.p),
            "bad_k": int((np.asarray(result.pareto_k) > 0.7).sum()),
            "n": len(lesions),
        },
        "label_rows": labels.to_dict(orient="records"),
        "figures": {
            "predictive": svg(predictive, "posterior predictive checks"),
            "calibration": svg(calibration_fig, "calibration"),
        },
    }
