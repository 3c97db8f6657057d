"""The data edge: formats, validation and encoding. Everything past it trusts its types.

- :mod:`~model.inputs.vocabulary`: the category names shared by the format, model and reports;
- :mod:`~model.inputs.parameters`: the parameter file (priors, modalities, cohort design), checked;
- :mod:`~model.inputs.schema`: the cohort and patient formats, and the validated table;
- :mod:`~model.inputs.validation`: every cell checked, a column at a time; every problem reported;
- :mod:`~model.inputs.reading`: CSV (streamed in blocks), JSON and in-memory records, validated;
- :mod:`~model.inputs.strict_json`: JSON without NaN, repeated keys or reinterpreted numbers;
- :mod:`~model.inputs.treatment`: lesions scanned under bevacizumab, refused unless overridden;
- :mod:`~model.inputs.early_window`: the pseudoprogression window as a weight of the time since RT;
- :mod:`~model.inputs.encode`: a validated cohort as the arrays the model and the scorer read.

May import: :mod:`model.core`, :mod:`model.modalities`.
"""
