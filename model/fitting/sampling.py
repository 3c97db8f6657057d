"""Fitting the model with NUTS, and the fit file.

:func:`fit` encodes a validated cohort, builds the PyMC model, samples it (nutpie by default,
PyMC's own NUTS on request), runs the convergence gate and returns a :class:`Fit`.
:meth:`Fit.save` writes one netCDF file (ArviZ 1.x ``DataTree``) whose root attributes carry the
provenance as JSON: package and model version, model-spec hash, cohort digest, sampler settings,
diagnostics and a checksum over all of it (:mod:`model.fitting.integrity`). :func:`load_fit`
refuses a file of another format or model version, a truncated or corrupt file, malformed or
inconsistent provenance, or a file that does not match its checksum; the convergence gate is
recomputed from the draws. No pickle; training rows are stored only when asked.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from model import __version__
from model.core.errors import InputError, Problem
from model.core.files import atomic_write, bundled
from model.fitting.diagnostics import Gate, compute_gate
from model.fitting.integrity import fit_checksum, provenance_problems
from model.inputs.encode import NONE, encode
from model.inputs.parameters import (
    Parameters,
    load_parameters,
    parameters_from_mapping,
    parameters_to_mapping,
)
from model.inputs.schema import Cohort
from model.inputs.treatment import WINDOW_ENTRY, check_bevacizumab
from model.likelihood.draws import PosteriorDraws, draws_from_posterior
from model.modalities.registry import Registry
from model.modalities.spec import Marker

MODEL_VERSION = 6
"""Bump when the model's parameters or likelihood change meaning: older fit files are refused."""

FIT_FORMAT = "rnbayes-fit-2"  # 2: the checksum covers statistics, coordinates and provenance
SAMPLE_STATS_KEPT = ("diverging", "n_steps", "energy", "step_size", "tree_depth", "lp")
_MODEL_SOURCES = (
    "likelihood/pymc_model.py",
    "likelihood/class_prior.py",
    "likelihood/patients.py",
    "likelihood/symptoms.py",
    "likelihood/growth.py",
    "likelihood/trends.py",
    "inputs/encode.py",
    "inputs/early_window.py",
    "modalities/forms.py",
)
"""The modules whose code defines the model's likelihood: a fit made by other code is refused."""


NOT_FOR_TRAINING = "Remove it from the training cohort: the model learns how untreated lesions look"

DEFAULT_TUNE = {"nutpie": 300, "pymc": 1000}
"""Warm-up draws per chain by sampler, when not given."""
LARGE_COHORT = 2000
"""Cohorts with this many lesions or more sample with ``target_accept = 0.8`` by default."""


@dataclass(frozen=True)
class SamplerSettings:
    """How the posterior was sampled.

    Parameters
    ----------
    sampler : {"nutpie", "pymc"}
        nutpie (default; compiled with numba) or PyMC's own NUTS.
    draws, chains : int
        Draws kept per chain, and the number of chains.
    tune : int, optional
        Warm-up draws per chain; default 300 with nutpie (its low-rank mass-matrix adaptation
        settles within them: the same ESS as 1,000 in 40% less time, at 300 to 30,000 lesions)
        and 1,000 with PyMC.
    seed : int
    adaptation : str
        nutpie's mass-matrix adaptation (``"low_rank"`` by default; ignored by PyMC).
    target_accept : float, optional
        NUTS's target acceptance rate; by default chosen by :meth:`for_cohort` from the cohort's
        size: 0.9 below :data:`LARGE_COHORT` lesions, where weakly identified between-center
        spreads gave a few divergences at 0.8, and 0.8 from there, where the posterior is
        data-dominated (no divergences at 3,000 and 30,000 lesions, and half the leapfrog steps).
    centered : "auto" or tuple of str
        Families with centred group effects (:func:`model.likelihood.pymc_model.families`);
        ``"auto"``
        chooses from the data (:func:`model.likelihood.pymc_model.choose_centered`).
    cores : int or None
        Chains sampled in parallel; default as many as chains and CPUs allow.
    """

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int | None = None
    chains: int = 4
    seed: int = 1
    adaptation: str = "low_rank"
    target_accept: float | None = None
    centered: str | tuple[str, ...] = "auto"
    cores: int | None = None

    def __post_init__(self):
        if self.sampler not in {"nutpie", "pymc"}:
            raise ValueError(f"sampler must be 'nutpie' or 'pymc', not {self.sampler!r}")
        if self.tune is None:
            object.__setattr__(self, "tune", DEFAULT_TUNE[self.sampler])
        if self.target_accept is not None and not 0 < self.target_accept < 1:
            raise ValueError("target_accept must be strictly between 0 and 1")
        if min(self.draws, self.chains) < 1 or self.tune < 0:
            raise ValueError("draws and chains must be positive, tune non-negative")

    def for_cohort(self, n_lesions: int) -> SamplerSettings:
        """These settings with ``target_accept`` chosen for a cohort of ``n_lesions``, if unset."""
        if self.target_accept is not None:
            return self
        chosen = 0.9 if n_lesions < LARGE_COHORT else 0.8
        return replace(self, target_accept=chosen)


