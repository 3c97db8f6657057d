"""Posterior draws as NumPy arrays: read straight from the fit's xarray posterior."""

import numpy as np

from model.likelihood.draws import DECLINE_TERMS, draws_from_posterior
from model.modalities.spec import Marker


def flat(posterior, name):
    """chain-major (chain, draw, ...) -> (chain * draw, ...), the order draws are stacked in."""
    values = posterior[name].to_numpy()
    return values.reshape(-1, *values.shape[2:])


def test_draws_are_the_posterior_variables_stacked_chain_by_chain(bundled_fit):
    posterior, parameters = bundled_fit.posterior, bundled_fit.parameters
    draws = draws_from_posterior(posterior, parameters)
    chains, per_chain = posterior.sizes["chain"], posterior.sizes["draw"]
    assert draws.n_draws == chains * per_chain and draws.n_centers == len(bundled_fit.centers)
    for field, name in [
        ("intercept", "prevalence_intercept"),
        ("early", "prevalence_early"),
        ("mgmt", "prevalence_mgmt"),
        ("mgmt_early", "prevalence_mgmt_early"),
        ("tau_u", "prevalence_tau_center"),
        ("u", "prevalence_center"),
        ("concordance", "prevalence_patient_concordance"),
        ("symptom_if_decline", "symptom_if_decline"),
        ("symptom_if_stable", "symptom_if_stable"),
        ("growth_sd", "growth_sd"),
        ("growth_tau", "growth_tau_lesion"),
        ("sensitivity", "reference_sensitivity"),
        ("specificity", "reference_specificity"),
    ]:
        got = getattr(draws, field)
        assert got.dtype == np.float64 and got.flags.c_contiguous, field
        np.testing.assert_array_equal(got, flat(posterior, name), err_msg=field)
    for k, term in enumerate(DECLINE_TERMS):
        np.testing.assert_array_equal(
            draws.decline[:, k], flat(posterior, f"symptom_decline_{term}")
        )
    necrosis = flat(posterior, "growth_rate_necrosis")
    np.testing.assert_array_equal(draws.growth_rate[:, 0], necrosis)
    np.testing.assert_allclose(
        draws.growth_rate[:, 1], necrosis + flat(posterior, "growth_separation"), rtol=1e-15
    )
    assert draws.growth_misread == parameters.value("growth.misread")
    for m in parameters.registry:
        if not isinstance(m, Marker):
            b = draws.binary[m.name]
            np.testing.assert_array_equal(b.sensitivity, flat(posterior, f"{m.name}_sensitivity"))
            np.testing.assert_array_equal(b.specificity, flat(posterior, f"{m.name}_specificity"))
            continue
        d = draws.markers[m.name]
        for field in ("mu_necrosis", "separation", "sigma"):
            np.testing.assert_array_equal(getattr(d, field), flat(posterior, f"{m.name}_{field}"))
        np.testing.assert_array_equal(d.tau, flat(posterior, f"{m.name}_tau_center"))
        np.testing.assert_array_equal(d.offset, flat(posterior, f"{m.name}_center"))
        assert d.misread == parameters.value(f"modality.{m.name}.misread")
        assert d.direction == m.direction
        shift = f"{m.name}_early_necrosis_shift"
        expected = flat(posterior, shift) if m.early_shift else np.zeros(draws.n_draws)
        np.testing.assert_array_equal(d.early_shift, expected)
    assert any(m.early_shift for m in parameters.registry.markers)


def test_thinning_and_selection_keep_whole_draws(bundled_fit):
    draws = bundled_fit.draws
    thinned = draws.thin(7)
    step = draws.n_draws // 7
    index = np.arange(0, draws.n_draws, step)[:7]
    assert thinned.n_draws == 7
    np.testing.assert_array_equal(thinned.intercept, draws.intercept[index])
    np.testing.assert_array_equal(thinned.u, draws.u[index])
    assert draws.thin(10**6).n_draws == draws.n_draws  # never more than there are
    picked = draws.select([3, 1])
    for name, marker in draws.markers.items():
        chosen = picked.markers[name]
        for field in ("mu_necrosis", "separation", "sigma", "tau", "offset", "early_shift"):
            np.testing.assert_array_equal(getattr(chosen, field), getattr(marker, field)[[3, 1]])
        assert (chosen.misread, chosen.direction) == (marker.misread, marker.direction)
    for name, test in draws.binary.items():
        np.testing.assert_array_equal(picked.binary[name].sensitivity, test.sensitivity[[3, 1]])
        np.testing.assert_array_equal(picked.binary[name].specificity, test.specificity[[3, 1]])
    assert picked.growth_misread == draws.growth_misread
    np.testing.assert_array_equal(picked.decline, draws.decline[[3, 1]])


def test_class_locations_and_rescan_spread_by_hand(bundled_fit):
    draws = bundled_fit.draws.thin(5)
    perfusion = draws.markers["perfusion"]
    step = perfusion.direction * perfusion.separation
    late = perfusion.class_locations()
    np.testing.assert_allclose(late[..., 0], perfusion.mu_necrosis)
    np.testing.assert_allclose(late[..., 1], perfusion.mu_necrosis + step)
    early = perfusion.class_locations(early=True)
    np.testing.assert_allclose(
        early[..., 0], perfusion.mu_necrosis + perfusion.early_shift[:, None] * step
    )
    np.testing.assert_allclose(early[..., 1], late[..., 1])
    w = 9.0 / 6.0
    np.testing.assert_allclose(
        draws.scan_sd(9.0), np.sqrt(draws.growth_sd**2 + (draws.growth_tau * w) ** 2)
    )


