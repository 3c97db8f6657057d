"""Reports: a self-contained page per lesion for the tumor board, and a fit report.

- :mod:`~model.report.figures`: the figures, embedded as inline SVG with real text (no network
  fetch);
- :mod:`~model.report.patient`: per-lesion pages and the index;
- :mod:`~model.report.fit_report`: convergence, posterior predictive checks, calibration, LOO;
- :mod:`~model.report.pdf`: PDF through headless Chromium;
- :mod:`~model.report.tripod_ai`, :mod:`~model.report.model_card` and
  :mod:`~model.report.model_card_files`: the TRIPOD+AI checklist, filled from a fit, its cohort
  and an evaluation, written as Markdown and HTML.

May import: every stage but the commands.
"""
