import json
import math

import pandas as pd
import pytest

from model.core.errors import InputError
from model.inputs.parameters import bundled_registry
from model.inputs.reading import cohort_from_records, load_cohort, load_patient
from model.inputs.schema import schema_for

COLUMNS = schema_for(bundled_registry()).columns

HEADER = ",".join(COLUMNS)


def write(tmp_path, text, name="c.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def row(**cells):
    return ",".join(str(cells.get(c, "")) for c in COLUMNS)


def problems_of(path):
    with pytest.raises(InputError) as info:
        load_cohort(path)
    return [(p.row, p.column) for p in info.value.problems], info.value


def test_bundled_cohort_loads_typed(bundled_cohort_path):
    cohort = load_cohort(bundled_cohort_path)
    t = cohort.table
    assert len(cohort) == 600
    assert list(t.columns) == list(COLUMNS)
    assert t["perfusion_ratio"].dtype == float
    assert str(t["headache"].dtype) == "boolean"
    assert list(t["pet_tracer"].cat.categories) == list(bundled_registry()["pet"].kind_names)
    assert cohort.centers == tuple(f"C0{i}" for i in range(1, 9))


def test_blank_means_missing_not_zero_or_no(tmp_path):
    path = write(tmp_path, HEADER + "\n" + row(patient_id="a", center="X") + "\n")
    t = load_cohort(path).table
    assert math.isnan(t.loc[0, "perfusion_ratio"])
    assert t["headache"].isna().all()
    assert t["reference_diagnosis"].isna().all()


def test_unknown_word_is_missing_and_case_is_folded(tmp_path):
    text = (
        HEADER
        + "\n"
        + row(
            patient_id="a",
            center="X",
            headache="Unknown",
            seizure="YES",
            perfusion_technique="dsc",
            perfusion_ratio="1.2",
        )
        + "\n"
    )
    t = load_cohort(write(tmp_path, text)).table
    assert pd.isna(t.loc[0, "headache"])
    assert bool(t.loc[0, "seizure"]) is True
    assert t.loc[0, "perfusion_technique"] == "DSC"


def test_round_trip_is_exact(tmp_path, small_cohort_text):
    first = load_cohort(write(tmp_path, small_cohort_text))
    second = load_cohort(first.write_csv(tmp_path / "again.csv"))
    pd.testing.assert_frame_equal(first.table, second.table)
    assert first.digest == second.digest
    assert second.to_csv_text() == small_cohort_text


def test_columns_may_be_omitted_and_reordered(tmp_path):
    path = write(tmp_path, "center,pet_tbr,pet_tracer,patient_id\nX,2.1,FET,p1\n")
    t = load_cohort(path).table
    assert t.loc[0, "pet_tbr"] == 2.1 and t.loc[0, "patient_id"] == "p1"
    assert math.isnan(t.loc[0, "perfusion_ratio"])


def test_a_file_from_before_the_symptom_context_loads_with_it_missing(tmp_path):
    from model.inputs.encode import encode
    from model.inputs.parameters import bundled_parameters

    path = write(tmp_path, "patient_id,center,headache,steroid_increase\np1,X,yes,yes\n")
    cohort = load_cohort(path)
    assert math.isnan(cohort.table.loc[0, "edema_ratio"])
    lesions = encode(cohort, ["X"], bundled_parameters())
    assert (lesions.x_edema[0], lesions.x_eloquent[0], lesions.x_steroid[0]) == (0.0, 0.0, 0.5)


def test_a_file_from_before_the_follow_up_steroid_record_loads_with_it_unknown(tmp_path):
    """Rescans without a steroid column are read as not recorded (-1), a recorded change as 1 or
    0, and a missing rescan as 0."""
    from model.inputs.encode import encode
    from model.inputs.parameters import bundled_parameters

    old = "patient_id,center,volume_baseline_ml,volume_fu1_ml,interval_fu1_weeks\np1,X,3,4,6\n"
    lesions = encode(load_cohort(write(tmp_path, old)), ["X"], bundled_parameters())
    assert lesions.growth_steroid.tolist() == [[-1.0, 0.0, 0.0]]
    new = (
        "patient_id,center,volume_baseline_ml,volume_fu1_ml,interval_fu1_weeks,"
        "steroid_increase_fu1,volume_fu2_ml,interval_fu2_weeks,steroid_increase_fu2\n"
        "p1,X,3,4,6,yes,4.2,6,no\n"
    )
    lesions = encode(load_cohort(write(tmp_path, new, "new.csv")), ["X"], bundled_parameters())
    assert lesions.growth_steroid.tolist() == [[1.0, 0.0, 0.0]]


def test_a_file_from_before_follow_up_marker_values_loads_without_them(tmp_path):
    """Without the follow-up value columns no lesion has a change; with them, a value is compared
    with the last scan that measured the marker, over the weeks since."""
    from model.inputs.encode import encode
    from model.inputs.parameters import bundled_parameters

    head = "patient_id,center,perfusion_technique,perfusion_ratio,volume_baseline_ml"
    scans = "volume_fu1_ml,interval_fu1_weeks,volume_fu2_ml,interval_fu2_weeks"
    old = f"{head},{scans}\np1,X,DSC,2,3,4,6,5,8\n"
    lesions = encode(load_cohort(write(tmp_path, old)), ["X"], bundled_parameters())
    assert set(lesions.trends) == {"perfusion", "pet"}
    assert lesions.trends["perfusion"].mask.sum() == 0
    new = f"{head},{scans},perfusion_ratio_fu2\np1,X,DSC,2,3,4,6,5,8,3\n"
    trend = encode(load_cohort(write(tmp_path, new, "new.csv")), ["X"], bundled_parameters())
    change, weeks, mask = trend.trends["perfusion"]
    assert mask.tolist() == [[0.0, 1.0, 0.0]]
    assert change[0, 1] == pytest.approx(math.log(3 / 2)) and weeks[0, 1] == 14.0


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"perfusion_technique": "DSC", "perfusion_ratio": "abc"}, (2, "perfusion_ratio")),
        ({"perfusion_technique": "DSC", "perfusion_ratio": "0"}, (2, "perfusion_ratio")),
        ({"perfusion_technique": "DSC", "perfusion_ratio": "-1.5"}, (2, "perfusion_ratio")),
        ({"perfusion_technique": "DSC", "perfusion_ratio": "182"}, (2, "perfusion_ratio")),
        ({"pet_tracer": "FET", "pet_tbr": "0"}, (2, "pet_tbr")),
        ({"pet_tracer": "FLT", "pet_tbr": "2"}, (2, "pet_tracer")),
        ({"perfusion_technique": "DCE", "perfusion_ratio": "2"}, (2, "perfusion_technique")),
        (
            {"perfusion_technique": "DSC", "perfusion_read": "positive"},
            (2, "perfusion_read_cutoff"),
        ),
        ({"pet_tracer": "MET", "pet_read_cutoff": "1.5"}, (2, "pet_read")),
        ({"perfusion_ratio": "2.0"}, (2, "perfusion_technique")),
        (
            {
                "perfusion_technique": "DSC",
                "perfusion_ratio": "2",
                "perfusion_read": "positive",
                "perfusion_read_cutoff": "1.75",
            },
            (2, "perfusion_read"),
        ),
        ({"volume_baseline_ml": "3", "volume_fu1_ml": "4"}, (2, "interval_fu1_weeks")),
        ({"volume_baseline_ml": "3", "interval_fu1_weeks": "6"}, (2, "volume_fu1_ml")),
        ({"volume_fu1_ml": "4", "interval_fu1_weeks": "6"}, (2, "volume_baseline_ml")),
        (
            {"volume_baseline_ml": "3", "volume_fu2_ml": "4", "interval_fu2_weeks": "6"},
            (2, "volume_fu1_ml"),
        ),
        ({"reference_diagnosis": "recurrence"}, (2, "reference_source")),
        ({"reference_source": "histopathology"}, (2, "reference_diagnosis")),
        ({"headache": "maybe"}, (2, "headache")),
        ({"months_since_rt": "-2"}, (2, "months_since_rt")),
        ({"months_since_rt": "nan"}, (2, "months_since_rt")),
        ({"months_since_rt": "inf"}, (2, "months_since_rt")),
        ({"headache": "0"}, (2, "headache")),
        ({"edema_ratio": "1_5"}, (2, "edema_ratio")),
        ({"edema_ratio": "0"}, (2, "edema_ratio")),
        ({"edema_ratio": "101"}, (2, "edema_ratio")),
        ({"eloquent_location": "left"}, (2, "eloquent_location")),
        ({"steroid_increase": "1"}, (2, "steroid_increase")),
        (
            {
                "volume_baseline_ml": "3",
                "volume_fu1_ml": "4",
                "interval_fu1_weeks": "6",
                "steroid_increase_fu1": "true",
            },
            (2, "steroid_increase_fu1"),
        ),  # fmt: skip
        ({"volume_baseline_ml": "3", "steroid_increase_fu1": "yes"}, (2, "volume_fu1_ml")),
        (
            {"perfusion_technique": "DSC", "perfusion_ratio": "2", "perfusion_ratio_fu1": "2.5"},
            (2, "volume_fu1_ml"),
        ),
        (
            {
                "perfusion_technique": "DSC",
                "perfusion_read": "positive",
                "perfusion_read_cutoff": "1.75",
                "volume_baseline_ml": "3",
                "volume_fu1_ml": "4",
                "interval_fu1_weeks": "6",
                "perfusion_ratio_fu1": "2",
            },
            (2, "perfusion_ratio"),
        ),
        (
            {
                "pet_tracer": "FET",
                "pet_tbr": "2",
                "volume_baseline_ml": "3",
                "volume_fu1_ml": "4",
                "interval_fu1_weeks": "6",
                "pet_tbr_fu1": "1_5",
            },
            (2, "pet_tbr_fu1"),
        ),
        (
            {
                "perfusion_technique": "DSC",
                "perfusion_ratio": "2",
                "volume_baseline_ml": "3",
                "volume_fu1_ml": "4",
                "interval_fu1_weeks": "6",
                "perfusion_ratio_fu1": "25",
            },
            (2, "perfusion_ratio_fu1"),
        ),
        ({"volume_prior_ml": "2"}, (2, "volume_baseline_ml")),
        ({"flair_change": "worse"}, (2, "volume_baseline_ml")),
        ({"volume_baseline_ml": "3", "flair_change_fu1": "worse"}, (2, "volume_fu1_ml")),
        ({"volume_baseline_ml": "3", "flair_change": "bigger"}, (2, "flair_change")),
        ({"volume_baseline_ml": "3", "volume_prior_ml": "-1"}, (2, "volume_prior_ml")),
        ({"btrads_read": "BT-3a"}, (2, "btrads_read")),
        ({"btrads_read": "3"}, (2, "btrads_read")),
        ({"btrads_read": "4.0"}, (2, "btrads_read")),
    ],
)
def test_each_rule_names_row_and_column(tmp_path, cells, expected):
    path = write(tmp_path, HEADER + "\n" + row(patient_id="a", center="X", **cells) + "\n")
    found, _ = problems_of(path)
    assert expected in found


