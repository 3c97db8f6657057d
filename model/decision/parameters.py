"""The decision parameters file (``data/decision.toml``): utilities, biopsy accuracy, costs.

Every entry has a default ``value``, a plausible range [``low``, ``high``] and a ``source``. A user
file may hold only some entries: the rest keep their defaults.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from model.core.errors import InputError, Problem
from model.core.files import bundled
from model.core.strict_toml import read_toml

PROBABILITIES = (
    "biopsy_sensitivity",
    "biopsy_specificity",
    "window_loss",
    "surveillance_detection",
    "surveillance_specificity",
)
POSITIVE = ("benefit", "harm", "harm_early", "rescan_weeks")
WHOLE_NUMBERS = ("surveillance_rounds",)
"""Parameters that count something: a whole number >= 1."""
ENTRY_KEYS = ("value", "low", "high", "unit", "source")
"""The keys an entry's table may hold."""


@dataclass(frozen=True)
class DecisionParameters:
    """Utilities (quality-adjusted life-weeks), probabilities and costs of the decision.

    Parameters
    ----------
    benefit : float
        Gain from treating a true recurrence promptly (vs never treating it).
    harm : float
        Loss from treating necrosis as recurrence, after the early window.
    harm_early : float
        The same within the early window after radiotherapy (pseudoprogression: an effective
        temozolomide course is stopped).
    biopsy_harm : float
        Expected loss from a biopsy (morbidity and mortality).
    biopsy_sensitivity, biopsy_specificity : float
        Accuracy of the biopsy for recurrence (sampling error).
    delay_loss : float
        Loss under recurrence for each rescan round of waiting.
    scan_cost : float
        Burden of one repeat MRI.
    pet_cost : float
        Burden of a referral for amino-acid PET.
    pet_delay_weeks : float
        Time to obtain the PET; it costs ``delay_loss * pet_delay_weeks / rescan_weeks``.
    rescan_weeks : float
        Interval of a rescan round.
    window_loss : float
        Probability per round that an untreated recurrence loses its window for treatment.
    surveillance_detection : float
        Probability that one routine surveillance scan shows a true recurrence.
    surveillance_specificity : float
        Probability that one routine surveillance scan of a necrosis is not read as progression.
    surveillance_rounds : float
        Most surveillance rounds before a missed recurrence declares itself (a whole number).
    symptomatic_necrosis_loss : float
        Loss per round from symptomatic necrosis left untreated.
    necrosis_treatment_harm : float
        Harm of treating necrosis medically (steroids, bevacizumab).
    resection_harm : float
        Expected loss from re-resection.
    ranges : mapping of str to (float, float)
        Plausible range of each parameter, for sensitivity analyses.
    sources : mapping of str to str
    """

    benefit: float
    harm: float
    biopsy_harm: float
    biopsy_sensitivity: float
    biopsy_specificity: float
    delay_loss: float
    scan_cost: float
    pet_cost: float
    pet_delay_weeks: float
    rescan_weeks: float
    harm_early: float
    window_loss: float
    surveillance_detection: float
    surveillance_specificity: float
    surveillance_rounds: float
    symptomatic_necrosis_loss: float
    necrosis_treatment_harm: float
    resection_harm: float
    ranges: Mapping[str, tuple[float, float]] = field(
        default_factory=dict, compare=False, repr=False
    )
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names (excluding ranges and sources)."""
        return tuple(f.name for f in fields(cls) if f.name not in {"ranges", "sources"})

    def values(self) -> dict[str, float]:
        """The parameter values by name."""
        return {name: getattr(self, name) for name in self.names()}

    def with_values(self, **values: float) -> DecisionParameters:
        """A copy with some values replaced (checked like a file)."""
        unknown = set(values) - set(self.names())
        if unknown:
            raise InputError([_unknown("<arguments>", name) for name in sorted(unknown)])
        updated = replace(self, **{k: float(v) for k, v in values.items()})
        problems = _check_values(
            "<arguments>", updated.values(), updated.ranges, check_ranges=False
        )
        if problems:
            raise InputError(problems)
        _check_harm("<arguments>", updated)
        return updated

    @property
    def rounds(self) -> int:
        """``surveillance_rounds`` as a whole number (a drawn value is rounded)."""
        return max(1, round(self.surveillance_rounds))


def load_decision_parameters(path: str | os.PathLike | None = None) -> DecisionParameters:
    """Read decision parameters: the bundled defaults, overridden by ``path`` if given.

    Parameters
    ----------
    path : path-like, optional
        A TOML file with some or all entries of ``data/decision.toml`` (each a table with
        ``value`` and optionally ``low``, ``high``, ``unit``, ``source``).

    Returns
    -------
    DecisionParameters

    Raises
    ------
    model.core.errors.InputError
        Unknown entries or keys (with the closest name suggested), non-numbers, numbers TOML
        would read other than as written (``1_5`` as 15, ``0x10`` as 16), values out of range,
        a biopsy whose sensitivity and specificity sum to 1 or less (uninformative), and values
        under which watching a necrosis costs more than treating it (the treatment threshold
        would fall outside [0, 1]).
    """
    entries = _read(bundled("decision.toml"))
    if path is not None:
        for name, entry in _read(Path(path)).items():
            if name not in entries:
                raise InputError([_unknown(Path(path).name, name)])
            entries[name] = {**entries[name], **entry}
    file = Path(path).name if path is not None else "decision.toml"
    values = {name: entries[name].get("value") for name in entries}
    ranges = {name: (entries[name].get("low"), entries[name].get("high")) for name in entries}
    problems = _check_values(file, values, ranges, check_ranges=True)
    if not problems and values["biopsy_sensitivity"] + values["biopsy_specificity"] <= 1:
        problems.append(
            Problem(
                file,
                None,
                "biopsy_sensitivity.value + biopsy_specificity.value",
                f"{values['biopsy_sensitivity']!r} + {values['biopsy_specificity']!r}",
                "a sum above 1 (at or below it a biopsy result says nothing about recurrence, "
                "or says it backwards)",
            )
        )
    if problems:
        raise InputError(problems)
    params = DecisionParameters(
        **{name: float(values[name]) for name in DecisionParameters.names()},
        ranges={name: (float(lo), float(hi)) for name, (lo, hi) in ranges.items()},
        sources={name: str(entries[name].get("source", "")) for name in entries},
    )
    _check_harm(file, params)
    return params


def _check_harm(file: str, params: DecisionParameters) -> None:
    """Refuse values under which watching a necrosis costs more than treating it.

    Then h' = h - M <= 0 (:func:`model.decision.utilities.net_harm`), and the treatment
    threshold h' / (h' + L) would fall outside (0, 1].
    """
    from model.decision.utilities import net_harm

    for early, harm in ((False, "harm"), (True, "harm_early")):
        if net_harm(params, early) <= 0:
            raise InputError(
                [
                    Problem(
                        file,
                        None,
                        f"{harm}.value with biopsy_harm, biopsy_specificity, "
                        "surveillance_specificity and surveillance_rounds",
                        f"{harm} = {getattr(params, harm)!r}, surveillance's false alarms "
                        f"cost {getattr(params, harm) - net_harm(params, early):.3g}",
                        "values under which treating a necrosis costs more than watching it "
                        "(otherwise the treatment threshold falls outside [0, 1])",
                    )
                ]
            )


def _read(path: Path) -> dict[str, dict[str, Any]]:
    document = read_toml(path)
    problems, entries = [], {}
    for name, entry in document.items():
        if name not in DecisionParameters.names():
            problems.append(_unknown(path.name, name))
        elif not isinstance(entry, Mapping):
            problems.append(
                Problem(
                    path.name,
                    None,
                    name,
                    repr(entry),
                    f"a table with a value, written as the two lines [{name}] and "
                    f"value = {entry!r}",
                )
            )
        else:
            problems += [
                _unknown_key(path.name, name, key) for key in entry if key not in ENTRY_KEYS
            ]
            entries[name] = dict(entry)
    if problems:
        raise InputError(problems)
    return entries


def _unknown_key(file: str, name: str, key: str) -> Problem:
    close = difflib.get_close_matches(key, ENTRY_KEYS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return Problem(file, None, f"{name}.{key}", None, f"one of {', '.join(ENTRY_KEYS)}{hint}")


def _unknown(file: str, name: str) -> Problem:
    close = difflib.get_close_matches(name, DecisionParameters.names(), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return Problem(file, None, name, None, f"a known decision parameter{hint}")


def _check_values(file, values, ranges, check_ranges: bool) -> list[Problem]:
    problems = []
    for name in DecisionParameters.names():
        value = values.get(name)
        if not _is_number(value):
            problems.append(Problem(file, None, f"{name}.value", repr(value), "a number"))
            continue
        if name in PROBABILITIES and not 0.0 <= value <= 1.0:
            problems.append(
                Problem(file, None, f"{name}.value", repr(value), "a probability in [0, 1]")
            )
        elif name in WHOLE_NUMBERS and not (value >= 1 and value == int(value)):
            problems.append(
                Problem(file, None, f"{name}.value", repr(value), "a whole number >= 1")
            )
        elif name in POSITIVE and value <= 0:
            problems.append(Problem(file, None, f"{name}.value", repr(value), "a positive number"))
        elif value < 0:
            problems.append(Problem(file, None, f"{name}.value", repr(value), "a number >= 0"))
        if not check_ranges:
            continue
        low, high = ranges.get(name, (None, None))
        if not (_is_number(low) and _is_number(high) and low <= value <= high):
            problems.append(
                Problem(
                    file,
                    None,
                    f"{name}.low/high",
                    f"[{low}, {high}]",
                    f"a range containing {value}",
                )
            )
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
