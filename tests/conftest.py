"""Shared fixtures: paths of the bundled data and small valid cohorts."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def mutation_runner():
    """tests/mutation/run.py as a module (it is a script, not part of a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "tests/mutation/run.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    return runner


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
