"""The same seed gives identical fits and identical scores, in separate processes."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
import model
from model.checks.simulation import simulate
from model.fitting.integrity import fit_checksum
cohort, _ = simulate(120, 3, seed=31)
settings = model.SamplerSettings(draws=80, tune=120, chains=2, seed=5)
fit = model.fit(cohort, settings=settings, progress=False)
scores = model.predict(fit, model.bundled("patients_example.csv"))
names = ("perfusion_separation", "growth_sd", "pet_sigma")
summary = {name: float(fit.posterior[name].mean()) for name in names}
checksum = fit_checksum(fit.posterior, fit.sample_stats, {}, None)
print(json.dumps({"summary": summary, "checksum": checksum,
                  "p": scores["p_recurrence"].tolist(), "low": scores["ci_low"].tolist()}))
"""


def start() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def result(process: subprocess.Popen) -> dict:
    out, err = process.communicate()
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_same_seed_same_fit_and_scores_across_processes():
    # two processes at once: each compiles and samples on its own, as two users' would
    processes = [start(), start()]
    first, second = (result(p) for p in processes)
    assert first["checksum"] == second["checksum"]
    assert first["summary"] == second["summary"]
    assert first["p"] == second["p"] and first["low"] == second["low"]
