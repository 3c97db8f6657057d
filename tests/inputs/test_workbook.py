"""Excel workbooks load like the CSV, and a broken cell is named by its sheet and cell."""

import datetime

import openpyxl
import pandas as pd
import pytest
from conftest import DATA

from model.cli import main
from model.core.errors import InputError
from model.inputs.reading import load_cohort

CSV = DATA / "cohort.csv"


def typed(text: str):
    """A CSV cell as a spreadsheet would hold it: empty, an integer, a number or text."""
    if text == "":
        return None
    if text.isdigit():
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def workbook(path, rows=None, change=None, title="Lesions"):
    frame = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    frame = frame if rows is None else frame.iloc[:rows]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(list(frame.columns))
    for record in frame.itertuples(index=False):
        sheet.append([typed(v) for v in record])
    if change:
        change(book, sheet)
    book.save(path)
    return path


def cell(column: str, row: int) -> str:
    """The workbook cell of a cohort column (as :func:`workbook` lays the columns out) and row."""
    header = CSV.read_text(encoding="utf-8").splitlines()[0].split(",")
    return f"{openpyxl.utils.get_column_letter(header.index(column) + 1)}{row}"


def problems(path) -> str:
    with pytest.raises(InputError) as caught:
        load_cohort(path)
    return str(caught.value)


def test_a_workbook_gives_the_same_cohort_as_the_csv(tmp_path):
    from_csv = load_cohort(CSV)
    from_book = load_cohort(workbook(tmp_path / "cohort.xlsx"))
    pd.testing.assert_frame_equal(from_book.table, from_csv.table)
    assert from_book.digest == from_csv.digest  # a fit of either is a fit of the same cohort


def test_a_broken_cell_is_named_by_sheet_cell_column_value_and_expectation(tmp_path, capsys):
    def decimal_comma(book, sheet):
        sheet["E12"] = "1,5"  # perfusion_ratio, the 11th lesion
        sheet["E13"] = "1_5"  # Python would read this as 15

    path = workbook(tmp_path / "site.xlsx", 30, decimal_comma)
    text = problems(path)
    assert "site.xlsx, sheet 'Lesions', cell E12, column 'perfusion_ratio': got '1,5'" in text
    assert "cell E13, column 'perfusion_ratio': got '1_5'; expected a number" in text
    assert main(["predict", str(DATA / "fit.nc"), str(path)]) == 2
    err = capsys.readouterr().err
    assert "cell E12" in err and "Traceback" not in err


def test_a_date_where_a_number_belongs_is_refused_not_converted(tmp_path):
    months = cell("months_since_rt", 5)

    def date(book, sheet):
        sheet[months] = datetime.datetime(2024, 3, 1)

    text = problems(workbook(tmp_path / "dates.xlsx", 10, date))
    assert f"cell {months}, column 'months_since_rt': got '2024-03-01 00:00:00'" in text
    assert "holds a date or time here" in text


def test_cell_types_are_judged_by_the_column(tmp_path):
    headache = cell("headache", 2)

    def types(book, sheet):
        sheet["A2"] = 12.5  # a patient id that is a fraction
        sheet[headache] = True  # TRUE is yes
        sheet["E3"] = True  # perfusion_ratio: TRUE is not a number

    text = problems(workbook(tmp_path / "types.xlsx", 10, types))
    assert "cell A2, column 'patient_id': got '12.5'" in text
    assert "cell E3, column 'perfusion_ratio': got 'True'" in text
    assert f"cell {headache}" not in text

    def yes(book, sheet):
        sheet[headache] = True

    cohort = load_cohort(workbook(tmp_path / "yes.xlsx", 10, yes))
    assert bool(cohort.table["headache"].iloc[0]) is True


def test_the_sheet_read_is_the_only_one_or_the_one_named_lesions(tmp_path):
    def two_sheets(book, sheet):
        book.create_sheet("Notes")

    path = workbook(tmp_path / "two.xlsx", 10, two_sheets, title="Data")
    assert "one sheet, or exactly one sheet named 'lesions'" in problems(path)
    assert "'Data', 'Notes'" in problems(path)
    named = workbook(tmp_path / "named.xlsx", 10, two_sheets, title="Lesions")
    assert len(load_cohort(named)) == 10


def test_values_outside_the_header_and_files_that_are_not_workbooks_are_refused(tmp_path):
    def stray(book, sheet):
        sheet["AZ4"] = "note"

    assert "cell AZ4: got 'note'; expected a value under a column name" in problems(
        workbook(tmp_path / "stray.xlsx", 10, stray)
    )
    fake = tmp_path / "fake.xlsx"
    fake.write_text("patient_id,center\np1,C01\n")
    assert "fake.xlsx: expected a readable .xlsx workbook" in problems(fake)


def test_empty_rows_are_skipped_and_rows_keep_their_sheet_numbers(tmp_path):
    def gap(book, sheet):
        sheet.insert_rows(4)  # an empty row between the 2nd and 3rd lesions
        sheet["E6"] = "x"  # now the 4th lesion

    text = problems(workbook(tmp_path / "gap.xlsx", 10, gap))
    assert "cell E6, column 'perfusion_ratio': got 'x'" in text


def _damaged(tmp_path, member: str, edit) -> str:
    """A workbook of two lesions whose ``member`` part is rewritten by ``edit``."""
    import zipfile

    good = workbook(tmp_path / "good.xlsx", rows=2)
    bad = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item.filename, edit(data) if item.filename == member else data)
    return str(bad)


@pytest.mark.parametrize(
    ("member", "edit"),
    [
        ("xl/worksheets/sheet1.xml", lambda d: d[: len(d) // 2]),  # truncated sheet
        ("xl/styles.xml", lambda d: b"<<<"),
        ("xl/worksheets/sheet1.xml", lambda d: d.replace(b"<v>", b"<v>abc", 1)),  # a bad number
    ],
)
def test_a_damaged_workbook_is_refused_not_a_traceback(tmp_path, capsys, member, edit):
    path = _damaged(tmp_path, member, edit)
    assert "a readable .xlsx workbook" in problems(path)
    assert main(["validate", path]) == 2
    assert "Traceback" not in capsys.readouterr().err
