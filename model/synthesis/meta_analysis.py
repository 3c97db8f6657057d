"""Bivariate random-effects meta-analysis of diagnostic accuracy (Reitsma et al. 2005), in PyMC.

Study *i* reports a 2x2 table (TP, FP, FN, TN) against its reference standard. Its logit
sensitivity ``a_i`` and logit false-positive rate ``b_i`` are bivariate normal between studies,
with means ``(mu_sens, mu_fpr)``, standard deviations ``(tau_sens, tau_fpr)`` and correlation
``rho``. Two within-study likelihoods are offered (``likelihood=``):

- ``"binomial"`` (default): the **exact binomial** likelihood (Chu & Cole 2006; Hamza et al. 2008),
  ``TP_i ~ Binomial(TP_i + FN_i, expit(a_i))`` and ``FP_i ~ Binomial(FP_i + TN_i, expit(b_i))``,
  with no continuity correction, so a zero cell needs no special handling;
- ``"normal"``: the original approximation of Reitsma et al. (2005), as in R ``mada::reitsma``.
  If any cell of any study is 0, 0.5 is added to every cell of every study (``mada``'s default
  ``correction = 0.5, correction.control = "all"``); the observed ``logit(TP / (TP + FN))`` and
  ``logit(FP / (FP + TN))`` are then normal about ``(a_i, b_i)`` with known variances
  ``1/TP + 1/FN`` and ``1/FP + 1/TN`` (:func:`normal_approximation`). The study effects are
  integrated out analytically: the pair of observed logits is bivariate normal with mean ``mu``
  and covariance ``Sigma + diag(variances)``.

The exact likelihood is preferred when studies are small or have zero cells, where the normal
approximation and the continuity correction bias the pooled estimates towards 0.5 (Chu H, Cole
SR. J Clin Epidemiol 2006;59:1331-1332; Hamza TH, van Houwelingen HC, Stijnen T. J Clin Epidemiol
2008;61:41-51). The normal option reproduces published ``mada`` analyses.

Priors are weakly informative (:class:`MetaPriors`): ``mu ~ Normal(0, 2.5)`` on each pooled logit,
``tau ~ HalfNormal(1.5)`` on each between-study SD, ``rho ~ Uniform(-1, 1)``.

Pooled sensitivity and specificity are reported as posterior medians with equal-tailed 95%
intervals. The summary ROC curve is the Rutter-Gatsonis (HSROC) curve implied by the bivariate
parameters (Harbord et al. 2007),
``logit Se = mu_sens + (tau_sens / tau_fpr) (logit FPR - mu_fpr)``, computed per posterior draw.
The 95% credible region of the summary point and the 95% prediction region of a new study are
ellipses in logit space (posterior covariance of ``mu``; that plus the posterior mean
between-study covariance) mapped back to ROC space.

:func:`binormal_separation` turns a (sensitivity, specificity) pair at a cutoff into the class
separation of a binormal model on the log scale, the form the modality priors of this package take.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from model.core.errors import InputError, Problem
from model.core.numbers import parse_whole
from model.synthesis.covariates import StudyDesign
from model.synthesis.io import (
    LEVEL,
    interval,
    missing_columns,
    read_csv_records,
    sample_posterior,
)

COUNT_COLUMNS: tuple[str, ...] = ("tp", "fp", "fn", "tn")
"""The four cells of a study's 2x2 table, in the order of the CLI options."""

LIKELIHOODS: tuple[str, ...] = ("binomial", "normal")
"""Within-study likelihoods: exact binomial (default), or normal as in Reitsma et al. 2005."""

