import json

import numpy as np
import pytest

from model.checks.simulation import lesion_key, simulate
from model.inputs.early_window import early_weight, window_of
from model.inputs.parameters import load_parameters
from model.inputs.vocabulary import GROWTH_WEEKS
from model.modalities.spec import EARLY_SHIFT


def test_same_seed_same_cohort_other_seed_other_cohort():
    a, _ = simulate(50, 4, seed=3)
    b, _ = simulate(50, 4, seed=3)
    c, _ = simulate(50, 4, seed=4)
    assert a.digest == b.digest != c.digest


@pytest.fixture(scope="module")
def large():
    """A large cohort to check the generator against its own parameters."""
    return simulate(40_000, 4, seed=5)


def test_class_conditional_imaging_matches_parameters(large):
    """Each kind's log values, less the center shift, are the class's misread mixture; in the
    pseudoprogression window a marker's treatment effect sits its early shift, times the lesion's
    window weight, closer to recurrence."""
    cohort, truth = large
    t, z, v = cohort.table, truth.latent_class, truth.parameters
    centers = {c.name: i for i, c in enumerate(truth.centers)}
    center_index = t["center"].map(centers).to_numpy()
    weight = early_weight(t["months_since_rt"].to_numpy(float), *window_of(load_parameters()))
    checked, checked_early = 0, 0
    for marker in cohort.registry.markers:
        shift = truth.center_effects[marker.name][center_index]
        e = v[f"modality.{marker.name}.misread"]
        early_shift = v.get(f"modality.{marker.name}.{EARLY_SHIFT}", 0.0)
        for name in marker.kind_names:
            kind = t[marker.kind_column] == name if marker.kind_column else True
            prefix = f"modality.{marker.name}.{name}"
            step = marker.direction * v[f"{prefix}.separation"]
            mu = [
                v[f"{prefix}.mu_necrosis"] + weight * early_shift * step,  # per lesion
                np.full(len(t), v[f"{prefix}.mu_necrosis"] + step),
            ]
            sigma = v[f"{prefix}.sigma"]
            for k in (0, 1):
                mask = (kind & t[marker.value_column].notna()).to_numpy() & (z == k)
                if mask.sum() < 300:
                    continue
                x = np.log(t[marker.value_column].to_numpy()[mask]) - shift[mask]
                mean = (1 - e) * mu[k][mask] + e * mu[1 - k][mask]
                var = sigma**2 + e * (1 - e) * (mu[1][mask] - mu[0][mask]) ** 2
                sd = np.sqrt(var.mean())
                assert abs((x - mean).mean()) < 5 * sd / np.sqrt(mask.sum()) + 0.005, (name, k)
                ratio = np.sqrt(((x - mean) ** 2).mean() / var.mean())
                assert abs(ratio - 1) < 4 / np.sqrt(2 * mask.sum()) + 0.005, (name, k)
                checked += 1
                checked_early += early_shift > 0 and k == 0
    assert checked >= 8 and checked_early >= 1


def test_modalities_are_independent_within_class_and_center(large):
    cohort, truth = large
    t, z = cohort.table, truth.latent_class
    both = (t["perfusion_ratio"].notna() & t["pet_tbr"].notna()).to_numpy()
    centers = {c.name: i for i, c in enumerate(truth.centers)}
    ci = t["center"].map(centers).to_numpy()
    for k in (0, 1):
        for c in range(len(truth.centers)):
            m = both & (z == k) & (ci == c)
            r = np.corrcoef(
                np.log(t["perfusion_ratio"].to_numpy()[m]), np.log(t["pet_tbr"].to_numpy()[m])
            )[0, 1]
            assert abs(r) < 4 / np.sqrt(m.sum()), (k, c, r)


