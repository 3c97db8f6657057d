"""The convergence gate: a fit is trusted only if R-hat, ESS and divergences pass.

Computed with ArviZ on the posterior and stored with the fit. A failed gate is never hidden: it is
recorded in the fit file, printed loudly by the CLI, and reports refuse such a fit unless forced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MAX_RHAT = 1.01
MIN_ESS = 400.0


@dataclass(frozen=True)
class Gate:
    """Convergence diagnostics of a fit and whether they pass.

    Parameters
    ----------
    max_rhat : float
        Largest rank-normalised split R-hat over all posterior quantities.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    divergences : int
        Divergent transitions after warm-up.
    worst : dict of str to str
        Which quantity set each extreme (for the message).
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    worst: dict[str, str]

    @property
    def passed(self) -> bool:
        """R-hat <= 1.01, bulk and tail ESS >= 400, no divergences."""
        return (
            self.max_rhat <= MAX_RHAT
            and self.min_ess_bulk >= MIN_ESS
            and self.min_ess_tail >= MIN_ESS
            and self.divergences == 0
        )

    def failures(self) -> list[str]:
        """Each failed criterion, in words."""
        out = []
        if not self.max_rhat <= MAX_RHAT:
            out.append(f"max R-hat {self.max_rhat:.3f} > {MAX_RHAT} ({self.worst['rhat']})")
        if not self.min_ess_bulk >= MIN_ESS:
            out.append(
                f"min bulk ESS {self.min_ess_bulk:.0f} < {MIN_ESS:.0f} ({self.worst['ess_bulk']})"
            )
        if not self.min_ess_tail >= MIN_ESS:
            out.append(
                f"min tail ESS {self.min_ess_tail:.0f} < {MIN_ESS:.0f} ({self.worst['ess_tail']})"
            )
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the verdict."""
        return {
            **asdict(self),
            "passed": self.passed,
            "thresholds": {"max_rhat": MAX_RHAT, "min_ess": MIN_ESS},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Gate:
        """Inverse of :meth:`to_dict`."""
        return cls(
            max_rhat=float(data["max_rhat"]),
            min_ess_bulk=float(data["min_ess_bulk"]),
            min_ess_tail=float(data["min_ess_tail"]),
            divergences=int(data["divergences"]),
            worst=dict(data["worst"]),
        )


def compute_gate(posterior, sample_stats) -> Gate:
    """Run the gate on a posterior Dataset and its sample statistics.

    Parameters
    ----------
    posterior : xarray.Dataset
        Dims ``chain``, ``draw`` and parameter dims.
    sample_stats : xarray.Dataset
        Must hold ``diverging``.

    Returns
    -------
    Gate
    """
    import arviz as az

    rhat = az.rhat(posterior)
    ess_bulk = az.ess(posterior, method="bulk")
    ess_tail = az.ess(posterior, method="tail")
    max_rhat, worst_rhat = _extreme(rhat, np.nanmax)
    min_bulk, worst_bulk = _extreme(ess_bulk, np.nanmin)
    min_tail, worst_tail = _extreme(ess_tail, np.nanmin)
    return Gate(
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        divergences=int(np.asarray(sample_stats["diverging"]).sum()),
        worst={"rhat": worst_rhat, "ess_bulk": worst_bulk, "ess_tail": worst_tail},
    )


def _extreme(dataset, reduce) -> tuple[float, str]:
    best_value, best_name = None, ""
    for name, values in dataset.data_vars.items():
        array = np.asarray(values, dtype=float)
        if array.size == 0 or np.all(np.isnan(array)):
            continue
        value = float(reduce(array))
        if best_value is None or reduce([best_value, value]) == value:
            best_value, best_name = value, str(name)
    return (float("nan") if best_value is None else best_value), best_name


def parameter_summary(posterior, var_names, ci_prob: float = 0.90):
    """Posterior mean, sd, equal-tailed interval, ESS and R-hat of the named parameters.

    Parameters
    ----------
    posterior : xarray.Dataset
    var_names : sequence of str
    ci_prob : float, default 0.90

    Returns
    -------
    pandas.DataFrame
        One row per scalar parameter; the interval columns are named ``eti_low`` and ``eti_high``.
    """
    import arviz as az

    table = az.summary(
        posterior, var_names=list(var_names), ci_kind="eti", ci_prob=ci_prob, round_to="none"
    )
    low, high = [c for c in table.columns if c.startswith("eti")][:2]
    return table.rename(columns={low: "eti_low", high: "eti_high"})
