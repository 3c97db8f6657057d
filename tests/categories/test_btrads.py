"""The BT-RADS flowchart, leaf by leaf, and what it does with inputs a row does not record."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from model.categories import radiology_categories
from model.categories.btrads import (
    Findings,
    finding_codes,
    flowchart,
    outcome,
    settling_column,
)
from model.categories.scans import UNKNOWN, scan_series
from model.inputs.reading import cohort_from_records

LATE_WORSE = Findings(
    enhancement="worse",
    flair="worse",
    early=False,
    marked=False,
    progressive=False,
    bevacizumab=False,
    first_bevacizumab_scan=False,
    steroids=False,
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # every leaf of the flowchart (https://btrads.com), reached by the answers that lead there
        ({"enhancement": "unchanged", "flair": "unchanged"}, "2"),
        ({"enhancement": "improved", "flair": "unchanged"}, "1a"),
        ({"enhancement": "unchanged", "flair": "improved"}, "1a"),
        ({"enhancement": "improved", "flair": "improved", "steroids": True}, "1b"),
        (
            {
                "enhancement": "improved",
                "flair": "unchanged",
                "bevacizumab": True,
                "first_bevacizumab_scan": True,
            },
            "1b",
        ),
        # sustained on bevacizumab
        ({"enhancement": "improved", "flair": "unchanged", "bevacizumab": True}, "1a"),
        ({"early": True}, "3a"),
        ({"early": True, "marked": True, "progressive": True}, "3a"),  # time comes first
        ({"flair": "unchanged"}, "3b"),  # enhancement alone
        ({"enhancement": "unchanged"}, "3b"),  # FLAIR alone
        ({"enhancement": "improved"}, "3b"),  # FLAIR worse, enhancement better: FLAIR alone
        ({"marked": True}, "4"),
        ({"progressive": True}, "4"),
        ({}, "3c"),
    ],
)
def test_each_leaf_of_the_flowchart(changes, expected):
    category, path = flowchart(replace(LATE_WORSE, **changes))
    assert category == expected
    assert path, "the answers that led there are kept"


LATE = ("worse", "90 days or more after radiotherapy")
BOTH = (*LATE, "enhancement and FLAIR worse")


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"enhancement": "unchanged", "flair": "unchanged"}, ("unchanged",)),
        (
            {"enhancement": "improved", "flair": "unchanged", "bevacizumab": True,
             "first_bevacizumab_scan": True},
            ("improved", "first scan on bevacizumab"),
        ),
        (
            {"enhancement": "improved", "flair": "unchanged", "bevacizumab": True},
            ("improved", "sustained on bevacizumab"),
        ),
        (
            {"enhancement": "improved", "flair": "unchanged", "steroids": True},
            ("improved", "steroid dose increased"),
        ),
        ({"enhancement": "improved", "flair": "unchanged"}, ("improved", "no medication effect")),
        ({"early": True}, ("worse", "within 90 days of radiotherapy")),
        ({"flair": "unchanged"}, (*LATE, "enhancement alone worse")),
        ({"enhancement": "unchanged"}, (*LATE, "FLAIR alone worse")),
        ({"marked": True}, (*BOTH, "by more than 40%")),
        ({"progressive": True}, (*BOTH, "by 40% or less", "progressive over scans")),
        ({}, (*BOTH, "by 40% or less", "not progressive")),
    ],
)  # fmt: skip
def test_each_leaf_says_the_answers_that_led_there(changes, path):
    assert flowchart(replace(LATE_WORSE, **changes))[1] == path


@pytest.mark.parametrize(
    ("name", "scan", "column"),
    [
        ("enhancement", 0, "volume_prior_ml"),
        ("enhancement", 2, "volume_fu2_ml"),
        ("flair", 0, "flair_change"),
        ("flair", 3, "flair_change_fu3"),
        ("early", 1, "months_since_rt"),
        ("marked", 0, "volume_prior_ml"),
        ("progressive", 1, "flair_change"),
        ("progressive", 2, "flair_change_fu1"),
        ("progressive", 3, "flair_change_fu2"),
        ("steroids", 0, "steroid_increase"),
        ("steroids", 2, "steroid_increase_fu2"),
        ("bevacizumab", 1, "bevacizumab at follow-up 1 (not in the format)"),
        ("first_bevacizumab_scan", 0, "the first scan on bevacizumab or not (not in the format)"),
    ],
)
def test_each_open_finding_names_the_input_that_would_settle_it(name, scan, column):
    assert settling_column(name, scan) == column


def test_worse_imaging_is_never_read_as_improvement_whatever_the_medication():
    for enhancement, flair in [("worse", "improved"), ("improved", "worse")]:
        findings = replace(
            LATE_WORSE, enhancement=enhancement, flair=flair, steroids=True, bevacizumab=True
        )
        assert flowchart(findings)[0] in {"3a", "3b", "3c", "4"}


def test_an_unknown_flair_change_leaves_open_exactly_what_it_could_change():
    result = outcome(replace(LATE_WORSE, flair=None))
    assert result.categories == ("3b", "3c")  # FLAIR not worse: 3b; worse, by 40% or less: 3c
    assert result.unsettled == ("flair",)
    assert result.path == ("worse", "90 days or more after radiotherapy")


def test_an_unknown_that_the_path_does_not_reach_settles_nothing():
    early = outcome(replace(LATE_WORSE, early=True, flair=None, marked=None, steroids=None))
    assert (early.categories, early.unsettled) == (("3a",), ())


def test_every_unknown_that_matters_is_named_and_no_other():
    result = outcome(replace(LATE_WORSE, flair=None, marked=None, steroids=None))
    assert result.categories == ("3b", "3c", "4")
    assert set(result.unsettled) == {"flair", "marked"}


def lesion(**cells) -> dict:
    return {"patient_id": "p", "center": "C01", "volume_baseline_ml": 4.0, **cells}


def btrads(*rows) -> list[str]:
    """The flowchart's category of each row, each its own patient."""
    rows = [{**row, "patient_id": f"p{k}"} for k, row in enumerate(rows)]
    cohort = cohort_from_records(pd.DataFrame(rows))
    return list(radiology_categories(cohort)["btrads"])


