"""The fit report: convergence, parameters, prior against posterior, checks on the training data."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from model.checks.loo import label_scores, loo
from model.core.files import atomic_write_text
from model.decision.parameters import load_decision_parameters
from model.fitting.diagnostics import parameter_summary
from model.fitting.sampling import Fit
from model.inputs.encode import HISTOPATHOLOGY
from model.likelihood.draws import hyperparameters
from model.report import figures
from model.report import fit_figures as ff
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
    summary = parameter_summary(fit.posterior, hyperparameters(fit.registry), ci_prob=ci_prob)
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
            "diagnostics": figures.data_uri(ff.diagnostics_figure(summary)),
            "ranks": figures.data_uri(
                ff.rank_figure(fit.posterior, [_variable(fit.posterior, n) for n in worst])
            ),
            "priors": figures.data_uri(ff.prior_posterior_figure(fit.posterior, fit.parameters)),
            "likelihood_ratios": figures.data_uri(
                ff.likelihood_ratio_figure(
                    score_tables(fit), fit.draws, fit.registry, len(fit.centers), ci_prob
                )
            ),
        },
    }
    if cohort is None and fit.training_data is not None:
        import io

        import pandas as pd

        cohort = pd.read_csv(
            io.StringIO(fit.training_data), dtype=str, keep_default_na=False
        ).replace("", None)
    if cohort is not None:
        checks = _data_checks(fit, as_cohort(cohort, fit.registry), ci_prob)
        context["figures"].update(checks.pop("figures"))
        context.update(checks)
    html = environment().get_template("fit.html.j2").render(**context)
    return atomic_write_text(out, html)


def _variable(posterior, label: str) -> tuple[str, dict]:
    """Parse an ArviZ summary label like ``perfusion_sigma[DSC]`` into a variable and selection."""
    var, _, rest = label.partition("[")
    if not rest:
        return var, {}
    values = [v.strip() for v in rest.rstrip("]").split(",")]
    dims = [d for d in posterior[var].dims if d not in ("chain", "draw")]
    return var, dict(zip(dims, values, strict=True))


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
            "predictive": figures.data_uri(predictive),
            "calibration": figures.data_uri(calibration_fig),
        },
    }
