import tomllib

import numpy as np
import pytest

from model.checks.simulation import simulate
from model.core.errors import InputError
from model.core.files import bundled
from model.inputs.encode import encode
from model.inputs.parameters import CONTEXT_ENTRIES, DESIGN_ENTRIES, load_parameters
from model.likelihood.pymc_model import build_model


def test_bundled_parameters_complete_with_sources():
    p = load_parameters()
    for name in (*p.model_entries, *DESIGN_ENTRIES, *CONTEXT_ENTRIES):
        assert len(p.source(name)) > 10, name
    assert p.prior("modality.perfusion.DSC.separation").kind == "lognormal"
    assert p.prior("modality.perfusion.misread").kind == "fixed"
    assert p.prior("symptoms.headache.if_decline").kind == "beta"


def rewrite(tmp_path, edit):
    text = bundled("parameters.toml").read_text()
    path = tmp_path / "p.toml"
    path.write_text(edit(text))
    return path


def test_misspelt_entry_is_named_with_suggestion(tmp_path):
    path = rewrite(tmp_path, lambda t: t.replace("[growth.separation]", "[growth.seperation]"))
    with pytest.raises(InputError) as info:
        load_parameters(path)
    message = str(info.value)
    assert "growth.seperation" in message and "did you mean 'growth.separation'" in message
    assert "a [growth.separation] table" in message


def test_invalid_values_are_named(tmp_path):
    def edit(text):
        text = text.replace(
            "[modality.perfusion.DSC.separation]\nvalue = 1.079",
            "[modality.perfusion.DSC.separation]\nvalue = -0.8",
        )
        return text.replace(
            "[modality.pet.misread]\nvalue = 0.05", "[modality.pet.misread]\nvalue = 0.5"
        )

    with pytest.raises(InputError) as info:
        load_parameters(rewrite(tmp_path, edit))
    columns = {p.column for p in info.value.problems}
    assert columns == {"modality.perfusion.DSC.separation.value", "modality.pet.misread.value"}


@pytest.mark.parametrize(
    ("value", "accepted"), [("0", True), ("99.5", True), ("100", False), ("-1", False)]
)
def test_the_mixed_specimen_threshold_is_a_percentage_below_100(tmp_path, value, accepted):
    entry = "[context.mixed_recurrence_tumor_percent]\nvalue = "

    def edit(text):
        return text.replace(entry + "50", entry + value)

    path = rewrite(tmp_path, edit)
    if accepted:
        assert load_parameters(path).value("context.mixed_recurrence_tumor_percent") == float(value)
        return
    with pytest.raises(InputError) as info:
        load_parameters(path)
    assert [p.column for p in info.value.problems] == [
        "context.mixed_recurrence_tumor_percent.value"
    ]


@pytest.mark.parametrize(("value", "accepted"), [("0.5", True), ("0", False), ("1", False)])
def test_the_share_behind_an_unknown_status_is_a_probability_strictly_inside(
    tmp_path, value, accepted
):
    """A share of 0 or 1 would say an unknown status is certainly "no" or "yes": refused."""
    entry = "[context.reirradiated_share]\nvalue = "
    path = rewrite(tmp_path, lambda text: text.replace(entry + "0.08", entry + value))
    if accepted:
        assert load_parameters(path).hidden_shares() == (0.46, float(value))
        return
    with pytest.raises(InputError) as info:
        load_parameters(path)
    assert [p.column for p in info.value.problems] == ["context.reirradiated_share.value"]


def test_a_prior_kind_that_is_not_a_name_is_named(tmp_path):
    # found by the fuzzer: a TOML array as the prior kind used to raise a TypeError
    def edit(text):
        start = text.index("[modality.perfusion.DSC.sigma]")
        at = text.index('prior = "', start)
        end = text.index("\n", at)
        return text[:at] + "prior = [1, 2]" + text[end:]

    with pytest.raises(InputError) as info:
        load_parameters(rewrite(tmp_path, edit))
    (problem,) = info.value.problems
    assert problem.column == "modality.perfusion.DSC.sigma.prior" and "one of" in problem.expected


def test_missing_source_and_bad_toml(tmp_path):
    def drop_source(text):
        start = text.index("[prevalence.mgmt]")
        head, rest = text[:start], text[start:]
        lines = rest.split("\n")
        return (
            head
            + "\n".join(line for line in lines[:6] if not line.startswith("source"))
            + "\n"
            + "\n".join(lines[6:])
        )

    with pytest.raises(InputError, match="prevalence.mgmt.source"):
        load_parameters(rewrite(tmp_path, drop_source))
    with pytest.raises(InputError, match="valid TOML"):
        load_parameters(rewrite(tmp_path, lambda t: t + "\n[[[broken"))


def test_with_values_and_digest():
    p = load_parameters()
    q = p.with_values({"growth.separation": 0.5})
    assert q.value("growth.separation") == 0.5 and p.value("growth.separation") == 0.35
    assert p.digest != q.digest
    assert p.digest == load_parameters().digest
    with pytest.raises(KeyError):
        p.with_values({"cohort_design.labelled": 0.2})


