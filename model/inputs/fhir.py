"""HL7 FHIR R4 input Observations: their codes, and reading a Bundle back into the patient format.

Each filled cell of a lesion's row (except its identity and its reference label) travels as one
``Observation``. Its ``code`` always carries the **local code** of the input, which is the cohort
format's column name in the code system :data:`LOCAL_SYSTEM` (documented in ``data/README.md``),
and, where a standard code exists, that code as well:

- SNOMED CT 25064002 *Headache* and 91175000 *Seizure* for the two symptoms that have one.

No LOINC, RadLex or SNOMED code was found for an rCBV ratio, an amino-acid PET
tumour-to-background ratio, an edema-to-lesion ratio or the other model inputs, so those carry
the local code alone. The value is ``valueQuantity`` (UCUM unit) for numbers, ``valueBoolean``
for yes/no items and ``valueString`` for choices and text. The patient is a ``Patient`` (its
identifier the ``patient_id``), the center an ``Organization``, the lesion a ``BodyStructure``
(its identifier the ``lesion_id``), and every Observation names the patient as its ``subject``
and the lesion as its ``focus``.

:func:`load_fhir_bundles` reads such Bundles (one lesion each) back into a
:class:`~model.inputs.schema.Cohort`, checking each against the FHIR R4B models of
``fhir.resources`` first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from model.core.errors import InputError, Problem
from model.inputs.schema import Cohort, Field, default_registry, schema_for
from model.inputs.strict_json import JsonNumber, JsonRuleError, strict_json
from model.modalities.registry import Registry

LOCAL_SYSTEM = "urn:rnbayes:input"
"""Code system of the local input codes: each code is a cohort-format column name."""

SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

STANDARD_CODES: dict[str, tuple[str, str, str]] = {
    "headache": (SNOMED, "25064002", "Headache"),
    "seizure": (SNOMED, "91175000", "Seizure"),
}
"""Standard codes of the inputs that have one: system, code, display."""

IDENTITY_FIELDS = ("patient_id", "lesion_id", "center")
"""Fields carried by the Patient, BodyStructure and Organization, not by Observations."""

NOT_SENT = ("reference_diagnosis", "reference_source", "tumor_share_percent")
"""The reference label and its provenance: an outcome, not an input, so never sent."""

IDENTIFIER_SYSTEMS = {
    "patient_id": "urn:rnbayes:patient",
    "lesion_id": "urn:rnbayes:lesion",
    "center": "urn:rnbayes:center",
}

MAX_BUNDLE_BYTES = 20_000_000
"""A lesion's Bundle, HTML report included, is far smaller; anything larger is refused."""


def ucum_unit(field: Field) -> str:
    """The UCUM unit of a numeric input, from its column name."""
    name = field.name
    if name.endswith("_ml"):
        return "mL"
    if name.endswith("_weeks"):
        return "wk"
    if name == "months_since_rt":
        return "mo"
    if name.endswith("_percent"):
        return "%"
    return "1"  # ratios and other dimensionless values


def observation_code(field: Field) -> dict[str, Any]:
    """The CodeableConcept of an input: its local code, and its standard code if it has one."""
    coding = [{"system": LOCAL_SYSTEM, "code": field.name, "display": field.description}]
    if field.name in STANDARD_CODES:
        system, code, display = STANDARD_CODES[field.name]
        coding.insert(0, {"system": system, "code": code, "display": display})
    return {"coding": coding, "text": field.description}


def sent_fields(schema_fields: Sequence[Field]) -> list[Field]:
    """The fields an Observation carries: every input but the identity and the reference."""
    return [f for f in schema_fields if f.name not in (*IDENTITY_FIELDS, *NOT_SENT)]


