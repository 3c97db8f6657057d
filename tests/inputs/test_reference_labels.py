"""How reference diagnoses become the model's labels: mixed histopathology by its tumour share."""

import numpy as np
import pytest

from model.inputs.encode import FOLLOW_UP, FOLLOW_UP_SCANS, HISTOPATHOLOGY, encode, reference_labels
from model.inputs.parameters import load_parameters
from model.inputs.reading import cohort_from_records

ROWS = [
    ("recurrence", "histopathology", None, 1, HISTOPATHOLOGY),
    ("necrosis", "histopathology", None, 0, HISTOPATHOLOGY),
    ("mixed", "histopathology", 70.0, 1, HISTOPATHOLOGY),
    ("mixed", "histopathology", 50.0, 1, HISTOPATHOLOGY),  # at the threshold: recurrence
    ("mixed", "histopathology", 49.0, 0, HISTOPATHOLOGY),
    ("mixed", "histopathology", None, -1, -1),  # no share: the class is not known
    ("recurrence", "follow_up", None, 1, FOLLOW_UP),
    ("necrosis", "follow_up_scans", None, 0, FOLLOW_UP_SCANS),
    (None, None, None, -1, -1),
]


def cohort():
    records = [
        {
            "patient_id": f"p{i}",
            "center": "A",
            "reference_diagnosis": diagnosis,
            "reference_source": source,
            "tumor_share_percent": share,
            "volume_baseline_ml": 2.0,
            "volume_fu1_ml": 3.0,
            "interval_fu1_weeks": 6,
        }
        for i, (diagnosis, source, share, _, _) in enumerate(ROWS)
    ]
    return cohort_from_records(records)


def test_a_mixed_specimen_is_labelled_by_its_tumour_share_and_without_one_is_unlabelled():
    lesions = encode(cohort(), ["A"], load_parameters())
    assert load_parameters().value("context.mixed_recurrence_tumor_percent") == 50
    assert lesions.label.tolist() == [row[3] for row in ROWS]
    assert lesions.label_source.tolist() == [row[4] for row in ROWS]


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (0.0, [1, 1, 1, 1]),  # any tumour is recurrence, with or without a share
        (60.0, [1, 0, 0, -1]),
        (80.0, [0, 0, 0, -1]),
    ],
)
def test_the_threshold_is_the_centers_convention(threshold, expected):
    table = cohort().table.iloc[2:6]  # the four mixed specimens: 70, 50, 49, no share
    label, source = reference_labels(table, threshold)
    assert label.tolist() == expected
    assert np.array_equal(source >= 0, label >= 0)
