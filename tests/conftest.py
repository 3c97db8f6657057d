"""Shared fixtures: paths of the bundled data and small valid cohorts."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def mutation_script(name: str = "run"):
    """tests/mutation/<name>.py as a module (the scripts are not part of a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        f"mutation_{name}", ROOT / f"tests/mutation/{name}.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def mutation_runner():
    """tests/mutation/run.py as a module."""
    return mutation_script("run")


def histopathology_classes(cohort_path: Path):
    """The cohort's lesions with a histopathology class, read with pandas, each one's class by
    hand as data/README.md states it (``reference_class``): a mixed specimen is recurrence at a
    tumour share of at least 50% (``context.mixed_recurrence_tumor_percent``), necrosis below it,
    and without a share left out."""
    import numpy as np
    import pandas as pd

    cohort = pd.read_csv(
        cohort_path, dtype={"perfusion_ratio": float}, keep_default_na=False, na_values=[""]
    )
    share = cohort["tumor_share_percent"]
    diagnosis = cohort["reference_diagnosis"].where(
        cohort["reference_diagnosis"] != "mixed",
        np.where(share >= 50, "recurrence", np.where(share < 50, "necrosis", None)),
    )
    keep = (cohort.reference_source == "histopathology") & diagnosis.notna()
    return cohort.assign(reference_class=diagnosis)[keep]


def histopathology_dsc(cohort_path: Path):
    """:func:`histopathology_classes` with a DSC value."""
    labelled = histopathology_classes(cohort_path)
    return labelled[(labelled.perfusion_technique == "DSC") & labelled.perfusion_ratio.notna()]


@pytest.fixture(scope="session")
def bundled_cohort_path() -> Path:
    return DATA / "cohort.csv"


@pytest.fixture(scope="session")
def small_cohort_text() -> str:
    """A valid 20-lesion cohort as CSV text (simulated, so every field kind occurs)."""
    from model.checks.simulation import simulate

    cohort, _ = simulate(20, 3, seed=7)
    return cohort.to_csv_text()


@pytest.fixture(scope="session")
def bundled_fit():
    from model.fitting.sampling import load_fit

    return load_fit(DATA / "fit.nc")


@pytest.fixture(scope="session")
def few_draws_fit(bundled_fit):
    """The bundled fit cut to every 20th draw (200 of them): identities that hold for any draws
    are checked on it, fast enough to repeat for every mutant of a module."""
    from model.fitting.sampling import Fit

    few = bundled_fit.posterior.isel(draw=slice(0, None, 20))
    return Fit(few, bundled_fit.sample_stats, bundled_fit.provenance)


@pytest.fixture(scope="session")
def fit_without_pet(few_draws_fit):
    """The 200-draw fit as if its parameter file had declared no PET: a fit whose modalities
    differ from the bundled file's."""
    import copy

    from model.fitting.sampling import Fit

    provenance = copy.deepcopy(few_draws_fit.provenance)
    parameters = provenance["parameters"]
    del parameters["modalities"]["pet"]
    parameters["modality_order"] = [m for m in parameters["modality_order"] if m != "pet"]
    parameters["entries"] = {
        k: v for k, v in parameters["entries"].items() if not k.startswith("modality.pet.")
    }
    return Fit(few_draws_fit.posterior, few_draws_fit.sample_stats, provenance)