def load_fhir_bundles(
    paths: Sequence[str | os.PathLike], registry: Registry | None = None
) -> Cohort:
    """Read Bundles of input Observations (one lesion each) into one cohort.

    Parameters
    ----------
    paths : sequence of path-like
        JSON files, each a FHIR Bundle as ``rnbayes ... --fhir`` writes.
    registry : Registry, optional
        The modalities whose fields are known; default those of the bundled parameter file.

    Returns
    -------
    Cohort
        One lesion per Bundle, in order, validated as any patient file.

    Raises
    ------
    model.core.errors.InputError
        A file that is not JSON, not a valid R4B Bundle, without one Patient, or with an
        Observation whose code or value is not an rnbayes input; each problem names the file
        and the entry (``entry[3].resource.code``) as its column. Then the values are checked as
        any patient file's.
    """
    from model.inputs.reading import cohort_from_records

    registry = registry if registry is not None else default_registry()
    fields = {f.name: f for f in sent_fields(schema_for(registry).fields)}
    records, problems = [], []
    for path in paths:
        record = _bundle_record(Path(path), fields, problems)
        records.append(record)
    if problems:
        raise InputError(problems)
    for path, record in zip(paths, records, strict=True):  # each Bundle's values, named by it
        try:
            cohort_from_records(record, source=Path(path).name, registry=registry)
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    source = ", ".join(Path(p).name for p in paths)  # then the lesions of a patient together
    return cohort_from_records(records, source=source, registry=registry)


def _bundle_record(path: Path, fields: dict[str, Field], problems: list[Problem]) -> dict:
    name = path.name
    document = _read_document(path, problems)
    if document is None:
        return {}
    bundle_problems = _validation_problems(name, document)
    if bundle_problems:
        problems.extend(bundle_problems)
        return {}
    if document.get("type") != "collection":
        problems.append(Problem(name, None, "type", str(document.get("type")), "'collection'"))
    record: dict[str, Any] = {}
    counts = dict.fromkeys(IDENTIFIED, 0)
    for i, entry in enumerate(document.get("entry") or []):
        resource = (entry or {}).get("resource")
        where = f"entry[{i}].resource"
        if not isinstance(resource, dict):
            problems.append(Problem(name, None, where, None, "a resource"))
            continue
        kind = resource.get("resourceType")
        if kind in IDENTIFIED:
            counts[kind] += 1
            field = IDENTIFIED[kind]
            record[field] = _identifier(name, where, resource, field, problems)
        elif kind == "Observation":
            _read_observation(name, where, resource, fields, record, problems)
    for kind, most in (("Patient", 1), ("Organization", 1), ("BodyStructure", 1)):
        if counts[kind] > most or (kind == "Patient" and counts[kind] != 1):
            expected = "exactly one Patient" if kind == "Patient" else f"at most one {kind}"
            problems.append(Problem(name, None, "entry", f"{counts[kind]} {kind}", expected))
    return record


def _read_document(path: Path, problems: list[Problem]) -> dict | None:
    name = path.name
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BUNDLE_BYTES + 1)
    except OSError as error:
        problems.append(Problem(name, None, None, None, f"a readable file ({error.strerror})"))
        return None
    if len(raw) > MAX_BUNDLE_BYTES:
        problems.append(Problem(name, None, None, None, f"at most {MAX_BUNDLE_BYTES:,} bytes"))
        return None
    try:
        document = strict_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(Problem(name, None, None, None, f"valid UTF-8 JSON ({error})"))
        return None
    except JsonRuleError as error:
        problems.append(Problem(name, None, error.key, error.value, error.expected))
        return None
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        found = document.get("resourceType") if isinstance(document, dict) else type(document)
        problems.append(Problem(name, None, "resourceType", str(found), "a FHIR Bundle"))
        return None
    return document


def _validation_problems(file: str, document: dict) -> list[Problem]:
    """The Bundle checked against the FHIR R4B models; each error names its location."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(document)
    except ValidationError as error:
        return [
            Problem(file, None, _location(e["loc"]), _found(e.get("input")),
                    f"valid FHIR R4B ({e['msg']})")
            for e in error.errors()[:20]
        ]  # fmt: skip
    return []


def _found(value: Any) -> str | None:
    """What an invalid element held, shortened: the problem shows it, escaped."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _location(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


IDENTIFIED = {"Patient": "patient_id", "Organization": "center", "BodyStructure": "lesion_id"}
"""The resources that carry an identity field, and which."""