def test_the_90_day_rule_is_read_in_days_from_months_and_weeks():
    # 90 days = 2.957 months; a follow-up 4 weeks after a question scan at 2 months is day 89
    day = 365.25 / 12
    assert btrads(
        lesion(months_since_rt=89.9 / day, flair_change="worse", volume_prior_ml=2.0),
        lesion(months_since_rt=90.1 / day, flair_change="worse", volume_prior_ml=2.0),
        lesion(
            months_since_rt=(89 - 28) / day,
            volume_fu1_ml=5.0,
            interval_fu1_weeks=4,
            flair_change_fu1="worse",
        ),
        lesion(
            months_since_rt=(90.1 - 28) / day,
            volume_fu1_ml=5.0,
            interval_fu1_weeks=4,
            flair_change_fu1="worse",
        ),
    ) == ["3a", "4", "3a", "4"]


def test_more_than_40_percent_is_strictly_more():
    rows = [
        lesion(months_since_rt=12, flair_change="worse", volume_prior_ml=prior)
        for prior in (4.0 / 1.4, 4.0 / 1.41, 4.0 / 1.39)
    ]
    assert btrads(*rows) == ["3c", "4", "3c"]


def test_enhancement_within_ten_percent_is_unchanged_and_beyond_it_is_not():
    rows = [
        lesion(
            months_since_rt=12,
            flair_change="unchanged",
            volume_prior_ml=prior,
            steroid_increase="no",
        )
        for prior in (4.0 / 1.099, 4.0 / 1.101, 4.0 * 1.099, 4.0 * 1.101)
    ]
    assert btrads(*rows) == ["2", "3b", "2", "1a"]


def test_a_second_worsening_scan_is_progressive_and_a_first_is_not():
    question = lesion(months_since_rt=12, flair_change="worse", volume_prior_ml=3.6)
    follow_up = {"volume_fu1_ml": 4.6, "interval_fu1_weeks": 6, "flair_change_fu1": "worse"}
    after_stable = {**question, "flair_change": "unchanged", "volume_prior_ml": 4.0, **follow_up}
    assert btrads(question, {**question, **follow_up}, after_stable) == ["3c", "4", "3c"]


def test_an_improving_follow_up_without_the_steroid_change_is_left_open():
    row = lesion(
        months_since_rt=12, volume_fu1_ml=2.0, interval_fu1_weeks=6, flair_change_fu1="improved"
    )
    table = radiology_categories(cohort_from_records(pd.DataFrame([row])))
    assert table["btrads"].tolist() == ["1a or 1b"]
    assert table["btrads_basis"][0] == "improved; open: steroid_increase_fu1"


def test_a_row_without_the_optional_columns_names_them():
    table = radiology_categories(cohort_from_records(pd.DataFrame([lesion(months_since_rt=12)])))
    assert table["btrads"].tolist() == ["3b or 3c or 4"]
    assert table["btrads_basis"][0].endswith("open: flair_change, volume_prior_ml")


def test_the_steroid_change_before_the_question_scan_is_read_where_recorded():
    rows = [
        lesion(months_since_rt=12, flair_change="unchanged", volume_prior_ml=6.0, **steroids)
        for steroids in ({"steroid_increase": "yes"}, {"steroid_increase": "no"}, {})
    ]
    assert btrads(*rows) == ["1b", "1a", "1a or 1b"]


def test_the_steroid_change_before_a_follow_up_is_read_at_that_follow_up():
    """An improved follow-up is 1b after a steroid increase recorded before it and 1a without;
    the change recorded before the question scan says nothing of the follow-up."""
    base = lesion(
        months_since_rt=12,
        flair_change="unchanged",
        volume_prior_ml=6.0,
        steroid_increase="yes",
        volume_fu1_ml=3.0,
        interval_fu1_weeks=6,
        flair_change_fu1="unchanged",
    )
    rows = [{**base, **steroids} for steroids in (
        {"steroid_increase_fu1": "yes"}, {"steroid_increase_fu1": "no"}, {}
    )]  # fmt: skip
    assert btrads(*rows) == ["1b", "1a", "1a or 1b"]


