"""What a modality is: one declaration, read from the parameter file's ``[modality.NAME]`` table.

Two forms exist, and every modality is one of them:

- :class:`Marker`, a continuous measurement (rCBV, TBR, ADC, Ktrans, Cho/NAA). It is analysed on
  the log scale; each of its *kinds* (a perfusion technique, a PET tracer) has a class location
  and a spread shared by both classes, so its likelihood ratio is monotone in the value; a
  *misread* probability bounds what one measurement can say; each center has a calibration shift.
  A value may also arrive as a *read*: "positive" or "negative" at a stated cutoff, where positive
  means the value lies on the recurrence side of the cutoff (above it when higher values point to
  recurrence, below it for ADC).
- :class:`BinaryTest`, a positive/negative result (a second reading, another test) with a
  sensitivity and a specificity.

The declarations hold what the data edge, the simulator and the analyses need: the columns, their
units and ranges, which way a value points, the published accuracy to compare with, and the
synthetic-cohort design. The priors of each modality's parameters are ordinary parameter-file
entries (:mod:`model.inputs.parameters`); :meth:`Marker.parameter_entries` names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MARKER_PARAMETERS: tuple[str, ...] = ("mu_necrosis", "separation", "sigma")
"""Per-kind parameters of a marker: the necrosis location and the class separation on the log
scale (recurrence = necrosis + direction x separation), and the spread shared by both classes."""

MARKER_MODALITY_PARAMETERS: tuple[str, ...] = ("tau_center", "misread")
"""Per-marker parameters: the between-center spread of the calibration shift, and the probability
that one measurement looks like the other class (artefact, misplaced region of interest)."""

EARLY_SHIFT = "early_necrosis_shift"
"""An optional per-marker parameter: in the pseudoprogression window, the share of the class
separation by which the treatment-effect location moves towards recurrence (inflamed, leaky
pseudoprogression looks more like tumour on perfusion than late necrosis does)."""

FOLLOW_UP_PARAMETERS: tuple[str, ...] = (
    "follow_up_rate_necrosis",
    "follow_up_separation",
    "follow_up_sd",
    "follow_up_tau_lesion",
)
"""Optional per-marker parameters of the marker's change between scans (log scale, per six weeks):
the mean rate under treatment effect, how much faster it moves towards recurrence under
recurrence, the scan-to-scan noise, and the spread of the lesions' own rates
(:mod:`model.likelihood.trends`). A marker that declares them has a value column per follow-up
scan (:func:`model.inputs.schema.follow_up_columns`)."""

BINARY_PARAMETERS: tuple[str, ...] = ("sensitivity", "specificity")
"""Parameters of a binary test."""


@dataclass(frozen=True)
class Published:
    """A published pooled accuracy of a kind or test, to compare the model with like for like.

    Attributes
    ----------
    auc : (estimate, low, high) or None
        Pooled area under the (S)ROC curve with its 95% confidence interval.
    sensitivity, specificity : (estimate, low, high) or None
        The pooled summary point with its 95% confidence intervals.
    source : str
    """

    auc: tuple[float, float, float] | None
    sensitivity: tuple[float, float, float] | None
    specificity: tuple[float, float, float] | None
    source: str


@dataclass(frozen=True)
class Kind:
    """One kind of a marker: a perfusion technique, a PET tracer, or the marker's only variant.

    Attributes
    ----------
    name : str
        As written in the kind column (``"DSC"``, ``"FET"``).
    label : str
        For tables and plots (``"DSC rCBV"``).
    classic_cutoff : float
        The cutoff the literature argues about, on the natural scale (cutoff tables, plots).
    read_cutoffs : tuple of float
        Cutoffs that synthetic centers' qualitative reads use, assigned to centers in turn.
    published : Published or None
    """

    name: str
    label: str
    classic_cutoff: float
    read_cutoffs: tuple[float, ...]
    published: Published | None


@dataclass(frozen=True)
class Marker:
    """A continuous marker.

    Attributes
    ----------
    name : str
        Identifier (``"perfusion"``); names its parameters, its PyMC variables (``perfusion_sigma``)
        and its evidence term (``llr_perfusion``).
    label, unit : str
        For people: ``"Perfusion MRI"``, ``"ratio to normal-appearing white matter"``.
    value_column : str
        The numeric column (``perfusion_ratio``).
    kind_column : str or None
        The column naming the kind; ``None`` when the marker has one kind.
    read_column, read_cutoff_column : str or None
        A qualitative read and the cutoff it used; ``None`` when reads are not part of the format.
    direction : {1, -1}
        1 when higher values point to recurrence, -1 when lower values do (ADC).
    valid_range : (float, float)
        Values accepted at input, exclusive below and inclusive above.
    physiological_range : (float, float)
        The range seen in patients: where monotonicity is checked and grids are drawn.
    kinds : tuple of Kind
    available, read_only : float
        Synthetic-cohort design: share of lesions with the marker, and share of those known only
        as a read.
    kind_cycle : tuple of str
        Synthetic-cohort design: kinds assigned to centers in turn.
    transform : {"log"}
        The scale of the likelihood.
    early_shift : bool
        Whether the marker declares an :data:`EARLY_SHIFT` parameter; without one the marker
        reads the same in the pseudoprogression window as after it.
    follow_up : bool
        Whether the marker declares the :data:`FOLLOW_UP_PARAMETERS`: its value may be measured
        again at each follow-up scan, and its change between scans is evidence.
    """

    name: str
    label: str
    unit: str
    value_column: str
    kind_column: str | None
    read_column: str | None
    read_cutoff_column: str | None
    direction: int
    valid_range: tuple[float, float]
    physiological_range: tuple[float, float]
    kinds: tuple[Kind, ...]
    available: float
    read_only: float
    kind_cycle: tuple[str, ...]
    transform: str = "log"
    early_shift: bool = False
    follow_up: bool = False

    form = "continuous"

    @property
    def kind_names(self) -> tuple[str, ...]:
        """Names of the kinds, in declaration order (their index in encoded data)."""
        return tuple(k.name for k in self.kinds)

    def kind(self, name: str) -> Kind:
        """The kind called ``name``."""
        for kind in self.kinds:
            if kind.name == name:
                return kind
        raise KeyError(f"{self.name} has no kind {name!r} (kinds: {', '.join(self.kind_names)})")

    @property
    def columns(self) -> tuple[str, ...]:
        """The cohort-format columns of this marker, in format order."""
        names = (self.kind_column, self.value_column, self.read_column, self.read_cutoff_column)
        return tuple(c for c in names if c is not None)

    @property
    def has_reads(self) -> bool:
        """Whether a qualitative read can stand in for the value."""
        return self.read_column is not None

    def parameter_entries(self) -> tuple[str, ...]:
        """Dotted names of this marker's parameter-file entries."""
        per_kind = tuple(
            f"modality.{self.name}.{kind}.{p}"
            for kind in self.kind_names
            for p in MARKER_PARAMETERS
        )
        own = (
            *MARKER_MODALITY_PARAMETERS,
            *((EARLY_SHIFT,) if self.early_shift else ()),
            *(FOLLOW_UP_PARAMETERS if self.follow_up else ()),
        )
        return (*(f"modality.{self.name}.{p}" for p in own), *per_kind)

    def to_scale(self, value):
        """Natural value(s) to the model's scale (the natural log)."""
        import numpy as np

        return np.log(value)

    def from_scale(self, value):
        """The model's scale back to natural values."""
        import numpy as np

        return np.exp(value)

    def llr_bound(self, misread: float) -> float:
        """The largest log likelihood ratio one measurement can carry: log((1 - e) / e)."""
        return math.log((1.0 - misread) / misread)


@dataclass(frozen=True)
class BinaryTest:
    """A binary test: a second reading or any other positive/negative result.

    Attributes
    ----------
    name, label : str
    column : str
        The column holding ``positive`` or ``negative``.
    available : float
        Synthetic-cohort design: share of lesions with a result.
    published : Published or None
    """

    name: str
    label: str
    column: str
    available: float
    published: Published | None

    form = "binary"

    @property
    def columns(self) -> tuple[str, ...]:
        """The cohort-format columns of this test."""
        return (self.column,)

    def parameter_entries(self) -> tuple[str, ...]:
        """Dotted names of this test's parameter-file entries."""
        return tuple(f"modality.{self.name}.{p}" for p in BINARY_PARAMETERS)


Modality = Marker | BinaryTest
