"""Mutation testing of the numerical core, one module at a time, with mutmut.

    python tests/mutation/run.py [MODULE ...] [--max-children N] [--fail-under 0.9]
    python tests/mutation/run.py --survivors MODULE ...   # its kept survivors only

Each module named in ``tests/mutation/modules.toml`` (all of them when none is given) is mutated
in its own workspace, ``.mutation/<module>/``: a copy of ``model/``, ``tests/``, ``data/`` and
``pyproject.toml`` with a ``[tool.mutmut]`` table naming that module and its fast tests (``slow``
tests excluded). The checkout is never touched, so work can go on while it runs. mutmut runs, for
each mutant, only the tests that execute the mutated function, widened here to every test of
their files (a module-scoped fixture runs inside the first test that asks for it only).

Prints per module the mutants, those detected (a failing test, a timeout or a crash), the
equivalent mutants listed in ``modules.toml`` (left out of the rate), the survivors and the kill
rate, then every survivor's diff; ``tests/mutation/results.json`` keeps the latest result of
each module (README.md's table is printed from it by ``--table``, and ``tests/test_readme.py``
checks the two agree). Exits 1 when a module's kill rate is below ``--fail-under``.

``--survivors`` runs again only the mutants a module's kept run left undetected (its survivors
and listed equivalents), against today's tests, and keeps the rest of that run: tests added since
cannot bring a killed mutant back. It is refused when the module's source differs from the one
the kept run mutated (``source_sha256``), since then its mutants differ too.

Why mutmut: it mutates each function in place behind a trampoline and forks per mutant, so a
module's tests are imported once, not once per mutant (PyMC and PyTensor take seconds to import),
and it learns which tests reach which function. Functions with decorators (the numba kernels) are
not mutated; each has a NumPy twin, mutated here, that tests hold it equal to.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from model.core.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[2]
PLAN = Path(__file__).resolve().parent / "modules.toml"
RESULTS = Path(__file__).resolve().parent / "results.json"
WORKSPACES = ROOT / ".mutation"
COPIED = ("model", "tests", "data")
# a test run that crashed is a failing run: a mutant that mis-sizes an array a numba kernel
# writes into fails its test, then corrupts the heap and the process dies with SIGSEGV
DETECTED = ("killed", "timeout", "segfault")
NOT_COUNTED = ("skipped",)  # `# pragma: no mutate`
NO_MUTANT = "no.mutant.matches.this"  # a filter that stops mutmut once its test record is made


def module_path(module: str) -> str:
    """The module's source file, relative to the project root."""
    return "model/" + module.replace(".", "/") + ".py"


def copy_project(space: Path) -> Path:
    """A fresh copy of ``model/``, ``tests/`` and ``data/`` in ``space`` (emptied first)."""
    if space.exists():
        shutil.rmtree(space)
    space.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        shutil.copytree(ROOT / name, space / name, ignore=ignore)
    return space


def workspace(module: str, tests: list[str], deselect: list[str]) -> Path:
    """A fresh copy of the project whose mutmut configuration names ``module`` and ``tests``.

    ``deselect``: test ids left out (slow end-to-end tests that reach the module only through
    other code, and would run in full for every surviving mutant).
    """
    space = copy_project(WORKSPACES / module)
    source = module_path(module)
    (space / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text()
        + "\n[tool.mutmut]\n"
        + 'source_paths = ["model/"]\n'
        + f"only_mutate = {json.dumps([source])}\n"
        + f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        + "pytest_add_cli_args = "
        + json.dumps(
            ["-p", "no:cacheprovider", "-n", "0", "-x", "-m", "not slow"]
            + [arg for test in deselect for arg in ("--deselect", test)]
        )
        + "\n"
        + 'also_copy = ["data/"]\n'
        + "timeout_constant = 30.0\n"  # a forked test run also loads fixtures the estimate omits
        # fork from a server that has only collected the tests: a process that has run numba's
        # parallel kernels holds a thread pool, and its forked children deadlock
        + 'process_isolation = "forkserver"\n'
    )
    return space


def mutmut(space: Path, *args: str, capture: bool = False, check: bool = True) -> str:
    """Run ``mutmut ARGS`` in a workspace; its output when captured."""
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=space,
        capture_output=capture or not check,
        text=True,
        check=check,
    )
    return done.stdout if capture else ""


