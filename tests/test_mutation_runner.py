"""The mutation runner's own logic (tests/mutation/run.py), without running mutmut."""

import json

from conftest import mutation_runner


def test_every_test_of_a_reaching_file_judges_the_function(tmp_path):
    """A module fixture runs inside its first test only; its file's other tests read it too."""
    path = tmp_path / "mutmut-stats.json"
    stats = {
        "tests_by_mangled_function_name": {
            "model.a.x_f": ["tests/t1.py::first"],
            "model.a.x_g": ["tests/t2.py::only", "tests/t1.py::second"],
            "model.a.x_h": [],
        },
        "duration_by_test": {
            "tests/t1.py::first": 1.0,
            "tests/t1.py::second": 1.0,
            "tests/t1.py::third": 1.0,
            "tests/t2.py::only": 1.0,
            "tests/t3.py::other": 1.0,
        },
        "stats_time": 3.0,
    }
    path.write_text(json.dumps(stats))
    mutation_runner().widen_stats(path)
    widened = json.loads(path.read_text())
    assert widened["tests_by_mangled_function_name"] == {
        "model.a.x_f": ["tests/t1.py::first", "tests/t1.py::second", "tests/t1.py::third"],
        "model.a.x_g": [
            "tests/t1.py::first", "tests/t1.py::second", "tests/t1.py::third", "tests/t2.py::only",
        ],
        "model.a.x_h": [],
    }  # fmt: skip
    assert {k: v for k, v in widened.items() if k != "tests_by_mangled_function_name"} == {
        k: v for k, v in stats.items() if k != "tests_by_mangled_function_name"
    }


def test_a_survivors_rerun_keeps_the_run_and_drops_what_is_now_detected():
    runner = mutation_runner()
    kept = {
        "module": "decision.value", "tests": ["tests/old.py"], "mutants": 10, "counted": 10,
        "seconds": 600, "source_sha256": "abc",
        "survivors": [
            {"mutant": "m.x_f__mutmut_1", "status": "survived", "mutation": ["a"]},
            {"mutant": "m.x_f__mutmut_2", "status": "survived", "mutation": ["b"]},
            {"mutant": "m.x_f__mutmut_3", "status": "survived", "mutation": ["c"]},
        ],
        "equivalents": [
            {"mutant": "m.x_g__mutmut_4", "status": "survived", "mutation": ["d"], "reason": "r"},
        ],
    }  # fmt: skip
    found = {
        "m.x_f__mutmut_1": "killed",
        "m.x_f__mutmut_2": "timeout",
        "m.x_f__mutmut_3": "survived",
        "m.x_g__mutmut_4": "killed",
    }
    merged = runner.merged_rerun(kept, found, ["tests/new.py"], 42)
    assert merged["survivors"] == [kept["survivors"][2]] and merged["equivalents"] == []
    assert (merged["counted"], merged["seconds"], merged["source_sha256"]) == (10, 600, "abc")
    assert (merged["tests"], merged["survivors_rerun_seconds"]) == (["tests/new.py"], 42)
    judged = runner.judged(merged, [])
    assert (judged["detected"], judged["survived"], judged["kill_rate"]) == (9, 1, 0.9)


def test_a_survivors_rerun_is_refused_when_the_source_changed(monkeypatch):
    import pytest

    runner = mutation_runner()
    monkeypatch.setattr(runner, "source_sha256", lambda module: "new")
    for kept in ({"source_sha256": "old"}, {}):
        with pytest.raises(SystemExit, match="not the one its kept run mutated"):
            runner.rerun_survivors("decision.value", {"tests": []}, [], 2, kept)


def test_every_planted_bug_still_finds_its_text_and_its_tests():
    """tests/mutation/planted.py stays runnable as the code moves: each bug's text occurs once in
    its file and changes it, and each of its tests exists."""
    from conftest import ROOT, mutation_script

    planted = mutation_script("planted")
    assert len(planted.PLANTS) == 10
    for plant in planted.PLANTS:
        assert planted.planted_text(plant) != (ROOT / plant.path).read_text(), plant.name
        for test in plant.tests:
            file, _, name = test.partition("::")
            assert (ROOT / file).is_file(), test
            assert not name or f"def {name}(" in (ROOT / file).read_text(), test


def test_every_listed_equivalent_is_still_undetected_in_its_modules_kept_run():
    """An entry that matches no undetected mutant is stale: a test now detects what it called
    equivalent, or the code moved; either way the list must say so."""
    import tomllib

    runner = mutation_runner()
    plan = tomllib.loads(runner.PLAN.read_text())
    kept = json.loads(runner.RESULTS.read_text())
    stale = [
        f"{entry['module']}.{entry['function']}: {entry['mutation']}"
        for entry in plan["equivalent"]
        if not any(
            runner.is_equivalent(entry["module"], u["mutant"], u["mutation"], [entry])
            for u in kept[entry["module"]]["survivors"] + kept[entry["module"]]["equivalents"]
        )
    ]
    assert stale == []
