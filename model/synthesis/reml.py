"""The bivariate normal-approximation model fitted by REML or ML, as R ``mada::reitsma`` does.

``mada::reitsma`` hands the observed (logit sensitivity, logit false-positive rate) of each study,
with their within-study variances (:func:`~model.synthesis.meta_analysis.normal_approximation`),
to ``mvmeta.fit``: ``y_i ~ Normal(B' x_i, Sigma + S_i)`` with ``x_i`` the study's design row
(intercept first), ``B`` the coefficients (one column per logit), ``Sigma`` the between-study
covariance and ``S_i = diag(variances_i)``. Given ``Sigma`` the coefficients are the generalised
least-squares estimate; ``Sigma`` maximises the profile likelihood (``method="ml"``) or the
restricted likelihood (``method="reml"``, the default), which adds
``-1/2 log det(sum_i Z_i' W_i Z_i)`` and counts ``2 * studies - coefficients`` observations.
The reported log-likelihood adds, as ``mada`` does, the log-Jacobian of the logit transform of
each observed proportion.

:func:`likelihood_ratio_test` compares two nested designs fitted by ML, as ``mada``'s ``anova``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

METHODS: tuple[str, ...] = ("reml", "ml")
SCALES: tuple[str, str] = ("logit_sensitivity", "logit_fpr")


@dataclass(frozen=True)
class NormalFit:
    """A bivariate normal-approximation fit.

    Parameters
    ----------
    columns : tuple of str
        Design columns, ``intercept`` first.
    coefficients : numpy.ndarray
        Shape (columns, 2): per column, the coefficient of logit sensitivity and of logit FPR.
    covariance : numpy.ndarray
        Shape (2 * columns, 2 * columns): their covariance, logit-sensitivity block first.
    tau : numpy.ndarray
        Between-study SDs of logit sensitivity and logit FPR.
    rho : float
        Between-study correlation.
    log_likelihood : float
        Maximised (restricted) log-likelihood, with ``mada``'s Jacobian term.
    method : {"reml", "ml"}
    """

    columns: tuple[str, ...]
    coefficients: np.ndarray
    covariance: np.ndarray
    tau: np.ndarray
    rho: float
    log_likelihood: float
    method: str

    @property
    def parameters(self) -> int:
        """Number of parameters: the coefficients and the three of the between-study matrix."""
        return self.coefficients.size + 3

    def table(self) -> pd.DataFrame:
        """Coefficients as ``mada``'s summary prints them: estimate, SE, z, p and 95% CI.

        Returns
        -------
        pandas.DataFrame
            Index ``(scale, column)``; columns ``estimate``, ``se``, ``z``, ``p``, ``lower``,
            ``upper``.
        """
        estimate = self.coefficients.T.reshape(-1)
        se = np.sqrt(np.diag(self.covariance))
        z = estimate / se
        half = stats.norm.ppf(0.975) * se
        index = pd.MultiIndex.from_product([SCALES, self.columns], names=["scale", "column"])
        return pd.DataFrame(
            {
                "estimate": estimate,
                "se": se,
                "z": z,
                "p": 2.0 * stats.norm.sf(np.abs(z)),
                "lower": estimate - half,
                "upper": estimate + half,
            },
            index=index,
        )


def fit_normal(
    logits: np.ndarray,
    variances: np.ndarray,
    design: np.ndarray,
    columns: tuple[str, ...],
    method: str = "reml",
) -> NormalFit:
    """Fit the bivariate normal-approximation model by REML or ML (see the module docstring).

    Parameters
    ----------
    logits, variances : numpy.ndarray
        Shape (studies, 2), from :func:`~model.synthesis.meta_analysis.normal_approximation`.
    design : numpy.ndarray
        Shape (studies, columns), the intercept column of ones first.
    columns : tuple of str
        Names of the design columns.
    method : {"reml", "ml"}, default "reml"

    Returns
    -------
    NormalFit

    Raises
    ------
    ValueError
        For an unknown method, or a design with no more studies than columns.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    studies, width = design.shape
    if studies <= width:
        raise ValueError(f"{studies} studies cannot estimate {width} coefficients per logit")
    blocks = np.stack([np.kron(np.eye(2), row) for row in design])

    def solve(theta):
        sd, rho = np.exp(theta[:2]), np.tanh(theta[2])
        between = np.outer(sd, sd) * np.array([[1.0, rho], [rho, 1.0]])
        weights = np.linalg.inv(between[None] + variances[:, :, None] * np.eye(2)[None])
        information = np.einsum("sai,sab,sbj->ij", blocks, weights, blocks)
        score = np.einsum("sai,sab,sb->i", blocks, weights, logits)
        beta = np.linalg.solve(information, score)
        residuals = logits - np.einsum("sai,i->sa", blocks, beta)
        return beta, weights, information, residuals

    def negative_log_likelihood(theta):
        beta, weights, information, residuals = solve(theta)
        value = np.einsum("sa,sab,sb->", residuals, weights, residuals)
        value -= np.linalg.slogdet(weights)[1].sum()
        observations = 2 * studies
        if method == "reml":
            value += np.linalg.slogdet(information)[1]
            observations -= beta.size
        return (value + observations * np.log(2.0 * np.pi)) / 2.0

    start = np.array([*np.log(np.maximum(logits.std(axis=0), 0.1)), 0.0])
    best = optimize.minimize(negative_log_likelihood, start, method="BFGS")
    best = optimize.minimize(
        negative_log_likelihood,
        best.x,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000},
    )
    beta, _, information, _ = solve(best.x)
    proportions = 1.0 / (1.0 + np.exp(-logits))
    jacobian = -np.log(proportions * (1.0 - proportions)).sum()
    return NormalFit(
        columns=columns,
        coefficients=beta.reshape(2, width).T,
        covariance=np.linalg.inv(information),
        tau=np.exp(best.x[:2]),
        rho=float(np.tanh(best.x[2])),
        log_likelihood=float(-best.fun + jacobian),
        method=method,
    )


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """ML likelihood-ratio test of a design against a nested one (``mada``'s ``anova``).

    Parameters
    ----------
    statistic : float
        ``2 (log L_full - log L_nested)``.
    df : int
        Difference in the number of parameters.
    p : float
        Upper tail of the chi-square distribution with ``df`` degrees of freedom.
    """

    statistic: float
    df: int
    p: float


def likelihood_ratio_test(
    logits: np.ndarray,
    variances: np.ndarray,
    design: np.ndarray,
    columns: tuple[str, ...],
    nested: np.ndarray,
    nested_columns: tuple[str, ...],
) -> LikelihoodRatioTest:
    """Compare two nested designs, both fitted by ML.

    REML likelihoods of models with different fixed effects are not comparable, so both are
    refitted by ML, as ``mada``'s vignette does before ``anova``.

    Parameters
    ----------
    logits, variances : numpy.ndarray
        Shape (studies, 2).
    design, nested : numpy.ndarray
        The larger design and the one nested in it, each with its intercept column.
    columns, nested_columns : tuple of str

    Returns
    -------
    LikelihoodRatioTest
    """
    full = fit_normal(logits, variances, design, columns, method="ml")
    small = fit_normal(logits, variances, nested, nested_columns, method="ml")
    statistic = max(0.0, 2.0 * (full.log_likelihood - small.log_likelihood))
    df = full.parameters - small.parameters
    return LikelihoodRatioTest(statistic, df, float(stats.chi2.sf(statistic, df)))
