"""Cutoff analyses from the fitted class-conditional distributions, with posterior uncertainty.

- :mod:`~model.cutoffs.accuracy`: sensitivity, specificity, predictive values, likelihood ratios,
  AUC, optimal cutoffs and two-modality rules, in closed form on arrays of draws;
- :mod:`~model.cutoffs.analysis`: the same per technique or tracer, per center, pooled and for a
  new center, from a fit; transportability between centers; the empirical check on labelled data;
- :mod:`~model.cutoffs.plots`: figures (returned, never shown).

Reads fits only. May import: core, modalities, inputs, likelihood, fitting, scoring, decision,
evaluation (labelled predictions, for decision curves on them).
"""