def test_growth_per_six_weeks_and_the_steroid_shift(large):
    """Rescans with the dose unchanged grow at the class's rate (misread mixed); those after a
    recorded increase by that plus the steroid shift; increases are drawn at the share and
    recorded at the record share."""
    cohort, truth = large
    t, z, v = cohort.table, truth.latent_class, truth.parameters
    m = t["volume_fu1_ml"].notna().to_numpy()
    g = np.log(t["volume_fu1_ml"].to_numpy() / t["volume_baseline_ml"].to_numpy())
    weeks = t["interval_fu1_weeks"].to_numpy()
    steroid = t["steroid_increase_fu1"]
    raised = (steroid == True).fillna(False).to_numpy(bool)  # noqa: E712
    unchanged = (steroid == False).fillna(False).to_numpy(bool)  # noqa: E712
    e = v["growth.misread"]
    rates = [v["growth.rate_necrosis"] + k * v["growth.separation"] for k in (0, 1)]
    for k in (0, 1):
        sel = m & (z == k) & (t["volume_baseline_ml"].to_numpy() > 1)  # rounding noise negligible
        expected = (1 - e) * rates[k] + e * rates[1 - k]
        for rows, shift in ((sel & unchanged, 0.0), (sel & raised, v["growth.steroid_shift"])):
            slope = np.sum((g[rows] - shift) * weeks[rows]) / np.sum(weeks[rows] ** 2)
            assert abs(slope * GROWTH_WEEKS - expected) < 0.015
        raised_mean = np.mean(g[sel & raised] / weeks[sel & raised])
        unchanged_mean = np.mean(g[sel & unchanged] / weeks[sel & unchanged])
        assert raised_mean < unchanged_mean  # a steroid increase shrinks the rescan
    parameters = load_parameters()
    recorded = (raised | unchanged)[m].mean()
    assert abs(recorded - parameters.value("cohort_design.steroid_known")) < 0.01
    share = raised[m].sum() / (raised | unchanged)[m].sum()
    assert abs(share - parameters.value("context.follow_up_steroid_share")) < 0.01
    assert not (raised | unchanged)[~m].any()  # no record without its rescan


def test_follow_up_values_change_at_the_class_rate_since_their_last_measurement(large):
    """A marker's first follow-up value moves from the first scan's at its class's rate (misread
    mixed), with the scan-to-scan noise and the lesions' spread; lesions known only by a read, or
    without the rescan, have none."""
    cohort, truth = large
    t, z, v = cohort.table, truth.latent_class, truth.parameters
    for marker in load_parameters().registry.markers:
        if not marker.follow_up:
            continue
        prefix = f"modality.{marker.name}"
        later = t[f"{marker.value_column}_fu1"].to_numpy(float)
        m = ~np.isnan(later)
        assert not (m & t[marker.value_column].isna().to_numpy()).any()
        assert not (m & t["volume_fu1_ml"].isna().to_numpy()).any()
        followed = (t[marker.value_column].notna() & t["volume_fu1_ml"].notna()).to_numpy()
        assert abs(m.sum() / followed.sum() - marker.available) < 0.03
        d = np.log(later / t[marker.value_column].to_numpy(float))
        w = t["interval_fu1_weeks"].to_numpy(float) / GROWTH_WEEKS
        e = v[f"{prefix}.misread"]
        rate0, step = v[f"{prefix}.follow_up_rate_necrosis"], v[f"{prefix}.follow_up_separation"]
        rates = [rate0 + k * marker.direction * step for k in (0, 1)]
        for k in (0, 1):
            rows = m & (z == k)
            slope = np.sum(d[rows] * w[rows]) / np.sum(w[rows] ** 2)
            assert abs(slope - ((1 - e) * rates[k] + e * rates[1 - k])) < 0.02, (marker.name, k)
        # the lesions' own rates: the residual spread grows with the interval as tau^2 w^2
        residual = d - np.where(z == 1, rates[1], rates[0]) * w
        spread = np.var(residual[m & (z == 0) & (w < 1.2)])
        expected = v[f"{prefix}.follow_up_sd"] ** 2 + v[f"{prefix}.follow_up_tau_lesion"] ** 2
        assert abs(spread / expected - 1) < 0.25, marker.name


def test_prevalence_and_covariate_effects(large):
    cohort, truth = large
    t, z = cohort.table, truth.latent_class
    early = (t["months_since_rt"] <= 2.76).to_numpy()
    meth = t["mgmt_methylated"].fillna(False).to_numpy(bool)
    unmeth = (~t["mgmt_methylated"].fillna(True)).to_numpy(bool)
    assert 0.55 < z.mean() < 0.7
    assert z[early].mean() < z[~early].mean() - 0.1
    assert z[meth].mean() < z[unmeth].mean() - 0.15
    # MGMT matters most in the pseudoprogression window (Brandes 2008)
    gap_early = z[unmeth & early].mean() - z[meth & early].mean()
    gap_late = z[unmeth & ~early].mean() - z[meth & ~early].mean()
    assert gap_early > gap_late + 0.2


def test_reirradiation_shifts_the_log_odds_of_recurrence_by_its_coefficient(large):
    """Among patients with the other covariates alike, the log odds ratio of recurrence between
    re-irradiated and not is the parameter's value (lesions of one patient share the draw)."""
    cohort, truth = large
    t, z = cohort.table, truth.latent_class
    d = load_parameters().value
    again = t["reirradiated"]
    assert abs(again.notna().mean() - d("cohort_design.reirradiation_known")) < 0.01
    assert abs(again.mean() - d("context.reirradiated_share")) < 0.01
    unmethylated = (~t["mgmt_methylated"].fillna(True)).to_numpy(bool)
    late = (t["months_since_rt"] > 2.76).to_numpy() & unmethylated
    yes, no = late & again.fillna(False).to_numpy(bool), late & (~again.fillna(True)).to_numpy(bool)

    def logit(p):
        return np.log(p / (1 - p))

    observed = logit(z[yes].mean()) - logit(z[no].mean())
    # centre effects are averaged over, which shrinks a log odds ratio a little towards 0
    assert observed == pytest.approx(truth.parameters["prevalence.reirradiation"], abs=0.35)


