"""New-center onboarding: a center's calibration shifts and prevalence offset from its own lesions.

A fit scores a center it never saw by integrating that center's effects over the between-center
spread: honest, but blind to a scanner that reads perfusion high or a clinic that sees more
recurrences. Onboarding learns the center's effects from a few of its own lesions, labelled or
not, with the fitted population as the prior, without refitting the cohort:

for every posterior draw s of the population, ``candidates`` values of the center's effects are
drawn from that draw's between-center distribution (the prevalence offset u ~ N(0, tau_u) and
each marker's calibration shift ~ N(0, tau_marker)); each is weighted by the local lesions'
likelihood under draw s, and one is kept with probability proportional to its weight
(sampling-importance-resampling, draw by draw). The kept values are posterior draws of the new
center's effects jointly with the population's, so the center is then scored like a training
center. A marker no local lesion measured keeps its prior spread.

The likelihood of a lesion is that of its evidence, summed over the two classes, times the
probability of its label where it has one: a histopathology label fixes the class; a follow-up
label counts with the follow-up reference's sensitivity and specificity; a label made from the
lesion's own recorded rescans is not counted (its growth already is). A patient's lesions are
taken as independent here (their shared class is not modelled), a small approximation with few
lesions per patient.

How well the candidates cover the posterior is reported as the effective sample size of each
draw's weights; few effective candidates mean the local lesions pull the center far from where
the population puts centers (a warning, and more candidates).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from model.core.errors import InputError, Problem
from model.fitting.sampling import NOT_FOR_TRAINING, Fit, load_fit
from model.inputs.encode import FOLLOW_UP, HISTOPATHOLOGY, NONE, Lesions, encode
from model.inputs.schema import Cohort
from model.inputs.treatment import WINDOW_ENTRY, check_bevacizumab
from model.likelihood.class_prior import (
    PRIOR_TERMS,
    PriorComponents,
    class_prior_log_probabilities,
    prior_components,
)
from model.likelihood.draws import PosteriorDraws
from model.likelihood.kernel import class_log_joint, class_log_priors
from model.likelihood.tables import build_tables
from model.modalities.spec import Marker

DEFAULT_CANDIDATES = 64
"""Candidate center effects per posterior draw (from the adapted proposal)."""

ADAPT_DRAWS, ADAPT_CANDIDATES, ADAPT_ROUNDS = 400, 256, 2
"""The proposal's adaptation: thinned draws, candidates shared by them, and rounds."""

INFLATE = 1.5
"""The adapted proposal's spread over the weighted candidates' (heavier than the target)."""

LOCATING_CANDIDATES = 32
"""Candidates per draw of the pass that locates each draw's posterior."""

FRESH_EVERY = 50
"""Posterior draws sharing one set of final candidates (fresh ones for every such block)."""

LOW_ESS = 10.0
"""Effective candidates per draw below which a draw's resampling is called degenerate."""

BLOCK_VALUES = 2_000_000
"""Lesion-candidate-draw triples evaluated together (bounds memory to about 64 MB a block)."""


@dataclass(frozen=True)
class Onboarding:
    """What onboarding learned about a new center.

    Attributes
    ----------
    center : str
    effects : pandas.DataFrame
        One row per center effect (``prevalence`` and each marker): ``effect``, ``informed``
        (whether a local lesion bears on it), ``mean``, ``low``, ``high`` (90% interval, log
        scale) and ``prior_sd`` (the population's mean between-center spread).
    lesions : dict
        Local lesions used, by label source: ``histopathology``, ``follow_up``, ``unlabelled``.
    median_ess, low_ess_share : float
        Median effective candidates per draw, and the share of draws below :data:`LOW_ESS`.
    """

    center: str
    effects: pd.DataFrame
    lesions: dict[str, int]
    median_ess: float
    low_ess_share: float


