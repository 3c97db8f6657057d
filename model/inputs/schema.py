"""The cohort and patient formats, and the validated table of lesions.

A cohort is a CSV file with one row per lesion; a single patient is a JSON object with the same
fields. :mod:`model.inputs.reading` reads them and :mod:`model.inputs.validation` checks every
cell; what they return is a typed :class:`Cohort`.

The fields, their units and allowed values are documented in ``data/README.md``. The format's own
columns (:data:`FIXED_FIELDS`) are joined by each registered modality's columns
(:mod:`model.modalities`): :func:`schema_for` builds the full :class:`Schema` of a registry, the
machine-readable version of that table.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.core.files import atomic_write_text
from model.inputs.vocabulary import (
    BTRADS_CATEGORIES,
    FLAIR_CHANGES,
    MAX_FOLLOW_UPS,
    READS,
    REFERENCE_DIAGNOSES,
    REFERENCE_SOURCES,
    SYMPTOMS,
)
from model.modalities.registry import Registry
from model.modalities.spec import BinaryTest, Marker


@dataclass(frozen=True)
class Field:
    """One column of the cohort format.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"id", "text", "number", "choice", "yesno"}
        How cells are parsed.
    description : str
        What the column holds, with its unit.
    choices : tuple of str
        Allowed values of a ``choice`` column (matched case-insensitively, stored canonically).
    low, high : float or None
        Plausible range of a ``number`` column; ``low`` is exclusive unless ``low_inclusive``.
    required : bool
        Whether the column must be present and every cell filled.
    missing_words : tuple of str
        Words that mean "missing" besides a blank cell (only ``unknown``, where allowed).
    model_input : bool
        Whether the model reads the column. The others feed the radiology categories only
        (:mod:`model.categories`); a cohort leaves them out of its canonical form when they are
        blank in every row, so a file from before they existed keeps its digest.
    """

    name: str
    kind: str
    description: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = False
    required: bool = False
    missing_words: tuple[str, ...] = ()
    model_input: bool = True

    def expected(self) -> str:
        """Describe the allowed values in words, for error messages."""
        if self.kind == "number":
            low = f"{'>=' if self.low_inclusive else '>'} {self.low:g}"
            return f"a number {low} and <= {self.high:g} ({self.description}); blank if missing"
        if self.kind in {"choice", "yesno"}:
            words = " or ".join(repr(c) for c in (*self.choices, *self.missing_words))
            return f"{words}, or blank if missing"
        return f"a non-empty text ({self.description})"


def _number(
    name: str, description: str, low: float, high: float, *, inclusive=False, model_input=True
) -> Field:
    return Field(
        name,
        "number",
        description,
        low=low,
        high=high,
        low_inclusive=inclusive,
        model_input=model_input,
    )


def _yesno(name: str, description: str) -> Field:
    return Field(name, "yesno", description, choices=("yes", "no"), missing_words=("unknown",))


def _flair_change(name: str, scan: str) -> Field:
    return Field(
        name,
        "choice",
        f"FLAIR hyperintensity at {scan} against the scan before it",
        choices=FLAIR_CHANGES,
        missing_words=("unknown",),
        model_input=False,
    )


def _follow_up_fields() -> list[Field]:
    fields = []
    for j in range(1, MAX_FOLLOW_UPS + 1):
        fields.append(
            _number(f"volume_fu{j}_ml", f"enhancing volume at follow-up scan {j}, mL", 0, 1000)
        )
        fields.append(
            _number(
                f"interval_fu{j}_weeks",
                f"weeks from the previous scan to follow-up scan {j}",
                0,
                156,
            )
        )
        fields.append(_flair_change(f"flair_change_fu{j}", f"follow-up scan {j}"))
        fields.append(
            _yesno(
                f"steroid_increase_fu{j}",
                f"steroid dose raised between the previous scan and follow-up scan {j}",
            )
        )
    return fields


_IDENTITY_FIELDS: tuple[Field, ...] = (
    Field(
        "patient_id",
        "id",
        "patient identifier; a patient's lesions are on consecutive rows",
        required=True,
    ),
    Field(
        "lesion_id",
        "id",
        "lesion identifier within the patient; needed when the patient has several lesions",
    ),
    Field("center", "text", "center (site) name", required=True),
)
_CONTEXT_FIELDS: tuple[Field, ...] = (
    *(_yesno(s, f"new or worse {s.replace('_', ' ')}") for s in SYMPTOMS),
    _yesno("steroid_increase", "steroid dose raised since the previous scan"),
    _number(
        "edema_ratio",
        "FLAIR hyperintense volume divided by the enhancing volume (edema-to-lesion ratio)",
        0,
        100,
    ),
    _yesno("eloquent_location", "lesion in eloquent cortex (motor, language, visual) or brainstem"),
    _number("months_since_rt", "months since the end of radiotherapy", 0, 600, inclusive=True),
    _yesno("mgmt_methylated", "MGMT promoter methylation"),
    _yesno("idh_mutant", "IDH mutation"),
    _yesno(
        "reirradiated",
        "a second course of radiotherapy (re-irradiation) given before this scan",
    ),
    _number(
        "bevacizumab_last_dose_weeks",
        "weeks from the last bevacizumab dose to this scan; blank if none was given",
        0,
        1040,
        inclusive=True,
    ),
    _number(
        "volume_prior_ml",
        "enhancing volume at the scan before the one that raised the question, mL (0: the "
        "enhancement is new)",
        0,
        1000,
        inclusive=True,
        model_input=False,
    ),
    _number(
        "volume_baseline_ml", "enhancing volume at the scan that raised the question, mL", 0, 1000
    ),
    _flair_change("flair_change", "the scan that raised the question"),
    *_follow_up_fields(),
    Field(
        "btrads_read",
        "choice",
        "the BT-RADS category the radiology report gave the row's latest scan",
        choices=BTRADS_CATEGORIES,
        missing_words=("unknown",),
        model_input=False,
    ),
    Field(
        "reference_diagnosis",
        "choice",
        "reference diagnosis ('mixed': histopathology found viable tumour and treatment effect)",
        choices=REFERENCE_DIAGNOSES,
        missing_words=("unknown",),
    ),
    Field(
        "reference_source", "choice", "source of the reference diagnosis", choices=REFERENCE_SOURCES
    ),
    _number(
        "tumor_share_percent",
        "share of viable tumour in a mixed specimen, % (of the tissue the pathologist assessed)",
        0,
        100,
    ),
)
FIXED_FIELDS: tuple[Field, ...] = (*_IDENTITY_FIELDS, *_CONTEXT_FIELDS)
"""The format's own columns; the modalities' columns sit between the identity and the context."""
FIXED_COLUMNS: frozenset[str] = frozenset(f.name for f in FIXED_FIELDS)

PATIENT_COLUMNS: tuple[str, ...] = (
    "center",
    *SYMPTOMS,
    "steroid_increase",
    "months_since_rt",
    "mgmt_methylated",
    "idh_mutant",
    "reirradiated",
    "bevacizumab_last_dose_weeks",
)
"""Columns that belong to the patient, not to one lesion: every lesion of a patient repeats them
(symptoms and clinical history are counted once per patient). The others (imaging, edema,
location, volumes, reference) belong to the lesion."""


def modality_fields(modality: Marker | BinaryTest) -> tuple[Field, ...]:
    """The columns a registered modality adds to the format."""
    if isinstance(modality, BinaryTest):
        return (Field(modality.column, "choice", modality.label, choices=READS),)
    low, high = modality.valid_range
    unit = f"{modality.label}, {modality.unit}"
    fields = []
    if modality.kind_column is not None:
        fields.append(
            Field(
                modality.kind_column,
                "choice",
                f"{modality.label} kind",
                choices=modality.kind_names,
            )
        )
    fields.append(_number(modality.value_column, unit, low, high))
    if modality.has_reads:
        side = "above" if modality.direction == 1 else "below"
        fields.append(
            Field(
                modality.read_column,
                "choice",
                f"qualitative {modality.label} read (positive: {side} the cutoff)",
                choices=READS,
            )
        )
        fields.append(
            _number(
                modality.read_cutoff_column, f"cutoff the {modality.label} read used", low, high
            )
        )
    for j, column in enumerate(follow_up_columns(modality), start=1):
        fields.append(
            _number(
                column,
                f"{unit}, at follow-up scan {j} (the same {modality.label} kind as the first scan)",
                low,
                high,
            )
        )
    return tuple(fields)


def follow_up_columns(marker: Marker) -> tuple[str, ...]:
    """A marker's value columns at follow-up scans 1, 2, ...

    None unless it declares its change between scans
    (:data:`model.modalities.spec.FOLLOW_UP_PARAMETERS`).
    """
    if not marker.follow_up:
        return ()
    return tuple(f"{marker.value_column}_fu{j}" for j in range(1, MAX_FOLLOW_UPS + 1))


@dataclass(frozen=True, eq=False)
class Schema:
    """The cohort format of one registry: every column, in canonical order.

    Attributes
    ----------
    registry : Registry
    fields : tuple of Field
    by_name : dict of str to Field
    columns : tuple of str
    """

    registry: Registry
    fields: tuple[Field, ...]
    by_name: dict[str, Field]
    columns: tuple[str, ...]


@lru_cache(maxsize=16)
def schema_for(registry: Registry) -> Schema:
    """The cohort format of a registry (cached: registries are immutable)."""
    fields = (
        *_IDENTITY_FIELDS,
        *(f for m in registry for f in modality_fields(m)),
        *_CONTEXT_FIELDS,
    )
    return Schema(registry, fields, {f.name: f for f in fields}, tuple(f.name for f in fields))


def default_registry() -> Registry:
    """The registry of the bundled parameter file."""
    from model.inputs.parameters import bundled_registry

    return bundled_registry()


# --------------------------------------------------------------------------------------------
# The validated table
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated table of lesions (a training cohort, or patients to score).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per lesion, columns in the schema's order, typed: numbers as float64 (NaN when
        missing), choices as categoricals, yes/no items as nullable booleans.
    source : str
        Where the rows came from (a file name, ``"<DataFrame>"`` or ``"<dict>"``).
    registry : Registry
        The modalities whose columns the table has.
    rows : numpy.ndarray, optional
        Each lesion's place in its source, for messages, numbered as a spreadsheet's rows (the
        header is row 1, the first lesion row 2) for a CSV, a DataFrame and a list of records
        alike (``None`` for a single record); ``None`` when unknown.
    """

    table: pd.DataFrame
    source: str
    registry: Registry
    rows: np.ndarray | None = None

    @property
    def schema(self) -> Schema:
        """The format of this cohort's columns."""
        return schema_for(self.registry)

    def with_table(self, table: pd.DataFrame) -> Cohort:
        """The same cohort's source and registry with other rows (already typed)."""
        return Cohort(table.reset_index(drop=True), self.source, self.registry)

    def subset(self, index: slice | np.ndarray) -> Cohort:
        """The lesions at ``index`` (positions, a slice or a boolean mask), source rows kept."""
        positions = np.arange(len(self))[index]
        rows = None if self.rows is None else self.rows[positions]
        table = self.table.iloc[positions].reset_index(drop=True)
        return Cohort(table, self.source, self.registry, rows)

    def joined(self, other: Cohort) -> Cohort:
        """These lesions followed by ``other``'s (same source and registry), source rows kept."""
        table = pd.concat([self.table, other.table], ignore_index=True)
        rows = (
            None
            if self.rows is None or other.rows is None
            else np.concatenate([self.rows, other.rows])
        )
        return Cohort(table, self.source, self.registry, rows)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def patient_index(self) -> np.ndarray:
        """Each lesion's patient, numbered 0, 1, ... in order of appearance: (n,) int.

        A patient's lesions are on consecutive rows (validation enforces it), so a patient is a
        run of equal ``patient_id``.
        """
        ids = self.table["patient_id"].to_numpy(object)
        starts = np.ones(len(ids), bool)
        if len(ids):
            starts[1:] = ids[1:] != ids[:-1]
        return np.cumsum(starts) - 1

    @property
    def centers(self) -> tuple[str, ...]:
        """Center names, sorted."""
        return tuple(sorted(self.table["center"].unique()))

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical CSV text: the same lesions give the same digest."""
        return hashlib.sha256(self.to_csv_text().encode()).hexdigest()

    def to_csv_text(self) -> str:
        """The table in the canonical CSV form (the form :meth:`write_csv` writes).

        Every column the model reads, and the others (:attr:`Field.model_input`) where any row
        has a value.
        """
        columns = [
            f.name for f in self.schema.fields if f.model_input or self.table[f.name].notna().any()
        ]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in self.table[columns].itertuples(index=False):
            writer.writerow([_format_cell(v) for v in row])
        return out.getvalue()

    def write_csv(self, path: str | os.PathLike) -> Path:
        """Write the table as a cohort CSV, atomically."""
        return atomic_write_text(path, self.to_csv_text())


def lesion_name(patient_id: str, lesion_id: str | None) -> str:
    """How tables and reports name a lesion: its patient id, then its lesion id if it has one."""
    if lesion_id is None or lesion_id != lesion_id:  # None or NaN: the patient's only lesion
        return str(patient_id)
    return f"{patient_id} / {lesion_id}"


def trusted_cohort(frame: pd.DataFrame, source: str, registry: Registry) -> Cohort:
    """A Cohort from a DataFrame built by this package (the simulator), without range checks.

    Only for generated data in simulation studies, where a prior draw may legitimately produce
    values outside the plausibility ranges that user files are held to. Columns are cast to the
    canonical types; nothing is validated.

    Parameters
    ----------
    frame : pandas.DataFrame
        The schema's columns, values already canonical (choices spelled as in the format).
    source : str
    registry : Registry

    Returns
    -------
    Cohort
    """
    data = {}
    for field in schema_for(registry).fields:
        column = frame[field.name] if field.model_input else frame.get(field.name, _blank(frame))
        if field.kind == "number":
            data[field.name] = column.to_numpy(dtype=float, na_value=np.nan)
        elif field.kind == "yesno":
            data[field.name] = pd.array(column, dtype="boolean")
        elif field.kind == "choice":
            values = [None if v is None or v is pd.NA or v != v else v for v in column]
            data[field.name] = pd.Categorical(values, categories=list(field.choices))
        else:
            data[field.name] = text_column(column.to_numpy(object))
    return Cohort(pd.DataFrame(data), source, registry)


def _blank(frame: pd.DataFrame) -> pd.Series:
    """A column of missing values as long as ``frame``."""
    return pd.Series(np.full(len(frame), np.nan), index=frame.index)


def text_column(values: np.ndarray) -> pd.Series:
    """An id or name column: object dtype, None where missing, under pandas 2 and 3 alike.

    pandas 3 would infer its string dtype (NaN where missing) for a block holding any text but
    not for an all-missing one, so blocks of one file would disagree when joined.
    """
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def is_missing(value: Any) -> bool:
    """Whether a cell of a cohort table is missing: None, ``pd.NA`` or a float NaN."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _format_cell(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return format(float(value), ".10g")
    return str(value)


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------
def summarize(cohort: Cohort) -> dict[str, pd.DataFrame]:
    """Counts that describe a cohort: lesions per center, modality coverage, labels.

    Parameters
    ----------
    cohort : Cohort

    Returns
    -------
    dict of str to DataFrame
        ``"centers"`` (lesions, labelled lesions and lesions with each modality per center),
        ``"modalities"`` (numeric values and reads per modality kind, results per binary test),
        ``"labels"`` (reference diagnosis by source) and ``"follow_up"`` (lesions by number of
        follow-up scans).
    """
    t = cohort.table
    present = {m.name: _has_result(t, m) for m in cohort.registry}
    centers = (
        t.assign(labelled=t["reference_diagnosis"].notna(), **present)
        .groupby("center", observed=True)
        .agg(
            lesions=("patient_id", "size"),
            labelled=("labelled", "sum"),
            **{f"with_{name}": (name, "sum") for name in present},
        )
    )
    modality_rows = []
    for modality in cohort.registry:
        if isinstance(modality, BinaryTest):
            modality_rows.append(
                {
                    "modality": modality.name,
                    "kind": "",
                    "numeric": 0,
                    "read_only": int(present[modality.name].sum()),
                }
            )
            continue
        for kind in modality.kind_names:
            mask = _kind_mask(t, modality, kind)
            reads = t[modality.read_column].notna() if modality.has_reads else False
            modality_rows.append(
                {
                    "modality": modality.name,
                    "kind": kind,
                    "numeric": int((mask & t[modality.value_column].notna()).sum()),
                    "read_only": int((mask & reads).sum()),
                }
            )
    modalities = pd.DataFrame(modality_rows).set_index(["modality", "kind"])
    labels = pd.crosstab(
        t["reference_source"].astype("object").fillna("none"),
        t["reference_diagnosis"].astype("object").fillna("unknown"),
    ).rename_axis(index="source", columns="diagnosis")
    n_follow = sum(t[f"volume_fu{j}_ml"].notna().astype(int) for j in range(1, MAX_FOLLOW_UPS + 1))
    follow_up = (
        n_follow.value_counts().sort_index().rename("lesions").rename_axis("follow_up_scans")
    )
    return {
        "centers": centers,
        "modalities": modalities,
        "labels": labels,
        "follow_up": follow_up.to_frame(),
    }