def categories_of(*rows, bevacizumab=None) -> pd.DataFrame:
    rows = [{"center": "C01", **row, "patient_id": f"p{k}"} for k, row in enumerate(rows)]
    return radiology_categories(cohort_from_records(pd.DataFrame(rows)), bevacizumab)


def test_bevacizumab_makes_an_improvement_a_possible_medication_effect():
    improving = lesion(
        months_since_rt=12, flair_change="unchanged", volume_prior_ml=6.0, steroid_increase="no"
    )
    later = {
        **improving,
        "volume_fu1_ml": 3.0,
        "interval_fu1_weeks": 6,
        "flair_change_fu1": "unchanged",
    }
    table = categories_of(improving, improving, later, bevacizumab=np.array([True, False, True]))
    assert table["btrads"].tolist() == ["1a or 1b", "1a", "1a or 1b"]
    assert table["btrads_basis"].tolist() == [
        "improved; open: the first scan on bevacizumab or not (not in the format)",
        "improved; no medication effect",
        "improved; open: bevacizumab at follow-up 1 (not in the format), the first scan on "
        "bevacizumab or not (not in the format), steroid_increase_fu1",
    ]


def test_the_codes_of_the_findings_at_the_latest_scan():
    rows = [
        lesion(months_since_rt=12, flair_change="worse", volume_prior_ml=2.0,
               steroid_increase="yes"),
        lesion(months_since_rt=12, volume_fu1_ml=4.2, interval_fu1_weeks=6),
    ]  # fmt: skip
    cohort = cohort_from_records(
        pd.DataFrame([{**r, "patient_id": f"p{k}"} for k, r in enumerate(rows)])
    )
    u = UNKNOWN
    # enhancement, flair, early, marked, progressive, bevacizumab, first scan on it, steroids, scan
    codes = finding_codes(scan_series(cohort), np.array([True, True]))
    assert codes.tolist() == [[0, 0, 0, 1, 0, 1, u, 1, 0], [1, u, 0, 0, 1, u, u, u, 1]]
    codes = finding_codes(scan_series(cohort), np.array([False, False]))
    assert codes.tolist() == [[0, 0, 0, 1, 0, 0, 0, 1, 0], [1, u, 0, 0, 1, 0, 0, u, 1]]


def test_progression_is_read_from_the_scan_just_before_the_latest():
    # the question scan unchanged, then two scans each a little worse: progressive at the second
    rows = [
        lesion(months_since_rt=12, flair_change="unchanged", volume_prior_ml=3.0,
               volume_baseline_ml=3.0, volume_fu1_ml=3.4, interval_fu1_weeks=6,
               flair_change_fu1="worse", volume_fu2_ml=3.8, interval_fu2_weeks=6,
               flair_change_fu2="worse"),
        # FLAIR alone made the question scan worse: the follow-up is progressive through it
        lesion(months_since_rt=12, flair_change="worse", volume_prior_ml=3.0,
               volume_baseline_ml=3.1, volume_fu1_ml=3.5, interval_fu1_weeks=6,
               flair_change_fu1="worse"),
        # and where that FLAIR change is not recorded, it is open
        lesion(months_since_rt=12, volume_prior_ml=3.0, volume_baseline_ml=3.1,
               volume_fu1_ml=3.5, interval_fu1_weeks=6, flair_change_fu1="worse"),
    ]  # fmt: skip
    table = categories_of(*rows)
    assert table["btrads"].tolist() == ["4", "4", "3c or 4"]
    assert table["btrads_basis"][2].endswith("by 40% or less; open: flair_change")


def test_an_unknown_time_since_radiotherapy_is_open_and_exactly_90_days_is_not_early():
    worse = {"flair_change": "worse", "volume_prior_ml": 2.0}
    at_90_days = lesion(
        months_since_rt=0,
        volume_baseline_ml=2.0,
        volume_prior_ml=2.0,
        volume_fu1_ml=4.0,
        interval_fu1_weeks=90 / 7,  # 12.857142857142858 weeks: day 90.0 exactly
        flair_change_fu1="worse",
    )
    assert categories_of(lesion(**worse), at_90_days)["btrads"].tolist() == ["3a or 4", "4"]


def test_when_the_first_answer_is_open_the_basis_is_only_what_would_settle_it():
    row = lesion(
        months_since_rt=12, volume_prior_ml=4.0, volume_baseline_ml=4.0, steroid_increase="no"
    )
    table = categories_of(row)
    assert table["btrads"].tolist() == ["1a or 2 or 3b"]
    assert table["btrads_basis"].tolist() == ["open: flair_change"]
