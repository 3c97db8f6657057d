"""Names shared by the data format, the model and the reports.

One place for the category labels, so that the schema, the simulator, the PyMC model and the
scorer cannot disagree about what "focal_deficit" means. The modalities and their kinds (DSC,
FET, ...) are declared in the parameter file (:mod:`model.modalities`).
"""

from __future__ import annotations

SYMPTOMS: tuple[str, ...] = (
    "headache",
    "seizure",
    "focal_deficit",
    "cognitive_change",
)
"""Symptom items (yes / no / unknown): new or worse since the previous assessment. They share one
latent clinical decline (:mod:`model.likelihood.pymc_model`)."""

CLASSES: tuple[str, ...] = ("necrosis", "recurrence")
"""Latent classes, index 0 and 1: treatment effect / radiation necrosis, and tumour recurrence."""

READS: tuple[str, ...] = ("negative", "positive")
"""A qualitative read at a stated cutoff, or a binary test's result: positive means the value lay on
the recurrence side of the cutoff (above it, or below it for a marker where lower values point to
recurrence)."""

REFERENCE_SOURCES: tuple[str, ...] = ("histopathology", "follow_up", "follow_up_scans")
"""Where a reference diagnosis comes from: tissue (taken as truth); clinical-radiological follow-up
beyond what the file records (the later course: an imperfect reference); or the follow-up scans
recorded in the file. A label made from the recorded scans repeats their growth, which the model
already counts as evidence, so the model does not use it (incorporation bias)."""

REFERENCE_DIAGNOSES: tuple[str, ...] = ("recurrence", "necrosis", "mixed")
"""A reference diagnosis; "mixed" (viable tumour and treatment effect in one specimen) comes from
histopathology only, and the model reads it by its tumour share (``tumor_share_percent``)."""

FLAIR_CHANGES: tuple[str, ...] = ("worse", "unchanged", "improved")
"""How a scan's FLAIR hyperintensity compares with the scan before it, as a radiologist reads it:
the radiology categories use it (BT-RADS asks whether FLAIR, enhancement or both worsened); the
model does not."""

BTRADS_CATEGORIES: tuple[str, ...] = ("0", "1a", "1b", "2", "3a", "3b", "3c", "4")
"""The Brain Tumor Reporting and Data System categories, from least to most suspicious
(Weinberg BD et al., J Am Coll Radiol 2018;15:767-771; https://btrads.com)."""

MAX_FOLLOW_UPS: int = 3
"""Follow-up scans per lesion the format holds."""

GROWTH_WEEKS: float = 6.0
"""The interval, in weeks, that growth rates refer to (one rescan round)."""

MAX_LESIONS_PER_PATIENT: int = 6
"""Lesions one patient may have in a file: a patient's posterior sums over the 2^m class
configurations of its m lesions (:mod:`model.likelihood.patients`)."""


COLUMN_SYNONYMS: dict[str, str] = {
    "rcbv": "perfusion_ratio",
    "rcbv_ratio": "perfusion_ratio",
    "cbv": "perfusion_ratio",
    "rcbf": "perfusion_ratio",
    "cbf": "perfusion_ratio",
    "perfusion": "perfusion_ratio",
    "tbr": "pet_tbr",
    "tbrmax": "pet_tbr",
    "tbr_max": "pet_tbr",
    "suv_ratio": "pet_tbr",
    "tracer": "pet_tracer",
    "radc": "adc",
    "adc_ratio": "adc",
    "cho/naa": "cho_naa",
    "mrs": "cho_naa",
    "mgmt": "mgmt_methylated",
    "idh": "idh_mutant",
    "reirradiation": "reirradiated",
    "re_irradiated": "reirradiated",
    "re_irradiation": "reirradiated",
    "tumor_share": "tumor_share_percent",
    "tumour_share": "tumor_share_percent",
    "tumour_share_percent": "tumor_share_percent",
    "edema": "edema_ratio",
    "oedema": "edema_ratio",
    "oedema_ratio": "edema_ratio",
    "months_since_radiotherapy": "months_since_rt",
    "time_since_rt": "months_since_rt",
    "site": "center",
    "centre": "center",
    "hospital": "center",
    "patient": "patient_id",
    "lesion": "lesion_id",
    "diagnosis": "reference_diagnosis",
}
"""Names clinicians give these columns (lower case), and the format's column each means: an
unknown column with one of these names is told which column to use."""