def onboard(
    fit: Fit | str | os.PathLike,
    local: Cohort,
    *,
    candidates: int = DEFAULT_CANDIDATES,
    seed: int = 1,
) -> tuple[Fit, Onboarding]:
    """Learn a new center's effects from its lesions and return the fit with that center added.

    Parameters
    ----------
    fit : Fit or path
        A fit that never saw the center.
    local : Cohort
        The new center's lesions (one center; validated against the fit's modalities). Lesions
        scanned under bevacizumab are refused.
    candidates : int, default 64
        Candidate center effects per posterior draw.
    seed : int, default 1

    Returns
    -------
    fit : Fit
        The same population draws with the center's effects appended (its provenance lists the
        onboarding under ``onboarded``).
    onboarding : Onboarding

    Raises
    ------
    InputError
        When the lesions come from several centers or from a center the fit was trained on.
    """
    fit = fit if isinstance(fit, Fit) else load_fit(fit)
    center = _the_new_center(fit, local)
    check_bevacizumab(
        local, float(fit.parameters.value(WINDOW_ENTRY)), allow=False, remedy=NOT_FOR_TRAINING
    )
    lesions = encode(local, fit.centers, fit.parameters)
    draws = fit.draws
    rng = np.random.default_rng(seed)
    kept, ess = _resample_effects(draws, lesions, fit.registry, candidates, rng)
    counts = _label_counts(lesions)
    record = {
        "center": center,
        "lesions": len(local),
        **counts,
        "candidates": candidates,
        "seed": seed,
        "median_ess": round(float(np.median(ess)), 2),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    summary = Onboarding(
        center=center,
        effects=_effects_table(draws, kept, _informed(lesions, fit.registry)),
        lesions=counts,
        median_ess=float(np.median(ess)),
        low_ess_share=float(np.mean(ess < LOW_ESS)),
    )
    return _with_center(fit, kept, record), summary


def _the_new_center(fit: Fit, local: Cohort) -> str:
    centers = local.centers
    name = Path(local.source).name
    if len(centers) != 1:
        raise InputError(
            [
                Problem(
                    name,
                    None,
                    "center",
                    ", ".join(centers),
                    "the lesions of one center (onboard each center on its own)",
                )
            ]
        )
    if centers[0] in fit.centers:
        raise InputError(
            [
                Problem(
                    name,
                    None,
                    "center",
                    centers[0],
                    "a center the fit was not trained on (this one's effects are already "
                    "estimated from its training lesions)",
                )
            ]
        )
    return centers[0]


def _center_effect_names(draws: PosteriorDraws) -> list[str]:
    """``prevalence`` then each marker, as the effects are stacked."""
    return ["prevalence", *draws.markers]


def _spreads(draws: PosteriorDraws) -> np.ndarray:
    """Each draw's between-center spread of every effect: (S, effects)."""
    return np.stack([draws.tau_u, *(m.tau for m in draws.markers.values())], axis=-1)


class _Gaussian(NamedTuple):
    """A multivariate normal proposal for the center's effects."""

    mean: np.ndarray  # (E,)
    cov: np.ndarray  # (E, E)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.multivariate_normal(self.mean, self.cov, size=size, method="cholesky")

    def log_density(self, effects: np.ndarray) -> np.ndarray:
        return stats.multivariate_normal(self.mean, self.cov).logpdf(effects).reshape(-1)


def _resample_effects(
    draws: PosteriorDraws,
    lesions: Lesions,
    registry,
    candidates: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, one of ``candidates`` proposed center effects, kept by its importance weight.

    Three stages. The proposal is first adapted on a thinned posterior: a wide normal around the
    population's centers, then normals matched to the weighted candidates. A pass over every
    draw with :data:`LOCATING_CANDIDATES` of them then locates each draw's own posterior (its
    weighted mean: a draw's population parameters move where its center must sit), and the final
    candidates are deviations around that location, from a normal with the draws' average
    within-draw spread inflated by :data:`INFLATE`. Returns the kept effects (S, effects), in
    :func:`_center_effect_names` order, and each draw's effective number of candidates (S,).
    """
    spreads = _spreads(draws)
    weigh = _Weigher(draws, lesions, registry, spreads)
    centres = np.zeros_like(spreads)
    proposal = _Gaussian(np.zeros(spreads.shape[1]), np.diag((2 * spreads.mean(axis=0)) ** 2))
    thinned = np.linspace(0, draws.n_draws - 1, min(ADAPT_DRAWS, draws.n_draws)).astype(int)
    for _ in range(ADAPT_ROUNDS):
        effects = proposal.sample(rng, ADAPT_CANDIDATES)
        weights = _normalised(weigh(thinned, effects, centres) - proposal.log_density(effects))
        proposal = _matched(effects, weights)
    within = np.zeros((spreads.shape[1],) * 2)
    for block, effects in _blocks(draws.n_draws, len(lesions), LOCATING_CANDIDATES, proposal, rng):
        weights = _normalised(weigh(block, effects, centres) - proposal.log_density(effects))
        centres[block] = weights @ effects
        for row, k in enumerate(block):
            deviation = effects - centres[k]
            within += (deviation * weights[row, :, None]).T @ deviation
    deviations = _Gaussian(np.zeros(spreads.shape[1]), INFLATE**2 * within / draws.n_draws)
    kept = np.empty_like(spreads)
    ess = np.empty(draws.n_draws)
    for block, effects in _blocks(draws.n_draws, len(lesions), candidates, deviations, rng):
        weights = _normalised(weigh(block, effects, centres) - deviations.log_density(effects))
        ess[block] = 1.0 / (weights**2).sum(axis=1)
        chosen = (weights.cumsum(axis=1) < rng.uniform(size=(len(block), 1))).sum(axis=1)
        kept[block] = centres[block] + effects[np.minimum(chosen, len(effects) - 1)]
    return kept, ess


def _blocks(n_draws: int, n_lesions: int, candidates: int, proposal, rng):
    """Blocks of draws, each with fresh candidates from ``proposal``, within the memory bound."""
    step = max(1, min(FRESH_EVERY, BLOCK_VALUES // (n_lesions * candidates)))
    for start in range(0, n_draws, step):
        yield np.arange(start, min(start + step, n_draws)), proposal.sample(rng, candidates)


def _normalised(log_w: np.ndarray) -> np.ndarray:
    """Each row's weights, summing to one."""
    weights = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def _matched(effects: np.ndarray, weights: np.ndarray) -> _Gaussian:
    """A normal with the weighted candidates' moments, pooled over draws, spread inflated."""
    share = weights.mean(axis=0)  # every draw counts equally
    mean = share @ effects
    centred = effects - mean
    cov = (centred * share[:, None]).T @ centred
    return _Gaussian(mean, INFLATE**2 * cov + 1e-8 * np.eye(len(mean)))


class _Weigher:
    """log prior + log likelihood of candidate center effects, per draw and candidate."""

    def __init__(self, draws: PosteriorDraws, lesions: Lesions, registry, spreads: np.ndarray):
        self.draws, self.lesions, self.registry, self.spreads = draws, lesions, registry, spreads
        self.label_log = _label_log_likelihood(draws, lesions)  # (n, S, 2)
        self.at_reference = replace(lesions, center=np.zeros(len(lesions), dtype=np.int64))
        # a lesion with an unknown status has a mixture prior, whose log-odds do not move by the
        # prevalence offset: its prior is recomputed per candidate from its components
        self.mixed = (lesions.x_mgmt == 0.0) | (lesions.x_reirradiation == 0.0)
        components = prior_components(
            lesions.x_mgmt[self.mixed], lesions.x_reirradiation[self.mixed], draws.hidden_shares
        )
        self.components = PriorComponents(*(c[:, :, None, None] for c in components))  # (4,k,1,1)

    def __call__(self, block: np.ndarray, effects: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """(draws, candidates): the effects of draw s and candidate m are centres[s] + effects[m].

        A center's calibration shift moves both classes' log values, so a lesion at a center
        shifted by d reads as the same lesion, its log value (or its read's log cutoff) less d,
        at a center without that shift: each candidate is a set of lesion copies, scored at one
        reference center shifted by each draw's centre, and the candidate's prevalence offset is
        added to each copy's prior logit (for a lesion with an unknown status, to the logit of
        each status it may hide, and the mixture recomputed).
        """
        n, m = len(self.lesions), len(effects)
        copies = _shifted_copies(self.lesions, effects, list(self.draws.markers))
        reference = _at_reference(self.draws.select(block), centres[block])
        tables = build_tables(reference, self.registry)
        joint = class_log_joint(copies, tables, 1, self.registry).reshape(n, m, len(block), 2)
        base = class_log_priors(self.at_reference, tables, 1).transpose(2, 0, 1)  # (2, n, B)
        logit = (base[1] - base[0])[:, None, :] + effects[None, :, 0, None]  # (n, M, B)
        prior = np.stack([-np.logaddexp(0.0, logit), -np.logaddexp(0.0, -logit)], axis=-1)
        if self.mixed.any():
            coefficients = {name: getattr(reference, name)[None, None, :] for name in PRIOR_TERMS}
            offset = reference.u[None, None, :, 0] + effects[None, :, 0, None]  # (1, M, B)
            x_early = self.lesions.x_early[self.mixed, None, None]
            prior[self.mixed] = np.stack(
                class_prior_log_probabilities(coefficients, offset, x_early, self.components),
                axis=-1,
            )
        joint = joint - np.moveaxis(base, 0, -1)[:, None] + prior
        joint = joint + self.label_log[:, None, block, :]
        log_likelihood = np.logaddexp(joint[..., 0], joint[..., 1]).sum(axis=0).T  # (B, M)
        total = centres[block][:, None, :] + effects[None, :, :]
        log_prior = stats.norm.logpdf(total, scale=self.spreads[block][:, None, :]).sum(axis=-1)
        return log_likelihood + log_prior


def _shifted_copies(lesions: Lesions, effects: np.ndarray, markers: list[str]) -> Lesions:
    """Every lesion once per candidate, at center 0, each marker's log value less its shift."""
    n, m = len(lesions), len(effects)
    copies = lesions.subset(np.repeat(np.arange(n), m))
    evidence = dict(copies.evidence)
    for j, name in enumerate(markers):
        e = evidence[name]
        shift = np.tile(effects[:, j + 1], n)
        evidence[name] = e._replace(value=np.where(e.state != NONE, e.value - shift, e.value))
    return replace(copies, center=np.zeros(n * m, dtype=copies.center.dtype), evidence=evidence)


def _at_reference(draws: PosteriorDraws, centres: np.ndarray) -> PosteriorDraws:
    """The draws with one center, whose effects are each draw's ``centres`` (S, effects)."""
    markers = {
        name: replace(marker, offset=np.ascontiguousarray(centres[:, j + 1 : j + 2]))
        for j, (name, marker) in enumerate(draws.markers.items())
    }
    return replace(draws, u=np.ascontiguousarray(centres[:, :1]), markers=markers)


def _label_log_likelihood(draws: PosteriorDraws, lesions: Lesions) -> np.ndarray:
    """log P(label | class) per lesion, draw and class: (n, S, 2); 0 where no label counts."""
    out = np.zeros((len(lesions), draws.n_draws, 2))
    tissue = lesions.label_source == HISTOPATHOLOGY
    out[tissue, :, :] = np.where(
        np.arange(2)[None, None, :] == lesions.label[tissue, None, None], 0.0, -np.inf
    )
    follow = lesions.label_source == FOLLOW_UP
    says = lesions.label[follow, None]  # 1 recurrence, 0 necrosis
    se, sp = draws.sensitivity[None, :], draws.specificity[None, :]
    out[follow, :, 1] = np.log(np.where(says == 1, se, 1 - se))
    out[follow, :, 0] = np.log(np.where(says == 1, 1 - sp, sp))
    return out


def _informed(lesions: Lesions, registry) -> dict[str, bool]:
    """Which effects a local lesion bears on: prevalence always, a marker where it was measured."""
    informed = {"prevalence": len(lesions) > 0}
    for modality in registry:
        if isinstance(modality, Marker):
            informed[modality.name] = bool((lesions.evidence[modality.name].state != NONE).any())
    return informed


def _label_counts(lesions: Lesions) -> dict[str, int]:
    histopathology = int((lesions.label_source == HISTOPATHOLOGY).sum())
    follow_up = int((lesions.label_source == FOLLOW_UP).sum())
    return {
        "histopathology": histopathology,
        "follow_up": follow_up,
        "unlabelled": len(lesions) - histopathology - follow_up,
    }


def _effects_table(
    draws: PosteriorDraws, kept: np.ndarray, informed: dict[str, bool]
) -> pd.DataFrame:
    spreads = _spreads(draws).mean(axis=0)
    rows = []
    for j, name in enumerate(_center_effect_names(draws)):
        low, high = np.quantile(kept[:, j], [0.05, 0.95])
        rows.append(
            {
                "effect": name,
                "informed": informed[name],
                "mean": float(kept[:, j].mean()),
                "low": float(low),
                "high": float(high),
                "prior_sd": float(spreads[j]),
            }
        )
    return pd.DataFrame(rows)


def _with_center(fit: Fit, kept: np.ndarray, record: dict) -> Fit:
    """The fit with the new center's effects appended along ``center``, provenance updated."""
    import xarray as xr

    posterior = fit.posterior
    chains, per_chain = posterior.sizes["chain"], posterior.sizes["draw"]
    center = record["center"]
    variables = [f"{name}_center" for name in _center_effect_names(fit.draws)]
    extended = {}
    for j, variable in enumerate(variables):
        column = xr.DataArray(
            kept[:, j].reshape(chains, per_chain, 1),
            dims=("chain", "draw", "center"),
            coords={"chain": posterior["chain"], "draw": posterior["draw"], "center": [center]},
        )
        extended[variable] = xr.concat([posterior[variable], column], dim="center")
    updated = posterior.drop_vars([*variables, "center"]).assign(extended)
    cohort = dict(fit.provenance["cohort"])
    cohort["centers"] = [*fit.centers, center]
    cohort["imaging_counts"] = {
        kind: {**counts, center: 0} for kind, counts in cohort["imaging_counts"].items()
    }
    provenance = {
        **fit.provenance,
        "cohort": cohort,
        "onboarded": [*fit.provenance.get("onboarded", []), record],
    }
    return Fit(updated, fit.sample_stats, provenance, fit.training_data)
