"""The PyMC model and the NumPy/numba scorer implement the likelihood separately: they agree.

Generated from the registry, so it needs no committed fit and covers every registered modality:
lesions with every state of every modality (none, a number, a positive or negative read, a binary
result) for every kind, at every training center, and every combination of the modalities'
states, with symptoms and growth; parameters drawn from the prior. The coverage is asserted from
the registry itself. It runs for the bundled parameter file and for one with an extra marker
declared in the file only.
"""

import itertools

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytest
import xarray as xr
from scipy.special import logsumexp

from model.checks.loo import label_log_likelihood
from model.core.files import bundled
from model.inputs.encode import NONE, READ, VALUE, encode
from model.inputs.parameters import load_parameters
from model.inputs.reading import cohort_from_records
from model.inputs.schema import follow_up_columns
from model.inputs.vocabulary import READS
from model.likelihood.draws import draws_from_posterior
from model.likelihood.kernel import class_log_joint, class_log_terms, score
from model.likelihood.patients import PatientGroups, configuration_log_weights
from model.likelihood.pymc_model import build_model
from model.likelihood.tables import build_tables
from model.modalities.spec import Marker

CENTERS = ("A", "B", "C")
EXTRA_MARKER = """
[modality.swi]
form = "continuous"
label = "Invented marker"
unit = "ratio"
kinds = ["SWIa", "SWIb"]
kind_column = "swi_kind"
value_column = "swi_ratio"
read_column = "swi_read"
read_cutoff_column = "swi_read_cutoff"
direction = "lower"
valid_range = [0.01, 50]
physiological_range = [0.05, 20]
source = "Assumption: a test-only marker."
[modality.swi.tau_center]
value = 0.3
prior = "lognormal"
scale = 0.5
source = "Assumption."
[modality.swi.misread]
value = 0.1
prior = "fixed"
source = "Assumption."
[modality.swi.available]
value = 0.5
source = "Assumption."
[modality.swi.read_only]
value = 0.2
source = "Assumption."
[modality.swi.kind_cycle]
value = ["SWIa", "SWIb"]
source = "Assumption."
"""
KIND = """
[modality.swi.{kind}]
label = "{kind}"
[modality.swi.{kind}.mu_necrosis]
value = 0.5
prior = "normal"
scale = 0.5
source = "Assumption."
[modality.swi.{kind}.separation]
value = 0.6
prior = "lognormal"
scale = 0.3
source = "Assumption."
[modality.swi.{kind}.sigma]
value = 0.3
prior = "lognormal"
scale = 0.3
source = "Assumption."
[modality.swi.{kind}.classic_cutoff]
value = 1.5
source = "Assumption."
[modality.swi.{kind}.read_cutoffs]
value = [1.5]
source = "Assumption."
"""


def parameter_files(tmp_path_factory):
    extra = tmp_path_factory.mktemp("extra") / "parameters.toml"
    text = bundled("parameters.toml").read_text() + EXTRA_MARKER
    extra.write_text(text + KIND.format(kind="SWIa") + KIND.format(kind="SWIb"))
    return {"bundled": load_parameters(), "with an extra marker": load_parameters(extra)}


@pytest.fixture(scope="module", params=["bundled", "with an extra marker"])
def parameters(request, tmp_path_factory):
    return parameter_files(tmp_path_factory)[request.param]


def results(modality, rng):
    """Every result a lesion can have for a modality: (cells, state, kind index)."""
    if not isinstance(modality, Marker):
        return [({}, NONE, 0), *(({modality.column: r}, READ, 0) for r in ("positive", "negative"))]
    out = [({}, NONE, 0)]
    low, high = np.log(modality.physiological_range)
    for j, kind in enumerate(modality.kind_names):
        named = {modality.kind_column: kind} if modality.kind_column else {}
        value = float(np.exp(rng.uniform(low, high)))
        out.append(({**named, modality.value_column: round(value, 4)}, VALUE, j))
        if modality.has_reads:
            for read in ("positive", "negative"):
                cells = {
                    **named,
                    modality.read_column: read,
                    modality.read_cutoff_column: float(kind_cutoff(modality, j)),
                }
                out.append((cells, READ, j))
    return out


def kind_cutoff(marker, j):
    return marker.kinds[j].classic_cutoff


def by_state(choices):
    """A modality's results grouped by state: none, a number, a positive or a negative read."""
    groups = {}
    for cells, state, _ in choices:
        read = next((v for v in cells.values() if v in READS), None)
        groups.setdefault((state, read if state == READ else None), []).append(cells)
    return list(groups.values())


