"""A phase I protocol as data: arms, dose levels, DLT window, MTD rule, staggering.

A :class:`Protocol` is immutable and round-trips to TOML so that users can describe
their own trial (``Protocol.to_toml`` / ``Protocol.from_toml``).  The protocol's DLT
definition is data too (``dlt_rules``, interpreted by :mod:`bayes_dose.dlt`), so a
protocol amendment changes a file, not code.
"""

from __future__ import annotations

import math
import numbers
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from . import checks
from .dlt_rules import parse_dlt_rules

__all__ = ["Arm", "MTDRule", "Protocol", "Staggering"]


@dataclass(frozen=True)
class Arm:
    """One escalation arm of a protocol.

    Parameters
    ----------
    name : str
        Short key used in data (``"mono"``, ``"combo"``).
    label : str
        Human-readable description.
    doses_mg : tuple of float
        Dose of the escalated drug at each level, level 1 first (increasing).
    start_level : int
        1-based starting level.
    partner : str, optional
        Fixed partner treatment (e.g. ``"tislelizumab 200 mg IV Q3W"``).
    assumptions : tuple of str
        Assumptions that are not in the protocol text; every report shows them.
    """

    name: str
    label: str
    doses_mg: tuple[float, ...]
    start_level: int = 1
    partner: str | None = None
    assumptions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Arm: field 'name' must be a non-empty string, got {self.name!r}")
        owner = f"Arm {self.name!r}"
        if isinstance(self.doses_mg, Sequence) and not isinstance(self.doses_mg, str) \
                and len(self.doses_mg) == 0:
            raise ValueError(f"{owner}: field 'doses_mg' must list at least one dose")
        doses = checks.doses(owner, "field 'doses_mg'", self.doses_mg)
        object.__setattr__(self, "doses_mg", doses)
        object.__setattr__(self, "start_level", checks.whole(
            owner, "field 'start_level'", self.start_level, low=1, high=len(doses)))
        if not isinstance(self.label, str):
            raise ValueError(f"{owner}: field 'label' must be a text, got {self.label!r}")
        if self.partner is not None and not isinstance(self.partner, str):
            raise ValueError(f"{owner}: field 'partner' must be a text or None, "
                             f"got {self.partner!r}")  # fmt: skip
        texts = self.assumptions
        if isinstance(texts, str) or not isinstance(texts, Sequence) or \
                not all(isinstance(t, str) for t in texts):
            raise ValueError(f"{owner}: field 'assumptions' must be a list of texts, "
                             f"got {texts!r}")  # fmt: skip
        object.__setattr__(self, "assumptions", tuple(texts))

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.doses_mg)

    @property
    def dose_levels(self) -> tuple[int, ...]:
        """1-based dose levels."""
        return tuple(range(1, self.n_doses + 1))

    def level_of(self, dose_mg: float) -> int:
        """1-based level of a dose in mg (exact match), or ``ValueError``."""
        for i, d in enumerate(self.doses_mg, start=1):
            if abs(d - float(dose_mg)) <= 1e-9 * max(1.0, d):
                return i
        raise ValueError(f"arm {self.name!r} has no dose {dose_mg} mg (doses: {self.doses_mg})")


def _fraction(value: Any) -> Fraction:
    """An MTD rule's DLT fraction: a number or a text such as ``"1/6"`` (the TOML form),
    in [0, 1); booleans, NaN and other text are refused (``Fraction(False)`` is 0)."""
    value = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
    out = None
    if isinstance(value, str):
        try:
            out = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            out = None
    elif isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, (bool, np.bool_)) \
            and math.isfinite(value):
        out = Fraction(value)
    if out is None or not 0 <= out < 1:
        raise ValueError("MTDRule: field 'max_dlt_fraction' must be a fraction in [0, 1) "
                         f"(a number or a text such as '1/6'), got {value!r}")  # fmt: skip
    return out


