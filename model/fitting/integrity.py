"""What makes a fit file tamper-evident: one checksum and a check of the provenance.

One checksum covers everything that can change an answer, and the provenance's structure is
checked before anything reads it.

The checksum covers the posterior and sampler statistics (values, shapes and coordinates, so
swapped center names show), the whole provenance (centers, early window, stored priors and
modalities, settings, diagnostics) and the stored training rows. A file edited anywhere, by hand
or by a tool that does not know the rule, fails it. It is a SHA-256 without a key: it catches
accidents and casual edits, not a forger who recomputes it, so the convergence gate is in any
case recomputed from the draws at load (:attr:`model.fitting.sampling.Fit.gate`).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np


def fit_checksum(posterior, sample_stats, provenance: dict[str, Any], training: str | None) -> str:
    """SHA-256 over a fit's draws, statistics, provenance and training rows.

    Parameters
    ----------
    posterior, sample_stats : xarray.Dataset
    provenance : dict
        Without its ``checksum`` entry (ignored if present).
    training : str or None
        The stored training cohort's CSV text.

    Returns
    -------
    str
        Hex digest.
    """
    digest = hashlib.sha256()
    for group, dataset in (("posterior", posterior), ("sample_stats", sample_stats)):
        for name in sorted(dataset.data_vars):
            values = np.ascontiguousarray(dataset[name].to_numpy(), dtype=np.float64)
            digest.update(f"{group}/{name}{values.shape}{dataset[name].dims}".encode())
            digest.update(values.tobytes())
        for name in sorted(dataset.coords):
            labels = [str(v) for v in dataset[name].to_numpy().tolist()]
            digest.update(f"{group}/coord/{name}".encode() + json.dumps(labels).encode())
    rest = {k: v for k, v in provenance.items() if k != "checksum"}
    digest.update(json.dumps(rest, sort_keys=True).encode())
    digest.update((training or "").encode())
    return digest.hexdigest()


def provenance_problems(provenance: Any, posterior) -> list[str]:
    """What is malformed or inconsistent in a fit's provenance, in words (empty when sound).

    Parameters
    ----------
    provenance : object
        As read from the file (any JSON value).
    posterior : xarray.Dataset
        The file's draws, whose ``center`` coordinate the provenance must match.

    Returns
    -------
    list of str
    """
    if not isinstance(provenance, dict):
        return [f"provenance that is a JSON object (found {type(provenance).__name__})"]
    problems = []
    for key, kind in (
        ("cohort", dict),
        ("parameters", dict),
        ("sampler", dict),
        ("diagnostics", dict),
        ("early_window_months", (int, float)),
        ("model_spec_hash", str),
        ("parameters_digest", str),
    ):
        if not isinstance(provenance.get(key), kind) or isinstance(provenance.get(key), bool):
            found = provenance.get(key)
            problems.append(f"provenance '{key}' of the stored kind (found {found!r})")
    if problems:
        return problems
    window = provenance["early_window_months"]
    if not (math.isfinite(window) and window > 0):
        problems.append(f"a positive early window in months (found {window!r})")
    centers = provenance["cohort"].get("centers")
    if not (
        isinstance(centers, list)
        and centers
        and all(isinstance(c, str) and c for c in centers)
        and len(set(centers)) == len(centers)
    ):
        problems.append(f"a list of distinct center names (found {centers!r})")
    elif "center" in posterior.coords and [str(c) for c in posterior["center"].values] != centers:
        problems.append("the same centers, in the same order, as the draws")
    for key in ("name", "digest"):
        if not isinstance(provenance["cohort"].get(key), str):
            problems.append(f"provenance 'cohort.{key}' as text")
    return problems