def _has_result(t: pd.DataFrame, modality: Marker | BinaryTest) -> pd.Series:
    """Lesions with a result of the modality (a number or a read)."""
    if isinstance(modality, BinaryTest):
        return t[modality.column].notna()
    result = t[modality.value_column].notna()
    if modality.has_reads:
        result = result | t[modality.read_column].notna()
    return result


def _kind_mask(t: pd.DataFrame, marker: Marker, kind: str) -> pd.Series:
    """Lesions whose marker result is of this kind (every result, for a marker of one kind)."""
    if marker.kind_column is None:
        return pd.Series(True, index=t.index)
    return t[marker.kind_column] == kind


def modality_columns_markdown(registry: Registry) -> str:
    """The registered modalities' columns as the Markdown table ``data/README.md`` shows."""
    lines = ["| column | modality | type / unit | allowed values |", "|---|---|---|---|"]
    for modality in registry:
        later = follow_up_columns(modality) if isinstance(modality, Marker) else ()
        for field in modality_fields(modality):
            if field.kind == "number":
                kind = getattr(modality, "unit", "")
                allowed = f"number > {field.low:g} and ≤ {field.high:g}"
                if field.name in later:
                    scan = later.index(field.name) + 1
                    kind += f", at follow-up scan {scan}"
                    allowed += (
                        f"; needs `volume_fu{scan}_ml` and a number in `{modality.value_column}`"
                    )
            else:
                kind = "choice"
                allowed = " or ".join(f"`{c}`" for c in field.choices)
            lines.append(f"| `{field.name}` | {modality.label} | {kind} | {allowed} |")
    return "\n".join(lines)
