"""A cohort CSV read a block of rows at a time: the same lesions and problems as whole."""

import numpy as np
import pandas as pd
import pytest

from model.core.errors import InputError
from model.inputs.reading import cohort_blocks, load_cohort


def _rows(n: int, start: int = 0) -> str:
    return "".join(
        f"L{i},C0{1 + i % 3},DSC,{1.0 + 0.01 * i:.2f},,,,,,,\n" for i in range(start, start + n)
    )


HEADER = (
    "patient_id,center,perfusion_technique,perfusion_ratio,perfusion_read,"
    "perfusion_read_cutoff,pet_tracer,pet_tbr,pet_read,pet_read_cutoff,headache\n"
)


@pytest.fixture()
def cohort_file(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(HEADER + _rows(25) + "\n  \t , , , , , , , , , , \n" + _rows(12, start=25))
    return path


@pytest.mark.parametrize("block_rows", [1, 4, 7, 100])
def test_blocks_hold_the_same_lesions_as_the_whole_file(cohort_file, block_rows):
    whole = load_cohort(cohort_file).table
    blocks = list(cohort_blocks(cohort_file, block_rows=block_rows))
    assert [len(b) for b in blocks[:-1]] == [block_rows] * (len(blocks) - 1)
    joined = pd.concat([b.table for b in blocks], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)
    assert len(whole) == 37 and whole["perfusion_ratio"].iloc[-1] == pytest.approx(1.36)


def test_an_id_repeated_in_a_later_block_names_the_first_row(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(HEADER + _rows(5) + _rows(1, start=2))
    with pytest.raises(InputError) as caught:
        list(cohort_blocks(path, block_rows=2))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (7, "patient_id", "L2")
    assert "already used in row 4" in problem.expected


def test_blocks_stop_at_the_first_bad_row_and_every_problem_is_reported(cohort_file):
    lines = cohort_file.read_text().splitlines(keepends=True)
    lines[10] = lines[10].replace("DSC,1.09", "DSC,1_09")  # row 11: a digit-grouped number
    lines[30] = lines[30].replace(",DSC,", ",DCS,")  # row 31
    cohort_file.write_text("".join(lines))
    taken = []
    with pytest.raises(InputError) as caught:
        for block in cohort_blocks(cohort_file, block_rows=4):
            taken.append(block)
    assert sum(len(b) for b in taken) == 8  # rows 2-9; the block holding row 11 is not given
    assert [(p.row, p.column) for p in caught.value.problems] == [
        (11, "perfusion_ratio"),
        (31, "perfusion_technique"),
    ]


def test_blocks_arrive_before_the_end_of_the_file_is_read(cohort_file):
    with open(cohort_file, "a") as handle:
        handle.write("L99,C01,DSC,not a number,,,,,,,\n")
    blocks = cohort_blocks(cohort_file, block_rows=5)
    first = next(blocks)  # given although the last row is invalid: the file is streamed
    assert list(first.table["patient_id"]) == ["L0", "L1", "L2", "L3", "L4"]
    with pytest.raises(InputError, match="not a number"):
        list(blocks)


def test_a_cell_with_spaces_is_trimmed_in_any_block(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(HEADER + _rows(3) + " L9 ,\tC02 , dsc ,  2.5 ,,,,,,, Yes \n")
    table = load_cohort(path).table
    last = table.iloc[-1]
    assert (last["patient_id"], last["center"], last["perfusion_technique"]) == ("L9", "C02", "DSC")
    assert last["perfusion_ratio"] == 2.5 and bool(last["headache"]) is True
    assert np.isnan(table["pet_tbr"]).all()


def test_a_repeated_id_is_found_whatever_the_row_labels():
    """Small integer labels are one object in Python: finding repeats must compare ids."""
    from model.inputs.reading import cohort_from_records

    frame = pd.DataFrame({"patient_id": ["a", "a"], "center": ["C01", "C01"]}, index=[5, 5])
    with pytest.raises(InputError, match="row 2, column 'lesion_id'.*already used in row 2"):
        cohort_from_records(frame)


def test_id_and_name_columns_are_objects_with_none_in_every_block(tmp_path):
    """pandas 3 infers its string dtype (NaN for missing) for a block holding any text and not for
    an all-missing one, so a file's blocks would disagree with the whole file when joined."""
    path = tmp_path / "cohort.csv"
    header = "patient_id,lesion_id,center,perfusion_technique,perfusion_ratio\n"
    rows = "P1,,C01,DSC,1.2\nP2,,C01,DSC,1.3\nP3,L1,C02,DSC,1.4\nP3,L2,C02,DSC,1.5\n"
    path.write_text(header + rows)
    whole = load_cohort(path).table
    for name in ("patient_id", "lesion_id", "center"):
        assert whole[name].dtype == object
    assert whole["lesion_id"].tolist() == [None, None, "L1", "L2"]
    joined = pd.concat([b.table for b in cohort_blocks(path, block_rows=2)], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)
