"""RANO 2.0 at a lesion's latest scan: thresholds, the 12-week rule, confirmation, the nadir."""

import pandas as pd
import pytest

from model.categories import radiology_categories
from model.inputs.reading import cohort_from_records


def rano(*rows) -> list[str]:
    """The RANO 2.0 category of each row (each its own patient)."""
    return [category for category, _ in rano_with_reasons(*rows)]


def rano_with_reasons(*rows) -> list[tuple[str, str]]:
    rows = [
        {"patient_id": f"p{k}", "center": "C01", "months_since_rt": 12, **row}
        for k, row in enumerate(rows)
    ]
    table = radiology_categories(cohort_from_records(pd.DataFrame(rows)))
    return list(zip(table["rano"], table["rano_basis"], strict=True))


def scans(*volumes, prior=None, weeks=6, **cells) -> dict:
    """A row: the question scan at volumes[0], follow-ups ``weeks`` apart."""
    row = {"volume_baseline_ml": volumes[0], **cells}
    if prior is not None:
        row["volume_prior_ml"] = prior
    for j, volume in enumerate(volumes[1:], start=1):
        row[f"volume_fu{j}_ml"] = volume
        row[f"interval_fu{j}_weeks"] = weeks
    return row


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [(1.41, "PD"), (1.40, "PD"), (1.39, "SD"), (1.0, "SD"), (0.36, "SD"), (0.35, "PR")],
)
def test_the_volumetric_thresholds(ratio, expected):
    # +40% is progression and -65% a partial response (Wen 2023), inclusive
    assert rano(scans(round(2.0 * ratio, 10), prior=2.0)) == [expected]


def test_growth_within_12_weeks_is_only_preliminary():
    day = 365.25 / 12
    assert rano(
        scans(3.0, prior=2.0, months_since_rt=83 / day),  # 11.9 weeks
        scans(3.0, prior=2.0, months_since_rt=85 / day),  # 12.1 weeks
    ) == ["preliminary PD", "PD"]


def test_a_preliminary_pd_is_confirmed_by_further_growth_and_refuted_without_it():
    early = {"months_since_rt": 1.5}
    confirmed, refuted = rano_with_reasons(
        scans(3.0, 4.2, prior=2.0, **early), scans(3.0, 4.1, prior=2.0, **early)
    )
    assert confirmed == (
        "PD",
        "preliminary PD confirmed: enhancing volume +40% against the preliminary-PD scan, "
        "at follow-up 1",
    )
    assert refuted == (
        "SD",
        "preliminary PD not confirmed: enhancing volume +37% against the preliminary-PD scan, "
        "at follow-up 1",
    )


def test_the_nadir_is_the_smallest_earlier_volume():
    # 3.0 -> 2.0 (-33%: SD, new nadir) -> 2.9 (+45% over the nadir, +16% over the first: PD)
    assert rano(scans(2.0, 2.9, prior=3.0)) == ["PD"]
    # without the shrinkage the same last scan is stable
    assert rano(scans(3.0, 2.9, prior=3.0)) == ["SD"]


def test_progression_stays_progression():
    assert rano(scans(3.0, 2.0, 1.0, prior=2.0)) == ["PD"]


def test_new_enhancement_outside_the_field_is_progression_even_early():
    outside = scans(3.0, prior=2.9, months_since_rt=1, out_of_field="positive")
    inside = scans(3.0, prior=2.9, months_since_rt=1, out_of_field="negative")
    assert rano_with_reasons(outside, inside) == [
        ("PD", "new enhancement outside the radiation field"),
        (
            "SD",
            "enhancing volume +3% against the nadir (between -65% and +40%), at the question scan",
        ),
    ]


def test_new_enhancement_in_field_follows_the_12_week_rule():
    assert rano(scans(1.0, prior=0.0, months_since_rt=1), scans(1.0, prior=0.0)) == [
        "preliminary PD",
        "PD",
    ]
    assert (
        "enhancing volume new against the nadir" in rano_with_reasons(scans(1.0, prior=0.0))[0][1]
    )


def test_without_an_earlier_volume_the_question_scan_is_the_reference():
    assert rano_with_reasons(scans(3.0)) == [
        ("not assessable", "no earlier volume to compare with (volume_prior_ml)")
    ]
    assert rano(scans(3.0, 4.5)) == ["PD"]


def test_an_unknown_time_since_radiotherapy_shows_both_sides_where_they_differ():
    unknown = {"months_since_rt": None}
    assert rano(scans(3.0, prior=2.0, **unknown), scans(2.1, prior=2.0, **unknown)) == [
        "preliminary PD or PD",
        "SD",
    ]


def test_steroids_and_symptoms_do_not_make_progression():
    row = scans(2.2, prior=2.0, steroid_increase="yes", focal_deficit="yes", headache="yes")
    assert rano(row) == ["SD"]


def test_confirmation_needs_40_percent_over_the_preliminary_scan_inclusive():
    early = {"months_since_rt": 1}
    # 1.4 x 2.5 is 3.5 exactly
    assert rano(scans(2.5, 3.5, prior=1.5, **early), scans(2.5, 3.49, prior=1.5, **early)) == [
        "PD",
        "SD",
    ]


def test_after_a_refuted_preliminary_pd_the_nadir_carries_on():
    # 2.0 -> 3.0 (+50% at 6.5 weeks: preliminary) -> 3.2 (not confirmed) -> 6.0 at 18.5 weeks:
    # +200% over the nadir 2.0 is progression
    row = scans(3.0, 3.2, 6.0, prior=2.0, months_since_rt=1.5)
    assert rano_with_reasons(row) == [
        (
            "PD",
            "enhancing volume +200% against the nadir, 12 weeks or more after radiotherapy, "
            "at follow-up 2",
        )
    ]


def test_exactly_12_weeks_after_radiotherapy_is_no_longer_early():
    assert rano(scans(2.0, 3.0, prior=2.0, weeks=12, months_since_rt=0)) == ["PD"]


def test_a_row_without_volumes_is_not_assessable():
    assert rano({}) == ["not assessable"]


def test_no_warning_reaches_the_user_for_new_enhancement():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rano(scans(1.0, prior=0.0)) == ["PD"]


def test_the_reason_gives_the_change_in_whole_percent():
    assert rano_with_reasons(scans(6.2, prior=3.5))[0][1] == (
        "enhancing volume +77% against the nadir, 12 weeks or more after radiotherapy, "
        "at the question scan"
    )


def test_the_reason_names_the_scan_that_decided():
    early = rano_with_reasons(scans(2.0, 3.0, prior=2.0, months_since_rt=1))
    shrank = rano_with_reasons(scans(4.0, 1.0, prior=4.0))
    assert early[0] == (
        "preliminary PD",
        "enhancing volume +50% against the nadir within 12 weeks of radiotherapy: confirm on "
        "the next scan, at follow-up 1",
    )
    assert shrank[0] == (
        "PR",
        "enhancing volume -75% against the nadir (65% or more smaller), at follow-up 1",
    )
