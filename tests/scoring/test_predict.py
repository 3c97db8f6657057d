import json

import numpy as np
import pandas as pd
import pytest

from model.checks.simulation import lesion_key
from model.core.errors import InputError
from model.scoring.predict import predict, recurrence_draws


@pytest.fixture(scope="module")
def examples():
    from conftest import DATA

    return DATA / "patients_example.csv"


def test_interval_is_the_equal_tailed_quantile_of_draws(bundled_fit, examples):
    table = predict(bundled_fit, examples, ci_prob=0.8)
    draws = recurrence_draws(bundled_fit, examples)
    assert draws.shape == (len(table), bundled_fit.draws.n_draws)
    np.testing.assert_allclose(table["p_recurrence"], draws.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(
        table["ci_low"], np.quantile(draws, 0.1, axis=1), rtol=1e-10, atol=1e-15
    )
    np.testing.assert_allclose(
        table["ci_high"], np.quantile(draws, 0.9, axis=1), rtol=1e-10, atol=1e-15
    )
    assert table.attrs["ci_prob"] == 0.8 and "equal-tailed" in table.attrs["interval"]


def test_breakdown_sums_to_log_odds(bundled_fit, examples):
    t = predict(bundled_fit, examples)
    terms = ["prior_log_odds", "llr_perfusion", "llr_pet", "llr_symptoms", "llr_growth"]
    parts = t[[*terms, "llr_other_lesions"]].sum(axis=1)
    np.testing.assert_allclose(parts, t["log_odds"], atol=1e-12)
    two = t["patient_id"] == "EX9-two-lesions"
    assert two.sum() == 2 and (t.loc[two, "llr_other_lesions"] != 0).all()
    assert (t.loc[~two, "llr_other_lesions"] == 0).all()
    # the patient's probability that any lesion is recurrence is at least each lesion's
    assert (t.loc[two, "p_patient_recurrence"] >= t.loc[two, "p_recurrence"].max()).all()
    np.testing.assert_array_equal(t.loc[~two, "p_patient_recurrence"], t.loc[~two, "p_recurrence"])


def test_inputs_dict_dataframe_path_agree(bundled_fit, examples):
    from_path = predict(bundled_fit, examples)
    frame = pd.read_csv(examples, dtype=str, keep_default_na=False).replace("", None)
    from_frame = predict(bundled_fit, frame)
    one = predict(bundled_fit, frame.iloc[2].dropna().to_dict())
    np.testing.assert_allclose(from_path["p_recurrence"], from_frame["p_recurrence"])
    assert one["p_recurrence"].iloc[0] == pytest.approx(from_path["p_recurrence"].iloc[2])


def test_labels_are_ignored_when_scoring(bundled_fit):
    base = {
        "patient_id": "x",
        "center": "C01",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 1.6,
    }
    labelled = {**base, "reference_diagnosis": "necrosis", "reference_source": "histopathology"}
    assert (
        predict(bundled_fit, base)["p_recurrence"].iloc[0]
        == predict(bundled_fit, labelled)["p_recurrence"].iloc[0]
    )


def test_monotone_in_perfusion(bundled_fit):
    rows = [
        {"patient_id": str(r), "center": "C02", "perfusion_technique": "DSC", "perfusion_ratio": r}
        for r in (0.6, 1.0, 1.5, 2.0, 3.0, 5.0)
    ]
    p = predict(bundled_fit, rows)["p_recurrence"].to_numpy()
    assert np.all(np.diff(p) > 0)


def test_bad_patients_are_refused(bundled_fit):
    with pytest.raises(InputError, match="pet_tbr"):
        predict(
            bundled_fit, {"patient_id": "x", "center": "C01", "pet_tracer": "FET", "pet_tbr": -1}
        )


def test_rule_of_thumb_on_bundled_cohort(bundled_fit, bundled_cohort_path):
    """With rCBV, TBR and symptoms all present, >= 80% of lesions get P < 0.2 or P > 0.8, and
    those calls are >= 90% right (against the true classes of the synthetic cohort)."""
    from model.inputs.reading import load_cohort
    from model.inputs.vocabulary import SYMPTOMS

    cohort = load_cohort(bundled_cohort_path)
    t = cohort.table
    full = (
        t["perfusion_ratio"].notna() & t["pet_tbr"].notna() & t[list(SYMPTOMS)].notna().all(axis=1)
    ).to_numpy()
    truth = json.loads((bundled_cohort_path.parent / "cohort_truth.json").read_text())[
        "latent_class"
    ]
    z = np.array([truth[key] for key in map(lesion_key, t["patient_id"], t["lesion_id"])])
    p = predict(bundled_fit, cohort)["p_recurrence"].to_numpy()
    decided = full & ((p < 0.2) | (p > 0.8))
    assert full.sum() > 100
    assert decided.sum() / full.sum() >= 0.80
    correct = (p[decided] > 0.5) == (z[decided] == 1)
    assert correct.mean() >= 0.90


def test_files_and_records_are_read_against_the_given_modalities(tmp_path, bundled_fit):
    """A JSON file (whatever the suffix's case) is one patient, any other path a cohort CSV, and
    each is checked against the registry it is given: here one without PET."""
    from model.inputs.parameters import bundled_registry
    from model.modalities.registry import Registry
    from model.scoring.predict import as_cohort

    record = {
        "patient_id": "p1",
        "center": "C01",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 2.0,
        "pet_tracer": "FET",
        "pet_tbr": 2.1,
    }
    p_record = predict(bundled_fit, [record])["p_recurrence"][0]
    as_json = tmp_path / "p1.JSON"
    as_json.write_text(json.dumps(record))
    as_csv = tmp_path / "p1.csv"
    as_csv.write_text(",".join(record) + "\n" + ",".join(str(v) for v in record.values()) + "\n")
    for source in (as_json, as_csv, [record]):
        assert as_cohort(source).table.loc[0, "pet_tbr"] == 2.1
        assert predict(bundled_fit, source)["p_recurrence"][0] == pytest.approx(p_record)
    no_pet = Registry(tuple(m for m in bundled_registry() if m.name != "pet"))
    for source in (as_json, as_csv, [record]):
        with pytest.raises(InputError) as info:
            as_cohort(source, no_pet)
        assert {"pet_tbr", "pet_tracer"} <= {p.column for p in info.value.problems}


def test_a_lesion_under_bevacizumab_is_refused_unless_allowed(bundled_fit):
    from model.scoring.predict import encode_patients, prediction_blocks

    lesion = {
        "patient_id": "p1",
        "center": "C01",
        "perfusion_technique": "DSC",
        "perfusion_ratio": 2.0,
        "bevacizumab_last_dose_weeks": 2,
    }
    for call in (
        lambda **kw: predict(bundled_fit, lesion, **kw),
        lambda **kw: encode_patients(bundled_fit, lesion, **kw),
        lambda **kw: recurrence_draws(bundled_fit, lesion, **kw),
        lambda **kw: list(prediction_blocks(bundled_fit, lesion, **kw)),
    ):
        with pytest.raises(InputError, match="bevacizumab"):
            call()
        call(allow_bevacizumab=True)


def test_the_prediction_table_layout_and_provenance(bundled_fit, examples):
    """Columns in order, rows numbered 0..n-1 across blocks, the unseen center flagged, and the
    fit's gate and cohort carried in attrs; a path to the fit file gives the same table."""
    from conftest import DATA

    from model.scoring.predict import as_cohort, prediction_blocks

    table = predict(bundled_fit, examples)
    assert list(table.columns) == [
        "patient_id", "lesion_id", "center", "center_seen", "under_bevacizumab",
        "p_recurrence", "ci_low", "ci_high", "log_odds",
        "p_patient_recurrence", "patient_ci_low", "patient_ci_high",
        "btrads", "btrads_basis", "rano", "rano_basis", "btrads_read", "category_flag",
        "prior_log_odds",
        *(f"llr_{name}" for name in bundled_fit.registry.names),
        "llr_symptoms", "llr_growth", "llr_other_lesions",
    ]  # fmt: skip
    assert table.index.tolist() == list(range(len(table)))
    np.testing.assert_array_equal(
        table["center_seen"], [c in bundled_fit.centers for c in table["center"]]
    )
    assert not table["center_seen"].all()
    assert table.attrs["gate_passed"] == bundled_fit.gate.passed
    assert table.attrs["cohort"] == bundled_fit.provenance["cohort"]["name"]
    for source in (examples, as_cohort(examples)):  # a file read in blocks, or a table cut
        blocks = list(prediction_blocks(bundled_fit, source, block_rows=3))
        assert len(blocks) > 1
        pd.testing.assert_frame_equal(
            pd.concat(blocks, ignore_index=True), table, check_exact=False, rtol=1e-12
        )
    from_path = predict(DATA / "fit.nc", examples)
    np.testing.assert_allclose(from_path["p_recurrence"], table["p_recurrence"], rtol=1e-12)
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"^ci_prob must be strictly between 0 and 1$"):
            predict(bundled_fit, examples, ci_prob=bad)