def test_every_file_entry_is_known():
    document = tomllib.loads(bundled("parameters.toml").read_text())
    assert set(document) == {
        "prevalence",
        "modality",
        "symptoms",
        "growth",
        "reference",
        "context",
        "cohort_design",
    }


def perturbed(text: str, entry: str, field: str) -> str:
    """The parameter file with one number of one entry moved (kept inside its allowed range)."""
    start = text.index(f"[{entry}]\n")
    line_start = text.index(f"\n{field} = ", start) + 1
    line_end = text.index("\n", line_start)
    value = tomllib.loads(text[line_start:line_end])[field]
    if isinstance(value, list):
        moved = value[::-1] if len(set(value)) > 1 else [0.9 * v for v in value]
        return f"{text[:line_start]}{field} = {moved!r}{text[line_end:]}"
    moved = 0.6 * value if abs(value) > 0.1 else 2 * value + 0.01
    return f"{text[:line_start]}{field} = {moved!r}{text[line_end:]}"


def numbers_in_fields(entry: dict) -> list[str]:
    return [
        k
        for k, v in entry.items()
        if (isinstance(v, int | float) and not isinstance(v, bool))
        or (isinstance(v, list) and v and isinstance(v[0], float))
    ]


def model_constants(parameters) -> np.ndarray:
    """Every number in the prior graph of the PyMC model built with these parameters."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import ancestors

    lesions = encode(TINY_COHORT, TINY_COHORT.centers, parameters)
    graph = build_model(lesions, TINY_COHORT.centers, parameters, centered=())
    numbers = [
        np.asarray(node.data, dtype=float).ravel()
        for node in ancestors(graph.model.free_RVs)
        if isinstance(node, Constant) and np.issubdtype(np.asarray(node.data).dtype, np.number)
    ]
    return np.sort(np.concatenate(numbers))


TINY_COHORT = simulate(30, 2, seed=4)[0]
DECLARATION_NUMBERS = ("valid_range", "physiological_range", "classic_cutoff", "published")
"""Numbers of a modality's declaration that neither the priors nor the simulator read: the input
ranges (tests/inputs/test_schema_properties.py), the range monotonicity is checked over
(tests/test_clinical_properties.py), the classic cutoffs and the published accuracy the model is
compared with (tests/test_bundled_cohort.py). Each is asserted on where it is used."""


def test_every_number_in_the_file_reaches_the_model_or_the_simulator(tmp_path):
    """Each number of the parameter file is used: moving it changes the PyMC model's priors
    (estimated model entries), the cohort the simulator draws (cohort design, modality design
    and fixed values such as misread probabilities), or, for context entries, which lesions
    scoring refuses or how the context is drawn."""
    text = bundled("parameters.toml").read_text()
    document = tomllib.loads(text)
    base_model = model_constants(load_parameters())
    base_cohort = simulate(300, 8, seed=2)[0].table
    unused, checked = [], 0
    for group, table in document.items():
        for name, fields in _entries(group, table):
            for field in numbers_in_fields(fields):
                if any(part in DECLARATION_NUMBERS for part in f"{name}.{field}".split(".")):
                    continue
                path = tmp_path / "p.toml"
                path.write_text(perturbed(text, name, field))
                parameters = load_parameters(path)
                checked += 1
                entry = parameters.entries.get(name)
                if entry is not None and entry.group == "context":
                    changed = refused(parameters) != refused(load_parameters()) or not simulate(
                        300, 8, seed=2, parameters=parameters
                    )[0].table.equals(base_cohort)
                elif (
                    entry is not None
                    and entry.group == "model"
                    and entry.fields.get("prior") != "fixed"
                ):
                    changed = not np.array_equal(model_constants(parameters), base_model)
                else:
                    simulated = simulate(300, 8, seed=2, parameters=parameters)[0].table
                    changed = not simulated.equals(base_cohort)
                if not changed:
                    unused.append(f"{name}.{field}")
    assert unused == [] and checked > 80


def refused(parameters) -> list[bool]:
    """Which of lesions scanned 0, 0.5, ..., 40 weeks after bevacizumab scoring refuses."""
    from model.inputs.treatment import WINDOW_ENTRY, under_bevacizumab

    weeks = np.arange(0, 40.5, 0.5)
    probe = TINY_COHORT.table.iloc[np.zeros(len(weeks), int)].copy()
    probe["bevacizumab_last_dose_weeks"] = weeks
    window = parameters.value(WINDOW_ENTRY)
    return list(under_bevacizumab(TINY_COHORT.with_table(probe), window))


def _entries(group: str, table: dict):
    """(dotted name, fields) of every table with numbers under a top-level table of the file."""
    if any(not isinstance(v, dict) for v in table.values()):
        yield group, table
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _entries(f"{group}.{key}", value)


def test_a_grouped_number_is_refused_rather_than_read_as_another(tmp_path):
    edit = lambda t: t.replace(  # noqa: E731
        "[modality.perfusion.DSC.separation]\nvalue = 1.079",
        "[modality.perfusion.DSC.separation]\nvalue = 1_079",  # TOML: 1079
    )
    with pytest.raises(InputError) as info:
        load_parameters(rewrite(tmp_path, edit))
    (problem,) = info.value.problems
    assert (problem.column, problem.value) == ("modality.perfusion.DSC.separation.value", "1_079")