def _field_arrays(draws) -> dict[str, object]:
    """Every field of PosteriorDraws, markers and binary tests flattened, by name."""
    out = {}
    for name, value in vars(draws).items():
        if isinstance(value, dict):
            for key, inner in value.items():
                out.update({f"{name}.{key}.{k}": v for k, v in vars(inner).items()})
        else:
            out[name] = value
    return out


def test_values_named_as_the_parameter_file_give_the_same_draw_as_the_posterior(bundled_fit):
    """Draw s read through parameter_variables into dotted values, and back through
    draws_from_values, is draw s of draws_from_posterior: the two maps agree entry by entry."""
    from model.likelihood.draws import draws_from_values, parameter_variables

    posterior, parameters = bundled_fit.posterior, bundled_fit.parameters
    registry = parameters.registry
    chain, draw = 2, 417
    s = chain * posterior.sizes["draw"] + draw
    values = {
        entry: float(posterior[variable].isel(chain=chain, draw=draw).sel(selection))
        for entry, variable, selection in parameter_variables(registry)
    }
    fixed = {f"modality.{m.name}.misread" for m in registry.markers} | {"growth.misread"}
    assert set(values) | fixed == set(parameters.model_values())  # every entry, nothing else
    assert not set(values) & fixed
    values |= {name: parameters.value(name) for name in fixed}
    effects = {"prevalence": flat(posterior, "prevalence_center")[s]}
    effects |= {m.name: flat(posterior, f"{m.name}_center")[s] for m in registry.markers}
    rebuilt = _field_arrays(draws_from_values(parameters, values, effects))
    expected = _field_arrays(draws_from_posterior(posterior, parameters).select([s]))
    assert list(rebuilt) == list(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(rebuilt[name], value, rtol=1e-14, err_msg=name)


def test_defaults_of_draws_from_values_are_the_file_and_one_center(bundled_fit):
    from model.likelihood.draws import draws_from_values

    parameters = bundled_fit.parameters
    one = draws_from_values(parameters)
    assert one.n_draws == 1 and one.n_centers == 1
    np.testing.assert_array_equal(one.u, [[0.0]])
    values = parameters.model_values()
    assert one.intercept.tolist() == [values["prevalence.intercept"]]
    for m in parameters.registry.markers:
        np.testing.assert_array_equal(one.markers[m.name].offset, [[0.0]])
    shifted = draws_from_values(parameters, center_effects={"prevalence": np.array([0.5, -0.5])})
    assert shifted.n_centers == 2 and shifted.u.tolist() == [[0.5, -0.5]]
    marker = parameters.registry.markers[0].name
    np.testing.assert_array_equal(shifted.markers[marker].offset, [[0.0, 0.0]])


def test_hyperparameters_are_the_population_level_variables(bundled_fit):
    """Each is a posterior variable with one value per draw, kind or symptom item (none is per
    center or lesion), and every such variable of the fit is among them."""
    from model.likelihood.draws import hyperparameters

    posterior = bundled_fit.posterior
    names = hyperparameters(bundled_fit.parameters.registry)
    assert len(set(names)) == len(names)
    population = {
        name
        for name, variable in posterior.data_vars.items()
        if all(d in {"chain", "draw", "symptom"} or d.endswith("_kind") for d in variable.dims)
    }
    assert set(names) == population


def test_draws_read_a_datatree_its_node_or_a_single_precision_dataset_alike(bundled_fit):
    """A whole DataTree is read at its posterior group; float32 draws come out as float64."""
    import xarray as xr

    posterior, parameters = bundled_fit.posterior, bundled_fit.parameters
    expected = _field_arrays(draws_from_posterior(posterior, parameters).thin(50))
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": posterior[["growth_sd"]]})
    single = posterior.astype(np.float32)
    for source in (tree, tree["posterior"]):
        found = _field_arrays(draws_from_posterior(source, parameters).thin(50))
        for name, value in expected.items():
            np.testing.assert_array_equal(found[name], value, err_msg=name)
    found = draws_from_posterior(single, parameters)
    assert found.intercept.dtype == np.float64 and found.u.dtype == np.float64
    np.testing.assert_allclose(found.intercept, flat(posterior, "prevalence_intercept"), rtol=1e-6)


def test_integer_center_effects_become_float_offsets(bundled_fit):
    from model.likelihood.draws import draws_from_values

    parameters = bundled_fit.parameters
    marker = parameters.registry.markers[0].name
    draws = draws_from_values(
        parameters, center_effects={"prevalence": np.array([1, -1]), marker: np.array([2, 0])}
    )
    assert draws.u.dtype == np.float64 and draws.markers[marker].offset.dtype == np.float64
    assert draws.markers[marker].offset.tolist() == [[2.0, 0.0]]
