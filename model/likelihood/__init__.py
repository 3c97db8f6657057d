"""The model's likelihood, in its two implementations, and the posterior as plain arrays.

- :mod:`~model.likelihood.pymc_model`: the hierarchical latent-class model in PyMC (fitting);
- :mod:`~model.likelihood.draws`: posterior draws as NumPy arrays (no PyMC);
- :mod:`~model.likelihood.tables`, :mod:`~model.likelihood.kernel`: the same likelihood in closed
  form for the scorer (NumPy and numba), proven equal to the PyMC model by the agreement test;
- :mod:`~model.likelihood.order_statistics`: exact interval bounds without sorting.

May import: :mod:`model.core`, :mod:`model.modalities`, :mod:`model.inputs`.
"""
