"""How well predicted probabilities match observed classes, whoever made the predictions.

- :mod:`~model.evaluation.metrics`: c-statistic, calibration intercept and slope, Brier score,
  expected calibration error and the CORP reliability curve.

May import: :mod:`model.core` (it is maths on arrays; the fit report, the simulation study and
external validation all score predictions with it).
"""
