"""Cohort data: one record per patient.

:class:`Outcomes` is an immutable, validated table of patients (arm, 1-based dose level,
dose in mg, DLT 0/1 or unknown (pandas nullable ``Int64``, ``<NA>`` = unknown), cohort,
enrolment day, days of DLT follow-up, and an optional grade-2 flag (0, 1 or unknown) used
by accelerated titration).  Bad input raises ``ValueError`` naming the row (the file line
for CSV input, header = line 1) and the field, and showing the value as written; nothing is
silently dropped or coerced into a wrong count.

**Efficacy.** An optional column ``response`` (see :data:`RESPONSE_CODES`) records a binary
efficacy outcome per patient (e.g. objective response, or a PD marker above a threshold):
``1`` responder, ``0`` non-responder, blank = not assessed (yet), kept as ``<NA>``.  It is
kept by every reader, :meth:`Outcomes.to_frame` (when given), :meth:`Outcomes.counts`
(column ``resp``) and the memo.  A response recorded for a patient whose DLT follow-up is
shorter than the protocol's DLT window (not yet evaluable) is an error.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import checks
from .deprecation import deprecated_method

if TYPE_CHECKING:
    from .protocol import Protocol

__all__ = [
    "ARRIVAL", "COLUMNS", "DEFAULT_DLT_WINDOW", "MAX_LEVEL", "MISSING_POLICIES", "ORDER_BY",
    "PARSE_LETTERS", "RESPONSE", "RESPONSE_CODES", "ROLE", "ROLES", "Outcomes",
]  # fmt: skip

#: Columns of :meth:`Outcomes.to_frame`, in order.
COLUMNS = (
    "patient_id", "arm", "dose_level", "dose_mg", "dlt", "cohort", "enroll_day",
    "followup_days", "grade2", "dlt_day",
)  # fmt: skip

#: Highest dose level accepted without a protocol (no trial has more levels).
MAX_LEVEL = 1000
#: Most patients per level accepted by :meth:`Outcomes.from_counts`.
MAX_PATIENTS = 100_000
#: Highest cohort number / day accepted in integer fields.
MAX_COHORT = 1_000_000_000
#: Values of :attr:`Outcomes.order_by`: how patients were put in enrolment order.
ORDER_BY = ("cohort", "enroll_day", "file")

#: The optional arrival column: the study day the patient arrived (was screened /
#: consented), kept only when the input has it; a first dose (``enroll_day``) before it is
#: an error naming the row and field.
ARRIVAL = "arrival_day"
#: The optional efficacy column (nullable ``Int64``: 1, 0, ``<NA>`` = not assessed).
RESPONSE = "response"
#: The optional column naming a patient's role: ``"escalation"`` (blank: the default) or
#: ``"backfill"`` (a backfill patient, :class:`bayes_dose.Backfill`).
ROLE = "role"
ROLES = ("escalation", "backfill")
#: What the ``response`` column accepts: 0 / 1 (numbers, text or booleans) and blank
#: (not assessed yet -> ``<NA>``); anything else is an error naming the row and field.
RESPONSE_CODES = "0 (no response), 1 (response) or blank (not assessed)"
#: Letters of :meth:`Outcomes.parse`: letter -> (DLT, response); response ``None`` = not
#: recorded.  ``E`` efficacy (response) without DLT, ``B`` both, ``T`` DLT, ``N`` neither;
#: with any ``E``/``B`` in a string, ``T``/``N`` mean "no response".
PARSE_LETTERS = {"N": (0, None), "T": (1, None), "E": (0, 1), "B": (1, 1), "?": (None, None)}
_TOKEN = re.compile(r"^(\d+)([NTEBntebB?]+)$")
_NUMERIC_COLUMNS = ("dose_level", "dose_mg", "cohort", "enroll_day", "followup_days", "dlt_day",
                    ARRIVAL)
_DLT_CODES = {"0": 0, "1": 1, "no": 0, "yes": 1, "n": 0, "y": 1, "false": 0, "true": 1,
              "unknown": pd.NA}  # fmt: skip
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BLANK = object()

#: DLT window (days) when neither the caller nor a protocol gives one (the protocol default).
DEFAULT_DLT_WINDOW = 21
#: How a design may resolve patients whose DLT status is unknown (``Outcomes.resolve_unknown``).
MISSING_POLICIES = ("assume_dlt", "assume_not")


class Outcomes:
    """Per-patient DLT outcomes of a dose-escalation trial (one or more arms).

    Build it with :meth:`parse`, :meth:`from_frame` or :meth:`from_counts`; the
    constructor is internal.  Patients are kept in enrolment order.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> out = bd.Outcomes.parse("1N 2N 3N 4NNN 4NTN")
    >>> len(out)
    9
    >>> out.counts()[["n", "dlt"]].to_dict("list")
    {'n': [1, 1, 1, 6], 'dlt': [0, 0, 0, 1]}
    """

    __slots__ = ("_dlt_window", "_doses_mg", "_frame", "_imputed", "_missing_policy", "_order_by")

    def __init__(
        self,
        frame: pd.DataFrame,
        doses_mg: dict[str, tuple[float, ...]] | None = None,
        dlt_window: float | None = None,
        missing_policy: str | None = None,
        imputed: tuple[str, ...] = (),
        order_by: str = "file",
    ):
        if dlt_window is not None:  # checked, kept as given (a protocol's int stays an int)
            checks.real("Outcomes", "dlt_window", dlt_window, low=0, low_open=True)
        self._frame = frame
        self._doses_mg = dict(doses_mg or {})
        self._dlt_window = dlt_window
        self._missing_policy = missing_policy
        self._imputed = tuple(imputed)
        self._order_by = order_by

    @property
    def order_by(self) -> str:
        """How patients were put in enrolment order: ``"cohort"`` (the cohort column),
        ``"enroll_day"`` (no cohort column; every patient has an enrolment day) or
        ``"file"`` (row order of the input)."""
        return self._order_by

    def _derive(self, frame: pd.DataFrame) -> Outcomes:
        """Outcomes of a subset of patients, keeping the doses, window, missing policy and
        order."""
        keep = set(frame["patient_id"])
        return Outcomes(
            frame, self._doses_mg, self._dlt_window, self._missing_policy,
            tuple(p for p in self._imputed if p in keep), self._order_by,
        )  # fmt: skip

    # -- constructors ------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, arm: str = "mono", protocol: Protocol | None = None) -> Outcomes:
        """Read an escalation-style string such as ``"1N 2N 3N 4NNN 4NTN"``.

        Each token is a 1-based dose level followed by one letter per patient
        (``T`` = DLT, ``N`` = no DLT, ``?`` = DLT status unknown, e.g. an unresolved
        query); each token is one cohort.  Efficacy letters (:data:`PARSE_LETTERS`):
        ``E`` = response without DLT, ``B`` = both DLT and response; when the string has
        any ``E`` or ``B`` the data get a ``response`` column in which ``T`` and ``N``
        are non-responders and ``?`` is not assessed (``<NA>``).

        Parameters
        ----------
        text : str
            Whitespace-separated cohorts.
        arm : str
            Arm of every patient.
        protocol : Protocol, optional
            When given, levels are checked against the arm and mg doses filled in.

        Examples
        --------
        >>> import bayes_dose as bd
        >>> bd.Outcomes.parse("1NN?").to_frame()["dlt"].tolist()
        [0, 0, <NA>]
        >>> bd.Outcomes.parse("1NEN 2BTE").counts()[["n", "dlt", "resp"]].to_dict("list")
        {'n': [3, 3], 'dlt': [0, 2], 'resp': [1, 2]}
        """
        if not isinstance(text, str):
            raise ValueError(f"Outcomes.parse: expected a string, got {type(text).__name__}")
        rows = []
        for c, token in enumerate(text.split(), start=1):
            m = _TOKEN.match(token)
            if not m:
                raise ValueError(
                    f"Outcomes.parse: cohort {c} token {token!r}: expected a dose level "
                    "followed by T/N/E/B/? letters, e.g. '3NNT' or '3NEB'"
                )
            level = int(m.group(1))
            if not 1 <= level <= MAX_LEVEL:
                raise ValueError(
                    f"Outcomes.parse: cohort {c} token {token!r}: dose level {m.group(1)} is "
                    f"not in 1..{MAX_LEVEL}"
                )
            for letter in m.group(2).upper():
                dlt, resp = PARSE_LETTERS[letter]
                rows.append(
                    {"patient_id": f"P{len(rows) + 1:03d}", "arm": arm, "dose_level": level,
                     "dlt": pd.NA if dlt is None else dlt, "cohort": c,
                     RESPONSE: pd.NA if letter == "?" else (0 if resp is None else resp)}
                )  # fmt: skip
        cols = ["patient_id", "arm", "dose_level", "dlt", "cohort"]
        if any(ch in text.upper() for ch in "EB"):
            cols.append(RESPONSE)
        frame = pd.DataFrame(rows, columns=cols)
        return cls.from_frame(frame, protocol=protocol)

    @classmethod
    def from_counts(
        cls,
        n: Sequence[int],
        dlt: Sequence[int],
        arm: str = "mono",
        protocol: Protocol | None = None,
        resp: Sequence[int] | None = None,
    ) -> Outcomes:
        """Patients from per-dose counts (level 1 first); one cohort per dose, in level order.

        The order of patients is unknown from counts, so the last cohort is the highest
        treated dose; designs that use the last cohort should be given full data.  With
        ``resp`` (responders per level) the data get a ``response`` column; which
        patients respond is unknown from counts, so the first ``resp`` patients of a
        level are the responders (the joint DLT x response table is then not the data's:
        give per-patient data to designs that use it, e.g. BOIN12 with a non-additive
        utility).

        Examples
        --------
        >>> import bayes_dose as bd
        >>> bd.Outcomes.from_counts(n=[3, 4], dlt=[0, 1]).counts()["dlt"].tolist()
        [0, 1]
        """
        n = _count_list(n, "n")
        dlt = _count_list(dlt, "dlt")
        if len(n) != len(dlt):
            raise ValueError(
                f"Outcomes.from_counts: 'n' has {len(n)} levels but 'dlt' has {len(dlt)}"
            )
        rr = None if resp is None else _count_list(resp, "resp")
        if rr is not None and len(rr) != len(n):
            raise ValueError(
                f"Outcomes.from_counts: 'n' has {len(n)} levels but 'resp' has {len(rr)}"
            )
        if len(n) > MAX_LEVEL:
            raise ValueError(f"Outcomes.from_counts: {len(n)} levels; at most {MAX_LEVEL}")
        rows = []
        cohort = 0
        for level, (ni, yi) in enumerate(zip(n, dlt, strict=True), start=1):
            if not _is_int(ni) or not 0 <= ni <= MAX_PATIENTS:
                raise ValueError(
                    f"Outcomes.from_counts: level {level} field 'n': {_show(ni)} is not a count "
                    f"(0..{MAX_PATIENTS})"
                )
            if not _is_int(yi) or not 0 <= yi <= ni:
                raise ValueError(
                    f"Outcomes.from_counts: level {level} field 'dlt': {_show(yi)} is not in "
                    f"0..{_show(ni)}"
                )
            ri = 0 if rr is None else rr[level - 1]
            if rr is not None and (not _is_int(ri) or not 0 <= ri <= ni):
                raise ValueError(
                    f"Outcomes.from_counts: level {level} field 'resp': {_show(ri)} is not in "
                    f"0..{_show(ni)}"
                )
            if ni == 0:
                continue
            cohort += 1
            for k in range(int(ni)):
                rows.append(
                    {"patient_id": f"P{len(rows) + 1:03d}", "arm": arm, "dose_level": level,
                     "dlt": int(k < yi), "cohort": cohort, RESPONSE: int(k < ri)}
                )  # fmt: skip
        cols = ["patient_id", "arm", "dose_level", "dlt", "cohort"]
        frame = pd.DataFrame(rows, columns=cols + ([RESPONSE] if rr is not None else []))
        return cls.from_frame(frame, protocol=protocol)

    @classmethod
    def read_csv(cls, path: str | os.PathLike, protocol: Protocol | None = None) -> Outcomes:
        """Cohort data from a CSV file, one row per patient (columns as :meth:`from_frame`).

        Every cell is read as written: ``patient_id`` stays text (``"001"`` is not ``1``),
        a blank cell is missing, and missing-value codes (``NA``, ``NULL``, ``#N/A``, see
        :data:`bayes_dose.csv_text.NA_TOKENS`) are errors, never silently blank.  A
        semicolon- or tab-separated file is recognised from its header.  Errors name the
        file line (header = line 1), the field and the value as written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import bayes_dose as bd
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "cohorts.csv"
        >>> _ = p.write_text("patient_id,arm,dose_level,dlt\\n001,mono,1,no\\n002,mono,1,Y\\n")
        >>> out = bd.Outcomes.read_csv(p)
        >>> out.to_frame()[["patient_id", "dlt"]].values.tolist()
        [['001', 0], ['002', 1]]
        >>> p.write_text("patient_id,arm,dose_level,dlt\\n001,mono,1,\\n") and None
        >>> bd.Outcomes.read_csv(p)
        Traceback (most recent call last):
        ...
        ValueError: data file 'cohorts.csv' line 2 (patient_id='001') field 'dlt': blank DLT: write 0, 1 or 'unknown'
        """
        from .csv_text import read_text_csv

        table = read_text_csv(path, "data file", known=(*COLUMNS, RESPONSE, ROLE, ARRIVAL))
        raw = table.frame
        label = f"data file {table.path.name!r}"

        def where(i: int) -> str:
            pid = str(raw["patient_id"].iat[i]).strip() if "patient_id" in raw.columns else ""
            return f"{label} line {table.lines[i]}" + (f" (patient_id={pid!r})" if pid else "")

        typed = raw.copy()
        for col in raw.columns:
            if col in _NUMERIC_COLUMNS:
                typed[col] = pd.Series(
                    [_number_text(v, col, where(i)) for i, v in enumerate(raw[col])],
                    dtype=object,
                )
        return cls._validate(typed, protocol, label, where, raw)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, protocol: Protocol | None = None) -> Outcomes:
        """Validate a tidy DataFrame with one row per patient.

        Required columns: ``patient_id``, ``arm``, ``dose_level`` (1-based) or
        ``dose_mg`` (then ``protocol`` maps mg to levels), ``dlt``.  Optional:
        ``cohort`` (default: runs of consecutive patients at one dose), ``enroll_day``,
        ``followup_days`` (DLT observation so far, for TITE designs; ``>= 0``),
        ``grade2`` (a grade-2 drug-related toxicity, ends accelerated titration),
        ``response`` (efficacy: :data:`RESPONSE_CODES`; with a protocol, a response of
        a patient without DLT whose ``followup_days`` is shorter than the DLT window is
        an error: not yet evaluable);
        ``dlt_day`` (day of DLT onset counted from the first dose, day 1 = first dose; an
        integer in 1..the DLT window (the protocol's, else :data:`DEFAULT_DLT_WINDOW`),
        only for patients with ``dlt = 1``, and not after their ``followup_days``);
        ``arrival_day`` (:data:`ARRIVAL`: the study day the patient arrived, i.e. was
        screened / consented, on the scale of ``enroll_day``; ``>= 0``; an ``enroll_day``
        before it is an error naming the row; kept in :meth:`to_frame` only when given).

        ``dlt`` codes (case-insensitive, surrounding blanks ignored): ``0``/``1``,
        ``no``/``yes``, ``n``/``y``, ``false``/``true`` (also booleans), and ``unknown``
        (or ``pandas.NA``): the patient's DLT status is unknown, e.g. an unresolved
        adjudication query; designs hold on such patients.  A blank ``dlt`` (``None``,
        NaN, ``""``) or any other code is an error.  ``grade2`` takes the same codes,
        ``unknown`` included (e.g. a grade >= 2 event whose causality or onset is blank:
        :meth:`grade2_unknown`; a design whose decision depends on it holds); blank
        means 0.

        Patients are put in enrolment order: by ``cohort`` when given, else by
        ``enroll_day`` when every patient has one, else in row order;
        :attr:`order_by` says which.  ``cohort`` numbers whose order contradicts
        ``enroll_day`` are an error; a cohort treated at two dose levels gives a warning.
        Arm names are stripped of surrounding blanks; two names differing only in letter
        case are an error.

        Without ``protocol`` levels must be integers in ``1..MAX_LEVEL`` and any arm name
        is accepted; with it, levels and arms are checked against the protocol.

        Raises
        ------
        ValueError
            Naming the row (0-based position and ``patient_id``) and the field.
        """
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"Outcomes.from_frame: expected a DataFrame, got {type(df).__name__}")
        df = df.reset_index(drop=True)

        def where(i: int) -> str:
            pid = df["patient_id"].iat[i] if "patient_id" in df.columns else None
            return f"Outcomes.from_frame: row {i} (patient_id={_show(pid)})"

        return cls._validate(df, protocol, "Outcomes.from_frame", where, None)

    @classmethod
    def _validate(
        cls,
        df: pd.DataFrame,
        protocol: Protocol | None,
        label: str,
        where: Callable[[int], str],
        raw: pd.DataFrame | None,
    ) -> Outcomes:
        """The checks of :meth:`from_frame`; ``where(i)`` locates row ``i`` in messages,
        ``raw`` (text as written, for CSV input) is what messages show."""

        from .csv_text import is_na_token

        def show(col: str, i: int, v: object) -> str:
            if raw is not None and col in raw.columns:
                return repr(raw[col].iat[i]) if raw[col].iat[i] != "" else "blank"
            return _show(v)

        missing = [c for c in ("patient_id", "arm", "dlt") if c not in df.columns]
        if "dose_level" not in df.columns and "dose_mg" not in df.columns:
            missing.append("dose_level (or dose_mg)")
        if missing:
            raise ValueError(f"{label}: missing column(s): {', '.join(missing)}")
        unknown = set(df.columns) - set(COLUMNS) - {RESPONSE, ROLE, ARRIVAL}
        if unknown:
            raise ValueError(
                f"{label}: unknown column(s) {sorted(map(str, unknown))}; "
                f"known: {', '.join((*COLUMNS, RESPONSE, ROLE, ARRIVAL))}"
            )

        n = len(df)
        pid = []
        for i, v in enumerate(df["patient_id"]):
            if _isna(v) or str(v).strip() == "":
                raise ValueError(f"{where(i)} field 'patient_id': missing")
            if isinstance(v, str) and is_na_token(v):
                raise ValueError(
                    f"{where(i)} field 'patient_id': {v!r} is a missing-value code, not an id"
                )
            if isinstance(v, (float, np.floating)) and float(v).is_integer():
                v = int(v)
            pid.append(str(v).strip())
        seen: dict[str, int] = {}
        for i, p in enumerate(pid):
            if p in seen:
                raise ValueError(
                    f"{where(i)} field 'patient_id': duplicate of {where(seen[p]).split(': ')[-1]}"
                )
            seen[p] = i

        arms = []
        folded: dict[str, str] = {}
        for i, v in enumerate(df["arm"]):
            if _isna(v) or not isinstance(v, str) or v.strip() == "":
                raise ValueError(f"{where(i)} field 'arm': {show('arm', i, v)} is not an arm name")
            name = v.strip()
            if is_na_token(name):
                raise ValueError(
                    f"{where(i)} field 'arm': {v!r} is a missing-value code, not an arm name"
                )
            if protocol is not None and name not in protocol.arm_names:
                raise ValueError(
                    f"{where(i)} field 'arm': unknown arm {show('arm', i, v)}; "
                    f"protocol arms: {protocol.arm_names}"
                )
            other = folded.setdefault(name.casefold(), name)
            if other != name:
                raise ValueError(
                    f"{where(i)} field 'arm': arm {name!r} differs from arm {other!r} only in "
                    "letter case; use one spelling"
                )
            arms.append(name)

        levels = np.zeros(n, dtype=np.int64)
        mg = np.full(n, np.nan)
        has_level = "dose_level" in df.columns
        has_mg = "dose_mg" in df.columns
        for i in range(n):
            arm_obj = protocol.arm(arms[i]) if protocol is not None else None
            if has_level and not _isna(df["dose_level"].iat[i]):
                v = df["dose_level"].iat[i]
                if not _is_int(v) or not 1 <= int(v) <= MAX_LEVEL:
                    raise ValueError(
                        f"{where(i)} field 'dose_level': {show('dose_level', i, v)} is not a "
                        f"1-based level (1..{MAX_LEVEL})"
                    )
                levels[i] = int(v)
                if arm_obj is not None:
                    if levels[i] > arm_obj.n_doses:
                        raise ValueError(
                            f"{where(i)} field 'dose_level': unknown level "
                            f"{levels[i]}; arm {arm_obj.name!r} has levels 1..{arm_obj.n_doses}"
                        )
                    mg[i] = arm_obj.doses_mg[levels[i] - 1]
                if has_mg and not _isna(df["dose_mg"].iat[i]):
                    given = _as_float(df["dose_mg"].iat[i], where(i), "dose_mg")
                    if not np.isnan(mg[i]) and abs(given - mg[i]) > 1e-9 * max(1.0, mg[i]):
                        raise ValueError(
                            f"{where(i)} field 'dose_mg': {given:g} mg does "
                            f"not match level {levels[i]} ({mg[i]:g} mg)"
                        )
                    mg[i] = given
            elif has_mg and not _isna(df["dose_mg"].iat[i]):
                given = _as_float(df["dose_mg"].iat[i], where(i), "dose_mg")
                if arm_obj is None:
                    raise ValueError(
                        f"{where(i)} field 'dose_level': missing, and "
                        "dose_mg can only be mapped to a level with a protocol"
                    )
                try:
                    levels[i] = arm_obj.level_of(given)
                except ValueError as exc:
                    raise ValueError(f"{where(i)} field 'dose_mg': {exc}") from None
                mg[i] = given
            else:
                raise ValueError(f"{where(i)} field 'dose_level': missing")
        if protocol is None and has_mg:  # no grid to check against: one dose per level
            first: dict[tuple[str, int], int] = {}
            for i in np.flatnonzero(~np.isnan(mg)):
                j = first.setdefault((arms[i], int(levels[i])), int(i))
                if abs(mg[i] - mg[j]) > 1e-9 * max(1.0, mg[j]):
                    raise ValueError(
                        f"{where(i)} field 'dose_mg': {mg[i]:g} mg at dose level {levels[i]} "
                        f"of arm {arms[i]!r} differs from {mg[j]:g} mg at that level on {where(j)}"
                    )

        dlt: list[object] = []
        for i, v in enumerate(df["dlt"]):
            code = _code(v)
            if code is _BLANK:
                raise ValueError(f"{where(i)} field 'dlt': blank DLT: write 0, 1 or 'unknown'")
            if code is None:
                hint = (
                    " (a missing-value code: write 'unknown' if the DLT status is not known)"
                    if isinstance(v, str) and is_na_token(v) else ""
                )  # fmt: skip
                raise ValueError(
                    f"{where(i)} field 'dlt': {show('dlt', i, v)} is not a DLT code (0/1, "
                    f"yes/no, y/n, true/false or 'unknown'){hint}"
                )
            dlt.append(code)

        def optional_days(col: str, integer: bool = False) -> np.ndarray:
            out = np.full(n, np.nan)
            if col not in df.columns:
                return out
            for i, v in enumerate(df[col]):
                if _isna(v):
                    continue
                x = _as_float(v, where(i), col)
                if x < 0:
                    raise ValueError(f"{where(i)} field {col!r}: {show(col, i, v)} is negative")
                if integer and (x != int(x) or x > MAX_COHORT):
                    raise ValueError(
                        f"{where(i)} field {col!r}: {show(col, i, v)} is not an integer "
                        f"in 0..{MAX_COHORT}"
                    )
                out[i] = x
            return out

        enroll = optional_days("enroll_day")
        arrival = optional_days(ARRIVAL)
        for i in np.flatnonzero(enroll < arrival):  # NaN on either side compares False
            raise ValueError(
                f"{where(i)} field 'enroll_day': day {enroll[i]:g} (the first dose) is before "
                f"the patient's {ARRIVAL} ({arrival[i]:g})"
            )
        follow = optional_days("followup_days")
        dlt_day = optional_days("dlt_day", integer=True)
        window = protocol.dlt_window_days if protocol is not None else DEFAULT_DLT_WINDOW
        for i in np.flatnonzero(~np.isnan(dlt_day)):
            v, day = df["dlt_day"].iat[i], dlt_day[i]
            bad = (
                "is 0: day 1 is the day of the first dose" if day == 0
                else f"is after the {window:g}-day DLT window" if day > window
                else f"is given but dlt is {'unknown' if dlt[i] is pd.NA else dlt[i]}: a DLT day "
                "belongs to a patient with dlt = 1" if dlt[i] is pd.NA or dlt[i] != 1
                else f"is after the patient's followup_days ({follow[i]:g})" if day > follow[i]
                else None
            )  # fmt: skip
            if bad:
                raise ValueError(f"{where(i)} field 'dlt_day': {show('dlt_day', i, v)} {bad}")
        cohort_given = optional_days("cohort", integer=True)
        if "cohort" in df.columns and n and np.isnan(cohort_given).any():
            i = int(np.flatnonzero(np.isnan(cohort_given))[0])
            raise ValueError(f"{where(i)} field 'cohort': missing")
        grade2: list[object] = [0] * n
        if "grade2" in df.columns:
            for i, v in enumerate(df["grade2"]):
                code = _code(v)
                if code is _BLANK:
                    continue
                if code is None:
                    raise ValueError(
                        f"{where(i)} field 'grade2': {show('grade2', i, v)} is not 0 or 1 "
                        "(or yes/no, y/n, true/false) or 'unknown'"
                    )
                grade2[i] = code

        response = None
        if RESPONSE in df.columns:
            response = []
            for i, v in enumerate(df[RESPONSE]):
                code = _response_code(v)
                if code is None:
                    raise ValueError(
                        f"{where(i)} field 'response': {show(RESPONSE, i, v)} is not a response "
                        f"code: write {RESPONSE_CODES}"
                    )
                response.append(code)
            window = protocol.dlt_window_days if protocol is not None else None
            if window is not None:
                for i, code in enumerate(response):
                    if code is pd.NA or dlt[i] is pd.NA or dlt[i] == 1 or np.isnan(follow[i]):
                        continue
                    if follow[i] < window:
                        raise ValueError(
                            f"{where(i)} field 'response': {show(RESPONSE, i, df[RESPONSE].iat[i])}"
                            f" recorded for a patient not yet evaluable (followup_days "
                            f"{follow[i]:g} < the {window:g}-day DLT window); leave it blank "
                            "until the assessment"
                        )

        role = None
        if ROLE in df.columns:  # backfill patients (blank: escalation)
            role = []
            for i, v in enumerate(df[ROLE]):
                text = "" if _isna(v) else str(v).strip().lower()
                if text not in ("", *ROLES):
                    raise ValueError(
                        f"{where(i)} field 'role': {show(ROLE, i, v)} is not a role: write "
                        "'escalation', 'backfill' or leave it blank (escalation)"
                    )
                role.append(text or "escalation")

        order_by, order = _enrolment_order(
            arms, cohort_given if "cohort" in df.columns else None, enroll, where
        )
        backfill = None if role is None else [r == "backfill" for r in role]
        if "cohort" in df.columns:
            cohort = cohort_given.astype(np.int64)
        else:
            cohort = _runs([arms[k] for k in order], levels[order],
                           None if backfill is None else [backfill[k] for k in order],
                           )[np.argsort(order)]
        _warn_mixed_cohorts(arms, levels, cohort, where, backfill)

        frame = pd.DataFrame(
            {
                "patient_id": pd.Series(pid, dtype=object),
                "arm": pd.Series(arms, dtype=object),
                "dose_level": levels,
                "dose_mg": mg,
                "dlt": pd.array(dlt, dtype="Int64"),
                "cohort": cohort,
                "enroll_day": enroll,
                "followup_days": follow,
                "grade2": pd.array(grade2, dtype="Int64"),
                "dlt_day": dlt_day,
            },
            columns=list(COLUMNS),
        )
        if response is not None:
            frame[RESPONSE] = pd.array(response, dtype="Int64")
        if role is not None:
            frame[ROLE] = pd.Series(role, dtype=object)
        if ARRIVAL in df.columns:
            frame[ARRIVAL] = arrival
        frame = frame.iloc[order].reset_index(drop=True)
        doses = {a.name: a.doses_mg for a in protocol.arms} if protocol is not None else None
        return cls(
            frame, doses, protocol.dlt_window_days if protocol is not None else None,
            order_by=order_by,
        )

    # -- views ---------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """A copy of the patient table (columns :data:`COLUMNS`, then ``response`` when the
        data record efficacy, then ``arrival_day`` when the input had that column)."""
        return self._frame.copy()

    @property
    def has_response(self) -> bool:
        """Whether the data have a ``response`` column (efficacy outcomes)."""
        return RESPONSE in self._frame.columns

    def unassessed(self) -> tuple[str, ...]:
        """Patient ids whose response is not assessed (blank ``response``), in enrolment
        order; all patients when the data have no ``response`` column."""
        f = self._frame
        if not self.has_response:
            return tuple(str(p) for p in f["patient_id"])
        return tuple(str(p) for p in f.loc[f[RESPONSE].isna(), "patient_id"])

    def to_csv_frame(self) -> pd.DataFrame:
        """The patient table as written to CSV: an unknown DLT or grade-2 status is the
        text ``unknown`` (a blank cell would not read back: the readers refuse blank DLTs
        and read a blank ``grade2`` as 0).

        Examples
        --------
        >>> Outcomes.parse("1N?").to_csv_frame()["dlt"].tolist()
        [0, 'unknown']
        """
        frame = self.to_frame()
        return frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), "unknown")
                               for c in ("dlt", "grade2")})  # fmt: skip

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        arms = ", ".join(
            f"{a}: {k}" for a, k in self._frame.groupby("arm", sort=False).size().items()
        )
        k = len(self.unknown())
        unk = f"; unknown DLT status {k}" if k else ""
        k2 = len(self.grade2_unknown())
        unk += f"; unknown grade-2 status {k2}" if k2 else ""
        return (
            f"<Outcomes {len(self)} patients ({arms or 'none'}); "
            f"DLTs {int(self._frame['dlt'].sum())}{unk}; ordered by {self._order_by}>"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Outcomes) and self._frame.equals(other._frame)

    __hash__ = None  # type: ignore[assignment]

    @property
    def arms(self) -> tuple[str, ...]:
        """Arms present in the data, in order of first appearance."""
        return tuple(pd.unique(self._frame["arm"]))

    def doses_mg(self, arm: str) -> tuple[float, ...] | None:
        """The arm's dose grid in mg when known (from a protocol), else ``None``."""
        return self._doses_mg.get(arm)

    def arm(self, name: str) -> Outcomes:
        """Only the patients of arm ``name``."""
        sub = self._frame[self._frame["arm"] == name].reset_index(drop=True)
        return self._derive(sub)

    def cohort_prefixes(self) -> Iterable[Outcomes]:
        """Cumulative data after each cohort, in order (for replay / shadow decisions).

        The ``k``-th item holds cohorts ``1..k`` of every arm seen so far (a prefix of the
        trial), not cohort ``k`` alone.  ``cohorts()`` is its deprecated alias.

        Examples
        --------
        >>> import bayes_dose as bd
        >>> [len(o) for o in bd.Outcomes.parse("1N 2N 3NNN").cohort_prefixes()]
        [1, 2, 5]
        """
        f = self._frame
        keys = list(dict.fromkeys(zip(f["arm"], f["cohort"], strict=True)))
        # within an arm, cohorts follow their numbers (rows may be listed in any order)
        for arm in dict.fromkeys(a for a, _ in keys):
            slots = [i for i, k in enumerate(keys) if k[0] == arm]
            for i, k in zip(
                slots, sorted((keys[i] for i in slots), key=lambda k: k[1]), strict=True
            ):
                keys[i] = k
        for k in range(1, len(keys) + 1):
            mask = (
                pd.Series(list(zip(f["arm"], f["cohort"], strict=True))).isin(keys[:k]).to_numpy()
            )
            yield self._derive(f[mask].reset_index(drop=True))

    cohorts = deprecated_method(cohort_prefixes, "cohorts")

    def counts(self, n_doses: int | None = None, arm: str | None = None) -> pd.DataFrame:
        """Patients and DLTs per dose level (levels 1..n_doses, zeros included).

        Parameters
        ----------
        n_doses : int, optional
            Number of levels to show (default: the arm's grid, or the highest level seen).
        arm : str, optional
            Restrict to one arm (required when the data hold several arms).

        Patients with unknown DLT status count in ``n`` but not in ``dlt``; when there are
        any, a column ``unknown`` (patients per dose with unknown status) is added.  Data
        with a ``response`` column add ``resp`` (responders per dose) and, when some
        responses are blank, ``resp_unassessed`` (patients per dose not assessed).
        """
        f = self._frame
        if arm is None:
            if len(self.arms) > 1:
                raise ValueError(f"Outcomes.counts: data hold arms {self.arms}; pass arm=")
            arm = self.arms[0] if self.arms else None
        else:
            f = f[f["arm"] == arm]
        grid = self._doses_mg.get(arm) if arm is not None else None
        if n_doses is None:
            n_doses = len(grid) if grid else int(f["dose_level"].max()) if len(f) else 0
        if len(f) and int(f["dose_level"].max()) > n_doses:
            raise ValueError(
                f"Outcomes.counts: level {int(f['dose_level'].max())} is above n_doses={n_doses}"
            )
        lv = f["dose_level"].to_numpy() - 1
        n = np.bincount(lv, minlength=n_doses)[:n_doses]
        na = f["dlt"].isna().to_numpy()
        y = np.bincount(
            lv, weights=f["dlt"].fillna(0).to_numpy(dtype=float), minlength=n_doses
        )[:n_doses].astype(np.int64)
        mg = (
            np.asarray(grid, dtype=float)[:n_doses]
            if grid and len(grid) >= n_doses
            else np.full(n_doses, np.nan)
        )
        out = pd.DataFrame(
            {"dose_mg": mg, "n": n.astype(np.int64), "dlt": y},
            index=pd.Index(np.arange(1, n_doses + 1), name="dose_level"),
        )
        if na.any():
            out["unknown"] = np.bincount(lv[na], minlength=n_doses)[:n_doses].astype(np.int64)
        if RESPONSE in f.columns:
            r = f[RESPONSE]
            out["resp"] = np.bincount(
                lv, weights=r.fillna(0).to_numpy(dtype=float), minlength=n_doses
            )[:n_doses].astype(np.int64)
            rna = r.isna().to_numpy()
            if rna.any():
                out["resp_unassessed"] = np.bincount(lv[rna], minlength=n_doses)[
                    :n_doses
                ].astype(np.int64)
        return out

    # -- follow-up and unknown DLT status ----------------------------------------------------
    @property
    def dlt_window_days(self) -> int | None:
        """The protocol's DLT window (days) when the data were read with a protocol."""
        return self._dlt_window

    @property
    def has_followup(self) -> bool:
        """Whether the data record days of DLT follow-up (column ``followup_days``).

        Without it every patient is taken as having completed the DLT window.
        """
        return bool(self._frame["followup_days"].notna().any())

    @property
    def missing_policy(self) -> str | None:
        """How unknown DLT statuses were resolved (:meth:`resolve_unknown`), else None."""
        return self._missing_policy

    @property
    def imputed(self) -> tuple[str, ...]:
        """Patients whose unknown DLT status was filled by :attr:`missing_policy`."""
        return self._imputed

    def unknown(self) -> tuple[str, ...]:
        """Patient ids whose DLT status is unknown (``dlt`` is ``<NA>``), in enrolment order.

        Examples
        --------
        >>> import bayes_dose as bd
        >>> bd.Outcomes.parse("1NNN 2N?N").unknown()
        ('P005',)
        """
        f = self._frame
        return tuple(str(p) for p in f.loc[f["dlt"].isna(), "patient_id"])

    def grade2_unknown(self) -> tuple[str, ...]:
        """Patient ids whose grade-2 toxicity status is unknown (``grade2`` is ``<NA>``),
        in enrolment order: e.g. a grade >= 2 event with blank causality or onset.

        Accelerated titration with ``titration_grade2=True`` reads this status; a fit
        whose decision depends on it holds (designs not reading it are unaffected).

        Examples
        --------
        >>> import pandas as pd, bayes_dose as bd
        >>> bd.Outcomes.from_frame(pd.DataFrame({"patient_id": ["A", "B"], "arm": "mono",
        ...     "dose_level": [1, 2], "dlt": 0, "grade2": [0, "unknown"]})).grade2_unknown()
        ('B',)
        """
        f = self._frame
        return tuple(str(p) for p in f.loc[f["grade2"].isna(), "patient_id"])

    def _grade2_filled(self, value: int) -> Outcomes:
        """The data with every unknown grade-2 status set to ``value`` (0 or 1): for
        evidence whose use does not depend on it (see ``Design._evidence``)."""
        f = self._frame.copy()
        f["grade2"] = f["grade2"].fillna(value)
        return self._derive(f)

    def pending(self, window_days: float, as_of: int | None = None) -> pd.DataFrame:
        """Patients without a DLT whose DLT follow-up is shorter than the window.

        Parameters
        ----------
        window_days : float
            DLT observation window (days).
        as_of : int, optional
            Study day of the analysis.  A patient's follow-up is then at most
            ``as_of - enroll_day + 1`` days (the day of first dose is day 1), and patients
            without a recorded ``followup_days`` get exactly that (needs ``enroll_day``).

        Returns
        -------
        pandas.DataFrame
            ``patient_id``, ``arm``, ``dose_level``, ``followup_days``, ``days_left``
            (window minus follow-up) and ``window_complete_day`` (study day
            ``enroll_day + window - 1``; NaN without ``enroll_day``).  Empty when the data
            have no follow-up (:attr:`has_followup` is False) and no ``as_of`` is given.
            A patient without DLT whose follow-up is not recorded while other patients'
            is cannot be taken as complete: it is pending with ``followup_days`` and
            ``days_left`` NaN.

        Raises
        ------
        ValueError
            ``as_of`` is before a patient's enrolment.

        Examples
        --------
        >>> import pandas as pd, bayes_dose as bd
        >>> out = bd.Outcomes.from_frame(pd.DataFrame({
        ...     "patient_id": ["A", "B", "C"], "arm": "mono", "dose_level": 1, "dlt": [0, 1, 0],
        ...     "enroll_day": [1, 8, 15], "followup_days": [21, 3, 7]}))
        >>> out.pending(21)[["patient_id", "days_left", "window_complete_day"]].to_dict("list")
        {'patient_id': ['C'], 'days_left': [14.0], 'window_complete_day': [35.0]}
        """
        window = checks.real("Outcomes.pending", "window_days", window_days, low=0, low_open=True)
        f = self._frame
        cols = ["patient_id", "arm", "dose_level", "followup_days", "days_left",
                "window_complete_day"]  # fmt: skip
        if not self.has_followup and as_of is None:
            return pd.DataFrame({c: [] for c in cols})
        fu = f["followup_days"].to_numpy(dtype=float).copy()
        enroll = f["enroll_day"].to_numpy(dtype=float)
        if as_of is not None:
            if isinstance(as_of, bool) or not isinstance(as_of, (int, np.integer)):
                raise ValueError(f"Outcomes.pending: as_of must be a study day, got {as_of!r}")
            seen = as_of - enroll + 1
            late = np.flatnonzero(seen < 1)
            if len(late):
                i = int(late[0])
                raise ValueError(
                    f"Outcomes.pending: row {i} (patient_id={f['patient_id'].iat[i]!r}) "
                    f"field 'enroll_day': day {enroll[i]:g} is after as_of={as_of}"
                )
            fu = np.where(np.isnan(fu), seen, np.fmin(fu, seen))
        no_dlt = (f["dlt"] == 0).fillna(False).to_numpy(dtype=bool)
        mask = no_dlt & (np.isnan(fu) | (fu < window))
        out = pd.DataFrame(
            {
                "patient_id": f.loc[mask, "patient_id"].astype(str).to_numpy(),
                "arm": f.loc[mask, "arm"].astype(str).to_numpy(),
                "dose_level": f.loc[mask, "dose_level"].to_numpy(),
                "followup_days": fu[mask],
                "days_left": window - fu[mask],
                "window_complete_day": enroll[mask] + window - 1,
            },
            columns=cols,
        )
        return out.reset_index(drop=True)

    def resolve_unknown(self, policy: str) -> Outcomes:
        """The data with every unknown DLT status filled by ``policy``.

        Parameters
        ----------
        policy : {"assume_dlt", "assume_not"}
            Count each patient with unknown status as a DLT, or as no DLT.  The policy and
            the patients it filled are recorded (:attr:`missing_policy`, :attr:`imputed`)
            and go into fits and manifests.

        Examples
        --------
        >>> import bayes_dose as bd
        >>> out = bd.Outcomes.parse("1NNN 2N?N").resolve_unknown("assume_dlt")
        >>> out.counts()["dlt"].tolist(), out.imputed, out.missing_policy
        ([0, 1], ('P005',), 'assume_dlt')
        """
        if policy not in MISSING_POLICIES:
            raise ValueError(
                f"Outcomes.resolve_unknown: policy must be one of {MISSING_POLICIES}, got {policy!r}"
            )
        if self._missing_policy is not None and self._missing_policy != policy:
            raise ValueError(
                f"Outcomes.resolve_unknown: unknown DLT statuses were already resolved with "
                f"{self._missing_policy!r}"
            )
        ids = self.unknown()
        f = self._frame.copy()
        f["dlt"] = f["dlt"].fillna(1 if policy == "assume_dlt" else 0)
        return Outcomes(
            f, self._doses_mg, self._dlt_window, policy, tuple(dict.fromkeys(self._imputed + ids)),
            self._order_by,
        )

    def _without(self, patient_ids: Iterable[str]) -> Outcomes:
        """The data without the given patients (e.g. those not evaluable yet)."""
        drop = set(patient_ids)
        keep = ~self._frame["patient_id"].isin(drop).to_numpy()
        return self._derive(self._frame[keep].reset_index(drop=True))


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_int(v: object) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isfinite(v) and float(v).is_integer())
    return False