def widen_stats(path: Path) -> None:
    """Let every test of a file that reaches a function judge that function's mutants.

    mutmut runs, for a mutant, the tests that called its function while it recorded them. A
    module-scoped fixture runs once, inside the first test that asks for it, so the other tests
    that read the fixture's result were never run against the mutant, and a mutant they would
    catch was counted as surviving. Widening to the whole test file is a superset of the tests
    that can see the function's result.
    """
    stats = json.loads(path.read_text())
    by_file: dict[str, set[str]] = {}
    for test in stats["duration_by_test"]:
        by_file.setdefault(test.split("::")[0], set()).add(test)
    reached = stats["tests_by_mangled_function_name"]
    for function, tests in reached.items():
        files = {test.split("::")[0] for test in tests}
        reached[function] = sorted(set(tests).union(*(by_file.get(f, set()) for f in files)))
    atomic_write_text(path, json.dumps(stats))


def statuses(space: Path) -> dict[str, str]:
    """Each mutant's status, as ``mutmut results --all true`` prints it."""
    found = {}
    for line in mutmut(space, "results", "--all", "true", capture=True).splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("model."):
            found[name] = status
    return found


def mutated_lines(space: Path, name: str) -> list[str]:
    """The lines a mutant puts in place of the original ones, as its diff shows them."""
    diff = mutmut(space, "show", name, capture=True).splitlines()
    return [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("++")]


def is_equivalent(module: str, name: str, lines: list[str], equivalents: list[dict]) -> str | None:
    """The reason a mutant is listed as equivalent, or None."""
    # mutmut names a function's mutants x_<function>__mutmut_<n>, a method's xǁ<class>ǁ<method>__...
    mangled = name.rsplit(".", 1)[-1].split("__mutmut_")[0]
    function = mangled.removeprefix("x_").rsplit("ǁ", 1)[-1]
    for entry in equivalents:
        if (
            entry["module"] == module
            and entry["function"] == function
            and entry["mutation"].strip() in lines
        ):
            return entry["reason"]
    return None


def source_sha256(module: str) -> str:
    """SHA-256 of the module's source file in the checkout."""
    return hashlib.sha256((ROOT / module_path(module)).read_bytes()).hexdigest()


def run_mutants(module: str, plan: dict, children: int, names: list[str]) -> tuple[Path, dict]:
    """Mutate one module in a fresh workspace and run its tests against the mutants named (all
    when none is); each mutant's status."""
    tests = plan["tests"]
    space = workspace(module, tests, plan.get("deselect", []))
    print(f"\n== {module}: mutating, tests {' '.join(tests)}", flush=True)
    # First pass: generate the mutants and record which tests reach each function, then stop
    # (no mutant matches the filter); widen that record, and run the mutants against it.
    mutmut(space, "run", "--max-children", str(children), NO_MUTANT, check=False)
    widen_stats(space / "mutants" / "mutmut-stats.json")
    mutmut(space, "run", "--max-children", str(children), *names)
    return space, statuses(space)


def run_module(module: str, plan: dict, equivalents: list[dict], children: int) -> dict:
    """Mutate one module, run its tests against every mutant and summarise the outcome."""
    start = time.perf_counter()
    tests = plan["tests"]
    digest = source_sha256(module)
    space, found = run_mutants(module, plan, children, [])
    counted = {n: s for n, s in found.items() if s not in NOT_COUNTED}
    undetected = [
        {"mutant": name, "status": status, "mutation": mutated_lines(space, name)}
        for name, status in counted.items()
        if status not in DETECTED
    ]
    result = {
        "module": module,
        "tests": tests,
        "mutants": len(found),
        "counted": len(counted),
        "seconds": round(time.perf_counter() - start),
        "source_sha256": digest,
        "survivors": undetected,
        "equivalents": [],
    }
    return judged(result, equivalents)


def rerun_survivors(
    module: str, plan: dict, equivalents: list[dict], children: int, kept: dict
) -> dict:
    """Run a kept result's undetected mutants again and fold the outcome into that result."""
    if kept.get("source_sha256") != source_sha256(module):
        raise SystemExit(
            f"{module}: its source is not the one its kept run mutated; run the module whole"
        )
    start = time.perf_counter()
    undetected = kept["survivors"] + kept["equivalents"]
    _, found = run_mutants(module, plan, children, [r["mutant"] for r in undetected])
    return judged(
        merged_rerun(kept, found, plan["tests"], round(time.perf_counter() - start)), equivalents
    )