def test_design_shares(large):
    cohort, truth = large
    t = cohort.table
    d = load_parameters().value
    assert abs(t["pet_tracer"].notna().mean() - cohort.registry["pet"].available) < 0.01
    labelled = t["reference_diagnosis"].notna()
    assert abs(labelled.mean() - d("cohort_design.labelled")) < 0.01
    histo = t["reference_source"] == "histopathology"
    # Histopathology labels are the truth; later-course follow-up labels are right at about their
    # accuracy; labels from the recorded scans restate their growth.
    z = truth.latent_class
    said = (t["reference_diagnosis"] == "recurrence").to_numpy()
    mixed = (t["reference_diagnosis"] == "mixed").to_numpy()
    h = histo.to_numpy()
    assert np.array_equal(said[h & ~mixed], z[h & ~mixed] == 1)
    # a mixed report comes from tissue, at the same rate in both classes, and its stated tumour
    # share lies on the class's side of the threshold
    assert not (mixed & ~h).any()
    for k in (0, 1):
        assert abs(mixed[h & (z == k)].mean() - d("cohort_design.mixed_share")) < 0.03
    share = t["tumor_share_percent"].to_numpy(float)
    stated = mixed & ~np.isnan(share)
    assert abs(stated[mixed].mean() - d("cohort_design.mixed_tumor_share_known")) < 0.03
    threshold = d("context.mixed_recurrence_tumor_percent")
    assert np.array_equal(share[stated] >= threshold, z[stated] == 1)
    assert np.isnan(share[~mixed]).all()
    f = (t["reference_source"] == "follow_up").to_numpy()
    assert (
        abs(said[f & (z == 1)].mean() - truth.parameters["reference.follow_up_sensitivity"]) < 0.02
    )
    assert not t.loc[f, "volume_fu1_ml"].notna().any()
    scans = (t["reference_source"] == "follow_up_scans").to_numpy()
    last = t[["volume_fu1_ml", "volume_fu2_ml", "volume_fu3_ml"]].ffill(axis=1).iloc[:, -1]
    grew = last / t["volume_baseline_ml"] > 1 + d("cohort_design.follow_up_label_growth")
    assert np.array_equal(said[scans], grew.to_numpy()[scans])


def test_biopsy_follows_suspicion_as_in_real_cohorts(large):
    """Verification bias: histopathology is likelier for hyperperfused lesions, so biopsied
    lesions are richer in recurrence than the cohort; it depends on recorded values only."""
    cohort, truth = large
    t, z = cohort.table, truth.latent_class
    d = load_parameters().value
    labelled = t["reference_diagnosis"].notna()
    histo = (t["reference_source"] == "histopathology").to_numpy()
    high = (t["perfusion_ratio"] > t["perfusion_ratio"].median()).to_numpy()
    low = (t["perfusion_ratio"] <= t["perfusion_ratio"].median()).to_numpy()
    lab = labelled.to_numpy()
    assert histo[high & lab].mean() > histo[low & lab].mean() + 0.15
    assert z[histo].mean() > z.mean() + 0.05
    assert abs(histo[lab].mean() - d("cohort_design.histopathology_share")) < 0.1


def test_reads_are_the_value_against_the_center_cutoff(large):
    cohort, truth = large
    t = cohort.table
    cutoffs = {c.name: c.read_cutoffs["perfusion"] for c in truth.centers}
    reads = t["perfusion_read"].notna()
    assert (t.loc[reads, "perfusion_read_cutoff"] == t.loc[reads, "center"].map(cutoffs)).all()
    assert 0.08 < reads.sum() / t["perfusion_technique"].notna().sum() < 0.12


def test_truth_json_lists_every_lesion(tmp_path):
    cohort, truth = simulate(30, 2, seed=2)
    data = json.loads(truth.write_json(tmp_path / "t.json").read_text())
    t = cohort.table
    assert list(data["latent_class"]) == list(map(lesion_key, t["patient_id"], t["lesion_id"]))
    assert data["parameters"]["growth.separation"] == 0.35


def test_trusted_path_equals_validated_path():
    a, _ = simulate(200, 3, seed=9)
    b, _ = simulate(200, 3, seed=9, validate=False)
    import pandas as pd

    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.digest == b.digest
