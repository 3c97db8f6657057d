"""A patient's several lesions in a cohort file: how to write them, and how it goes wrong."""

import numpy as np
import pytest

from model.cli import main
from model.core.errors import InputError
from model.inputs.encode import encode
from model.inputs.parameters import load_parameters
from model.inputs.reading import cohort_blocks, load_cohort
from model.inputs.vocabulary import MAX_LESIONS_PER_PATIENT

HEADER = "patient_id,lesion_id,center,perfusion_technique,perfusion_ratio,headache,edema_ratio,"
HEADER += "eloquent_location,months_since_rt\n"


def write(tmp_path, rows, name="patients.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def problems(path):
    with pytest.raises(InputError) as caught:
        load_cohort(path)
    return [(p.row, p.column, p.value, p.expected) for p in caught.value.problems]


def test_a_patients_lesions_share_its_columns_and_keep_their_own(tmp_path):
    path = write(
        tmp_path,
        [
            "P1,L1,C01,DSC,2.4,yes,1.5,no,9",
            "P1,L2,C01,DSC,0.9,yes,6.0,yes,9",
            "P2,,C02,DSC,1.2,no,,,3",
        ],
    )
    cohort = load_cohort(path)
    assert cohort.patient_index.tolist() == [0, 0, 1]
    lesions = encode(cohort, ["C01", "C02"], load_parameters())
    assert lesions.patient.tolist() == [0, 0, 1]
    # the symptoms are the patient's: their context is its largest edema and any eloquent lesion
    assert lesions.x_edema[0] == lesions.x_edema[1] == pytest.approx(np.log(6.0 / 3.0))
    assert lesions.x_eloquent.tolist() == [0.5, 0.5, 0.0]


def test_a_patient_column_that_differs_between_lesions_is_refused(tmp_path):
    path = write(
        tmp_path,
        ["P1,L1,C01,DSC,2.4,yes,1.5,no,9", "P1,L2,C02,DSC,0.9,,6.0,yes,9.5"],
    )
    found = problems(path)
    assert [(row, column, value) for row, column, value, _ in found] == [
        (3, "center", "C02"),
        (3, "headache", ""),
        (3, "months_since_rt", "9.5"),
    ]
    assert "'yes' as on row 2: 'headache' belongs to the patient" in found[1][3]
    assert "every lesion of patient 'P1' repeats it" in found[1][3]


def test_several_lesions_need_their_own_lesion_ids(tmp_path):
    found = problems(write(tmp_path, ["P1,,C01,DSC,2.4,,,,", "P1,,C01,DSC,1.1,,,,"]))
    assert [(row, column) for row, column, _, _ in found] == [(2, "lesion_id"), (3, "lesion_id")]
    assert "patient 'P1' has several lesions" in found[0][3]
    found = problems(write(tmp_path, ["P1,A,C01,DSC,2.4,,,,", "P1,A,C01,DSC,1.1,,,,"]))
    assert [(row, column, value) for row, column, value, _ in found] == [(3, "lesion_id", "A")]


def test_a_patients_lesions_must_be_on_consecutive_rows(tmp_path):
    rows = ["P1,L1,C01,DSC,2.4,,,,", "P2,,C01,DSC,1.1,,,,", "P1,L2,C01,DSC,1.1,,,,"]
    found = problems(write(tmp_path, rows))
    assert [(row, column, value) for row, column, value, _ in found] == [(4, "patient_id", "P1")]
    assert "already used in row 2; a patient's lesions go on consecutive rows" in found[0][3]


def test_at_most_so_many_lesions_per_patient(tmp_path):
    rows = [f"P1,L{j},C01,DSC,1.5,,,," for j in range(MAX_LESIONS_PER_PATIENT + 1)]
    found = problems(write(tmp_path, rows))
    assert [(row, column) for row, column, _, _ in found] == [
        (MAX_LESIONS_PER_PATIENT + 2, "patient_id")
    ]
    assert found[0][2:] == (
        "P1",
        f"at most {MAX_LESIONS_PER_PATIENT} lesions per patient (the model sums over every "
        "combination of their classes)",
    )
    load_cohort(write(tmp_path, rows[:-1]))  # one fewer is fine


def test_a_patient_across_blocks_is_checked_across_them(tmp_path):
    path = write(tmp_path, ["P0,,C01,DSC,2.4,,,,", "P1,L1,C01,DSC,2.4,no,,,", "P1,L2,C01,,,yes,,,"])
    with pytest.raises(InputError) as caught:
        list(cohort_blocks(path, block_rows=2))
    ((row, column),) = [(p.row, p.column) for p in caught.value.problems]
    assert (row, column) == (4, "headache")


def test_the_command_line_refuses_it_with_exit_code_two(tmp_path, capsys):
    path = write(tmp_path, ["P1,L1,C01,DSC,2.4,yes,,,", "P1,L2,C01,DSC,0.9,no,,,"])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "headache" in err and "Traceback" not in err


def test_old_files_without_lesion_ids_still_load(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("patient_id,center,perfusion_technique,perfusion_ratio\na,C01,DSC,2\nb,C01,,\n")
    cohort = load_cohort(path)
    assert cohort.table["lesion_id"].isna().all()
    assert cohort.patient_index.tolist() == [0, 1]


def test_a_patient_interrupted_by_another_is_refused_and_then_compared(tmp_path):
    """P1's rows around a refused repeat of P0 are still one patient's, and compared."""
    rows = [
        "P0,,C01,DSC,2.4,no,,,",
        "P1,L1,C01,DSC,1.1,no,,,",
        "P0,,C01,DSC,1.2,no,,,",
        "P1,L2,C01,DSC,1.3,yes,,,",
    ]
    found = problems(write(tmp_path, rows))
    assert [(row, column) for row, column, _, _ in found] == [(4, "patient_id"), (5, "headache")]