CONTINUITY_CORRECTION = 0.5
"""Added to every cell of every study by the normal likelihood when any cell is 0 (as ``mada``)."""


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyTables:
    """Validated study-level 2x2 tables.

    Parameters
    ----------
    study : tuple of str
        Study labels.
    tp, fp, fn, tn : numpy.ndarray of int
        True positives, false positives, false negatives, true negatives, one per study.
    """

    study: tuple[str, ...]
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    def __len__(self) -> int:
        return len(self.study)

    @property
    def observed_fpr(self) -> np.ndarray:
        """Each study's observed false-positive rate FP / (FP + TN)."""
        return self.fp / (self.fp + self.tn)

    @property
    def observed_sensitivity(self) -> np.ndarray:
        """Each study's observed sensitivity TP / (TP + FN)."""
        return self.tp / (self.tp + self.fn)


def load_study_tables(
    path: str | os.PathLike,
    columns: Mapping[str, str] | None = None,
    study_column: str | None = None,
) -> StudyTables:
    """Load and validate a CSV file of study-level 2x2 tables (one row per study).

    Parameters
    ----------
    path : path-like
        Comma-separated file with a header row.
    columns : mapping, optional
        Maps each of ``"tp"``, ``"fp"``, ``"fn"``, ``"tn"`` to its column name; by default the
        columns are named ``TP``, ``FP``, ``FN``, ``TN``.
    study_column : str, optional
        Column of study labels. By default ``study`` if the file has it, else ``row N``.

    Returns
    -------
    StudyTables

    Raises
    ------
    model.core.errors.InputError
        Listing every problem: a missing column; a count that is not a whole number >= 0; a study
        with no diseased (TP + FN = 0) or no non-diseased (FP + TN = 0) subjects; fewer than two
        studies. Rows are spreadsheet rows (header = row 1).
    """
    name = Path(path).name
    names = {cell: (columns or {}).get(cell, cell.upper()) for cell in COUNT_COLUMNS}
    header, rows = read_csv_records(path)
    wanted = {names[c]: f"{c.upper()} counts" for c in COUNT_COLUMNS}
    if study_column is not None:
        wanted[study_column] = "study labels"
    problems = missing_columns(name, header, wanted)
    if problems:
        raise InputError(problems)
    label_column = study_column or ("study" if "study" in header else None)
    counts = {c: [] for c in COUNT_COLUMNS}
    labels = []
    for number, cells in rows:
        record = dict(zip(header, cells, strict=True))
        values = {c: _count(name, number, names[c], record[names[c]], problems) for c in counts}
        problems.extend(_table_problems(name, number, names, values))
        for cell, value in values.items():
            counts[cell].append(value)
        labels.append(record[label_column] if label_column else f"row {number}")
    if len(rows) < 2:
        problems.append(Problem(name, None, None, str(len(rows)), "at least two studies"))
    if problems:
        raise InputError(problems)
    arrays = {c: np.asarray(v, dtype=np.int64) for c, v in counts.items()}
    return StudyTables(tuple(labels), **arrays)


def _count(file: str, row: int, column: str, text: str, problems: list[Problem]) -> int | None:
    value = parse_whole(text)
    if value is None:
        problems.append(Problem(file, row, column, text, "a whole number >= 0"))
        return None
    return value


def _table_problems(
    file: str, row: int, names: Mapping[str, str], values: Mapping[str, int | None]
) -> list[Problem]:
    out = []
    for a, b, who in (("tp", "fn", "diseased"), ("fp", "tn", "non-diseased")):
        if values[a] == 0 and values[b] == 0:
            column = f"{names[a]}+{names[b]}"
            out.append(Problem(file, row, column, "0", f"at least one {who} subject (> 0)"))
    return out


# --------------------------------------------------------------------------------------------
# Model and fit
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetaPriors:
    """Weakly informative priors of the bivariate model.

    Parameters
    ----------
    mu_sd : float, default 2.5
        SD of the Normal(0, mu_sd) prior on the pooled logit sensitivity and logit false-positive
        rate: 95% of its mass lies between 0.007 and 0.993 on the probability scale.
    tau_sd : float, default 1.5
        Scale of the HalfNormal prior on each between-study SD (logit scale); its median, 1.0, is
        a large but common heterogeneity in diagnostic reviews.

    Notes
    -----
    The between-study correlation has a Uniform(-1, 1) prior (the LKJ(1) prior in two dimensions).
    """

    mu_sd: float = 2.5
    tau_sd: float = 1.5