@dataclass(frozen=True, eq=False)
class Fit:
    """A fitted model: posterior draws plus provenance.

    Parameters
    ----------
    posterior : xarray.Dataset
        Posterior draws (dims ``chain``, ``draw``, ...).
    sample_stats : xarray.Dataset
        Sampler statistics kept for diagnostics.
    provenance : dict
        Versions, hashes, sampler settings, diagnostics (see :func:`load_fit`).
    training_data : str or None
        The training cohort as canonical CSV text, only when asked to store it.
    """

    posterior: Any
    sample_stats: Any
    provenance: dict[str, Any]
    training_data: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def centers(self) -> tuple[str, ...]:
        """Training centers, in the model's index order."""
        return tuple(self.provenance["cohort"]["centers"])

    @cached_property
    def gate(self) -> Gate:
        """The convergence gate, recomputed from the draws (never read from stored numbers)."""
        return compute_gate(self.posterior, self.sample_stats)

    @property
    def early_window_months(self) -> float:
        """Months after radiotherapy that count as the early window (as in training)."""
        return float(self.provenance["early_window_months"])

    @cached_property
    def parameters(self) -> Parameters:
        """The priors and modality declarations the fit was made with (stored in the file)."""
        return parameters_from_mapping(self.provenance["parameters"], "fit file")

    @property
    def registry(self) -> Registry:
        """The fit's modalities: the columns it scores."""
        return self.parameters.registry

    def stored_training_rows(self):
        """The training cohort stored in the file (``fit --store-data``) as text cells, or None.

        A :class:`pandas.DataFrame` of strings, blank cells as None, for
        :func:`model.scoring.predict.as_cohort` to validate like any input.
        """
        if self.training_data is None:
            return None
        import io

        import pandas as pd

        return pd.read_csv(
            io.StringIO(self.training_data), dtype=str, keep_default_na=False
        ).replace("", None)

    @cached_property
    def draws(self) -> PosteriorDraws:
        """The posterior as NumPy arrays (chains and draws stacked)."""
        return draws_from_posterior(self.posterior, self.parameters)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit as one netCDF file, atomically.

        Parameters
        ----------
        path : path-like

        Returns
        -------
        pathlib.Path
        """
        import xarray as xr

        provenance = dict(self.provenance)
        provenance["checksum"] = fit_checksum(
            self.posterior, self.sample_stats, provenance, self.training_data
        )
        attrs = {"rnbayes": json.dumps(provenance, sort_keys=True)}
        if self.training_data is not None:
            attrs["training_data_csv"] = self.training_data
        tree = xr.DataTree.from_dict(
            {
                "/": xr.Dataset(attrs=attrs),
                "posterior": self.posterior,
                "sample_stats": self.sample_stats,
            }
        )
        return atomic_write(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))


def model_spec_hash(parameters: Parameters) -> str:
    """Hash of what defines the model: its version, its source and its priors.

    The centred/non-centred choice is not part of it: it changes the sampler's geometry, not the
    posterior.
    """
    digest = hashlib.sha256()
    digest.update(f"{MODEL_VERSION}|{parameters.digest}".encode())
    package = Path(__file__).resolve().parent.parent
    for name in _MODEL_SOURCES:
        digest.update(_code_fingerprint((package / name).read_text()).encode())
    return digest.hexdigest()


def _code_fingerprint(source: str) -> str:
    """The module's syntax tree without docstrings: changes with the code, not with its layout."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@dataclass(frozen=True)
class PreparedModel:
    """A cohort's PyMC model, ready to sample.

    Attributes
    ----------
    graph : ModelGraph
        The PyMC model and its exported tensors (:func:`model.likelihood.pymc_model.build_model`).
    lesions : Lesions
        The encoded training lesions.
    centered : tuple of str
        Families with centred group effects.
    structure : tuple
        What a compiled model depends on besides the data: (number of centers, centred
        families, digest of the priors and modalities). Cohorts with equal structure share one
        compiled model.
    """

    graph: Any
    lesions: Any
    centered: tuple[str, ...]
    structure: tuple