def _as_float(v: object, where: str, col: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where} field {col!r}: {_show(v)} is not a number")
    try:
        x = float(v)
    except OverflowError:
        x = float("inf")
    if not np.isfinite(x):
        raise ValueError(f"{where} field {col!r}: {_show(v)} is not finite")
    return x


def _show(v: object) -> str:
    """A value as the user wrote it: Python scalars, not numpy reprs; blanks named."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "blank"
    if isinstance(v, str) and v.strip() == "":
        return "blank"
    return repr(v)


def _code(v: object) -> object:
    """A yes/no code as 0, 1 or ``pd.NA`` (unknown); ``_BLANK`` if blank; None if unreadable."""
    if v is pd.NA:
        return pd.NA
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if _isna(v):
        return _BLANK
    if _is_int(v):
        return int(v) if int(v) in (0, 1) else None  # type: ignore[call-overload]
    if isinstance(v, str):
        t = v.strip().casefold()
        if t == "":
            return _BLANK
        return _DLT_CODES.get(t)
    return None


def _response_code(v: object) -> object:
    """A response cell as 1, 0 or ``pd.NA`` (blank: not assessed); None if not 0/1/blank."""
    if v is pd.NA or v is None:
        return pd.NA
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if _isna(v):
        return pd.NA
    if _is_int(v):
        return int(v) if int(v) in (0, 1) else None  # type: ignore[call-overload]
    if isinstance(v, str):
        t = v.strip()
        if t == "":
            return pd.NA
        return {"0": 0, "1": 1}.get(t)
    return None


def _number_text(v: str, col: str, where: str) -> object:
    """A CSV cell of a numeric column as a number (blank -> NaN); errors show the text."""
    from .csv_text import is_na_token

    t = v.strip()
    if t == "":
        return np.nan
    if is_na_token(t):
        raise ValueError(
            f"{where} field {col!r}: {v!r} is a missing-value code; leave the cell blank "
            "if the value is not known"
        )
    if not _NUMBER.match(t):
        raise ValueError(f"{where} field {col!r}: {v!r} is not a number")
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    x = float(t)
    if not np.isfinite(x):
        raise ValueError(f"{where} field {col!r}: {v!r} is not a finite number")
    return x


def _count_list(v: object, name: str) -> list:
    if isinstance(v, (str, bytes)) or not isinstance(v, (Sequence, np.ndarray, pd.Series)):
        raise ValueError(
            f"Outcomes.from_counts: {name!r} must be a sequence of counts per level (e.g. "
            f"[3, 3]), got {type(v).__name__} {_show(v)}"
        )
    return list(v)


def _enrolment_order(
    arms: Sequence[str],
    cohort: np.ndarray | None,
    enroll: np.ndarray,
    where: Callable[[int], str],
) -> tuple[str, np.ndarray]:
    """(``order_by``, row order): by cohort, else enrolment day, else file order.

    Rows of an arm keep that arm's positions (arms stay interleaved as in the input); an
    order contradicting ``enroll_day`` is an error.
    """
    n = len(arms)
    order = np.arange(n)
    if n == 0:
        return ("cohort" if cohort is not None else "file"), order
    if cohort is not None:
        key, by = cohort, "cohort"
    elif not np.isnan(enroll).any():
        key, by = enroll, "enroll_day"
    else:
        key, by = None, "file"
    arm_arr = np.asarray(arms, dtype=object)
    for a in dict.fromkeys(arms):
        slots = np.flatnonzero(arm_arr == a)
        if by == "cohort":  # within a cohort, by enrolment day (blank days last)
            order[slots] = slots[np.lexsort((enroll[slots], key[slots]))]
        elif key is not None:
            order[slots] = slots[np.argsort(key[slots], kind="stable")]
        if by == "cohort":
            # cohorts in number order must not start before an earlier-numbered one
            e = enroll[slots]
            if np.isnan(e).all():
                continue
            firsts: list[tuple[float, float, int]] = []
            for c in np.unique(key[slots]):
                m = (key[slots] == c) & ~np.isnan(e)
                if m.any():
                    j = int(np.argmin(np.where(m, e, np.inf)))
                    firsts.append((float(c), float(e[j]), int(slots[j])))
            for (c0, e0, i0), (c1, e1, i1) in pairwise(firsts):
                if e1 < e0:
                    raise ValueError(
                        f"{where(i1)} field 'cohort': cohort {c1:g} of arm {a!r} starts on "
                        f"enroll_day {e1:g}, before cohort {c0:g} (enroll_day {e0:g}, "
                        f"{where(i0).split(': ')[-1]}); cohort and enroll_day disagree on the "
                        "enrolment order"
                    )
        elif by == "file":
            e = enroll[slots]
            known = np.flatnonzero(~np.isnan(e))
            for j0, j1 in pairwise(known):
                if e[j1] < e[j0]:
                    raise ValueError(
                        f"{where(int(slots[j1]))} field 'enroll_day': {e[j1]:g} is before "
                        f"{e[j0]:g} of an earlier row ({where(int(slots[j0])).split(': ')[-1]})"
                        "; rows are not in enrolment order and some enroll_day cells are "
                        "blank: fill enroll_day or add a cohort column"
                    )
    return by, order


def _warn_mixed_cohorts(
    arms: Sequence[str], levels: np.ndarray, cohort: np.ndarray, where: Callable[[int], str],
    backfill: Sequence[bool] | None = None,
) -> None:
    """Warn when an escalation cohort is treated at two levels (backfill patients, who
    join at other levels while a cohort is treated, are left out)."""
    seen: dict[tuple[str, int], tuple[int, int]] = {}
    warned: set[tuple[str, int]] = set()
    for i, (a, c) in enumerate(zip(arms, cohort, strict=True)):
        if backfill is not None and backfill[i]:
            continue
        k = (a, int(c))
        if k not in seen:
            seen[k] = (int(levels[i]), i)
        elif seen[k][0] != levels[i] and k not in warned:
            warned.add(k)
            warnings.warn(
                f"{where(i)} field 'cohort': cohort {k[1]} of arm {a!r} is treated at levels "
                f"{seen[k][0]} and {int(levels[i])} (first at "
                f"{where(seen[k][1]).split(': ')[-1]}); a cohort is normally one dose: check "
                "the cohort column",
                UserWarning,
                stacklevel=4,
            )


def _runs(
    arms: Sequence[str], levels: np.ndarray, backfill: Sequence[bool] | None = None
) -> np.ndarray:
    """Cohort numbers inferred from the enrolment order: within each arm, a run of
    escalation patients at one level is one cohort, whatever patients of other arms are
    enrolled in between; a backfill patient joins the cohort its arm is treating (as a
    cohort column would record it), so neither splits an escalation cohort."""
    out = np.zeros(len(levels), dtype=np.int64)
    current: dict[str, tuple[int, int]] = {}  # arm -> (level, cohort) of its escalation run
    c = 0
    for i in range(len(levels)):
        a = arms[i]
        if backfill is not None and backfill[i]:
            if a not in current:
                c += 1
                current[a] = (-1, c)  # before any escalation patient: a cohort of its own
            out[i] = current[a][1]
            continue
        if a in current and current[a][0] == int(levels[i]):
            out[i] = current[a][1]
            continue
        c += 1
        current[a] = (int(levels[i]), c)
        out[i] = c
    return out
