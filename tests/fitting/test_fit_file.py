"""Fit files: round trip, fresh-process loading without PyMC, and refusal of bad files."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from model.core.errors import InputError
from model.fitting.sampling import MODEL_VERSION, load_fit, model_spec_hash
from model.inputs.parameters import load_parameters
from model.inputs.reading import load_cohort


def test_the_model_hash_covers_the_likelihood_modules_the_model_is_built_from(monkeypatch):
    """Every model.likelihood module that pymc_model.py builds the graph with is hashed, so a fit
    made by other code for any of them is refused (draws.py only names dimensions)."""
    import ast
    from pathlib import Path

    import model.likelihood.pymc_model as pymc_model

    tree = ast.parse(Path(pymc_model.__file__).read_text())
    imported = {
        node.module.rsplit(".", 1)[1] + ".py"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("model.likelihood.")
    }
    read = []
    original = Path.read_text
    monkeypatch.setattr(
        Path, "read_text", lambda self, *a, **k: read.append(self.name) or original(self, *a, **k)
    )
    model_spec_hash(load_parameters())
    assert imported - {"draws.py"} <= set(read)


def test_bundled_fit_is_current(bundled_fit, bundled_cohort_path):
    """The demo's bundled fit was made by this model, these priors and this cohort."""
    p = bundled_fit.provenance
    assert p["model_version"] == MODEL_VERSION
    assert p["model_spec_hash"] == model_spec_hash(load_parameters()), (
        "refit: rnbayes fit data/cohort.csv --out data/fit.nc"
    )
    assert p["cohort"]["digest"] == load_cohort(bundled_cohort_path).digest
    assert p["cohort"]["synthetic"] is True
    assert bundled_fit.gate.passed
    assert bundled_fit.training_data is None


def test_round_trip(tmp_path, bundled_fit):
    path = bundled_fit.save(tmp_path / "copy.nc")
    again = load_fit(path)
    assert again.provenance == {**bundled_fit.provenance, "checksum": again.provenance["checksum"]}
    for name, marker in bundled_fit.draws.markers.items():
        np.testing.assert_array_equal(again.draws.markers[name].sigma, marker.sigma)
    assert again.registry == bundled_fit.registry


def test_loads_and_scores_in_a_fresh_process_without_pymc(tmp_path):
    from conftest import DATA

    code = (
        "import sys, model;"
        f"f = model.load_fit(r'{DATA / 'fit.nc'}');"
        f"t = model.predict(f, r'{DATA / 'patients_example.csv'}');"
        "print(round(float(t.p_recurrence.iloc[0]), 6), 'pymc' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    p, pymc_loaded = out.split()
    assert 0 <= float(p) <= 1 and pymc_loaded == "False"


def rewrite(src, dst, edit):
    tree = xr.open_datatree(src, engine="h5netcdf").load()
    edit(tree)
    tree.to_netcdf(dst, engine="h5netcdf")
    return dst


def test_other_model_version_is_refused(tmp_path, bundled_fit):
    from conftest import DATA

    def older(tree):
        p = json.loads(tree.attrs["rnbayes"])
        p["model_version"] = MODEL_VERSION - 1
        tree.attrs["rnbayes"] = json.dumps(p)

    with pytest.raises(InputError, match="model version"):
        load_fit(rewrite(DATA / "fit.nc", tmp_path / "old.nc", older))


def test_edited_draws_are_refused(tmp_path):
    from conftest import DATA

    def edit(tree):
        tree["posterior"]["growth_separation"] = tree["posterior"]["growth_separation"] * 1.01

    with pytest.raises(InputError, match="checksum"):
        load_fit(rewrite(DATA / "fit.nc", tmp_path / "edited.nc", edit))


def test_foreign_netcdf_is_refused(tmp_path):
    path = tmp_path / "foreign.nc"
    xr.DataTree.from_dict(
        {"posterior": xr.Dataset({"a": ("x", [1.0])}), "sample_stats": xr.Dataset()}
    ).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(InputError, match="no rnbayes provenance"):
        load_fit(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "missing"])
