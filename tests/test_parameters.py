import tomllib

import pytest

from model.errors import InputError
from model.files import bundled
from model.parameters import DESIGN_ENTRIES, MODEL_ENTRIES, SYMPTOM_ENTRIES, load_parameters


def test_bundled_parameters_complete_with_sources():
    p = load_parameters()
    for name in (*MODEL_ENTRIES, *SYMPTOM_ENTRIES, *DESIGN_ENTRIES):
        assert len(p.source(name)) > 10, name
    assert p.prior("perfusion.DSC.separation").kind == "lognormal"
    assert p.prior("symptoms.class_mean").center is None


def rewrite(tmp_path, edit):
    text = bundled("parameters.toml").read_text()
    path = tmp_path / "p.toml"
    path.write_text(edit(text))
    return path


def test_misspelt_entry_is_named_with_suggestion(tmp_path):
    path = rewrite(tmp_path, lambda t: t.replace("[pet.tau_center]", "[pet.tau_centre]"))
    with pytest.raises(InputError) as info:
        load_parameters(path)
    message = str(info.value)
    assert "pet.tau_centre" in message and "did you mean 'pet.tau_center'" in message
    assert "a [pet.tau_center] table" in message


def test_invalid_values_are_named(tmp_path):
    def edit(text):
        text = text.replace(
            "[perfusion.DSC.separation]\nvalue = 0.80", "[perfusion.DSC.separation]\nvalue = -0.8"
        )
        return text.replace(
            "[correlation.necrosis]\nvalue = 0.30", "[correlation.necrosis]\nvalue = 1.5"
        )

    with pytest.raises(InputError) as info:
        load_parameters(rewrite(tmp_path, edit))
    columns = {p.column for p in info.value.problems}
    assert columns == {"perfusion.DSC.separation.value", "correlation.necrosis.value"}


def test_a_prior_kind_that_is_not_a_name_is_named(tmp_path):
    # found by the fuzzer: a TOML array as the prior kind used to raise a TypeError
    def edit(text):
        start = text.index("[perfusion.DSC.sigma_necrosis]")
        at = text.index('prior = "', start)
        end = text.index("\n", at)
        return text[:at] + "prior = [1, 2]" + text[end:]

    with pytest.raises(InputError) as info:
        load_parameters(rewrite(tmp_path, edit))
    (problem,) = info.value.problems
    assert problem.column == "perfusion.DSC.sigma_necrosis.prior" and "one of" in problem.expected


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
        "perfusion",
        "pet",
        "correlation",
        "symptoms",
        "growth",
        "reference",
        "cohort_design",
    }