def test_the_category_columns_are_in_the_canonical_form_only_when_used(tmp_path):
    """A file without the radiology-category columns keeps its digest; one with them keeps them."""
    plain = load_cohort(write(tmp_path, "patient_id,center,volume_baseline_ml\np1,X,3\n"))
    assert "flair_change" not in plain.to_csv_text().splitlines()[0]
    blank = load_cohort(
        write(tmp_path, "patient_id,center,volume_baseline_ml,flair_change,btrads_read\np1,X,3,,\n")
    )
    assert blank.digest == plain.digest
    used = load_cohort(
        write(tmp_path, "patient_id,center,volume_baseline_ml,btrads_read\np1,X,3,3C\n")
    )
    header, values = used.to_csv_text().splitlines()
    assert header.endswith("btrads_read,reference_diagnosis,reference_source,tumor_share_percent")
    assert values.endswith(",3c,,,") and used.digest != plain.digest


def test_every_problem_is_listed_at_once(tmp_path):
    lines = [
        HEADER,
        row(patient_id="a", center="X", pet_tracer="MET", pet_tbr="x"),
        row(patient_id="b", center="X", headache="perhaps"),
        row(patient_id="a", center="Y"),
    ]
    found, error = problems_of(write(tmp_path, "\n".join(lines) + "\n"))
    assert found == [(2, "pet_tbr"), (3, "headache"), (4, "patient_id")]
    message = str(error)
    assert "3 problems in c.csv" in message
    assert (
        "row 4, column 'patient_id': got 'a'; expected a patient id not used before (already "
        "used in row 2; a patient's lesions go on consecutive rows)" in message
    )


