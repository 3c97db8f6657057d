"""The registry: declarations read from the parameter file, checked, and stored with fits."""

import pytest

from model.cli import main
from model.core.errors import InputError
from model.core.files import bundled
from model.inputs.parameters import load_parameters
from model.inputs.reading import load_cohort
from model.inputs.schema import schema_for
from model.modalities.registry import read_registry
from model.modalities.spec import Marker

TEXT = bundled("parameters.toml").read_text()


def with_edit(tmp_path, old, new, count=1):
    assert old in TEXT, old
    path = tmp_path / "p.toml"
    path.write_text(TEXT.replace(old, new, count))
    return path


def problems(path):
    with pytest.raises(InputError) as info:
        load_parameters(path)
    return {(p.file, p.column): p for p in info.value.problems}


def test_the_bundled_registry_drives_the_format():
    registry = load_parameters().registry
    assert registry.names[:2] == ("perfusion", "pet")
    columns = schema_for(registry).columns
    for modality in registry:
        for column in modality.columns:
            assert column in columns
    perfusion = registry["perfusion"]
    assert isinstance(perfusion, Marker) and perfusion.direction == 1
    assert perfusion.kind("DSC").classic_cutoff == 1.75


def test_a_registry_round_trips_through_its_stored_form():
    registry = load_parameters().registry
    again, tables, found = read_registry(registry.to_mapping(), "fit", with_parameters=False)
    assert found == [] and tables == {}
    assert again.to_mapping() == registry.to_mapping()
    assert again == registry and again["perfusion"].early_shift and again["pet"].follow_up


@pytest.mark.parametrize(
    ("old", "new", "column", "expected"),
    [
        ('direction = "higher"', 'direction = "up"', "modality.perfusion.direction", "'higher'"),
        (
            'kinds = ["DSC", "ASL"]',
            'kinds = "DSC"',
            "modality.perfusion.kinds",
            "a non-empty list",
        ),
        (
            'value_column = "perfusion_ratio"\n',
            "",
            "modality.perfusion.value_column",
            "a column name",
        ),
        (
            'read_cutoff_column = "perfusion_read_cutoff"\n',
            "",
            "modality.perfusion.read_column",
            "both read_column and read_cutoff_column",
        ),
        (
            "physiological_range = [0.1, 20]",
            "physiological_range = [0.1, 50]",
            "modality.perfusion.physiological_range",
            "inside valid_range",
        ),
        (
            'unit = "ratio to normal-appearing white matter"',
            'unit = "ratio to normal-appearing white matter"\ndirektion = "higher"',
            "modality.perfusion.direktion",
            "did you mean 'direction'",
        ),
        (
            'value_column = "pet_tbr"',
            'value_column = "perfusion_ratio"',
            "modality.pet",
            "columns of its own",
        ),
        (
            'value_column = "pet_tbr"',
            'value_column = "center"',
            "modality.pet",
            "a column name the format does not already use",
        ),
        (
            "auc = [0.85, 0.81, 0.90]",
            "auc = [0.95, 0.81, 0.90]",
            "modality.perfusion.DSC.published.auc",
            "low <= high",
        ),
        (
            '[modality.perfusion.DSC.classic_cutoff]\nvalue = 1.75\nsource = "rCBV 1.75 (Hu LS et '
            'al., AJNR 2015; project brief)."',
            "[modality.perfusion.DSC.classic_cutoff]\nvalue = 1.75",
            "modality.perfusion.DSC.classic_cutoff",
            "a value and its source",
        ),
        (
            '[modality.perfusion.misread]\nvalue = 0.07\nprior = "fixed"',
            '[modality.perfusion.misread]\nvalue = 0.07\nprior = "beta"\nscale = 10',
            "modality.perfusion.misread.prior",
            "fixed for this entry",
        ),
        (
            '[modality.pet.MET.sigma]\nvalue = 0.294\nprior = "lognormal"',
            '[modality.pet.MET.sigma]\nvalue = 0.294\nprior = "normal"',
            "modality.pet.MET.sigma.prior",
            "lognormal or halfnormal",
        ),
        (
            "[modality.pet.follow_up_sd]",
            "[modality.pet.follow_up_spread]",
            "modality.pet.follow_up_sd",
            "or none",
        ),
    ],
)
def test_a_malformed_declaration_names_the_file_entry_and_what_was_expected(
    tmp_path, old, new, column, expected
):
    found = problems(with_edit(tmp_path, old, new))
    assert ("p.toml", column) in found, sorted(found)
    assert expected in found[("p.toml", column)].expected


def test_a_kind_without_its_table_is_named(tmp_path):
    found = problems(with_edit(tmp_path, 'kinds = ["DSC", "ASL"]', 'kinds = ["DSC", "ASL", "DCE"]'))
    assert ("p.toml", "modality.perfusion.DCE") in found


def test_cli_exits_2_on_a_malformed_declaration(tmp_path, capsys, bundled_cohort_path):
    path = with_edit(tmp_path, 'direction = "higher"', 'direction = "up"')
    code = main(["validate", str(bundled_cohort_path), "--params", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "p.toml" in err and "modality.perfusion.direction" in err and "Traceback" not in err


def test_a_column_no_modality_declares_is_refused_with_the_closest_name(tmp_path, capsys):
    cohort = tmp_path / "mine.csv"
    cohort.write_text("patient_id,center,perfusion_ratio,adc_mean\na,X,1.5,1.2\n")
    with pytest.raises(InputError) as info:
        load_cohort(cohort)
    (problem,) = [p for p in info.value.problems if p.column == "adc_mean"]
    assert problem.file == "mine.csv" and problem.row == 1 and "known column" in problem.expected
    assert main(["validate", str(cohort)]) == 2
    assert "adc_mean" in capsys.readouterr().err
