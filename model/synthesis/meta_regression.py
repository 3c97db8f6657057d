"""Bivariate meta-regression on study-level covariates: summaries, and whether a covariate helps.

A fit of :func:`~model.synthesis.meta_analysis.fit_meta_analysis` with a
:class:`~model.synthesis.covariates.StudyDesign` gives each study the mean logits
``mu + (x_i - mean x) @ slope``. :class:`MetaRegression` reads it as ``mada`` does:

- :meth:`MetaRegression.coefficients`: intercept and slopes in ``mada::reitsma``'s
  parametrisation (the intercept is the reference level with numeric covariates at 0);
- :meth:`MetaRegression.summary_points`: sensitivity, specificity and likelihood ratios per
  level, numeric covariates at chosen values (a per-study cutoff covariate gives the summary
  point at a chosen cutoff, and :meth:`MetaRegression.sroc` the Rutter-Gatsonis curve there).

Whether the covariates improve prediction is judged by **PSIS-LOO over studies**
(:func:`compare_by_loo`): the expected log predictive density of a left-out study's 2x2 table
under the meta-regression against the intercept-only model. A study's predictive density is its
**marginal** likelihood, the study effects integrated out (:func:`study_log_likelihood`): for the
normal likelihood in closed form, for the binomial likelihood by Gauss-Hermite quadrature
centred on each study's normal approximation. A Bayes factor was not chosen because it depends on
the width of the slopes' prior far more than LOO does. The normal-likelihood counterpart of the
comparison is the ML likelihood-ratio test of :mod:`model.synthesis.reml`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from model.synthesis.covariates import StudyDesign
from model.synthesis.io import LEVEL, interval
from model.synthesis.meta_analysis import (
    MetaAnalysis,
    StudyTables,
    accuracy_draws,
    normal_approximation,
)

QUADRATURE_NODES = 12
"""Gauss-Hermite nodes per dimension for the binomial marginal likelihood (144 in all)."""


@dataclass(frozen=True)
class MetaRegression:
    """A bivariate meta-regression: a :class:`MetaAnalysis` fitted with a design.

    Parameters
    ----------
    fit : MetaAnalysis
        Its ``design`` and ``slope`` are set.
    """

    fit: MetaAnalysis

    def __post_init__(self):
        if self.fit.design is None or self.fit.slope is None:
            raise ValueError("a meta-regression needs a fit with a design")

    @property
    def design(self) -> StudyDesign:
        """The study-level covariates."""
        return self.fit.design

    def logits_at(self, row: np.ndarray) -> np.ndarray:
        """Draws of the pooled (logit Se, logit FPR) at one design row, shape (draws, 2)."""
        centre = np.column_stack([self.fit.mu_sens, self.fit.mu_fpr])
        return centre + np.einsum("c,dcs->ds", row - self.design.means, self.fit.slope)

    def study_means(self) -> np.ndarray:
        """Draws of every study's mean logits, shape (draws, studies, 2)."""
        centred = self.design.matrix - self.design.means
        base = np.column_stack([self.fit.mu_sens, self.fit.mu_fpr])[:, None, :]
        return base + np.einsum("ic,dcs->dis", centred, self.fit.slope)

    def coefficients(self) -> pd.DataFrame:
        """Posterior median and 95% interval of each coefficient, in ``mada``'s parametrisation.

        Returns
        -------
        pandas.DataFrame
            Index ``(scale, column)`` with columns ``intercept`` then the design's; columns
            ``median``, ``lower``, ``upper`` and ``p_positive`` (posterior probability > 0).
        """
        intercept = self.logits_at(np.zeros(len(self.design.columns)))
        rows = {}
        for s, scale in enumerate(("logit_sensitivity", "logit_fpr")):
            rows[(scale, "intercept")] = intercept[:, s]
            for c, column in enumerate(self.design.columns):
                rows[(scale, column)] = self.fit.slope[:, c, s]
        table = pd.DataFrame(
            {key: (*interval(draws), float(np.mean(draws > 0))) for key, draws in rows.items()},
            index=["median", "lower", "upper", "p_positive"],
        ).T
        table.index.names = ["scale", "column"]
        return table

    def summary_points(self, at: Mapping[str, float] | None = None) -> pd.DataFrame:
        """Pooled accuracy at every level of the categorical covariates.

        Parameters
        ----------
        at : mapping, optional
            Values of numeric covariates (default: their mean across studies).

        Returns
        -------
        pandas.DataFrame
            One row per setting and quantity (``sensitivity``, ``specificity``,
            ``lr_positive``, ``lr_negative``, ``diagnostic_odds_ratio``): the setting's
            covariate values, ``quantity``, ``median``, ``lower``, ``upper``.
        """
        records = []
        for setting in self.design.settings(at):
            logits = self.logits_at(self.design.row(setting))
            draws = accuracy_draws(special.expit(logits[:, 0]), special.expit(-logits[:, 1]))
            for quantity, values in draws.items():
                median, lower, upper = interval(values)
                records.append(
                    {
                        **setting,
                        "quantity": quantity,
                        "median": median,
                        "lower": lower,
                        "upper": upper,
                    }
                )
        return pd.DataFrame.from_records(records)

    def sroc(self, setting: Mapping[str, str | float], fpr: np.ndarray) -> pd.DataFrame:
        """The Rutter-Gatsonis SROC curve at one setting of the covariates, with its 95% band.

        The slopes move the summary point; the between-study SDs, shared by all settings,
        give the curve's shape (``logit Se = m_sens + tau_sens / tau_fpr (logit FPR - m_fpr)``).

        Parameters
        ----------
        setting : mapping
            A value for every covariate.
        fpr : numpy.ndarray
            False-positive rates.

        Returns
        -------
        pandas.DataFrame
            Columns ``fpr``, ``sensitivity`` (median), ``lower``, ``upper``.
        """
        logits = self.logits_at(self.design.row(setting))
        ratio = (self.fit.tau_sens / self.fit.tau_fpr)[:, None]
        curve = special.expit(logits[:, :1] + ratio * (special.logit(fpr)[None, :] - logits[:, 1:]))
        tail = (1.0 - LEVEL) / 2.0
        low, median, high = np.quantile(curve, [tail, 0.5, 1.0 - tail], axis=0)
        return pd.DataFrame({"fpr": fpr, "sensitivity": median, "lower": low, "upper": high})

    def to_dict(self, at: Mapping[str, float] | None = None) -> dict[str, Any]:
        """JSON-ready coefficients and summary points."""
        coefficients = self.coefficients().reset_index()
        return {
            "covariates": [
                {"name": c.name, "levels": list(c.levels) if c.levels else None}
                for c in self.design.covariates
            ],
            "coefficients": coefficients.to_dict(orient="records"),
            "summary_points": self.summary_points(at).to_dict(orient="records"),
            "tau": {
                "logit_sensitivity": dict(
                    zip(("median", "lower", "upper"), interval(self.fit.tau_sens), strict=True)
                ),
                "logit_fpr": dict(
                    zip(("median", "lower", "upper"), interval(self.fit.tau_fpr), strict=True)
                ),
            },
            "diagnostics": self.fit.diagnostics,
        }