def lesion_records(registry, rng):
    """Each result of each modality once per center (others missing), then every combination of
    the modalities' states (missing, a number, a positive read, a negative read), kinds and
    centers taken in turn, with symptoms, covariates and a rescan."""
    records = []
    options = {m.name: results(m, rng) for m in registry}
    for choices in options.values():
        for cells, _, _ in choices:
            for center in CENTERS:
                records.append({"center": center, **cells})
    states = [by_state(choices) for choices in options.values()]
    for i, combination in enumerate(itertools.product(*states)):
        record = {"center": CENTERS[i % len(CENTERS)]}
        for group in combination:
            record.update(group[i % len(group)])
        record.update(
            {
                "headache": str(rng.choice(["yes", "no", "unknown"])),
                "seizure": str(rng.choice(["yes", "no"])),
                "steroid_increase": str(rng.choice(["yes", "no", "unknown"])),
                "eloquent_location": str(rng.choice(["yes", "no", "unknown"])),
                "edema_ratio": float(rng.choice([np.nan, 0.8, 3.0, 12.0])),
                "months_since_rt": float(rng.choice([np.nan, 1.0, 2.5, 6.0, 30.0])),
                "mgmt_methylated": str(rng.choice(["yes", "no", "unknown"])),
                "volume_baseline_ml": 4.0,
                "volume_fu1_ml": float(np.round(4.0 * np.exp(rng.normal(0.1, 0.4)), 3)),
                "interval_fu1_weeks": 6,
            }
        )
        _follow_up_values(record, registry, rng)
        records.append(record)
    for i, record in enumerate(records):
        record["patient_id"] = f"L{i}"
    return records, int(np.prod([len(s) for s in states]))


def _follow_up_values(record, registry, rng):
    """A second rescan on some lesions, and follow-up values of the markers that declare them:
    at one scan, at both, or at the second only (a change over both intervals)."""
    if rng.random() < 0.5:
        record.update({"volume_fu2_ml": 5.0, "interval_fu2_weeks": 8})
    for marker in registry.markers:
        value = record.get(marker.value_column)
        if not marker.follow_up or value is None or value != value:
            continue
        for j, column in enumerate(follow_up_columns(marker), start=1):
            if f"volume_fu{j}_ml" in record and rng.random() < 0.6:
                later = np.clip(value * np.exp(rng.normal(0.0, 0.4)), *marker.physiological_range)
                record[column] = float(np.round(later, 3))


def prior_draws(graph, n_draws, seed):
    """Every free and deterministic variable of the model, drawn from the prior."""
    model = graph.model
    variables = [*model.free_RVs, *model.deterministics]
    values = pm.draw(variables, draws=n_draws, random_seed=seed)
    data = {}
    for var, value in zip(variables, values, strict=True):
        dims = model.named_vars_to_dims.get(var.name, ())
        data[var.name] = (("chain", "draw", *dims), np.asarray(value)[None])
    coords = {name: list(v) for name, v in model.coords.items()}
    return xr.Dataset(data, coords=coords)


def evaluate(graph, posterior, s, outputs):
    """Model tensors with every free random variable fixed at draw s."""
    replacements = {
        rv: pytensor.tensor.constant(
            np.asarray(posterior[rv.name].isel(chain=0, draw=s).to_numpy(), dtype=rv.dtype)
        )
        for rv in graph.model.free_RVs
    }
    replaced = pytensor.graph.replace.graph_replace(outputs, replacements, strict=False)
    return pytensor.function([], replaced, mode="FAST_COMPILE")()


