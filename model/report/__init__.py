"""Reports: a self-contained page per lesion for the tumor board, and a fit report.

- :mod:`~model.report.figures`: the figures, embedded as inline SVG with real text (no network
  fetch);
- :mod:`~model.report.patient`: per-lesion pages and the index;
- :mod:`~model.report.fit_report`: convergence, posterior predictive checks, calibration, LOO;
- :mod:`~model.report.pdf`: PDF through headless Chromium.

May import: every stage but the commands.
"""