def normal_approximation(
    tables: StudyTables, correction: float = CONTINUITY_CORRECTION
) -> tuple[np.ndarray, np.ndarray]:
    """Observed logits and their within-study variances, as ``mada::reitsma`` computes them.

    If any cell of any study is 0, ``correction`` is added to all four cells of every study
    (``mada``'s default ``correction.control = "all"``); otherwise the counts are used as they
    are. Then, per study, ``logit Se_i = log(TP / FN)`` with variance ``1/TP + 1/FN`` and
    ``logit FPR_i = log(FP / TN)`` with variance ``1/FP + 1/TN`` (the delta-method variance
    ``1 / (n p (1 - p))`` of an observed logit).

    Parameters
    ----------
    tables : StudyTables
    correction : float, default 0.5
        The continuity correction.

    Returns
    -------
    logits : numpy.ndarray
        Shape (studies, 2): observed logit sensitivity and logit false-positive rate.
    variances : numpy.ndarray
        Shape (studies, 2): their within-study variances.

    Raises
    ------
    ValueError
        When a cell is 0 and ``correction`` is not positive (a logit would be infinite).
    """
    cells = _cells(tables)
    if np.any(cells == 0):
        if correction <= 0:
            raise ValueError("a cell is 0: the normal likelihood needs a positive correction")
        cells = cells + correction
    return _observed_logits(cells)


def _cells(tables: StudyTables) -> np.ndarray:
    """Shape (4, studies): TP, FN, FP, TN as floats."""
    return np.stack([tables.tp, tables.fn, tables.fp, tables.tn]).astype(float)


