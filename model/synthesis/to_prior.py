"""From a pooled operating point to a modality's entries in the parameter file.

The model reads a continuous marker (log rCBV, log TBR) as binormal within each class:
``Normal(mu_necrosis, sigma)`` under necrosis and ``Normal(mu_necrosis + separation, sigma)``
under recurrence (``data/parameters.toml``). A pooled (sensitivity, specificity) at a positivity
cutoff ``c`` fixes both locations once ``sigma`` is known
(:func:`~model.synthesis.meta_analysis.binormal_separation`):

- ``mu_necrosis = log c - direction * sigma * Phi^-1(Sp)`` (direction 1 when higher values point
  to recurrence, -1 when lower values do, as ADC);
- ``separation = sigma * (Phi^-1(Se) + Phi^-1(Sp))``.

2x2 tables at one cutoff cannot tell ``sigma`` from the separation, so ``sigma`` is taken as
given (the kind's current value, unless the caller says otherwise) and named in the source.
Applied draw by draw to the posterior of the pooled point, the mapping gives each entry's prior:
the median as its value and the posterior SD (of the log, for the lognormal separation) as its
scale, at least 0.001 (a prior scale must be positive). That scale is the pooled analysis's
uncertainty only; the binormal mapping's own error and the spread between centers
(``tau_center``) are not in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from scipy import stats

from model.synthesis.io import interval
from model.synthesis.meta_analysis import binormal_separation

DIGITS = 3
"""Decimals written for each value and scale."""


@dataclass(frozen=True)
class ModalityPrior:
    """The parameter-file entries of one modality kind, from a pooled operating point.

    Parameters
    ----------
    modality : str
        Dotted modality and kind, e.g. ``"perfusion.DSC"``.
    cutoff : float
        The positivity cutoff the pooled point is at (ratio scale).
    sigma : float
        The within-class SD of the log value assumed by the mapping.
    direction : {1, -1}
        1 when higher values point to recurrence, -1 when lower values do.
    sensitivity, specificity : numpy.ndarray
        Posterior draws of the pooled point.
    provenance : str
        Where the pooled point comes from (file, studies, likelihood, seed).
    """

    modality: str
    cutoff: float
    sigma: float
    direction: int
    sensitivity: np.ndarray
    specificity: np.ndarray
    provenance: str

    def entries(self) -> dict[str, dict[str, object]]:
        """The entries ``mu_necrosis``, ``separation`` and ``published``, keyed by dotted name.

        Returns
        -------
        dict
            ``modality.<modality>.<entry>`` to its fields as the parameter file writes them.

        Raises
        ------
        ValueError
            When some draws of the pooled point lie on or below the chance line
            (Se + Sp <= 1), where no positive separation exists.
        """
        mapping = binormal_separation(self.sensitivity, self.specificity, self.sigma)
        if np.any(mapping.separation <= 0):
            share = float(np.mean(mapping.separation <= 0))
            raise ValueError(
                f"{share:.0%} of the pooled point's draws have sensitivity + specificity <= 1: "
                "the studies do not show the marker separating the classes"
            )
        mu_necrosis = np.log(self.cutoff) - self.direction * self.sigma * stats.norm.ppf(
            self.specificity
        )
        prefix = f"modality.{self.modality}"
        se, sp, auc = (interval(d) for d in (self.sensitivity, self.specificity, mapping.auc))
        basis = (
            f"{self.provenance}: pooled sensitivity {_triple(se)}, specificity {_triple(sp)} at "
            f"cutoff {self.cutoff:g}, read as binormal with within-class SD {self.sigma:g} on the "
            "log scale (assumed; 2x2 tables cannot give it). Scale = the pooled analysis's "
            "posterior SD only: widen it for the mapping's error and for center differences."
        )
        return {
            f"{prefix}.mu_necrosis": {
                "value": _rounded(np.median(mu_necrosis)),
                "prior": "normal",
                "scale": _scale(np.std(mu_necrosis)),
                "source": f"log {self.cutoff:g} {'-' if self.direction > 0 else '+'} sigma * "
                f"probit(specificity). {basis}",
            },
            f"{prefix}.separation": {
                "value": _rounded(np.median(mapping.separation)),
                "prior": "lognormal",
                "scale": _scale(np.std(np.log(mapping.separation))),
                "source": f"sigma * (probit(sensitivity) + probit(specificity)). {basis}",
            },
            f"{prefix}.published": {
                "auc": [_rounded(v) for v in auc],
                "sensitivity": [_rounded(v) for v in se],
                "specificity": [_rounded(v) for v in sp],
                "source": f"{basis} AUC: the binormal curve through the pooled point.",
            },
        }

    def toml(self) -> str:
        """The entries as TOML tables, ready to replace the kind's tables in the parameter file."""
        blocks = []
        for name, fields in self.entries().items():
            lines = [f"[{name}]"]
            lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"


def _rounded(value: float) -> float:
    return round(float(value), DIGITS)


def _scale(value: float) -> float:
    """A prior scale as written: rounded, and at least the last written digit (never 0)."""
    return max(_rounded(value), 10.0**-DIGITS)


def _triple(values: tuple[float, float, float]) -> str:
    median, lower, upper = values
    return f"{median:.3f} ({lower:.3f}-{upper:.3f})"


def simulate_study_tables(
    mu_necrosis: float,
    separation: float,
    sigma: float,
    cutoffs: tuple[float, ...],
    studies: int,
    tau: float,
    seed: int,
) -> list[dict[str, object]]:
    """Synthetic 2x2 tables from the binormal model: the inverse of :class:`ModalityPrior`.

    Study ``k`` reads at ``cutoffs[k % len(cutoffs)]``; both of its class locations move by the
    same study shift ``Normal(0, tau)`` (a center's scanner and software); it has 15-60
    recurrences and 10-40 necroses. Higher values point to recurrence, and there are no misreads.

    Parameters
    ----------
    mu_necrosis, separation, sigma : float
        The binormal model on the log scale.
    cutoffs : tuple of float
        Positivity cutoffs on the ratio scale, used in turn.
    studies : int
    tau : float
        SD of the study shift.
    seed : int

    Returns
    -------
    list of dict
        One row per study: ``study``, ``TP``, ``FP``, ``FN``, ``TN``, ``cutoff``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(studies):
        cutoff = cutoffs[k % len(cutoffs)]
        shift = rng.normal(0.0, tau)
        recurrences, necroses = int(rng.integers(15, 61)), int(rng.integers(10, 41))
        z = np.log(cutoff) - mu_necrosis - shift
        sensitivity = stats.norm.sf((z - separation) / sigma)
        false_positive = stats.norm.sf(z / sigma)
        tp = int(rng.binomial(recurrences, sensitivity))
        fp = int(rng.binomial(necroses, false_positive))
        rows.append(
            {
                "study": f"synthetic-{k + 1:02d}",
                "TP": tp,
                "FP": fp,
                "FN": recurrences - tp,
                "TN": necroses - fp,
                "cutoff": cutoff,
            }
        )
    return rows