def test_unknown_column_suggests_closest_name(tmp_path):
    found, error = problems_of(write(tmp_path, "patient_id,center,pet_tbrr\na,X,2\n"))
    assert found == [(1, "pet_tbrr")]
    assert "did you mean 'pet_tbr'?" in str(error)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("rcbv", "perfusion_ratio"), ("rCBF", "perfusion_ratio"), ("TBRmax", "pet_tbr")],
)
def test_a_clinical_name_for_a_column_is_told_the_formats_name(tmp_path, typed, meant):
    """No spelling distance leads from rcbv to perfusion_ratio: the synonym table does."""
    found, error = problems_of(write(tmp_path, f"patient_id,center,{typed}\na,X,2\n"))
    assert found == [(1, typed)]
    assert f"did you mean '{meant}'?" in str(error)


def test_missing_required_column(tmp_path):
    found, _ = problems_of(write(tmp_path, "patient_id,pet_tbr\na,2\n"))
    assert (1, "center") in found


def test_required_cell_blank(tmp_path):
    found, _ = problems_of(write(tmp_path, "patient_id,center\na,\n"))
    assert found == [(2, "center")]


def test_ragged_row(tmp_path):
    found, _ = problems_of(write(tmp_path, "patient_id,center\na,X,extra\n"))
    assert found == [(2, None)]