def _observed_logits(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed (logit Se, logit FPR) per study and their delta-method variances."""
    tp, fn, fp, tn = cells
    logits = np.column_stack([np.log(tp / fn), np.log(fp / tn)])
    variances = np.column_stack([1.0 / tp + 1.0 / fn, 1.0 / fp + 1.0 / tn])
    return logits, variances


def centred_effects(tables: StudyTables, covariates: np.ndarray | None = None) -> np.ndarray:
    """Which study effects the binomial model samples in centred form.

    A study's logit is pinned by its data when the within-study variance of its observed logit
    (as in :func:`normal_approximation`, with 0.5 added to every cell) is below half the
    between-study variance, estimated for this choice only by the DerSimonian-Laird moment
    estimator (with covariates, its meta-regression form: the residual variance around the
    weighted least-squares fit); then the centred form samples better, otherwise the non-centred
    form (the funnel of small studies, Papaspiliopoulos, Roberts & Skold 2007). Only the
    sampler's efficiency depends on this.

    Parameters
    ----------
    tables : StudyTables
    covariates : numpy.ndarray, optional
        Shape (studies, columns): the design without its intercept.

    Returns
    -------
    numpy.ndarray of bool
        Shape (studies, 2): centre the logit sensitivity / logit FPR of each study.
    """
    logits, variances = _observed_logits(_cells(tables) + 0.5)
    design = np.ones((len(tables), 1))
    if covariates is not None:
        design = np.column_stack([design, covariates])
    between = []
    for y, w in zip(logits.T, 1.0 / variances.T, strict=True):
        information = design.T @ (w[:, None] * design)
        fitted = design @ np.linalg.solve(information, design.T @ (w * y))
        q = np.sum(w * (y - fitted) ** 2)
        leverage = np.trace(np.linalg.solve(information, design.T @ (w[:, None] ** 2 * design)))
        df = len(tables) - design.shape[1]
        between.append(max(0.0, (q - df) / (w.sum() - leverage)))
    return variances < np.asarray(between) / 2.0


def build_model(
    tables: StudyTables,
    priors: MetaPriors = MetaPriors(),
    likelihood: str = "binomial",
    design: StudyDesign | None = None,
):
    """The bivariate random-effects model as a :class:`pymc.Model` (see the module docstring).

    Parameters
    ----------
    tables : StudyTables
    priors : MetaPriors, optional
    likelihood : {"binomial", "normal"}, default "binomial"
        Exact binomial within-study likelihood, or the normal approximation of Reitsma et al.
        (2005) with ``mada``'s continuity correction.
    design : StudyDesign, optional
        Study-level covariates (meta-regression). Each study's mean logits are then
        ``mu + (x_i - mean x) @ slope``: ``mu`` is the pooled point at the studies' mean
        covariates and ``slope`` (dims ``covariate``, ``scale``) has a ``Normal(0, mu_sd / s)``
        prior, ``s`` being 1 for a level's dummy and the covariate's SD across studies for a
        numeric covariate.

    Returns
    -------
    pymc.Model
        Free variables ``mu`` (dim ``scale``: logit sensitivity, logit FPR), ``tau`` (same dim)
        and ``rho``. The binomial model adds the study effects: each study's logit sensitivity,
        then its logit FPR given that, centred (``sens_centred``, ``fpr_centred``) or
        standardised (``sens_z``, ``fpr_z``) as :func:`centred_effects` chooses. The normal
        model has none (they are integrated out). With a design, also ``slope``.

    Raises
    ------
    ValueError
        For an unknown likelihood.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, not {likelihood!r}")
    coords = {"study": list(tables.study), "scale": ["logit_sensitivity", "logit_fpr"]}
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", 0.0, priors.mu_sd, dims="scale")
        tau = pm.HalfNormal("tau", priors.tau_sd, dims="scale")
        rho = pm.Uniform("rho", -1.0, 1.0)
        mean = mu * pt.ones((len(tables), 2))
        if design is not None:
            model.add_coord("covariate", list(design.columns))
            scale = priors.mu_sd / design.scales[:, None]
            slope = pm.Normal("slope", 0.0, scale, dims=("covariate", "scale"))
            mean = mean + pt.dot(design.matrix - design.means, slope)
        if likelihood == "normal":
            logits, variances = normal_approximation(tables)
            # Marginal of the observed logits: N(mean, Sigma + diag(variances)), factorised.
            var_sens = tau[0] ** 2 + variances[:, 0]
            var_fpr = tau[1] ** 2 + variances[:, 1]
            cov = rho * tau[0] * tau[1]
            pm.Normal("tsens", mean[:, 0], pt.sqrt(var_sens), observed=logits[:, 0], dims="study")
            pm.Normal(
                "tfpr",
                mean[:, 1] + cov / var_sens * (logits[:, 0] - mean[:, 0]),
                pt.sqrt(var_fpr - cov**2 / var_sens),
                observed=logits[:, 1],
                dims="study",
            )
            return model
        # The bivariate normal of the study effects as logit Se, then logit FPR given logit Se.
        centre = centred_effects(tables, None if design is None else design.matrix)
        logit_sens = _study_effect("sens", mean[:, 0], tau[0], centre[:, 0])
        mean_fpr = mean[:, 1] + rho * tau[1] / tau[0] * (logit_sens - mean[:, 0])
        residual_sd = tau[1] * pt.sqrt(1.0 - rho**2)
        logit_fpr = _study_effect("fpr", mean_fpr, residual_sd, centre[:, 1])
        pm.Binomial("tp", n=tables.tp + tables.fn, logit_p=logit_sens, observed=tables.tp)
        pm.Binomial("fp", n=tables.fp + tables.tn, logit_p=logit_fpr, observed=tables.fp)
    return model


def _study_effect(name: str, mean, sd, centre: np.ndarray):
    """Normal(mean, sd) study effects, centred where ``centre`` is true, else non-centred."""
    import pymc as pm
    import pytensor.tensor as pt

    effect = pt.zeros(len(centre))
    inner, outer = np.flatnonzero(centre), np.flatnonzero(~centre)
    if inner.size:
        value = pm.Normal(f"{name}_centred", mean[inner], sd, shape=inner.size)
        effect = pt.set_subtensor(effect[inner], value)
    if outer.size:
        z = pm.Normal(f"{name}_z", 0.0, 1.0, shape=outer.size)
        effect = pt.set_subtensor(effect[outer], mean[outer] + sd * z)
    return effect


@dataclass(frozen=True)
class MetaAnalysis:
    """A fitted bivariate meta-analysis: posterior draws of the summary parameters.

    Parameters
    ----------
    tables : StudyTables
        The data.
    mu_sens, mu_fpr : numpy.ndarray
        Draws of the pooled logit sensitivity and logit false-positive rate.
    tau_sens, tau_fpr : numpy.ndarray
        Draws of the between-study SDs (logit scale).
    rho : numpy.ndarray
        Draws of the between-study correlation of logit sensitivity and logit FPR.
    diagnostics : dict
        The convergence gate (:meth:`model.fitting.diagnostics.Gate.to_dict`).
    likelihood : {"binomial", "normal"}, default "binomial"
        The within-study likelihood of the fit.
    design : StudyDesign, optional
        The study-level covariates of a meta-regression; ``mu_sens`` and ``mu_fpr`` are then the
        pooled logits at the studies' mean covariates (see
        :class:`~model.synthesis.meta_regression.MetaRegression` for the summaries).
    slope : numpy.ndarray, optional
        With a design, draws of the slopes, shape (draws, covariate columns, 2).
    """

    tables: StudyTables
    mu_sens: np.ndarray
    mu_fpr: np.ndarray
    tau_sens: np.ndarray
    tau_fpr: np.ndarray
    rho: np.ndarray
    diagnostics: dict[str, Any] = field(default_factory=dict)
    likelihood: str = "binomial"
    design: StudyDesign | None = None
    slope: np.ndarray | None = None

    @property
    def sensitivity(self) -> np.ndarray:
        """Draws of the pooled sensitivity."""
        return special.expit(self.mu_sens)

    @property
    def specificity(self) -> np.ndarray:
        """Draws of the pooled specificity."""
        return special.expit(-self.mu_fpr)

    def summary(self) -> pd.DataFrame:
        """Posterior median and 95% equal-tailed interval of every summary quantity.

        Returns
        -------
        pandas.DataFrame
            Index: ``sensitivity``, ``specificity``, ``lr_positive``, ``lr_negative``,
            ``diagnostic_odds_ratio``, ``tau_logit_sensitivity``, ``tau_logit_fpr``, ``rho``,
            ``sroc_auc``, ``binormal_d_prime``, ``binormal_auc``; columns ``median``,
            ``lower``, ``upper``. The likelihood ratios are those of the pooled point, computed
            per draw (so their intervals carry the joint uncertainty of Se and Sp).
        """
        separation = binormal_separation(self.sensitivity, self.specificity)
        rows = {
            **accuracy_draws(self.sensitivity, self.specificity),
            "tau_logit_sensitivity": self.tau_sens,
            "tau_logit_fpr": self.tau_fpr,
            "rho": self.rho,
            "sroc_auc": self.sroc_auc(),
            "binormal_d_prime": separation.separation,
            "binormal_auc": separation.auc,
        }
        table = pd.DataFrame(
            {name: interval(draws) for name, draws in rows.items()},
            index=["median", "lower", "upper"],
        ).T
        table.index.name = "quantity"
        return table

    def _sroc_logit(self, fpr: np.ndarray) -> np.ndarray:
        slope = self.tau_sens / self.tau_fpr
        shift = special.logit(fpr)[None, :] - self.mu_fpr[:, None]
        return self.mu_sens[:, None] + slope[:, None] * shift

    def sroc(self, fpr: np.ndarray | None = None) -> pd.DataFrame:
        """The Rutter-Gatsonis summary ROC curve with its pointwise 95% credible band.

        Parameters
        ----------
        fpr : array, optional
            False-positive rates; by default 100 points spanning the studies' observed FPRs.

        Returns
        -------
        pandas.DataFrame
            Columns ``fpr``, ``sensitivity`` (posterior median), ``lower``, ``upper``.
        """
        if fpr is None:
            observed = np.clip(self.tables.observed_fpr, 0.005, 0.995)
            fpr = np.linspace(observed.min(), observed.max(), 100)
        fpr = np.asarray(fpr, dtype=float)
        curve = special.expit(self._sroc_logit(fpr))
        tail = (1.0 - LEVEL) / 2.0
        low, median, high = np.quantile(curve, [tail, 0.5, 1.0 - tail], axis=0)
        return pd.DataFrame({"fpr": fpr, "sensitivity": median, "lower": low, "upper": high})

    def sroc_auc(self) -> np.ndarray:
        """Draws of the area under the SROC curve over FPR 0.01-0.99, as R ``mada::AUC``.

        ``mada``'s ``AUC.default``: the trapezoid sum of the curve at FPR 0.01, 0.02, ..., 0.99
        divided by the number of points, 99 (not by the 98 intervals).
        """
        curve = special.expit(self._sroc_logit(np.linspace(0.01, 0.99, 99)))
        ends = (curve[:, 0] + curve[:, -1]) / 2.0
        return (ends + curve[:, 1:-1].sum(axis=1)) / curve.shape[1]

    def credible_region(self, points: int = 200) -> pd.DataFrame:
        """95% credible region of the summary point, as an ellipse in logit space.

        Parameters
        ----------
        points : int, default 200
            Number of points on the ellipse.

        Returns
        -------
        pandas.DataFrame
            Columns ``fpr`` and ``sensitivity``.
        """
        draws = np.column_stack([self.mu_sens, self.mu_fpr])
        return _ellipse(np.median(draws, axis=0), np.cov(draws.T), points)

    def prediction_region(self, points: int = 200) -> pd.DataFrame:
        """95% prediction region for the (sensitivity, FPR) of a new study.

        The ellipse's covariance is the posterior covariance of the pooled logits plus the
        posterior mean of the between-study covariance matrix.

        Parameters
        ----------
        points : int, default 200

        Returns
        -------
        pandas.DataFrame
            Columns ``fpr`` and ``sensitivity``.
        """
        draws = np.column_stack([self.mu_sens, self.mu_fpr])
        cross = np.mean(self.rho * self.tau_sens * self.tau_fpr)
        between = np.array([[np.mean(self.tau_sens**2), cross], [cross, np.mean(self.tau_fpr**2)]])
        return _ellipse(np.median(draws, axis=0), np.cov(draws.T) + between, points)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: estimates, SROC points, regions, studies and diagnostics."""
        summary = self.summary()
        within = {
            "binomial": "exact binomial likelihood",
            "normal": "normal approximation with continuity correction (as mada::reitsma)",
        }[self.likelihood]
        return {
            "model": f"bivariate random-effects (Reitsma 2005), {within}",
            "likelihood": self.likelihood,
            "level": LEVEL,
            "studies": len(self.tables),
            "estimates": {k: dict(v) for k, v in summary.to_dict(orient="index").items()},
            "sroc": self.sroc().to_dict(orient="list"),
            "credible_region": self.credible_region(100).to_dict(orient="list"),
            "prediction_region": self.prediction_region(100).to_dict(orient="list"),
            "diagnostics": self.diagnostics,
        }


def accuracy_draws(sensitivity: np.ndarray, specificity: np.ndarray) -> dict[str, np.ndarray]:
    """Sensitivity, specificity, LR+, LR- and diagnostic odds ratio, draw by draw.

    Parameters
    ----------
    sensitivity, specificity : numpy.ndarray
        Posterior draws.

    Returns
    -------
    dict
        ``sensitivity``, ``specificity``, ``lr_positive`` = Se / (1 - Sp),
        ``lr_negative`` = (1 - Se) / Sp and ``diagnostic_odds_ratio`` = LR+ / LR-.
    """
    positive = sensitivity / (1.0 - specificity)
    negative = (1.0 - sensitivity) / specificity
    return {
        "sensitivity": sensitivity,
        "specificity": specificity,
        "lr_positive": positive,
        "lr_negative": negative,
        "diagnostic_odds_ratio": positive / negative,
    }


def _ellipse(center: np.ndarray, cov: np.ndarray, points: int) -> pd.DataFrame:
    """An ellipse of probability LEVEL in (logit sens, logit FPR), mapped to ROC space."""
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    radius = np.sqrt(stats.chi2.ppf(LEVEL, df=2))
    circle = radius * np.vstack([np.cos(angle), np.sin(angle)])
    logits = center[:, None] + np.linalg.cholesky(cov) @ circle
    return pd.DataFrame({"fpr": special.expit(logits[1]), "sensitivity": special.expit(logits[0])})


def fit_meta_analysis(
    tables: StudyTables,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    priors: MetaPriors = MetaPriors(),
    likelihood: str = "binomial",
    design: StudyDesign | None = None,
) -> MetaAnalysis:
    """Fit the bivariate model with NUTS (nutpie).

    Parameters
    ----------
    tables : StudyTables
    draws, tune, chains : int, optional
        Kept draws and warm-up draws per chain, and chains (defaults 1000, 1000, 2).
    seed : int, default 0
    priors : MetaPriors, optional
    likelihood : {"binomial", "normal"}, default "binomial"
        ``"binomial"``: exact within-study likelihood, preferred with small studies or zero cells
        (Chu & Cole 2006; Hamza et al. 2008). ``"normal"``: the normal approximation of Reitsma
        et al. (2005) with ``mada``'s continuity correction (:func:`normal_approximation`), to
        reproduce ``mada::reitsma``.
    design : StudyDesign, optional
        Study-level covariates: a meta-regression (:func:`build_model`).

    Returns
    -------
    MetaAnalysis

    Raises
    ------
    ValueError
        For an unknown likelihood.
    """
    model = build_model(tables, priors, likelihood, design)
    posterior, gate = sample_posterior(model, draws, tune, chains, seed)

    def flat(name: str, index: int | None = None) -> np.ndarray:
        values = posterior[name].values
        values = values[..., index] if index is not None else values
        return values.reshape(-1)

    slope = None
    if design is not None:
        slope = posterior["slope"].values.reshape(-1, len(design.columns), 2)

    return MetaAnalysis(
        tables=tables,
        mu_sens=flat("mu", 0),
        mu_fpr=flat("mu", 1),
        tau_sens=flat("tau", 0),
        tau_fpr=flat("tau", 1),
        rho=flat("rho"),
        diagnostics=gate.to_dict(),
        likelihood=likelihood,
        design=design,
        slope=slope,
    )


def plot_meta_analysis(result: MetaAnalysis, title: str | None = None):
    """ROC-space plot: studies, SROC curve, summary point, credible and prediction regions.

    Parameters
    ----------
    result : MetaAnalysis
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 5.5))
    ax = figure.add_subplot()
    tables = result.tables
    size = 12 + 60 * np.sqrt((tables.tp + tables.fn + tables.fp + tables.tn) / 1000.0)
    ax.scatter(
        tables.observed_fpr,
        tables.observed_sensitivity,
        s=size,
        facecolors="none",
        edgecolors="0.35",
        label="studies",
    )
    curve = result.sroc()
    ax.plot(curve["fpr"], curve["sensitivity"], color="C0", label="SROC (Rutter-Gatsonis)")
    ax.fill_between(curve["fpr"], curve["lower"], curve["upper"], color="C0", alpha=0.15)
    for region, style, label in (
        (result.credible_region(), "-", "95% credible region"),
        (result.prediction_region(), ":", "95% prediction region"),
    ):
        ax.plot(region["fpr"], region["sensitivity"], style, color="C3", label=label)
    point = result.summary()
    ax.plot(
        1.0 - point.loc["specificity", "median"],
        point.loc["sensitivity", "median"],
        "o",
        color="C3",
        label="summary point",
    )
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="False-positive rate (1 - specificity)")
    ax.set(ylabel="Sensitivity", title=title or f"Bivariate meta-analysis, {len(tables)} studies")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize="small")
    return figure


