"""Each likelihood form's implementations agree: NumPy, PyTensor and the scorer's numba scalars."""

import math

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import log_ndtr as scipy_log_ndtr

from model.modalities import forms

FINITE = st.floats(-8.0, 8.0, allow_nan=False)
SPREAD = st.floats(0.05, 3.0)
MISREAD = st.floats(1e-4, 0.49)
NUMPY = forms.numpy_backend()


def pytensor_values(build, *values):
    """Evaluate ``build(*vectors)`` with PyTensor, elementwise over these equal-length arrays."""
    vectors = [pt.dvector() for _ in values]
    function = pytensor.function(vectors, build(*vectors), on_unused_input="ignore")
    return function(*(np.asarray(v, float) for v in values))


def test_log_ndtr_matches_scipy():
    for z in np.concatenate([np.linspace(-60, 12, 500), [-30.0, -29.99, 5.0, 5.01]]):
        assert forms.log_ndtr(z) == pytest.approx(scipy_log_ndtr(z), rel=1e-9, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(
    columns=st.lists(st.tuples(FINITE, FINITE, FINITE, SPREAD), min_size=1, max_size=40),
    e=MISREAD,
)
@example(columns=[(0.0, 0.0, 0.0, 1.0)], e=0.25)  # a misread that float32 holds exactly
def test_misread_density_numpy_pytensor_scipy(columns, e):
    u, own, other, sd = (np.array(c) for c in zip(*columns, strict=True))
    with np.errstate(divide="ignore"):
        expected = np.log((1 - e) * stats.norm.pdf(u, own, sd) + e * stats.norm.pdf(u, other, sd))
    got = forms.misread_log_density(u, own, other, sd, e, NUMPY)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-9, atol=1e-9)
    xp = forms.pytensor_backend()
    # a float64 misread, as the model passes it: PyTensor would make a Python float that float32
    # holds exactly (0.25) a float32 constant, and its log1p good to 1e-8 only
    value = pytensor_values(
        lambda a, b, c, s: forms.misread_log_density(a, b, c, s, np.float64(e), xp),
        u,
        own,
        other,
        sd,
    )
    np.testing.assert_allclose(value, got, rtol=1e-9, atol=1e-9)


@settings(max_examples=150, deadline=None)
@given(core=st.floats(-60.0, 60.0), e=MISREAD)
def test_misread_llr_numba_equals_numpy_and_the_shifts(core, e):
    numba = forms.misread_llr(core, e)
    assert numba == pytest.approx(float(forms.misread_llr_array(np.array(core), e)), abs=1e-10)
    necrosis, recurrence = forms.misread_shifts(core, math.log1p(-e), math.log(e))
    assert numba == pytest.approx(recurrence - necrosis, abs=1e-10)
    assert abs(numba) <= math.log((1 - e) / e) + 1e-12


@settings(max_examples=100, deadline=None)
@given(core=st.floats(-40.0, 40.0), step=st.floats(1e-3, 5.0), e=MISREAD)
def test_misread_llr_is_increasing(core, step, e):
    assert forms.misread_llr(core + step, e) >= forms.misread_llr(core, e)


@settings(max_examples=40, deadline=None)
@given(z_own=st.floats(-35.0, 10.0), z_other=st.floats(-35.0, 10.0), e=MISREAD)
def test_read_probability_numpy_pytensor_numba(z_own, z_other, e):
    expected = np.logaddexp(
        np.log1p(-e) + scipy_log_ndtr(z_own), np.log(e) + scipy_log_ndtr(z_other)
    )
    assert forms.misread_read_log_prob(z_own, z_other, e, NUMPY) == pytest.approx(
        expected, rel=1e-9, abs=1e-9
    )
    keep, slip = math.log1p(-e), math.log(e)
    assert forms.misread_read(z_own, z_other, keep, slip) == pytest.approx(
        expected, rel=1e-8, abs=1e-8
    )
    xp = forms.pytensor_backend()
    value = pytensor_values(
        lambda a, b: forms.misread_read_log_prob(a, b, e, xp), [z_own], [z_other]
    )[0]
    assert value == pytest.approx(expected, rel=1e-7, abs=1e-7)


@pytest.mark.parametrize("positive", [0.0, 1.0])
def test_binary_probabilities(positive):
    se, sp = 0.8, 0.9
    necrosis, recurrence = forms.binary_log_prob(positive, se, sp, NUMPY)
    assert np.exp(recurrence) == pytest.approx(se if positive else 1 - se)
    assert np.exp(necrosis) == pytest.approx(1 - sp if positive else sp)
    xp = forms.pytensor_backend()
    value = pytensor_values(lambda a, b: forms.binary_log_prob(positive, a, b, xp)[1], [se], [sp])
    assert value[0] == pytest.approx(recurrence)


@pytest.mark.parametrize("e", [0.05, 0.07, 0.2, 0.4375, 0.49])
def test_misread_llr_is_monotone_to_the_last_bit_near_saturation(e):
    """Found by hypothesis: the ratio form rounded one ulp the wrong way at L = 36.5 -> 37.5."""
    core = np.concatenate([np.linspace(-60, 60, 20_001), [36.5, 37.5]])
    core.sort()
    g = np.array([forms.misread_llr(float(c), e) for c in core])
    assert np.all(np.diff(g) >= 0)
    assert abs(g).max() <= math.log((1 - e) / e) * (1 + 1e-15)
