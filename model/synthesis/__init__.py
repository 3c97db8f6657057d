"""Evidence synthesis from published studies: bivariate meta-analysis and latent-class analysis.

- :mod:`~model.synthesis.meta_analysis`: Reitsma's bivariate model of 2x2 tables, SROC;
- :mod:`~model.synthesis.covariates`: study-level covariates and the meta-regression design;
- :mod:`~model.synthesis.meta_regression`: summaries per level, marginal study likelihoods, LOO;
- :mod:`~model.synthesis.reml`: the normal-approximation model by REML / ML, as R ``mada``;
- :mod:`~model.synthesis.to_prior`: a pooled point as a modality's parameter-file entries;
- :mod:`~model.synthesis.latent_class`: Bayesian latent-class analysis of binary tests;
- :mod:`~model.synthesis.io`: their input tables, checked.

May import: :mod:`model.core`, :mod:`model.fitting.diagnostics`.
"""
