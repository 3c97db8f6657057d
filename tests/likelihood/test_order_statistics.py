import numpy as np
import pytest

from model.likelihood.order_statistics import order_statistics


@pytest.mark.parametrize("n", [1, 2, 50, 257, 1000, 4000, 4001])
@pytest.mark.parametrize("kind", ["normal", "ties", "heavy", "sorted"])
def test_equals_full_sort(n, kind):
    rng = np.random.default_rng(n)
    values = {
        "normal": rng.normal(size=n),
        "ties": rng.integers(0, 5, n).astype(float),
        "heavy": rng.standard_cauchy(n),
        "sorted": np.sort(rng.normal(size=n)),
    }[kind]
    before = values.copy()
    for q1, q2 in ((0.05, 0.95), (0.0, 1.0), (0.25, 0.75), (0.5, 0.5)):
        k1, k2 = int((n - 1) * q1), int((n - 1) * q2)
        got = order_statistics(values, k1, k2, np.empty(n), np.empty(n))
        o = np.sort(values)
        expected = (o[k1], o[min(k1 + 1, n - 1)], o[k2], o[min(k2 + 1, n - 1)])
        assert got == expected
    np.testing.assert_array_equal(values, before)