# --------------------------------------------------------------------------------------------
# From a pooled operating point to a binormal class separation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BinormalSeparation:
    """A binormal model matched to one (sensitivity, specificity) operating point.

    Parameters
    ----------
    separation : float or numpy.ndarray
        ``mu_recurrence - mu_necrosis`` on the log scale (in units of the given SDs; with both SDs
        1 this is the detectability index d').
    auc : float or numpy.ndarray
        Area under the binormal ROC curve through the point.
    mu_necrosis, mu_recurrence : float, numpy.ndarray or None
        Class means of the log value, when the cutoff was given.
    """

    separation: Any
    auc: Any
    mu_necrosis: Any = None
    mu_recurrence: Any = None


def binormal_separation(
    sensitivity: Any,
    specificity: Any,
    sigma_necrosis: float = 1.0,
    sigma_recurrence: float | None = None,
    cutoff: float | None = None,
) -> BinormalSeparation:
    """Binormal class separation on the log scale implied by sensitivity and specificity.

    Suppose the log of the measurement (log rCBV ratio, log TBR) is normal within each class,
    ``Normal(mu_necrosis, sigma_necrosis)`` and ``Normal(mu_recurrence, sigma_recurrence)``, and
    a result above the cutoff ``c`` is called positive. Then ``Sp = Phi((log c - mu_necrosis) /
    sigma_necrosis)`` and ``Se = Phi((mu_recurrence - log c) / sigma_recurrence)``, so

    - ``separation = mu_recurrence - mu_necrosis
      = sigma_recurrence * Phi^-1(Se) + sigma_necrosis * Phi^-1(Sp)``;
    - ``AUC = Phi(separation / sqrt(sigma_necrosis^2 + sigma_recurrence^2))``.

    With equal unit SDs (the defaults) the separation is d' = Phi^-1(Se) + Phi^-1(Sp) and
    AUC = Phi(d' / sqrt 2). Applied to posterior draws of a pooled (Se, Sp) it gives draws of the
    separation, whose median and spread can serve as a prior on a modality's separation (see
    ``perfusion.<technique>.separation`` in ``data/parameters.toml``).

    Parameters
    ----------
    sensitivity, specificity : float or array
        Values in (0, 1); arrays broadcast (e.g. posterior draws).
    sigma_necrosis : float, default 1.0
        Within-class SD of the log value among necrosis.
    sigma_recurrence : float, optional
        Within-class SD among recurrence; defaults to ``sigma_necrosis`` (equal variance).
    cutoff : float, optional
        The positivity cutoff on the original (ratio) scale; if given, the class means of the log
        value are returned too.

    Returns
    -------
    BinormalSeparation

    Raises
    ------
    ValueError
        When a probability is outside (0, 1), an SD is not positive or the cutoff is not positive.
    """
    se = np.asarray(sensitivity, dtype=float)
    sp = np.asarray(specificity, dtype=float)
    s1 = sigma_necrosis if sigma_recurrence is None else sigma_recurrence
    if np.any((se <= 0) | (se >= 1) | (sp <= 0) | (sp >= 1)):
        raise ValueError("sensitivity and specificity must lie strictly between 0 and 1")
    if sigma_necrosis <= 0 or s1 <= 0 or (cutoff is not None and cutoff <= 0):
        raise ValueError("the SDs and the cutoff must be positive")
    z_se, z_sp = stats.norm.ppf(se), stats.norm.ppf(sp)
    separation = s1 * z_se + sigma_necrosis * z_sp
    auc = stats.norm.cdf(separation / np.hypot(sigma_necrosis, s1))
    means: tuple[Any, Any] = (None, None)
    if cutoff is not None:
        log_cut = np.log(cutoff)
        means = (log_cut - sigma_necrosis * z_sp, log_cut + s1 * z_se)
    return BinormalSeparation(_scalar(separation), _scalar(auc), *map(_scalar, means))


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array