def prepare_model(
    cohort: Cohort, parameters: Parameters, centered: str | Sequence[str] = "auto"
) -> PreparedModel:
    """Encode a cohort and build its PyMC model, as :func:`fit` does before sampling.

    Parameters
    ----------
    cohort : Cohort
    parameters : Parameters
    centered : "auto" or sequence of str, default "auto"
        As :attr:`SamplerSettings.centered`.

    Returns
    -------
    PreparedModel
    """
    from model.likelihood.pymc_model import build_model, choose_centered, families

    bevacizumab = float(parameters.value(WINDOW_ENTRY))
    check_bevacizumab(cohort, bevacizumab, allow=False, remedy=NOT_FOR_TRAINING)
    lesions = encode(cohort, cohort.centers, parameters)
    if centered == "auto":
        chosen = choose_centered(lesions, parameters)
    else:
        chosen = tuple(centered)
        unknown = set(chosen) - set(families(parameters))
        if unknown:
            raise ValueError(
                f"unknown families to centre: {sorted(unknown)} (known: {families(parameters)})"
            )
    graph = build_model(lesions, cohort.centers, parameters, centered=chosen)
    return PreparedModel(graph, lesions, chosen, (len(cohort.centers), chosen, parameters.digest))


def fit(
    cohort: Cohort,
    parameters: Parameters | None = None,
    settings: SamplerSettings | None = None,
    *,
    progress: bool = True,
    store_training_data: bool = False,
) -> Fit:
    """Fit the hierarchical latent-class model to a cohort with NUTS.

    Parameters
    ----------
    cohort : Cohort
        Validated training lesions (:func:`model.load_cohort`).
    parameters : Parameters, optional
        Priors; default the bundled parameter file.
    settings : SamplerSettings, optional
        Sampler, draws, warm-up, chains, seed; defaults as in :class:`SamplerSettings`.
    progress : bool, default True
        Show the sampler's progress bar.
    store_training_data : bool, default False
        Keep the training rows in the fit (they are not stored otherwise).

    Returns
    -------
    Fit
        Check ``fit.gate.passed`` before trusting it.
    """
    parameters = parameters if parameters is not None else load_parameters()
    settings = (settings if settings is not None else SamplerSettings()).for_cohort(len(cohort))
    bevacizumab = float(parameters.value(WINDOW_ENTRY))
    check_bevacizumab(cohort, bevacizumab, allow=False, remedy=NOT_FOR_TRAINING)
    window = float(parameters.value("cohort_design.early_window_months"))
    started = time.perf_counter()
    prepared = prepare_model(cohort, parameters, settings.centered)
    graph, lesions, centered = prepared.graph, prepared.lesions, prepared.centered
    tree, timing = _sample(graph, prepared.structure, settings, progress)
    elapsed = time.perf_counter() - started
    posterior = tree["posterior"].to_dataset().assign_coords(center=list(cohort.centers))
    stats = tree["sample_stats"].to_dataset()
    stats = stats[[name for name in SAMPLE_STATS_KEPT if name in stats]]
    gate = compute_gate(posterior, stats)
    provenance = {
        "format": FIT_FORMAT,
        "package_version": __version__,
        "model_version": MODEL_VERSION,
        "model_spec_hash": model_spec_hash(parameters),
        "parameters_digest": parameters.digest,
        "parameters": parameters_to_mapping(parameters),
        "early_window_months": window,
        "cohort": _cohort_provenance(cohort, lesions),
        "sampler": {**settings.__dict__, "centered": list(centered), **timing},
        "diagnostics": gate.to_dict(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 2),
    }
    return Fit(posterior, stats, provenance, cohort.to_csv_text() if store_training_data else None)


def is_bundled_cohort(cohort: Cohort) -> bool:
    """Whether these are the lesions of the bundled synthetic cohort (``data/cohort.csv``)."""
    try:
        return cohort.digest == _bundled_cohort_digest(cohort.registry)
    except FileNotFoundError:
        return False


def _cohort_provenance(cohort: Cohort, lesions) -> dict[str, Any]:
    is_bundled = is_bundled_cohort(cohort)
    return {
        "name": "bundled synthetic cohort (data/cohort.csv)"
        if is_bundled
        else Path(cohort.source).name,
        "synthetic": is_bundled,
        "digest": cohort.digest,
        "n_lesions": len(cohort),
        "n_labelled": int((lesions.label >= 0).sum()),
        "n_histopathology": int((lesions.label_source == 0).sum()),
        "centers": list(cohort.centers),
        "imaging_counts": _imaging_counts(cohort.centers, lesions, cohort.registry),
    }


def _imaging_counts(centers, lesions, registry: Registry) -> dict[str, dict[str, int]]:
    """Training lesions with each marker kind or binary test, per center (counts only).

    Keyed by kind name (``"DSC"``) for markers and by modality name for binary tests.
    """
    counts = {}
    for modality in registry:
        evidence = lesions.evidence[modality.name]
        kinds = modality.kind_names if isinstance(modality, Marker) else (modality.name,)
        for index, name in enumerate(kinds):
            mask = (evidence.state != NONE) & (evidence.kind == index)
            counts[name] = {
                c: int((mask & (lesions.center == i)).sum()) for i, c in enumerate(centers)
            }
    return counts


