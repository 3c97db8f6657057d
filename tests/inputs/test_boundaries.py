"""Every numeric column at its documented boundary and one ulp beyond it.

The ranges are read from the tables of ``data/README.md`` (what users are told), not from the
schema, so a bound the code moves, widens or makes exclusive fails here.
"""

import re
from pathlib import Path

import numpy as np
import pytest

from model.core.errors import InputError
from model.inputs.reading import load_cohort

README = Path(__file__).parents[2] / "data" / "README.md"
RANGE = re.compile(r"number (>|≥) ([0-9.]+) and ≤ ([0-9.]+)")


def documented_ranges() -> dict[str, tuple[bool, float, float]]:
    """Column -> (lower bound inclusive, low, high), from every table row that states a range."""
    out = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        found = RANGE.search(line)
        if not line.startswith("| `") or found is None:
            continue
        for column in re.findall(r"`([a-z0-9_]+)`", line.split("|")[1]):
            out[column] = (found.group(1) == "≥", float(found.group(2)), float(found.group(3)))
    return out


RANGES = documented_ranges()


def companions(column: str) -> dict[str, str]:
    """Cells a lone value needs to be a complete lesion (its kind, its read, earlier scans)."""
    cells = {
        "perfusion_ratio": {"perfusion_technique": "DSC"},
        "pet_tbr": {"pet_tracer": "FET"},
        "volume_prior_ml": {"volume_baseline_ml": "4"},
    }
    if column in cells:
        return cells[column]
    if column.endswith("_read_cutoff"):
        stem = column.removesuffix("_read_cutoff")
        kind = {"perfusion": {"perfusion_technique": "DSC"}, "pet": {"pet_tracer": "FET"}}
        return {f"{stem}_read": "positive", **kind.get(stem, {})}
    scan = re.fullmatch(r"(volume|interval)_fu(\d)_(ml|weeks)", column)
    later = re.fullmatch(r"(perfusion_ratio|pet_tbr)_fu(\d)", column)
    if scan or later:
        out = {"volume_baseline_ml": "4"}
        for j in range(1, int((scan or later).group(2)) + 1):
            out |= {f"volume_fu{j}_ml": "4", f"interval_fu{j}_weeks": "6"}
        if later:  # a follow-up value needs its first scan's number of the marker
            first = later.group(1)
            return out | {first: "2", **cells[first]}
        return out
    return {}


def load_one(tmp_path, column: str, value: float):
    cells = {"patient_id": "p1", "center": "C01", **companions(column), column: repr(value)}
    path = tmp_path / "one.csv"
    path.write_text(",".join(cells) + "\n" + ",".join(cells.values()) + "\n", encoding="utf-8")
    return load_cohort(path)


def test_the_documented_table_covers_every_numeric_column():
    expected = {
        "edema_ratio", "months_since_rt", "bevacizumab_last_dose_weeks", "volume_baseline_ml",
        "volume_prior_ml",
        "perfusion_ratio", "perfusion_read_cutoff", "pet_tbr", "pet_read_cutoff", "adc",
        "adc_read_cutoff", "ktrans", "cho_naa",
        *(f"volume_fu{j}_ml" for j in (1, 2, 3)), *(f"interval_fu{j}_weeks" for j in (1, 2, 3)),
        *(f"{marker}_fu{j}" for marker in ("perfusion_ratio", "pet_tbr") for j in (1, 2, 3)),
    }  # fmt: skip
    assert set(RANGES) == expected


@pytest.mark.parametrize("column", sorted(RANGES))
def test_each_bound_holds_to_the_last_ulp(tmp_path, column):
    inclusive, low, high = RANGES[column]
    accepted = [high, np.nextafter(low, np.inf)] + ([low] if inclusive else [])
    refused = [np.nextafter(high, np.inf), np.nextafter(low, -np.inf)] + (
        [] if inclusive else [low]
    )
    for value in accepted:
        cohort = load_one(tmp_path, column, float(value))
        assert cohort.table[column].iloc[0] == value, (column, value)
    for value in refused:
        with pytest.raises(InputError) as caught:
            load_one(tmp_path, column, float(value))
        problems = caught.value.problems
        assert [p.column for p in problems] == [column], (column, value, problems)
        assert problems[0].row == 2  # the header is row 1
