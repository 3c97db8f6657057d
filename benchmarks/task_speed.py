"""Speed of the decision, cutoff and front-door tasks on the bundled fit.

Each task runs once to warm up (numba kernels compiled or loaded from their cache, fonts and
templates loaded) and is then timed best of ``repeats``. Start-up of ``rnbayes --help`` is set
against the bare interpreter's start-up measured in the same run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from model.cli import main as rnbayes
from model.core.files import bundled
from model.decision.parameters import load_decision_parameters
from model.decision.policy import RESCAN_INTERVALS, growth_likelihood, rescan_policy
from model.decision.value import decide
from model.fitting.sampling import Fit
from model.inputs.reading import load_cohort
from model.report.patient import lesion_reports


def best_of(task: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` runs, after one warm-up run."""
    task()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        task()
        best = min(best, time.perf_counter() - start)
    return best


def decision_tasks(fit: Fit, repeats: int) -> list[tuple[str, float, str]]:
    """Rescan-policy solve, per-lesion decisions with EVSI, and a full cutoff sweep."""
    params = load_decision_parameters()
    patients = bundled("patients_example.csv")
    n_patients = len(load_cohort(patients))

    def solve_policy():
        likelihoods = [growth_likelihood(fit.draws, weeks) for weeks in RESCAN_INTERVALS]
        rescan_policy(likelihoods, params, rounds=3)

    rows = [
        (
            "rescan policy: 3 rounds, 2,001-point grid, 4 intervals (with their likelihoods)",
            best_of(solve_policy, repeats),
            "s",
        ),
        (
            "decide: utilities, EVPI, EVSI of PET, perfusion and rescans at 4 intervals, flip "
            "points, robustness",
            best_of(lambda: decide(fit, patients, params), repeats) / n_patients,
            "s per lesion",
        ),
    ]
    with tempfile.TemporaryDirectory() as folder:
        sweep = ["cutoffs", str(bundled("fit.nc")), "--out", folder]
        rows.append(
            (
                "rnbayes cutoffs: every modality, center and new center, tables + figures",
                best_of(lambda: _quiet(rnbayes, sweep), repeats),
                "s",
            )
        )
    return rows


SERVED_LESION = {"patient_id": "bench", "center": "C03", "perfusion_technique": "DSC",
                 "perfusion_ratio": "1.4", "headache": "no", "months_since_rt": "8",
                 "volume_prior_ml": "3.0", "volume_baseline_ml": "4.0"}  # fmt: skip


def serve_tasks(fit: Fit, repeats: int) -> list[tuple[str, float, str]]:
    """The live page's answers, through the application (Flask's test client), against
    ``predict`` of the same lesion in the same run."""
    from model.scoring.predict import predict
    from model.serve.answers import LiveScorer
    from model.serve.app import create_app

    client = create_app(LiveScorer(fit, load_decision_parameters())).test_client()
    what_if = {"pet_tbr": "2.1", "pet_tracer": "FET", "growth": "0.2"}
    answer = best_of(
        lambda: client.post("/api/answer", json={"record": SERVED_LESION, "what_if": what_if}),
        repeats,
    )
    value = best_of(lambda: client.post("/api/value", json={"record": SERVED_LESION}), repeats)
    baseline = best_of(lambda: predict(fit, {**SERVED_LESION, "perfusion_ratio": 1.4}), repeats)
    return [
        ("rnbayes serve: one answer (P, scale, waterfall, categories, 2 what-ifs)", answer, "s"),
        ("rnbayes serve: the value panel (decide on 250 draws)", value, "s"),
        ("  the same lesion through predict() alone (baseline)", baseline, "s"),
        ("  ratio: one answer / predict()", answer / baseline, "x"),
    ]


def report_tasks(fit: Fit, repeats: int) -> list[tuple[str, float, str]]:
    """Seconds per lesion report, HTML and HTML + PDF."""
    patients = bundled("patients_example.csv")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for pdf in (False, True):
            n = len(lesion_reports(fit, patients, folder, pdf=pdf).pages)
            seconds = best_of(
                lambda pdf=pdf: lesion_reports(fit, patients, folder, pdf=pdf), repeats
            )
            rows.append((f"lesion report, {'HTML + PDF' if pdf else 'HTML'}", seconds / n, "s"))
    return rows


def startup_tasks(repeats: int) -> list[tuple[str, float, str]]:
    """``rnbayes --help`` start-up against the bare interpreter's, both in fresh processes."""
    command = shutil.which("rnbayes") or ""
    help_call = [command, "--help"] if command else [sys.executable, "-m", "model.cli", "--help"]
    bare = best_of(lambda: _run([sys.executable, "-c", "pass"]), repeats)
    startup = best_of(lambda: _run(help_call), repeats)
    return [
        ("rnbayes --help (fresh process)", startup, "s"),
        ("  python -c pass, same run (baseline)", bare, "s"),
    ]


def test_suite_seconds() -> float:
    """Wall time of the README's test command (the whole suite, slow short forms included)."""
    root = Path(__file__).resolve().parent.parent
    start = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    subprocess.run(command, cwd=root, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def _quiet(function: Callable[[list[str]], int], argv: list[str]) -> None:
    from contextlib import redirect_stdout
    from io import StringIO

    with redirect_stdout(StringIO()):
        if function(argv) != 0:
            raise RuntimeError(f"rnbayes {' '.join(argv)} failed")