@dataclass(frozen=True)
class MTDRule:
    """MTD = highest dose with DLT in at most ``max_dlt_fraction`` of at least ``min_patients``."""

    max_dlt_fraction: Fraction = Fraction(1, 6)
    min_patients: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_dlt_fraction", _fraction(self.max_dlt_fraction))
        object.__setattr__(self, "min_patients",
                           checks.whole("MTDRule", "min_patients", self.min_patients, low=1))

    def acceptable(self, n: Any, dlt: Any) -> Any:
        """Whether ``dlt`` DLTs among ``n`` patients satisfy the rule.

        Integers give a bool; integer arrays (e.g. counts per trial and level) give a
        boolean array of the same shape (exact integer arithmetic, no rounding).

        Examples
        --------
        >>> import numpy as np
        >>> rule = MTDRule()
        >>> rule.acceptable(6, 1), rule.acceptable(12, 2), rule.acceptable(3, 0)
        (True, True, False)
        >>> rule.acceptable(np.array([6, 6, 9]), np.array([1, 2, 1]))
        array([ True, False,  True])
        """
        num, den = self.max_dlt_fraction.numerator, self.max_dlt_fraction.denominator
        if isinstance(n, (int, np.integer)) and isinstance(dlt, (int, np.integer)):
            return bool(n >= self.min_patients and dlt * den <= num * n)
        n, dlt = np.asarray(n), np.asarray(dlt)
        return (n >= self.min_patients) & (dlt * den <= num * n)

    def spec(self) -> dict[str, Any]:
        """JSON-able form (for manifests): the fraction as text, e.g. ``"1/6"``."""
        return {"max_dlt_fraction": str(self.max_dlt_fraction), "min_patients": self.min_patients}


@dataclass(frozen=True)
class Staggering:
    """Enrolment staggering of the protocol: the earliest day each patient may be dosed.

    Within a dose group, the 2nd patient is dosed at least ``days_after_first_patient``
    days after the 1st (the sentinel) and every later patient at least
    ``hours_between_patients`` hours after the previous one.  With
    ``complete_window_before_next_group`` the next dose group starts only when every
    patient of the previous group has completed the DLT window; without it, as soon as
    ``hours_between_patients`` have passed after the group's last dose.

    Days are counted from day 0 (the first dose of the trial) as floats.

    Parameters
    ----------
    hours_between_patients : float
        Minimum time between the doses of consecutive patients of a dose group (BAT6021:
        24 hours).
    days_after_first_patient : float
        Minimum time between the 1st and the 2nd patient of a dose group (BAT6021: 7).
    complete_window_before_next_group : bool
        The next dose group waits for the previous group's DLT windows (BAT6021: yes).

    Examples
    --------
    >>> s = Staggering()
    >>> s.dosing_days(3).tolist()                    # sentinel, +7 days, +1 day
    [0.0, 7.0, 8.0]
    >>> s.next_group_day([0.0, 7.0, 8.0], window_days=21)
    29.0
    >>> [g.tolist() for g in s.schedule([3, 3], window_days=21)]
    [[0.0, 7.0, 8.0], [29.0, 36.0, 37.0]]
    """

    hours_between_patients: float = 24.0
    days_after_first_patient: float = 7.0
    complete_window_before_next_group: bool = True

    def __post_init__(self) -> None:
        for name in ("hours_between_patients", "days_after_first_patient"):
            v = getattr(self, name)  # NumPy numbers are taken; booleans, text, Fractions not
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                                     np.floating)) \
                    or not 0 <= v < np.inf:  # fmt: skip
                raise ValueError(f"Staggering: field {name!r} must be a number >= 0, got {v!r}")
            object.__setattr__(self, name, float(v))
        if not isinstance(self.complete_window_before_next_group, bool):
            raise ValueError(
                "Staggering: field 'complete_window_before_next_group' must be true or false, "
                f"got {self.complete_window_before_next_group!r}"
            )

    def gap_days(self, position: int) -> float:
        """Minimum days between the doses of patient ``position - 1`` and patient
        ``position`` of a dose group (``position`` 0-based; 0, the first patient, has no
        predecessor in the group and gives 0)."""
        if int(position) != position or position < 0:
            raise ValueError(f"Staggering.gap_days: position must be an integer >= 0, got {position!r}")
        if position == 0:
            return 0.0
        if position == 1:
            return self.days_after_first_patient
        return self.hours_between_patients / 24.0

    def dosing_days(
        self, n_patients: int, start_day: float = 0.0, *, already_dosed: Sequence[float] = ()
    ) -> np.ndarray:
        """Earliest dosing days of ``n_patients`` new patients of one dose group.

        Parameters
        ----------
        n_patients : int
            Patients to dose (>= 0).
        start_day : float
            No new patient is dosed before this day (e.g. the day the decision to open
            the cohort is taken: :meth:`next_group_day` of the previous cohort).
        already_dosed : sequence of float
            Dosing days of the patients of this dose group dosed before (e.g. the first 3
            of a level expanded to 6): the new patients continue the group's numbering,
            so the sentinel gap applies only to the group's 2nd patient.

        Returns
        -------
        ndarray of float, shape (n_patients,)
            Non-decreasing days; patient ``k`` at ``max(start_day, day[k-1] + gap)``.
        """
        if int(n_patients) != n_patients or n_patients < 0:
            raise ValueError(f"Staggering.dosing_days: n_patients must be an integer >= 0, got {n_patients!r}")
        prev = [float(d) for d in already_dosed]
        if any(not np.isfinite(d) for d in prev):
            raise ValueError(f"Staggering.dosing_days: already_dosed must be finite days, got {prev}")
        if not np.isfinite(start_day):
            raise ValueError(f"Staggering.dosing_days: start_day must be finite, got {start_day!r}")
        last = max(prev) if prev else None
        days = np.empty(int(n_patients))
        for i in range(int(n_patients)):
            day = float(start_day)
            if last is not None:
                day = max(day, last + self.gap_days(len(prev) + i))
            days[i] = last = day
        return days

    def next_group_day(self, dosing_days: Sequence[float], window_days: float) -> float:
        """Earliest day the next dose group may start after a group dosed on ``dosing_days``.

        ``max(dosing_days) + window_days`` when ``complete_window_before_next_group`` (every
        patient completes the DLT window), else ``max(dosing_days) +
        hours_between_patients / 24``.
        """
        days = np.asarray(dosing_days, dtype=float)
        if days.size == 0 or not np.all(np.isfinite(days)):
            raise ValueError(f"Staggering.next_group_day: need finite dosing days, got {days.tolist()}")
        if not 0 < window_days < np.inf:
            raise ValueError(f"Staggering.next_group_day: window_days must be > 0, got {window_days!r}")
        if self.complete_window_before_next_group:
            return float(days.max() + window_days)
        return float(days.max() + self.hours_between_patients / 24.0)

    def describe(self, window_days: float, group_size: int = 3) -> str:
        """The rules as a sentence, with the earliest days of two groups of ``group_size``.

        Examples
        --------
        >>> print(Staggering().describe(21))
        Staggering: within a dose group the 2nd patient is dosed >= 7 days after the 1st and later patients >= 24 hours apart; the next dose group starts when every patient has completed the 21-day DLT window (two groups of 3: days 0, 7, 8 and 29, 36, 37).
        """
        first, second = self.schedule([group_size, group_size], window_days)
        wait = (
            f"when every patient has completed the {window_days:g}-day DLT window"
            if self.complete_window_before_next_group
            else f"{self.hours_between_patients:g} hours after the previous group's last dose"
        )
        days = " and ".join(", ".join(f"{d:g}" for d in g) for g in (first, second))
        return (
            f"Staggering: within a dose group the 2nd patient is dosed >= "
            f"{self.days_after_first_patient:g} days after the 1st and later patients >= "
            f"{self.hours_between_patients:g} hours apart; the next dose group starts {wait} "
            f"(two groups of {group_size}: days {days})."
        )

    def schedule(
        self, group_sizes: Sequence[int], window_days: float, start_day: float = 0.0
    ) -> list[np.ndarray]:
        """Earliest dosing days of consecutive dose groups (one array per group): each
        group starts at :meth:`next_group_day` of the one before."""
        out: list[np.ndarray] = []
        day = float(start_day)
        for size in group_sizes:
            days = self.dosing_days(size, day)
            out.append(days)
            if len(days):
                day = self.next_group_day(days, window_days)
        return out