def test_semicolon_file_is_explained(tmp_path):
    _, error = problems_of(write(tmp_path, "patient_id;center\na;X\n"))
    assert "semicolon" in str(error)


def test_decimal_comma_is_explained(tmp_path):
    text = 'patient_id,center,pet_tracer,pet_tbr\na,X,MET,"1,8"\n'
    _, error = problems_of(write(tmp_path, text))
    assert "decimal separator" in str(error)


def test_empty_and_missing_and_binary_files(tmp_path):
    for content in (
        b"",
        b"patient_id,center\n",
        b"\x00\x01\x02",
        b"patient_id,center\n\xff\xfe,X\n",
    ):
        path = tmp_path / "f.csv"
        path.write_bytes(content)
        with pytest.raises(InputError):
            load_cohort(path)
    with pytest.raises(InputError, match="readable file"):
        load_cohort(tmp_path / "absent.csv")


def test_patient_json(tmp_path):
    doc = {
        "patient_id": "p",
        "center": "X",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 1.5,
        "headache": True,
        "seizure": "no",
        "pet_tbr": None,
    }
    cohort = load_patient(write(tmp_path, json.dumps(doc), "p.json"))
    t = cohort.table
    assert t.loc[0, "perfusion_ratio"] == 1.5 and bool(t.loc[0, "headache"]) is True
    assert math.isnan(t.loc[0, "pet_tbr"])


