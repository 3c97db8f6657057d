"""Options and environments a careless user gives: each is a clear error with exit code 2."""

import subprocess
import sys

import pytest


def rnbayes(*args):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def refused(done, *words):
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.mark.parametrize("value", ["2", "0", "1_5", "nan", "٠٫٥", "0.9.1"])
def test_interval_probability_is_between_0_and_1(value):
    from conftest import DATA

    done = rnbayes("predict", DATA / "fit.nc", DATA / "patients_example.csv", "--ci-prob", value)
    refused(done, "--ci-prob", "between 0 and 1")


@pytest.mark.parametrize("value", ["1_000", "0", "-5", "1e3", "١٠"])
def test_counts_are_plain_whole_numbers(tmp_path, value):
    refused(rnbayes("simulate", "--n", value, "--out", tmp_path / "c.csv"), "--n", "whole number")


@pytest.mark.parametrize(
    "grid", ["0:1:0", "0:1:-0.1", "1:0:0.1", "0:2:0.1", "a:b:c", "0:0.005:0.01"]
)
def test_threshold_grid_is_checked(tmp_path, grid):
    data = tmp_path / "d.csv"
    data.write_text("y,m\n1,0.9\n0,0.1\n")
    done = rnbayes(
        "dca",
        data,
        "--outcome",
        "y",
        "--model",
        "m",
        "--thresholds",
        grid,
        "--out",
        tmp_path / "o.csv",
    )
    refused(done, "--thresholds")


def test_malformed_scheduler_is_a_clear_error(tmp_path):
    done = rnbayes("sbc", "--n-sims", 1, "--out", tmp_path / "s", "--scheduler", "not an address")
    refused(done, "--scheduler", "Dask scheduler")


@pytest.mark.parametrize("damage", ["{not json", "[]", '{"settings": 3}'])
def test_damaged_study_folder_is_a_clear_error(tmp_path, damage):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "study.json").write_text(damage)
    refused(rnbayes("sbc", "--n-sims", 1, "--out", folder, "--workers", 1), "study.json")


def test_version_is_the_installed_distributions(capsys):
    from importlib.metadata import version

    from model.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rnbayes {version('rnbayes')}"
