"""The PyMC model and the NumPy/numba scorer implement the likelihood separately: they must agree
on every training lesion of the bundled cohort, at several posterior draws."""

import numpy as np
import pytensor
import pytest

from model.inputs.encode import encode
from model.inputs.parameters import load_parameters
from model.inputs.schema import load_cohort
from model.likelihood.kernel import class_log_joint
from model.likelihood.pymc_model import build_model
from model.scoring.predict import score_tables


@pytest.fixture(scope="module")
def graph_and_lesions(bundled_fit, bundled_cohort_path):
    cohort = load_cohort(bundled_cohort_path)
    lesions = encode(cohort, bundled_fit.centers, bundled_fit.early_window_months)
    centered = tuple(bundled_fit.provenance["sampler"]["centered"])
    return build_model(lesions, bundled_fit.centers, load_parameters(), centered=centered), lesions


def evaluate_at_draw(graph, posterior, chain, draw, outputs):
    """Evaluate model tensors with every free random variable fixed at one posterior draw."""
    model = graph.model
    replacements = {}
    for rv in model.free_RVs:
        value = posterior[rv.name].isel(chain=chain, draw=draw).to_numpy()
        replacements[rv] = pytensor.tensor.constant(np.asarray(value, dtype=rv.dtype))
    replaced = pytensor.graph.replace.graph_replace(outputs, replacements, strict=False)
    return pytensor.function([], replaced, mode="FAST_COMPILE")()


@pytest.mark.parametrize(("chain", "draw"), [(0, 0), (1, 517), (3, 999)])
def test_pymc_and_scorer_agree_on_every_training_lesion(
    bundled_fit, graph_and_lesions, chain, draw
):
    graph, lesions = graph_and_lesions
    (pymc_ell,) = evaluate_at_draw(
        graph, bundled_fit.posterior, chain, draw, [graph.class_log_joint]
    )
    s = chain * bundled_fit.posterior.sizes["draw"] + draw
    tables = score_tables(bundled_fit)
    one_draw = tables.select(slice(s, s + 1))
    scorer_ell = class_log_joint(lesions, one_draw, len(bundled_fit.centers))[:, 0, :]
    assert pymc_ell.shape == scorer_ell.shape == (len(lesions), 2)
    # 1e-7: PyMC's normal_lcdf uses PyTensor's erfcx, accurate to ~1e-8 (the scorer's log_ndtr
    # matches SciPy to 1e-9); numeric lesions agree to rounding.
    np.testing.assert_allclose(scorer_ell, pymc_ell, rtol=1e-7, atol=1e-7)
    numeric = (lesions.perf_state != 2) & (lesions.pet_state != 2)
    np.testing.assert_allclose(scorer_ell[numeric], pymc_ell[numeric], rtol=1e-11, atol=1e-10)
    # and the reads, two-read lesions and every imaging case are among them
    cases = set(zip(lesions.perf_state.tolist(), lesions.pet_state.tolist(), strict=True))
    assert {(1, 1), (1, 0), (2, 0), (0, 1), (1, 2), (2, 1), (0, 0)} <= cases
