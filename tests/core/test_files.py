"""Outputs are whole or absent: atomic files, report folders that hold exactly one run, no
temporaries left behind, and clear errors (exit code 2) for places that cannot be written."""

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model.core.files import STALE_SECONDS, atomic_write_text, write_folder


def fill(names):
    def write(folder):
        for name in names:
            (folder / name).write_text(name)

    return write


def test_a_report_folder_holds_exactly_the_last_run(tmp_path):
    out = tmp_path / "reports"
    write_folder(out, fill(["001_a.html", "002_b.html", "index.html"]), "report")
    write_folder(out, fill(["001_c.html", "index.html"]), "report")
    assert sorted(p.name for p in out.iterdir()) == [".rnbayes-report", "001_c.html", "index.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]  # no temporaries beside it


def test_a_failed_run_keeps_the_old_folder_and_leaves_nothing(tmp_path):
    out = tmp_path / "reports"
    write_folder(out, fill(["index.html"]), "report")

    def broken(folder):
        (folder / "001_x.html").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_folder(out, broken, "report")
    assert sorted(p.name for p in out.iterdir()) == [".rnbayes-report", "index.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]


def test_a_folder_of_other_files_or_a_file_is_not_taken_over(tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("keep me")
    with pytest.raises(FileExistsError, match="other files"):
        write_folder(mine, fill(["index.html"]), "report")
    assert (mine / "chapter1.tex").read_text() == "keep me"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError):
        write_folder(a_file, fill(["index.html"]), "report")


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    target = tmp_path / "table.csv"
    stale, fresh = tmp_path / ".table.csv.abc.tmp", tmp_path / ".table.csv.def.tmp"
    other = tmp_path / ".other.csv.abc.tmp"
    for path in (stale, fresh, other):
        path.write_text("partial")
    old = time.time() - STALE_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    atomic_write_text(target, "whole")
    assert not stale.exists() and fresh.exists() and other.exists()


def test_special_files_and_folders_are_not_written_over(tmp_path):
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x")
    if os.path.exists("/dev/null"):
        with pytest.raises(FileExistsError, match="special file"):
            atomic_write_text("/dev/null", "x")
        assert not os.path.isfile("/dev/null")


def rnbayes(*args):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("where", ["folder", "device", "read-only", "missing-parent-file"])
def test_unwritable_outputs_are_clear_errors(tmp_path, where):
    from conftest import DATA

    if where == "folder":
        out = tmp_path
    elif where == "device":
        out = "/dev/null"
    elif where == "read-only":
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        out = locked / "p.csv"
    else:
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "p.csv"
    done = rnbayes(
        "predict", str(DATA / "fit.nc"), str(DATA / "patients_example.csv"), "--out", str(out)
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "Could not use" in done.stderr and os.path.dirname(str(out)) in done.stderr


def test_report_into_a_foreign_folder_is_refused_clearly(tmp_path):
    from conftest import DATA

    (tmp_path / "notes.txt").write_text("mine")
    done = rnbayes(
        "report", str(DATA / "fit.nc"), str(DATA / "patients_example.csv"), "--out", str(tmp_path)
    )
    assert done.returncode == 2 and "other files" in done.stderr
    assert "Traceback" not in done.stderr and (tmp_path / "notes.txt").exists()


def test_a_full_disk_is_a_clear_error_and_leaves_no_temporary(tmp_path, monkeypatch, capsys):
    """ENOSPC while predictions stream to disk: one line, exit code 2, the temporary removed."""
    import errno

    from conftest import DATA

    import model.scoring.stream
    from model.cli import main

    class FullDisk(io.StringIO):
        def __init__(self, path):
            super().__init__()
            self.path = path

        def write(self, text):
            Path(self.path).write_text("partial")
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(
        model.scoring.stream, "open", lambda path, *a, **k: FullDisk(path), raising=False
    )
    out = tmp_path / "p.csv"
    code = main(
        ["predict", str(DATA / "fit.nc"), str(DATA / "patients_example.csv"), "--out", str(out)]
    )
    assert code == 2
    assert "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
