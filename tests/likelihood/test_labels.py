"""Reference labels in the PyMC model: what each source contributes to a lesion's likelihood."""

import numpy as np
import pymc as pm
import pytensor
import pytest

from model.inputs.encode import encode
from model.inputs.parameters import load_parameters
from model.inputs.reading import cohort_from_records
from model.likelihood.pymc_model import build_model

P = load_parameters()
GROWING = {
    "center": "A",
    "perfusion_technique": "DSC",
    "perfusion_ratio": 1.6,
    "volume_baseline_ml": 3.0,
    "volume_fu1_ml": 4.6,
    "interval_fu1_weeks": 6,
}


@pytest.fixture(scope="module")
def log_likelihood():
    labels = [
        {},
        {"reference_source": "follow_up_scans", "reference_diagnosis": "recurrence"},
        {"reference_source": "follow_up", "reference_diagnosis": "recurrence"},
        {"reference_source": "histopathology", "reference_diagnosis": "recurrence"},
    ]
    records = [{"patient_id": f"p{i}", **GROWING, **label} for i, label in enumerate(labels)]
    records.append({"patient_id": "other", "center": "B", "volume_baseline_ml": 2.0})
    cohort = cohort_from_records(records)
    lesions = encode(cohort, ["A", "B"], P)
    graph = build_model(lesions, ["A", "B"], P)
    free = graph.model.free_RVs
    values = pm.draw(free, random_seed=1)  # one draw from the prior
    replaced = pytensor.graph.replace.graph_replace(
        [graph.patient_log_likelihood],
        {
            rv: pytensor.tensor.constant(np.asarray(v, rv.dtype))
            for rv, v in zip(free, values, strict=True)
        },
        strict=False,
    )
    return np.asarray(pytensor.function([], replaced, mode="FAST_COMPILE")()[0])


def test_a_label_made_from_the_recorded_scans_is_not_counted_again(log_likelihood):
    """The label restates the growth the model already counts: the lesion's likelihood is that of
    the unlabelled lesion, while a later-course follow-up label or histopathology adds to it."""
    unlabelled, from_scans, later_course, tissue = log_likelihood[:4]
    assert from_scans == pytest.approx(unlabelled, abs=1e-12)
    assert later_course != pytest.approx(unlabelled, abs=1e-6)
    assert tissue != pytest.approx(unlabelled, abs=1e-6)


def test_follow_up_scans_label_needs_a_recorded_scan():
    from model.core.errors import InputError

    record = {"patient_id": "p", "center": "A", "volume_baseline_ml": 3.0}
    label = {"reference_source": "follow_up_scans", "reference_diagnosis": "necrosis"}
    with pytest.raises(InputError) as error:
        cohort_from_records([{**record, **label}])
    (problem,) = error.value.problems
    assert problem.column == "reference_source" and "volume_fu1_ml" in problem.expected
    cohort_from_records([{**record, "volume_fu1_ml": 2.9, "interval_fu1_weeks": 6, **label}])