def test_score_tables_are_built_once_per_fit(bundled_fit):
    from model.scoring.predict import score_tables

    assert score_tables(bundled_fit) is score_tables(bundled_fit)


def _one_lesion_patients(n: int) -> list[dict]:
    return [
        {"patient_id": f"p{i}", "center": "C01", "perfusion_technique": "DSC",
         "perfusion_ratio": 1.0 + i / 4, "pet_tracer": "FET", "pet_tbr": 2.1}
        for i in range(n)
    ]  # fmt: skip


def test_every_entry_point_reads_patients_against_the_fits_own_modalities(
    fit_without_pet, few_draws_fit, tmp_path
):
    """A fit declared without PET refuses PET cells (the bundled file's modalities would read
    them), whether the patients come as records, a table or a CSV file read in blocks."""
    from model.scoring.predict import encode_patients, prediction_blocks

    records = _one_lesion_patients(2)
    as_csv = tmp_path / "two.csv"
    pd.DataFrame(records).to_csv(as_csv, index=False)
    calls = (
        lambda fit, source: predict(fit, source),
        lambda fit, source: encode_patients(fit, source),
        lambda fit, source: list(prediction_blocks(fit, source)),
    )
    for source in (records, pd.DataFrame(records), as_csv):
        for call in calls:
            call(few_draws_fit, source)
            with pytest.raises(InputError) as info:
                call(fit_without_pet, source)
            assert {"pet_tbr", "pet_tracer"} <= {p.column for p in info.value.problems}