KEPT_STATUSES = ("final", "amended", "corrected")
"""Observation statuses whose value is read; any other (``entered-in-error``, ``cancelled``,
``preliminary``, ...) is refused rather than used as a result."""


def _identifier(
    file: str, where: str, resource: dict, field: str, problems: list[Problem]
) -> str | None:
    values = [
        identifier.get("value")
        for identifier in resource.get("identifier") or []
        if isinstance(identifier, dict) and identifier.get("system") == IDENTIFIER_SYSTEMS[field]
    ]
    if len(values) > 1:
        expected = f"one {IDENTIFIER_SYSTEMS[field]} identifier"
        problems.append(Problem(file, None, f"{where}.identifier", str(len(values)), expected))
    return values[0] if values else None


def _read_observation(
    file: str,
    where: str,
    resource: dict,
    fields: dict[str, Field],
    record: dict[str, Any],
    problems: list[Problem],
) -> None:
    coding = [c for c in (resource.get("code") or {}).get("coding") or [] if isinstance(c, dict)]
    codes = [c.get("code") for c in coding if c.get("system") == LOCAL_SYSTEM]
    if len(codes) != 1 or codes[0] not in fields:
        shown = ", ".join(str(c) for c in codes) or "no local code"
        expected = f"one {LOCAL_SYSTEM} code naming an input column (data/README.md)"
        problems.append(Problem(file, None, f"{where}.code", shown, expected))
        return
    field = fields[codes[0]]
    if field.name in record:
        problems.append(Problem(file, None, f"{where}.code", field.name, "each input once"))
        return
    standard = STANDARD_CODES.get(field.name)
    for c in coding:
        if c.get("system") == SNOMED and (standard is None or c.get("code") != standard[1]):
            expected = (
                f"SNOMED CT {standard[1]} ({standard[2]}) for {field.name}, or none"
                if standard
                else f"no SNOMED CT code for {field.name} (none is defined)"
            )
            problems.append(Problem(file, None, f"{where}.code", str(c.get("code")), expected))
            return
    status = resource.get("status")
    if status not in KEPT_STATUSES:
        expected = "a result in force: " + ", ".join(KEPT_STATUSES)
        problems.append(Problem(file, None, f"{where}.status", str(status), expected))
        return
    if "dataAbsentReason" in resource:
        expected = "a value, or no Observation (not a dataAbsentReason)"
        problems.append(Problem(file, None, f"{where}.dataAbsentReason", None, expected))
        return
    value_key = {"number": "valueQuantity", "yesno": "valueBoolean"}.get(field.kind, "valueString")
    if value_key not in resource:
        found = next((k for k in resource if k.startswith("value")), "no value")
        problems.append(Problem(file, None, f"{where}.{value_key}", found, f"a {value_key}"))
        return
    value = resource[value_key]
    if value_key == "valueQuantity":
        value = _quantity(file, f"{where}.valueQuantity", value, field, problems)
    elif value_key == "valueBoolean" and not isinstance(value, bool):
        problems.append(Problem(file, None, f"{where}.valueBoolean", str(value), "true or false"))
        return
    elif value_key == "valueString" and (
        not isinstance(value, str) or isinstance(value, JsonNumber)
    ):
        problems.append(Problem(file, None, f"{where}.valueString", str(value), "a JSON string"))
        return
    if value is not None:
        record[field.name] = value


def _quantity(file: str, where: str, quantity: Any, field: Field, problems: list[Problem]) -> Any:
    """The number of a Quantity in the column's UCUM unit, exact; None after a problem."""
    unit = ucum_unit(field)
    checks = (
        ("value", isinstance(quantity.get("value"), JsonNumber), "a JSON number"),
        ("comparator", "comparator" not in quantity, "an exact value (no comparator)"),
        ("system", quantity.get("system") == UCUM, f"the UCUM system {UCUM}"),
        ("code", quantity.get("code") == unit, f"UCUM unit {unit!r} for {field.name}"),
    )
    for key, passed, expected in checks:
        if not passed:
            found = quantity.get(key)
            problems.append(Problem(file, None, f"{where}.{key}", _found(found), expected))
            return None
    return quantity["value"]
