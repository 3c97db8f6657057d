"""Artifacts: atomic writes survive a kill, no pickle, no training rows in outputs."""

import os
import signal
import subprocess
import sys

from conftest import DATA, ROOT


def test_a_kill_mid_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    script = (
        "import sys, time; from pathlib import Path; from model.core.files import atomic_write\n"
        "def write(tmp):\n"
        "    with open(tmp, 'wb') as f:\n"
        "        f.write(b'x' * 1_000_000); f.flush()\n"
        "        print('writing', flush=True); time.sleep(60)\n"
        f"atomic_write({str(target)!r}, write)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout.readline().strip() == "writing"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert target.read_bytes() == b"old"
    script_new = (
        f"from model.core.files import atomic_write_text; atomic_write_text({str(target)!r}, 'new')"
    )
    subprocess.run([sys.executable, "-c", script_new], check=True, cwd=ROOT)
    assert target.read_text() == "new"


def test_no_pickle_in_the_package():
    for path in (ROOT / "model").rglob("*.py"):
        text = path.read_text()
        for word in ("import pickle", "cloudpickle", "joblib", "to_pickle", "read_pickle", ".pkl"):
            assert word not in text, f"{path.name} uses {word}"


def test_fit_file_is_netcdf_without_training_rows(bundled_fit):
    data = (DATA / "fit.nc").read_bytes()
    assert data[:8] == b"\x89HDF\r\n\x1a\n"  # HDF5 (netCDF-4), not a pickle
    for pid in ("S0001", "S0123", "S0600"):
        assert pid.encode() not in data
    assert bundled_fit.training_data is None


def test_outputs_name_only_the_patients_passed(bundled_fit, tmp_path):
    from model.report.patient import lesion_reports
    from model.scoring.predict import predict

    record = {
        "patient_id": "only-me",
        "center": "C01",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 2.0,
    }
    table = predict(bundled_fit, record)
    assert list(table["patient_id"]) == ["only-me"]
    files = lesion_reports(bundled_fit, record, tmp_path)
    for page in [files.index, *files.pages]:
        text = page.read_text()
        assert "only-me" in text and "S0001" not in text and "S0600" not in text