@pytest.mark.parametrize(
    ("doc", "column"),
    [
        ({"patient_id": "p", "center": "X", "pet_tbr": "high"}, "pet_tbr"),
        ({"patient_id": "p", "center": "X", "pet_tracer": 3}, "pet_tracer"),
        ({"patient_id": "p", "center": "X", "pet_tbr": [1, 2]}, "pet_tbr"),
        ({"patient_id": "p", "center": "X", "petbr": 2}, "petbr"),
        ({"patient_id": "p"}, "center"),
    ],
)
def test_patient_json_problems(tmp_path, doc, column):
    with pytest.raises(InputError) as info:
        load_patient(write(tmp_path, json.dumps(doc), "p.json"))
    assert column in [p.column for p in info.value.problems]


def test_patient_json_syntax_error_names_line(tmp_path):
    with pytest.raises(InputError, match="line 2"):
        load_patient(write(tmp_path, '{"patient_id": "p",\n "center": }', "p.json"))


def test_records_from_dataframe_are_numbered_as_csv_rows_not_by_index_label():
    frame = pd.DataFrame(
        {
            "patient_id": ["a", "b"],
            "center": ["X", "X"],
            "pet_tbr": [2.0, -1.0],
            "pet_tracer": ["FET", "FET"],
        },
        index=["first", "second"],
    )
    with pytest.raises(InputError) as info:
        cohort_from_records(frame)
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "pet_tbr")]
    ok = cohort_from_records(frame.iloc[:1])
    assert ok.table.loc[0, "pet_tbr"] == 2.0


BAD_RECORDS = [
    {"patient_id": "a", "center": "X", "headache": "Y"},
    {"patient_id": "b", "center": "X", "headache": "no"},
    {"patient_id": "c", "center": "X", "headache": "N", "pet_tbr": -1.0, "pet_tracer": "FET"},
]


@pytest.mark.parametrize(
    "index", [None, [0, 1, 2], [7, 3, 0], ["x", "y", "z"]], ids=["range", "0-2", "7-3-0", "labels"]
)
def test_dataframe_rows_are_numbered_as_in_the_same_table_saved_as_csv(tmp_path, index):
    """Header row 1, first lesion row 2: the same row a CSV of the same table reports."""
    frame = pd.DataFrame(BAD_RECORDS, index=index)
    from_file, _ = problems_of(write(tmp_path, frame.to_csv(index=False)))
    with pytest.raises(InputError) as info:
        cohort_from_records(frame, source="sheet.xlsx")
    from_frame = [(p.row, p.column) for p in info.value.problems]
    assert from_frame == from_file == [(2, "headache"), (4, "pet_tbr"), (4, "headache")]
    assert "sheet.xlsx, row 2, column 'headache'" in str(info.value)
    assert "row 0" not in str(info.value) and "row 1," not in str(info.value)


def test_a_list_of_records_is_numbered_as_csv_rows():
    with pytest.raises(InputError) as info:
        cohort_from_records(BAD_RECORDS)
    assert [(p.row, p.column) for p in info.value.problems] == [
        (2, "headache"),
        (4, "pet_tbr"),
        (4, "headache"),
    ]
    with pytest.raises(InputError) as info:
        cohort_from_records([{"patient_id": "a", "center": "X"}, "not a record"])
    assert [p.row for p in info.value.problems] == [3]


def test_rows_of_a_filtered_dataframe_follow_its_order():
    frame = pd.DataFrame(BAD_RECORDS).iloc[[2, 0]]  # index labels 2 and 0
    with pytest.raises(InputError) as info:
        cohort_from_records(frame)
    assert [(p.row, p.column) for p in info.value.problems] == [
        (2, "pet_tbr"),
        (2, "headache"),
        (3, "headache"),
    ]