def study_means(fit: MetaAnalysis) -> np.ndarray:
    """Draws of every study's mean logits, shape (draws, studies, 2), with or without design."""
    if fit.design is not None:
        return MetaRegression(fit).study_means()
    centre = np.column_stack([fit.mu_sens, fit.mu_fpr])[:, None, :]
    return np.broadcast_to(centre, (centre.shape[0], len(fit.tables), 2))


def study_log_likelihood(fit: MetaAnalysis) -> np.ndarray:
    """Each study's marginal log-likelihood per draw, its study effects integrated out.

    Normal likelihood: the bivariate normal density of the observed logits with covariance
    ``Sigma + diag(variances)``. Binomial likelihood: ``log ∫ Bin(TP | expit a) Bin(FP | expit b)
    N((a, b); m_i, Sigma) da db`` by Gauss-Hermite quadrature on the Gaussian that approximates
    the integrand (the conjugate combination of ``N(m_i, Sigma)`` with the study's normal
    approximation), where the ratio of integrand to Gaussian is smooth.

    Parameters
    ----------
    fit : MetaAnalysis

    Returns
    -------
    numpy.ndarray
        Shape (draws, studies).
    """
    means = study_means(fit)
    between = _between(fit)
    logits, variances = normal_approximation(fit.tables)
    if fit.likelihood == "normal":
        total = between[:, None] + variances[None, :, :, None] * np.eye(2)
        return _normal_log_density(logits[None], means, total)
    return _binomial_marginal(fit.tables, means, between, logits, variances)


