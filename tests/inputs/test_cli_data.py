import subprocess
import sys

from model.cli import main


def test_simulate_reproduces_bundled_cohort_exactly(tmp_path, bundled_cohort_path):
    out, truth = tmp_path / "c.csv", tmp_path / "t.json"
    assert (
        main(
            [
                "simulate",
                "--n",
                "600",
                "--centers",
                "8",
                "--seed",
                "1",
                "--out",
                str(out),
                "--truth",
                str(truth),
            ]
        )
        == 0
    )
    assert out.read_bytes() == bundled_cohort_path.read_bytes()
    assert truth.read_bytes() == (bundled_cohort_path.parent / "cohort_truth.json").read_bytes()


def test_validate_bundled_exits_zero_with_summary(capsys, bundled_cohort_path):
    assert main(["validate", str(bundled_cohort_path)]) == 0
    out = capsys.readouterr().out
    assert "600 lesions of 541 patients, 8 centers" in out
    for word in ("Centers", "Modalities", "Labels", "histopathology", "FET"):
        assert word in out
    assert len(out.splitlines()) < 50  # one screen


def test_validate_broken_file_exits_two_listing_every_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "patient_id,center,pet_tbr,pet_tracer,headache\na,X,-2,FET,yes\nb,X,2,FTE,sometimes\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "model.cli", "validate", str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    for place in (
        "row 2, column 'pet_tbr'",
        "row 3, column 'pet_tracer'",
        "row 3, column 'headache'",
    ):
        assert place in done.stderr


def test_validate_patient_json(tmp_path, capsys):
    p = tmp_path / "p.json"
    p.write_text('{"patient_id": "x", "center": "C01", "pet_tracer": "FET", "pet_tbr": 2.2}')
    assert main(["validate", str(p)]) == 0