def test_corrupt_files_are_refused(tmp_path, damage):
    from conftest import DATA

    path = tmp_path / "bad.nc"
    if damage == "truncate":
        data = (DATA / "fit.nc").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif damage == "empty":
        path.write_bytes(b"")
    with pytest.raises(InputError) as info:
        load_fit(path)
    assert "bad.nc" in str(info.value)


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, bundled_fit, monkeypatch):
    target = tmp_path / "fit.nc"
    shutil.copy(bundled_fit_path := __import__("conftest").DATA / "fit.nc", target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", boom)
    with pytest.raises(RuntimeError):
        bundled_fit.save(target)
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]
    assert bundled_fit_path.exists()


def edit_provenance(change):
    def edit(tree):
        provenance = json.loads(tree.attrs["rnbayes"])
        tree.attrs["rnbayes"] = json.dumps(change(provenance))

    return edit


def set_path(provenance, path, value):
    *parents, last = path
    target = provenance
    for key in parents:
        target = target[key]
    target[last] = value
    return provenance


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("diagnostics", "max_rhat"), 1.5),  # a failed gate edited to pass, or the reverse
        (("diagnostics", "passed"), False),
        (("early_window_months",), 6.0),
        (("cohort", "name"), "another cohort"),
        (("sampler", "draws"), 10),
        (("parameters_digest",), "0" * 64),
    ],
)
def test_edited_provenance_is_refused(tmp_path, path, value):
    from conftest import DATA

    edit = edit_provenance(lambda p: set_path(p, path, value))
    with pytest.raises(InputError, match="checksum|early window"):
        load_fit(rewrite(DATA / "fit.nc", tmp_path / "edited.nc", edit))


def test_swapped_or_shortened_centers_are_refused(tmp_path):
    from conftest import DATA

    def swap(p):
        centers = p["cohort"]["centers"]
        p["cohort"]["centers"] = [centers[1], centers[0], *centers[2:]]
        return p

    for change in (swap, lambda p: set_path(p, ("cohort", "centers"), p["cohort"]["centers"][:3])):
        with pytest.raises(InputError, match="same centers"):
            load_fit(rewrite(DATA / "fit.nc", tmp_path / "centers.nc", edit_provenance(change)))

    def rename_coordinate(tree):
        centers = list(tree["posterior"]["center"].values)
        tree["posterior"] = tree["posterior"].to_dataset().assign_coords(center=centers[::-1])

    with pytest.raises(InputError, match="same centers|checksum"):
        load_fit(rewrite(DATA / "fit.nc", tmp_path / "coords.nc", rename_coordinate))


@pytest.mark.parametrize(
    "change",
    [
        lambda p: [p],
        lambda p: set_path(p, ("cohort", "centers"), 3),
        lambda p: set_path(p, ("cohort",), None),
        lambda p: {k: v for k, v in p.items() if k != "parameters"},
        lambda p: set_path(p, ("early_window_months",), "three"),
        lambda p: set_path(p, ("cohort", "centers"), ["C01", "C01"]),
    ],
)
def test_malformed_provenance_is_a_clear_error(tmp_path, change):
    from conftest import DATA

    path = rewrite(DATA / "fit.nc", tmp_path / "bad.nc", edit_provenance(change))
    with pytest.raises(InputError) as info:
        load_fit(path)
    assert "bad.nc" in str(info.value)


def test_gate_is_recomputed_from_the_draws_even_with_a_forged_checksum(tmp_path, bundled_fit):
    """Draws whose chains disagree fail the gate whatever the stored diagnostics say."""
    from model.fitting.integrity import fit_checksum

    posterior = bundled_fit.posterior.copy(deep=True)
    shifted = posterior["growth_separation"].to_numpy().copy()
    shifted[0] += 1.0  # chain 0 far from the others: R-hat >> 1.01
    posterior["growth_separation"] = (posterior["growth_separation"].dims, shifted)
    provenance = dict(bundled_fit.provenance)
    assert provenance["diagnostics"]["passed"] is True

    def forge(tree):
        tree["posterior"] = xr.DataTree(posterior)
        provenance.pop("checksum", None)
        provenance["checksum"] = fit_checksum(
            posterior, tree["sample_stats"].to_dataset(), provenance, None
        )
        tree.attrs["rnbayes"] = json.dumps(provenance)

    from conftest import DATA

    forged = load_fit(rewrite(DATA / "fit.nc", tmp_path / "forged.nc", forge))
    assert not forged.gate.passed and forged.gate.max_rhat > 1.1
    assert "growth_separation" in forged.gate.worst["rhat"]