def test_pymc_and_scorer_agree_for_every_modality_state_and_combination(parameters):
    registry = parameters.registry
    rng = np.random.default_rng(3)
    records, combinations = lesion_records(registry, rng)
    cohort = cohort_from_records(pd.DataFrame(records), registry=registry)
    lesions = encode(cohort, CENTERS, parameters)
    # coverage, read from the registry: every state of every kind at every center, and lesions
    # with several modalities at once
    for modality in registry:
        evidence = lesions.evidence[modality.name]
        kinds = len(modality.kinds) if isinstance(modality, Marker) else 1
        states = (NONE, VALUE, READ) if getattr(modality, "has_reads", True) else (NONE, VALUE)
        if not isinstance(modality, Marker):
            states = (NONE, READ)
        for state in states:
            for j in range(kinds if state != NONE else 1):
                for c in range(len(CENTERS)):
                    hit = (evidence.state == state) & (lesions.center == c)
                    if state != NONE:
                        hit &= evidence.kind == j
                    assert hit.any(), (modality.name, state, j, c)
    # a marker with an early shift: numbers and reads part-way into the pseudoprogression window
    # too, where its coefficients are quadratic in the window weight
    partway = (lesions.early_weight > 0.05) & (lesions.early_weight < 0.95)
    for marker in registry.markers:
        if marker.early_shift:
            state = lesions.evidence[marker.name].state
            for kind_state in (VALUE, READ):
                assert ((state == kind_state) & partway).any(), marker.name
    # follow-up values: one change, two, and one over two intervals
    for marker in registry.markers:
        if marker.follow_up:
            trend = lesions.trends[marker.name]
            assert (trend.mask.sum(axis=1) == 1).any() and (trend.mask.sum(axis=1) == 2).any()
            assert (trend.weeks[:, 1] > 8).any(), marker.name
    present = sum((lesions.evidence[m.name].state != NONE).astype(int) for m in registry)
    assert (present == len(registry)).any()
    # missing, a number and (where a modality has reads) positive and negative reads, for markers;
    # missing, positive and negative for binary tests: every product of these is a lesion
    expected = np.prod(
        [(2 + 2 * m.has_reads) if isinstance(m, Marker) else 3 for m in registry], dtype=int
    )
    assert combinations == expected

    graph = build_model(lesions, CENTERS, parameters, centered=("prevalence",))
    posterior = prior_draws(graph, 3, seed=11)
    tables = build_tables(draws_from_posterior(posterior, parameters), registry)
    scorer = class_log_joint(lesions, tables, len(CENTERS), registry)  # (n, S, 2)
    kept = score(lesions, tables, len(CENTERS), registry, keep_draws=True)
    for s in range(3):
        (pymc,) = evaluate(graph, posterior, s, [graph.class_log_joint])
        # 1e-7: PyMC's normal_lcdf (PyTensor's erfcx) and SciPy's log_ndtr differ by up to a few
        # 1e-8 for reads; an error in the likelihood shows at 1e-3 or more
        np.testing.assert_allclose(scorer[:, s], pymc, rtol=1e-7, atol=1e-7)
        # the scoring path (log likelihood ratio tables) gives the same posterior
        expected = 1 / (1 + np.exp(-(pymc[:, 1] - pymc[:, 0])))
        np.testing.assert_allclose(kept.p_draws[:, s], expected, rtol=1e-7, atol=1e-8)


def test_pymc_patient_likelihood_sums_the_scorers_class_configurations():
    """Patients of one to three lesions, labelled or not: the PyMC model's per-patient likelihood
    (closed form) against the scorer's per-lesion terms summed over every class configuration."""
    parameters = load_parameters()
    registry = parameters.registry
    rng = np.random.default_rng(5)
    records = []
    for p, size in enumerate([1, 2, 3, 2, 1]):
        shared = {
            "center": CENTERS[p % len(CENTERS)],
            "headache": str(rng.choice(["yes", "no"])),
            "focal_deficit": str(rng.choice(["yes", "no", "unknown"])),
            "months_since_rt": float(rng.uniform(0.5, 30)),
        }
        for j in range(size):
            label = [
                {},
                {"reference_diagnosis": "necrosis", "reference_source": "histopathology"},
                {"reference_diagnosis": "recurrence", "reference_source": "follow_up"},
            ][(p + j) % 3]
            records.append(
                {
                    "patient_id": f"P{p}",
                    "lesion_id": f"L{j}" if size > 1 else None,
                    **shared,
                    **label,
                    "perfusion_technique": "DSC",
                    "perfusion_ratio": float(np.round(np.exp(rng.normal(0.4, 0.5)), 3)),
                    "edema_ratio": float(rng.choice([1.0, 4.0, 9.0])),
                }
            )
    lesions = encode(cohort_from_records(records), CENTERS, parameters)
    graph = build_model(lesions, CENTERS, parameters)
    posterior = prior_draws(graph, 2, seed=7)
    draws = draws_from_posterior(posterior, parameters)
    tables = build_tables(draws, registry)
    prior, symptoms, evidence = class_log_terms(lesions, tables, len(CENTERS), registry)
    evidence = evidence + label_log_likelihood(lesions, draws.sensitivity, draws.specificity)
    groups = PatientGroups.of(lesions.patient)
    for s in range(2):
        (pymc,) = evaluate(graph, posterior, s, [graph.patient_log_likelihood])
        assert pymc.shape == (5,)
        for p, slots in enumerate(groups.slots):
            members, first = slots[slots >= 0], groups.first[p]
            weights = configuration_log_weights(
                prior[first, s : s + 1],
                symptoms[first, s : s + 1],
                evidence[members, s : s + 1],
                tables.concordance[s : s + 1],
            )
            assert pymc[p] == pytest.approx(logsumexp(weights), rel=1e-9)