def test_blocks_of_block_rows_are_regrouped_so_no_patient_is_split(few_draws_fit, tmp_path):
    """Blocks of two rows [p0 p1] [p2 p3] [p4]: each block's last patient waits for the next
    (it may have more lesions there), giving [p0] [p1 p2] [p3] [p4]; one block of the default
    size gives [p0..p3] [p4]."""
    from model.scoring.predict import prediction_blocks

    records = _one_lesion_patients(5)
    as_csv = tmp_path / "five.csv"
    pd.DataFrame(records).to_csv(as_csv, index=False)
    for source in (records, as_csv):
        blocks = list(prediction_blocks(few_draws_fit, source, block_rows=2))
        ids = [block["patient_id"].tolist() for block in blocks]
        assert ids == [["p0"], ["p1", "p2"], ["p3"], ["p4"]]
        default = list(prediction_blocks(few_draws_fit, source))
        assert [block["patient_id"].tolist() for block in default] == [
            ["p0", "p1", "p2", "p3"], ["p4"],
        ]  # fmt: skip
    four_csv = tmp_path / "four.csv"  # a file that ends exactly at a block's end
    pd.DataFrame(records[:4]).to_csv(four_csv, index=False)
    for source in (records[:4], four_csv):
        four = list(prediction_blocks(few_draws_fit, source, block_rows=2))
        assert [block["patient_id"].tolist() for block in four] == [["p0"], ["p1", "p2"], ["p3"]]


def test_a_lesion_scored_under_bevacizumab_has_its_improvement_read_as_a_possible_drug_effect(
    bundled_fit,
):
    lesion = {
        "patient_id": "p1", "center": "C01", "months_since_rt": 12, "volume_prior_ml": 6.0,
        "volume_baseline_ml": 4.0, "flair_change": "unchanged", "steroid_increase": "no",
    }  # fmt: skip
    untreated = predict(bundled_fit, lesion)
    treated = predict(bundled_fit, {**lesion, "bevacizumab_last_dose_weeks": 2},
                      allow_bevacizumab=True)  # fmt: skip
    assert (untreated["btrads"][0], treated["btrads"][0]) == ("1a", "1a or 1b")
