"""Modalities: every evidence source declared once, and the likelihood forms they use.

- :mod:`~model.modalities.spec`: what a declaration holds (a continuous marker, a binary test);
- :mod:`~model.modalities.registry`: the ``[modality.*]`` tables of the parameter file, read and
  checked into a :class:`~model.modalities.registry.Registry`;
- :mod:`~model.modalities.forms`: each likelihood form for NumPy, PyTensor and numba, side by side.

A modality's whole definition is its declaration in ``data/parameters.toml`` plus its form here.

May import: :mod:`model.core`.
"""