def _bundled_cohort_digest(registry: Registry) -> str:
    from model.inputs.reading import load_cohort

    return load_cohort(bundled("cohort.csv"), registry).digest


def exact_numba():
    """PyTensor's numba backend without fast-math, for compiles whose results must reproduce.

    With fast-math, code freshly compiled in a process and the same code loaded from PyTensor's
    on-disk cache round differently, so the same seed gave different draws in a first and a later
    process. Without it the arithmetic is IEEE-exact either way.
    """
    import pytensor

    return pytensor.config.change_flags(numba__fastmath=False)


_COMPILED: dict[tuple, object] = {}
"""nutpie models compiled in this process, by model structure: (number of centers, centred
families, priors digest). A cohort with the same structure reuses one with its own data."""


def _compiled_nutpie(graph, structure: tuple):
    import nutpie

    if structure in _COMPILED:
        return _COMPILED[structure].with_data(**graph.data), True
    with exact_numba():
        compiled = nutpie.compile_pymc_model(graph.model)
    _COMPILED[structure] = compiled
    return compiled, False


def _sample(graph, structure: tuple, settings: SamplerSettings, progress: bool):
    """Run the chosen sampler; returns the DataTree and timing details."""
    cores = settings.cores or min(settings.chains, os.cpu_count() or 1)
    model = graph.model
    if settings.sampler == "nutpie":
        import nutpie

        t0 = time.perf_counter()
        compiled, reused = _compiled_nutpie(graph, structure)
        t1 = time.perf_counter()
        tree = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores,
            seed=settings.seed,
            adaptation=settings.adaptation,
            target_accept=settings.target_accept,
            progress_bar=progress,
            save_warmup=False,
        )
        t2 = time.perf_counter()
        timing = {"compile_seconds": round(t1 - t0, 2), "sampling_seconds": round(t2 - t1, 2)}
        return tree, {**timing, "compiled_model_reused": reused}
    import pymc as pm

    t0 = time.perf_counter()
    step = pm.NUTS(model=model, target_accept=settings.target_accept)  # compiles logp and gradient
    t1 = time.perf_counter()
    tree = pm.sample(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=cores,
        random_seed=settings.seed,
        step=step,
        progressbar=progress,
        compute_convergence_checks=False,
        model=model,
    )
    t2 = time.perf_counter()
    timing = {"compile_seconds": round(t1 - t0, 2), "sampling_seconds": round(t2 - t1, 2)}
    return tree, {**timing, "compiled_model_reused": False}


def load_fit(path: str | os.PathLike) -> Fit:
    """Load a fit file written by :meth:`Fit.save`, checking it.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Fit

    Raises
    ------
    model.core.errors.InputError
        If the file is missing, not an rnbayes fit, from another model version, truncated,
        corrupt, or its draws do not match their checksum.
    """
    import xarray as xr

    name = Path(path).name

    def refuse(expected: str) -> InputError:
        return InputError([Problem(name, None, None, None, expected)])

    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            attrs = dict(tree.attrs)
            posterior = tree["posterior"].to_dataset().load()
            stats = tree["sample_stats"].to_dataset().load()
    except FileNotFoundError:
        raise refuse("an existing fit file (not found)") from None
    except Exception as error:  # noqa: BLE001 - any reader failure means an unreadable file
        raise refuse(
            f"a readable rnbayes fit file (netCDF/HDF5); reading failed: {error}"
        ) from None
    try:
        provenance = json.loads(attrs["rnbayes"])
        fit_format = provenance["format"]
    except (KeyError, ValueError, TypeError):
        raise refuse("an rnbayes fit file (no rnbayes provenance in it)") from None
    if fit_format != FIT_FORMAT:
        raise refuse(
            f"a fit file of format {FIT_FORMAT!r}; this one is {str(fit_format)!r} (another "
            "rnbayes version): refit it with `rnbayes fit`"
        )
    if provenance.get("model_version") != MODEL_VERSION:
        raise refuse(
            f"a fit of model version {MODEL_VERSION}; this file was made by model version "
            f"{provenance.get('model_version')} (rnbayes {provenance.get('package_version')}): "
            "refit it with `rnbayes fit`"
        )
    problems = provenance_problems(provenance, posterior)
    if problems:
        raise InputError([Problem(name, None, None, None, p) for p in problems])
    training = attrs.get("training_data_csv")
    if provenance.get("checksum") != fit_checksum(posterior, stats, provenance, training):
        raise refuse(
            "draws, statistics and provenance matching the file's checksum (the file is corrupt "
            "or was edited)"
        )
    loaded = Fit(posterior, stats, provenance, training)
    window = float(loaded.parameters.value("cohort_design.early_window_months"))
    if window != provenance["early_window_months"]:
        raise refuse("the early window of the fit's own parameters")
    return loaded
