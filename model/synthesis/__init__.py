"""Evidence synthesis from published studies: bivariate meta-analysis and latent-class analysis.

- :mod:`~model.synthesis.meta_analysis`: Reitsma's bivariate model of 2x2 tables, SROC;
- :mod:`~model.synthesis.latent_class`: Bayesian latent-class analysis of binary tests;
- :mod:`~model.synthesis.io`: their input tables, checked.

May import: :mod:`model.core`, :mod:`model.fitting.diagnostics`.
"""
