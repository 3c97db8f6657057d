"""Inference: sampling the model with NUTS, the convergence gate and the fit file.

- :mod:`~model.fitting.sampling`: :func:`~model.fitting.sampling.fit`, sampler settings, the
  :class:`~model.fitting.sampling.Fit` and its file (checked at load);
- :mod:`~model.fitting.diagnostics`: ESS, R-hat, divergences and the gate;
- :mod:`~model.fitting.integrity`: the fit file's checksum and provenance check;
- :mod:`~model.fitting.onboarding`: a new center's effects learned from its own lesions, with the
  fitted population as the prior, added to a fit without refitting it.

May import: :mod:`model.core`, :mod:`model.modalities`, :mod:`model.inputs`,
:mod:`model.likelihood`.
"""
