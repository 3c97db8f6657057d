"""Fixed quadrature for the bivariate normal orthant probability of two reads.

When both perfusion and PET are known only as reads, the class likelihood is
P(X > h, Y > k) for a standard bivariate normal with correlation r. It is computed as
the integral over x in [h, h + span] of phi(x) * Phi((r x - k) / sqrt(1 - r^2)), with
span = max(h, 0) + ORTHANT_SPAN - h, by Gauss-Legendre quadrature: the integrand is smooth, the
truncated tail is below Phi(-ORTHANT_SPAN) ~ 1e-15, and the same nodes serve the PyMC model and
the scorer. ``tests/likelihood/test_kernel.py`` checks it against SciPy's bivariate normal CDF.
"""

from __future__ import annotations

import numpy as np

ORTHANT_NODES = 48
ORTHANT_SPAN = 8.0
GAUSS_LEGENDRE_NODES, GAUSS_LEGENDRE_WEIGHTS = np.polynomial.legendre.leggauss(ORTHANT_NODES)