def merged_rerun(kept: dict, found: dict[str, str], tests: list[str], seconds: int) -> dict:
    """A kept result after its undetected mutants ran again with the statuses ``found``: those
    detected now leave the undetected lists (the count of mutants and the full run's seconds are
    kept; ``survivors_rerun_seconds`` is added)."""
    undetected = [
        {k: v for k, v in record.items() if k != "reason"}
        for record in kept["survivors"] + kept["equivalents"]
        if found.get(record["mutant"]) not in DETECTED
    ]
    return {
        **kept,
        "tests": tests,
        "survivors": undetected,
        "equivalents": [],
        "survivors_rerun_seconds": seconds,
    }


def judged(result: dict, equivalents: list[dict]) -> dict:
    """The result with its undetected mutants split into equivalent ones and survivors.

    Equivalence is judged from the list in ``modules.toml``, so a mutant listed after its run is
    left out of the rate without running the module again.
    """
    undetected = result["survivors"] + result["equivalents"]
    counted = result.get("counted", result.get("detected", 0) + len(undetected))
    survivors, equivalent = [], []
    for record in undetected:
        record = {k: v for k, v in record.items() if k != "reason"}
        reason = is_equivalent(result["module"], record["mutant"], record["mutation"], equivalents)
        if reason:
            equivalent.append({**record, "reason": reason})
        else:
            survivors.append(record)
    judged_count = counted - len(equivalent)
    return {
        **result,
        "counted": counted,
        "detected": judged_count - len(survivors),
        "equivalent": len(equivalent),
        "survived": len(survivors),
        "kill_rate": (judged_count - len(survivors)) / judged_count if judged_count else 1.0,
        "survivors": survivors,
        "equivalents": equivalent,
    }


def kept_results(plan: dict) -> dict:
    """Each module's latest run, judged by the current list of equivalents."""
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    return {name: judged(r, plan.get("equivalent", [])) for name, r in kept.items()}


def kept_table() -> str:
    """README.md's table from the kept results."""
    plan = tomllib.loads(PLAN.read_text())
    kept = kept_results(plan)
    return readme_table(kept, [m for m in plan["modules"] if m in kept])


def readme_table(summary: dict, modules: list[str]) -> str:
    """The kill rates as README.md's "Checks" section shows them (a Markdown table)."""
    lines = [
        "| module | mutants | detected | equivalent | survived | kill rate | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in modules:
        r = summary[name]
        lines.append(
            f"| {name} | {r['mutants']} | {r['detected']} | {r['equivalent']} | "
            f"{r['survived']} | {r['kill_rate']:.1%} | {r['seconds']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the modules asked for; print and keep their summaries."""
    plan = tomllib.loads(PLAN.read_text())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(plan["modules"]))
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants (2)")
    parser.add_argument("--fail-under", type=float, default=0.90, help="kill rate (0.90)")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run only the named modules' kept survivors and equivalents again",
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="print README.md's table from the kept results, running nothing",
    )
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in plan["modules"]]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; known: {', '.join(plan['modules'])}")
    modules = args.modules or list(plan["modules"])
    if args.table:
        print(kept_table())
        return 0
    summary = kept_results(plan)
    if args.survivors and not args.modules:
        parser.error("--survivors needs the modules named")
    missing = [m for m in args.modules if args.survivors and m not in summary]
    if missing:
        parser.error(f"no kept result to rerun for {', '.join(missing)}")
    for module in modules:
        common = (module, plan["modules"][module], plan.get("equivalent", []), args.max_children)
        if args.survivors:
            result = rerun_survivors(*common, summary[module])
        else:
            result = run_module(*common)
        # read the kept results again: another module's run may have finished meanwhile
        summary = {**kept_results(plan), module: result}
        atomic_write_text(RESULTS, json.dumps(summary, indent=1))
    print("\n" + readme_table(summary, modules))
    for name in modules:
        for s in summary[name]["survivors"]:
            print(f"survived ({s['status']}): {s['mutant']}: {' / '.join(s['mutation'])}")
    return 1 if any(summary[n]["kill_rate"] < args.fail_under for n in modules) else 0


if __name__ == "__main__":
    sys.exit(main())
