"""Plant, one at a time, the hand-written bugs that once passed the suite, and run their tests.

    python tests/mutation/planted.py [NUMBER ...]      # all of them when none is given

Each bug is one text replacement in one source file, made in a fresh copy of the project
(``.mutation/planted/``: the checkout is never touched); the tests written for it run against
it and must fail. Prints, per bug, whether its tests failed, and the first lines of the failure;
exits 1 if any bug passed its tests. The first eight are the gaps of the issue "Tests that catch
wrong maths"; mutmut (``run.py``) finds the rest of such bugs by itself.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, WORKSPACES, copy_project  # noqa: E402 (a sibling script, not a package)

SPACE = WORKSPACES / "planted"


class Plant(NamedTuple):
    """One bug: ``old`` (found exactly once in ``path``) becomes ``new``; ``tests`` must fail."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


POLICY_TEST = (
    "tests/decision/test_policy.py::test_a_perfectly_informative_rescan_has_the_closed_form_value",
)
SCAN_COST = (
    "                    - (1 - p) * cost.necrosis\n                    - params.scan_cost\n"
)
CARRIED = "((1 - cost.window) * (expected_r - cost.delay) - params.scan_cost)[None]"
PLANTS = (
    Plant(
        "rescan policy: the scan cost dropped everywhere",
        "model/decision/policy.py",
        SCAN_COST,
        "                    - (1 - p) * cost.necrosis\n",
        POLICY_TEST,
    ),
    Plant(
        "rescan policy: the scan cost dropped from the value carried to later rounds",
        "model/decision/policy.py",
        CARRIED,
        "((1 - cost.window) * (expected_r - cost.delay))[None]",
        (
            "tests/decision/test_policy.py::"
            "test_backward_induction_matches_exact_recursion_with_a_three_way_rescan",
        ),
    ),
    Plant(
        "decision curves: test positive written risk > threshold",
        "model/decision/curves.py",
        "positive = risk[..., None, :] >= t[:, None]",
        "positive = risk[..., None, :] > t[:, None]",
        (
            "tests/decision/test_curves.py::"
            "test_a_risk_equal_to_the_threshold_counts_as_positive_as_in_dcurves",
        ),
    ),
    Plant(
        "schema ranges: an exclusive upper bound",
        "model/inputs/validation.py",
        "(number <= field.high)",
        "(number < field.high)",
        ("tests/inputs/test_boundaries.py",),
    ),
    Plant(
        "schema ranges: the TBR range widened from 15 to 150",
        "model/inputs/schema.py",
        "    low, high = modality.valid_range\n",
        "    low, high = modality.valid_range\n"
        "    high = 150.0 if modality.value_column == 'pet_tbr' else high\n",
        ("tests/inputs/test_boundaries.py",),
    ),
    Plant(
        "evidence breakdown: the sign of a read's term flipped",
        "model/likelihood/kernel.py",
        "                    t = r[1, s] - r[0, s]\n                    ell[s] += t",
        "                    t = r[0, s] - r[1, s]\n                    ell[s] += t",
        ("tests/likelihood/test_kernel.py::test_each_modality_term_is_its_own_likelihood_ratio",),
    ),
    Plant(
        "unseen center: the marker's spread not widened by the center spread",
        "model/likelihood/tables.py",
        "spread[e, :k, unseen] = np.sqrt(sigma**2 + m.tau[None, :] ** 2)",
        "spread[e, :k, unseen] = sigma",
        ("tests/likelihood/test_kernel.py::test_unseen_center_integrates_the_offsets",),
    ),
    Plant(
        "cutoff pooling: uniform center weights instead of lesion counts",
        "model/cutoffs/analysis.py",
        "return list(range(len(fit.centers))), counts / counts.sum()",
        "return list(range(len(fit.centers))), (counts > 0) / (counts > 0).sum()",
        (
            "tests/cutoffs/test_analysis.py::"
            "test_pooled_accuracy_weights_centers_by_their_training_lesions",
        ),
    ),
    Plant(
        "latent class: a hard-coded Beta(1, 1) prevalence prior",
        "model/synthesis/latent_class.py",
        "    return pm.Beta(name, alpha=alpha, beta=beta, dims=dim)",
        "    if name == 'prevalence':\n"
        "        alpha, beta = np.ones_like(alpha), np.ones_like(beta)\n"
        "    return pm.Beta(name, alpha=alpha, beta=beta, dims=dim)",
        (
            "tests/synthesis/test_latent_class.py::"
            "test_an_informative_prevalence_prior_moves_the_answer_as_importance_sampling_says",
        ),
    ),
    Plant(
        "model/scorer agreement: a bug in the scoring path only (the value term's slope sign)",
        "model/likelihood/kernel.py",
        "t = misread_llr(a + b * u, eps)",
        "t = misread_llr(a - b * u, eps)",
        (
            "tests/likelihood/test_model_agreement.py::"
            "test_pymc_and_scorer_agree_for_every_modality_state_and_combination",
        ),
    ),
)


def planted_text(plant: Plant, root: Path = ROOT) -> str:
    """The file's text with the bug in it; refuses a plant whose text is not there exactly once."""
    text = (root / plant.path).read_text()
    if text.count(plant.old) != 1:
        raise ValueError(f"{plant.name}: the text to replace occurs {text.count(plant.old)} times")
    return text.replace(plant.old, plant.new)


def run_plant(plant: Plant) -> tuple[bool, float, list[str]]:
    """Whether the plant's tests failed, their seconds, and the first lines of the failure."""
    path = SPACE / plant.path
    original = path.read_text()
    path.write_text(planted_text(plant, SPACE))
    try:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "0", "-x", "-p", "no:cacheprovider"]
            + list(plant.tests),
            cwd=SPACE,
            capture_output=True,
            text=True,
        )
        failure = [line for line in done.stdout.splitlines() if line.startswith("E ")][:3]
        return done.returncode == 1, time.perf_counter() - start, failure
    finally:
        path.write_text(original)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("numbers", nargs="*", type=int, metavar="NUMBER")
    args = parser.parse_args(argv)
    chosen = args.numbers or range(len(PLANTS))
    copy_project(SPACE)
    shutil.copy(ROOT / "pyproject.toml", SPACE / "pyproject.toml")
    passed = []
    for number in chosen:
        plant = PLANTS[number]
        failed, seconds, failure = run_plant(plant)
        verdict = "failed, as it must" if failed else "PASSED: the bug is not caught"
        print(f"{number}. {plant.name}\n   {' '.join(plant.tests)}: {verdict} ({seconds:.0f} s)")
        for line in failure:
            print(f"     {line[:160]}")
        if not failed:
            passed.append(number)
    return 1 if passed else 0


if __name__ == "__main__":
    sys.exit(main())