def _between(fit: MetaAnalysis) -> np.ndarray:
    cross = fit.rho * fit.tau_sens * fit.tau_fpr
    return np.stack(
        [np.stack([fit.tau_sens**2, cross], -1), np.stack([cross, fit.tau_fpr**2], -1)], -2
    )


def _normal_log_density(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Log density of bivariate normals, broadcasting over leading axes (written out for 2 x 2)."""
    u, v = (x - mean)[..., 0], (x - mean)[..., 1]
    var_u, var_v, cross = cov[..., 0, 0], cov[..., 1, 1], cov[..., 0, 1]
    det = var_u * var_v - cross**2
    quadratic = (var_v * u**2 - 2.0 * cross * u * v + var_u * v**2) / det
    return -0.5 * (quadratic + np.log(det)) - np.log(2.0 * np.pi)


def _binomial_marginal(
    tables: StudyTables,
    means: np.ndarray,
    between: np.ndarray,
    logits: np.ndarray,
    variances: np.ndarray,
) -> np.ndarray:
    nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    z1, z2 = (grid.reshape(-1) for grid in np.meshgrid(nodes, nodes, indexing="ij"))
    log_w = np.log(np.outer(weights, weights).reshape(-1) / (2.0 * np.pi))
    prior_precision = np.linalg.inv(between)[:, None]  # (draws, 1, 2, 2)
    data_precision = np.eye(2) / variances[None, :, :, None]  # (1, studies, 2, 2)
    cov = np.linalg.inv(prior_precision + data_precision)  # (draws, studies, 2, 2)
    pulled = prior_precision @ means[..., None] + data_precision @ logits[None, :, :, None]
    centre = (cov @ pulled)[..., 0]
    # Nodes on the Gaussian N(centre, cov) through its Cholesky factor, written out for 2 x 2.
    l11 = np.sqrt(cov[..., 0, 0])
    l21 = cov[..., 1, 0] / l11
    l22 = np.sqrt(cov[..., 1, 1] - l21**2)
    a = centre[..., :1] + l11[..., None] * z1
    b = centre[..., 1:] + l21[..., None] * z1 + l22[..., None] * z2
    log_proposal = -0.5 * (z1**2 + z2**2) - np.log(2.0 * np.pi) - np.log(l11 * l22)[..., None]
    points = np.stack([a, b], -1)
    log_prior = _normal_log_density(points, means[:, :, None], between[:, None, None])
    log_data = _binomial_log_pmf(tables.tp, tables.tp + tables.fn, a)
    log_data += _binomial_log_pmf(tables.fp, tables.fp + tables.tn, b)
    return special.logsumexp(log_data + log_prior - log_proposal + log_w, axis=-1)


def _binomial_log_pmf(k: np.ndarray, n: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """Binomial log pmf of per-study counts (axis 1) at logits of shape (draws, studies, nodes)."""
    k, n = k[None, :, None].astype(float), n[None, :, None].astype(float)
    choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return choose + k * special.log_expit(logit) + (n - k) * special.log_expit(-logit)


@dataclass(frozen=True)
class LooComparison:
    """PSIS-LOO over studies of a meta-regression against the intercept-only model.

    Parameters
    ----------
    elpd_regression, elpd_intercept : float
        Expected log predictive density of a left-out study under each model.
    difference, se : float
        ``elpd_regression - elpd_intercept`` and its standard error (from the per-study
        differences).
    max_pareto_k : float
        The largest Pareto k of either model; above 0.7 the estimate is unreliable.
    """

    elpd_regression: float
    elpd_intercept: float
    difference: float
    se: float
    max_pareto_k: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready fields."""
        return dict(self.__dict__)


def compare_by_loo(regression: MetaAnalysis, intercept: MetaAnalysis) -> LooComparison:
    """Leave-one-study-out comparison of a meta-regression with the intercept-only model.

    Parameters
    ----------
    regression, intercept : MetaAnalysis
        The two fits of the same tables and likelihood, with and without the design.

    Returns
    -------
    LooComparison
    """
    a, ka = _pointwise_loo(study_log_likelihood(regression))
    b, kb = _pointwise_loo(study_log_likelihood(intercept))
    difference = a - b
    return LooComparison(
        elpd_regression=float(a.sum()),
        elpd_intercept=float(b.sum()),
        difference=float(difference.sum()),
        se=float(np.sqrt(len(difference) * difference.var(ddof=1))),
        max_pareto_k=float(max(ka.max(), kb.max())),
    )


def _pointwise_loo(log_lik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise PSIS-LOO elpd and Pareto k of a (draws, studies) log-likelihood."""
    import arviz as az
    import xarray as xr

    tree = xr.DataTree.from_dict(
        {"log_likelihood": xr.Dataset({"study": (("chain", "draw", "s"), log_lik[None])})}
    )
    # The draws are pooled across chains, so their relative efficiency is taken as 1. A large
    # Pareto k is reported by the caller, so ArviZ's own warning is not repeated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = az.loo(tree, pointwise=True, reff=1.0)
    return np.asarray(result.elpd_i).reshape(-1), np.asarray(result.pareto_k).reshape(-1)


def plot_meta_regression(regression: MetaRegression, at: Mapping[str, float] | None = None):
    """ROC-space plot: studies by setting, each setting's summary point and SROC curve.

    Parameters
    ----------
    regression : MetaRegression
    at : mapping, optional
        Values of numeric covariates (default: their mean across studies).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 5.5))
    ax = figure.add_subplot()
    tables, design = regression.fit.tables, regression.design
    categorical = [c for c in design.covariates if not c.numeric]
    keys = list(zip(*(c.values for c in categorical), strict=True)) if categorical else []
    size = 12 + 60 * np.sqrt((tables.tp + tables.fn + tables.fp + tables.tn) / 1000.0)
    for colour, setting in enumerate(design.settings(at)):
        label = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in setting.items()
        )
        key = tuple(setting[c.name] for c in categorical)
        members = np.array([k == key for k in keys]) if keys else np.ones(len(tables), bool)
        ax.scatter(
            tables.observed_fpr[members],
            tables.observed_sensitivity[members],
            s=size[members],
            facecolors="none",
            edgecolors=f"C{colour}",
        )
        observed = np.clip(tables.observed_fpr[members], 0.005, 0.995)
        curve = regression.sroc(setting, np.linspace(observed.min(), observed.max(), 60))
        ax.plot(curve["fpr"], curve["sensitivity"], color=f"C{colour}", label=label)
        logits = np.median(regression.logits_at(design.row(setting)), axis=0)
        ax.plot(special.expit(logits[1]), special.expit(logits[0]), "o", color=f"C{colour}")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="False-positive rate (1 - specificity)")
    ax.set(ylabel="Sensitivity", title=f"Bivariate meta-regression, {len(tables)} studies")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize="small", title="summary point and SROC")
    return figure
