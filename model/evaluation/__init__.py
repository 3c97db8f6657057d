"""How well predicted probabilities match observed classes, whoever made the predictions.

- :mod:`~model.evaluation.metrics`: c-statistic, calibration intercept and slope, Brier score,
  expected calibration error and the CORP reliability curve (maths on arrays only, so the fit
  report and the simulation study score predictions with it too);
- :mod:`~model.evaluation.external`: a fixed fit against a labelled cohort, overall and per
  center, with posterior and bootstrap intervals, and the reliability curve with its band;
- :mod:`~model.evaluation.crossval`: leave-one-center-out validation, each center predicted by
  a fit to the others (folds on Dask, resumable);
- :mod:`~model.evaluation.plots`: the reliability diagram;
- :mod:`~model.evaluation.display`: scores as text (labels, values, intervals) for every table.

Fits only in cross-validation. May import: core, modalities, inputs, likelihood, fitting, scoring.
"""
