"""Scoring: P(recurrence) of new lesions from a fit, with its interval and evidence breakdown.

- :mod:`~model.scoring.predict`: :func:`~model.scoring.predict.predict` and the helpers every
  analysis of a fit uses (validate patients against the fit, its scoring tables);
- :mod:`~model.scoring.stream`: large patient files scored and written a block at a time, in
  bounded memory, with a summary a terminal can show.

Never imports PyMC. May import: :mod:`model.core`, :mod:`model.modalities`, :mod:`model.inputs`,
:mod:`model.categories`, :mod:`model.likelihood`, :mod:`model.fitting` (the fit object and file
only).
"""
