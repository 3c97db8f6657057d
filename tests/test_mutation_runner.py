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