@dataclass(frozen=True)
class Protocol:
    """A phase I protocol.

    Parameters
    ----------
    name : str
        Short study name.
    title : str
        Full title.
    drug : str
        The escalated drug.
    arms : tuple of Arm
        Escalation arms, in protocol order.
    dlt_window_days : int
        DLT observation window (days from first dose).
    cycle_days : int
        Treatment cycle length.
    mtd_rule : MTDRule
        Definition of the MTD.
    staggering : Staggering
        Enrolment rules.
    titration_levels : int
        Number of accelerated-titration levels at the start of monotherapy escalation.
    escalation_variant : str
        3+3 variant (``"deescalation"`` or ``"escalation_only"``).
    dlt_rules : tuple of dict
        The DLT definition as data, interpreted by :func:`bayes_dose.adjudicate_dlt`
        (schema in :mod:`bayes_dose.dlt_rules`; validated on construction).
    dlt_terms : dict
        MedDRA preferred term -> haematological category (e.g. ``"Platelet count
        decreased" -> "thrombocytopenia"``); terms not listed are non-haematological.
    expansion : dict
        Expansion-cohort plan, free-form.
    source : str
        Where the protocol facts come from.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> proto = bd.protocols.bat6021()
    >>> proto.arm("mono").doses_mg
    (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 600.0, 900.0)
    >>> proto.dlt_window_days
    21
    """

    name: str
    title: str
    drug: str
    arms: tuple[Arm, ...]
    dlt_window_days: int = 21
    cycle_days: int = 21
    mtd_rule: MTDRule = field(default_factory=MTDRule)
    staggering: Staggering = field(default_factory=Staggering)
    titration_levels: int = 0
    escalation_variant: str = "deescalation"
    dlt_rules: tuple[Mapping[str, Any], ...] = ()
    dlt_terms: Mapping[str, str] = field(default_factory=dict)
    expansion: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Protocol: field 'name' must be a non-empty text, got {self.name!r}")
        for key in ("title", "drug", "source"):
            if not isinstance(getattr(self, key), str):
                raise ValueError(f"Protocol: field {key!r} must be a text, "
                                 f"got {getattr(self, key)!r}")  # fmt: skip
        if not isinstance(self.expansion, Mapping):
            raise ValueError(f"Protocol: field 'expansion' must be a table, got {self.expansion!r}")
        object.__setattr__(self, "arms", tuple(self.arms))
        object.__setattr__(self, "dlt_rules", tuple(dict(r) for r in self.dlt_rules))
        object.__setattr__(self, "dlt_terms", dict(self.dlt_terms))
        parse_dlt_rules(self.dlt_rules, self.dlt_terms)  # clear errors on bad rule data
        names = [a.name for a in self.arms]
        if not names:
            raise ValueError(f"Protocol {self.name!r}: field 'arms' must list at least one arm")
        if len(set(names)) != len(names):
            raise ValueError(f"Protocol {self.name!r}: field 'arms' has duplicate names {names}")
        # a DLT window may be fractional (30.4375 days = one month); whole days stay ints
        w = checks.real("Protocol", "field 'dlt_window_days'", self.dlt_window_days, low=0,
                        low_open=True)  # fmt: skip
        object.__setattr__(self, "dlt_window_days", int(w) if w == int(w) else w)
        for key, low in (("cycle_days", 1), ("titration_levels", 0)):
            object.__setattr__(self, key, checks.whole("Protocol", f"field {key!r}",
                                                       getattr(self, key), low=low))  # fmt: skip
        if self.escalation_variant not in ("deescalation", "escalation_only"):
            raise ValueError(
                "Protocol: field 'escalation_variant' must be 'deescalation' or "
                f"'escalation_only', got {self.escalation_variant!r}"
            )

    # -- access -----------------------------------------------------------------
    @property
    def arm_names(self) -> tuple[str, ...]:
        """Names of the arms, in protocol order."""
        return tuple(a.name for a in self.arms)

    def arm(self, name: str) -> Arm:
        """The arm called ``name`` (``ValueError`` naming the known arms otherwise)."""
        for a in self.arms:
            if a.name == name:
                return a
        raise ValueError(f"protocol {self.name!r} has no arm {name!r}; arms: {self.arm_names}")

    # -- TOML round trip -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (TOML/JSON-serialisable)."""
        return {
            "name": self.name,
            "title": self.title,
            "drug": self.drug,
            "dlt_window_days": self.dlt_window_days,
            "cycle_days": self.cycle_days,
            "titration_levels": self.titration_levels,
            "escalation_variant": self.escalation_variant,
            "source": self.source,
            "mtd_rule": {
                "max_dlt_fraction": str(self.mtd_rule.max_dlt_fraction),
                "min_patients": self.mtd_rule.min_patients,
            },
            "staggering": {
                "hours_between_patients": self.staggering.hours_between_patients,
                "days_after_first_patient": self.staggering.days_after_first_patient,
                "complete_window_before_next_group": (
                    self.staggering.complete_window_before_next_group
                ),
            },
            "arms": [
                {
                    "name": a.name,
                    "label": a.label,
                    "doses_mg": list(a.doses_mg),
                    "start_level": a.start_level,
                    **({"partner": a.partner} if a.partner else {}),
                    "assumptions": list(a.assumptions),
                }
                for a in self.arms
            ],
            "expansion": dict(self.expansion),
            "dlt_rules": [dict(r) for r in self.dlt_rules],
            "dlt_terms": dict(self.dlt_terms),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Protocol:
        """Build a protocol from its plain-data form (as read from TOML)."""
        known = {
            "name", "title", "drug", "dlt_window_days", "cycle_days", "titration_levels",
            "escalation_variant", "source", "mtd_rule", "staggering", "arms", "expansion",
            "dlt_rules", "dlt_terms",
        }  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"protocol: unknown field(s) {sorted(unknown)}")
        for required in ("name", "drug", "arms", "dlt_window_days"):
            if required not in data:
                raise ValueError(
                    f"protocol: missing field {required!r}"
                    + (" (the DLT observation window, e.g. dlt_window_days = 21; no default "
                       "is assumed)" if required == "dlt_window_days" else "")
                )
        for table, fields in (("mtd_rule", ("max_dlt_fraction", "min_patients")),
                              ("staggering", tuple(Staggering.__dataclass_fields__))):
            value = data.get(table, {})
            if not isinstance(value, Mapping):
                raise ValueError(f"protocol: field {table!r} must be a table, got {value!r}")
            extra = sorted(set(value) - set(fields))
            if extra:
                raise ValueError(
                    f"protocol: [{table}] has unknown field(s) {extra}; fields are {list(fields)}"
                )
        arms = []
        if not isinstance(data["arms"], Sequence) or isinstance(data["arms"], (str, bytes)):
            raise ValueError(f"protocol: field 'arms' must be a list of arm tables, got "
                             f"{data['arms']!r}")  # fmt: skip
        for i, a in enumerate(data["arms"]):
            if not isinstance(a, Mapping):
                raise ValueError(f"protocol: arms[{i}] must be a table, got {a!r}")
            try:
                arms.append(Arm(**{**a, "doses_mg": tuple(a["doses_mg"])}))
            except (TypeError, KeyError) as exc:
                raise ValueError(f"protocol: arms[{i}] is malformed: {exc}") from exc
        mtd = data.get("mtd_rule", {})
        return cls(
            name=data["name"],
            title=data.get("title", data["name"]),
            drug=data["drug"],
            arms=tuple(arms),
            dlt_window_days=data.get("dlt_window_days", 21),
            cycle_days=data.get("cycle_days", 21),
            titration_levels=data.get("titration_levels", 0),
            escalation_variant=data.get("escalation_variant", "deescalation"),
            source=data.get("source", ""),
            mtd_rule=MTDRule(mtd.get("max_dlt_fraction", "1/6"), mtd.get("min_patients", 6)),
            staggering=Staggering(**data.get("staggering", {})),
            expansion=data.get("expansion", {}),
            dlt_rules=tuple(data.get("dlt_rules", ())),
            dlt_terms=data.get("dlt_terms", {}),
        )

    def to_toml(self, path: str | Path) -> Path:
        """Write the protocol to a TOML file and return its path."""
        path = Path(path)
        path.write_text(tomli_w.dumps(_drop_none(self.to_dict())), encoding="utf-8")
        return path

    @classmethod
    def from_toml(cls, path: str | Path) -> Protocol:
        """Read a protocol written by :meth:`to_toml` (or by hand)."""
        with open(path, "rb") as fh:
            return cls.from_dict(tomllib.load(fh))

    def dosing_days(self, group_sizes: Sequence[int], start_day: float = 0.0) -> list[np.ndarray]:
        """Earliest dosing days of consecutive dose groups under this protocol's
        :attr:`staggering` and DLT window (:meth:`Staggering.schedule`).

        Examples
        --------
        >>> import bayes_dose as bd
        >>> [g.tolist() for g in bd.protocols.bat6021().dosing_days([1, 3])]
        [[0.0], [21.0, 28.0, 29.0]]
        """
        return self.staggering.schedule(group_sizes, self.dlt_window_days, start_day)

    def summary(self) -> str:
        """A few lines describing the protocol, assumptions included."""
        lines = [
            f"{self.name}: {self.title}",
            f"DLT window {self.dlt_window_days} days; "
            f"MTD = highest dose with DLT in <= {self.mtd_rule.max_dlt_fraction} of "
            f">= {self.mtd_rule.min_patients} patients; MAD when no MTD is reached",
            self.staggering.describe(self.dlt_window_days),
        ]
        for a in self.arms:
            doses = ", ".join(f"{d:g}" for d in a.doses_mg)
            partner = f" + {a.partner}" if a.partner else ""
            lines.append(f"  arm {a.name!r}: {self.drug}{partner}; levels (mg): {doses}")
            lines.extend(f"    assumption: {s}" for s in a.assumptions)
        return "\n".join(lines)


def _drop_none(obj: Any) -> Any:
    """TOML has no null: drop ``None`` values recursively."""
    if isinstance(obj, Mapping):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return [_drop_none(v) for v in obj if v is not None]
    return obj
