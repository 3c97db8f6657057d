"""Checks of the model and of fits: simulation, calibration, leave-one-out, prior sensitivity.

- :mod:`~model.checks.simulation`: synthetic cohorts from the model's own generative process;
- :mod:`~model.checks.sbc`: simulation-based calibration on Dask, resumable;
- :mod:`~model.checks.loo`: PSIS-LOO of a fit, and which evidence predicts a left-out label;
- :mod:`~model.checks.prior_sensitivity`: power-scaling sensitivity and prior predictive checks.

May import: every stage below it (core, modalities, inputs, likelihood, fitting, scoring) and
:mod:`model.evaluation`.
"""
