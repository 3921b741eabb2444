"""DLT adjudication: from an adverse-event listing to cohort data, with an audit trail.

:func:`adjudicate_dlt` applies the protocol's DLT definition (``Protocol.dlt_rules`` and
``Protocol.dlt_terms``, schema in :mod:`bayes_dose.dlt_rules`) to an ADAE-like listing
and an ADSL-like subject table, and returns validated :class:`~bayes_dose.Outcomes` plus
an audit table with one row per adverse event: the rule that made it a DLT, or the reason
it did not.

Facts are three-valued: a blank fact (say ``TRANSFFL``) is *unknown*, not "N".  An event
that might be a DLT depending on an unknown fact is a *query* (audit outcome ``"query"``,
the facts in the audit's ``query`` column): its patient's DLT status is unknown (``NA``)
unless another event of the patient is a DLT, and designs hold on such patients until the
query is resolved (or a policy is given).  The grade-2 status accelerated titration reads
(``Outcomes`` column ``grade2``) is three-valued the same way: a grade >= 2 event with blank
causality or onset makes it unknown, and a titration design whose decision depends on it
holds.  Fill facts known to be absent with ``N`` / ``0``.
Missing-value codes written into cells (``NA``, ``NULL``, ``#N/A``, ...) are errors, not
blanks: a blank cell is the only way to say "unknown".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .csv_text import is_na_token, read_text_csv
from .dlt_rules import (
    FLAG_FACTS,
    NUMERIC_FACTS,
    DLTRule,
    looks_haematological,
    match_term,
    parse_dlt_rules,
    validate_dlt_terms,
)
from .errors import BadCell, RecordsError, cell_number
from .outcomes import Outcomes
from .protocol import Protocol
from .xport import read_xport

__all__ = [
    "AUDIT_COLUMNS",
    "NOT_RELATED",
    "RELATED",
    "AdjudicationError",
    "adjudicate_dlt",
    "read_table",
]

#: ``AREL`` values that count as at least possibly related.
RELATED = frozenset({"RELATED", "DEFINITELY RELATED", "PROBABLY RELATED", "POSSIBLY RELATED"})
#: ``AREL`` values that do not.
NOT_RELATED = frozenset({"UNLIKELY RELATED", "NOT RELATED"})
#: Columns of the audit table, in order.
AUDIT_COLUMNS = (
    "row", "USUBJID", "ARM", "AEDECOD", "category", "ATOXGR", "ASTDY", "AENDY",
    "duration_days", "related", "in_window", "criteria_met", "is_dlt", "outcome", "rule",
    "query",
)  # fmt: skip
#: Values of the audit's ``outcome`` column.
OUTCOMES = (
    "dlt", "outside_window", "unrelated", "grade", "duration", "laboratory", "condition",
    "query", "no_rule",
)  # fmt: skip

_SUBJECT_OPTIONAL = {"COHORT": "cohort", "ENRLDY": "enroll_day", "DLTFUDY": "followup_days"}
_ALIASES = {"ATOXGR": "AETOXGR", "AREL": "AEREL"}
_YES = {"Y", "YES", "TRUE", "1"}
_NO = {"N", "NO", "FALSE", "0"}


class AdjudicationError(RecordsError):
    """Bad input rows; ``errors`` lists every problem (one with ``errors="raise"``)."""


_Bad = BadCell  # a value that cannot be read (message completes 'field X: <value> ...')


@dataclass
class _Problems:
    mode: str
    items: list[str] = field(default_factory=list)

    def add(self, msg: str) -> None:
        if self.mode == "raise":
            raise AdjudicationError([msg])
        self.items.append(msg)

    def check(self) -> None:
        if self.items:
            raise AdjudicationError(self.items)


# -- reading ----------------------------------------------------------------------------
def read_table(source: pd.DataFrame | str | os.PathLike, what: str = "table") -> pd.DataFrame:
    """A DataFrame, or a ``.csv`` / SAS transport (``.xpt``, version 5) file, as a DataFrame.

    CSV cells are read as text, as written (``"001"`` stays ``"001"``, a blank cell is
    ``""``, ``"NA"`` stays ``"NA"`` and is rejected later); values are parsed later.
    """
    return _read(source, what)[0]


def _read(
    source: pd.DataFrame | str | os.PathLike, what: str
) -> tuple[pd.DataFrame, tuple[int, ...] | None, str | None]:
    """(table, file line of each row or None, file name or None)."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), None, None
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(
            f"{what}: expected a DataFrame or a path to a .csv / .xpt file, "
            f"got {type(source).__name__}"
        )
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xpt", ".xport"):
        raise ValueError(
            f"{what}: unsupported file type {suffix!r} of {str(path)!r}; use .csv or .xpt"
        )
    if not path.is_file():
        raise ValueError(f"{what}: file {str(path)!r} not found")
    if suffix == ".csv":
        known = (*AUDIT_COLUMNS, *FLAG_FACTS, *NUMERIC_FACTS, *_SUBJECT_OPTIONAL, "AESOC",
                 "ADURN", "DOSE", *_ALIASES.values())  # fmt: skip
        table = read_text_csv(path, what, known=known)
        return table.frame, table.lines, path.name
    try:
        return read_xport(path), None, None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{what}: cannot read SAS transport (version 5) file {str(path)!r}: {exc}"
        ) from None


def _locator(lines: tuple[int, ...] | None, name: str | None) -> Callable[[int], str]:
    """``where`` prefix of row ``i``: ``"ae.csv line 5, "`` for files, else ``""``."""
    if lines is None:
        return lambda i: ""
    return lambda i: f"{name} line {lines[i]}, "


def _na_codes(df: pd.DataFrame, i: int, where: str, problems: _Problems) -> bool:
    """Report missing-value codes (``NA``, ``#N/A``, ...) in row ``i``; True if any."""
    found = False
    for col in df.columns:
        v = df[col].iat[i]
        if isinstance(v, str) and is_na_token(v):
            problems.add(
                f"{where} field {col!r}: {v!r} is a missing-value code; leave the cell blank "
                "if the value is unknown (the event then becomes a query) or write the value"
            )
            found = True
    return found


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    if _missing(v):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _num(v: Any) -> float | None:
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    return None if _missing(v) else cell_number(v)


def _int(v: Any) -> int | None:
    x = _num(v)
    if x is None:
        return None
    if not x.is_integer():
        raise _Bad("is not a whole number")
    return int(x)


def _flag(v: Any) -> str | None:
    if isinstance(v, (bool, np.bool_)):
        return "Y" if v else "N"
    if isinstance(v, (int, np.integer, float, np.floating)) and not _missing(v) and v in (0, 1):
        return "Y" if v == 1 else "N"
    t = _text(v)
    if t is None:
        return None
    if t.upper() in _YES:
        return "Y"
    if t.upper() in _NO:
        return "N"
    raise _Bad("is not Y or N")


def _cell(
    df: pd.DataFrame,
    col: str,
    i: int,
    where: str,
    reader: Callable[[Any], Any],
    check: Callable[[Any], None] | None,
    problems: _Problems,
) -> Any:
    """Read one cell (``None`` if the column is absent or the cell blank); report bad ones."""
    if col not in df.columns:
        return None
    raw = df[col].iat[i]
    try:
        x = reader(raw)
        if x is not None and check is not None:
            check(x)
    except _Bad as exc:
        problems.add(f"{where} field {col!r}: {raw!r} {exc}")
        raise
    return x


# -- the event record -------------------------------------------------------------------
@dataclass
class _Event:
    row: int
    usubjid: str
    arm: str
    term: str | None
    category: str | None
    grade: int | None
    start: int | None
    end: int | None
    duration: int | None
    related: bool | None
    arel: str | None
    lab: bool | None
    facts: dict[str, Any]
    unmatched: str | None = None  # HAEM_HINTS stem of a term not in dlt_terms


@dataclass
class _Verdict:
    met: str | None  # rule whose criteria the event meets (window and relatedness aside)
    outcome: str
    reason: str
    missing: tuple[str, ...] = ()  # blank facts that make it a query


def _query(met: str | None, missing: tuple[str, ...], reason: str) -> _Verdict:
    return _Verdict(met, "query", f"query: {reason}", tuple(dict.fromkeys(missing)))


def _check_rule(rule: DLTRule, ev: _Event) -> tuple[bool, int, str, list[str]]:
    """(fires, checks passed, failure reason, missing facts) of one applicable rule."""
    passed = 0
    g = ev.grade
    assert g is not None
    if not rule.grade_min <= g <= rule.grade_max:
        span = (f"grade {rule.grade_min}" if rule.grade_min == rule.grade_max
                else f"grades {rule.grade_min}-{rule.grade_max}")  # fmt: skip
        return False, 0, f"grade: grade {g} ({rule.name} needs {span})", []
    passed += int((rule.grade_min, rule.grade_max) != (1, 5))
    if rule.min_duration_days is not None:
        if ev.duration is None:
            return False, passed, "", ["AENDY (ongoing event; pass cutoff_day)"]
        if ev.duration < rule.min_duration_days:
            return (
                False,
                passed,
                (f"duration: {ev.duration} days < {rule.min_duration_days} ({rule.name})"),
                [],
            )
        passed += 1
    if rule.lab_detected is not None:
        if ev.lab is None:
            return False, passed, "", ["LABFL"]
        if ev.lab != rule.lab_detected:
            how = "detected" if ev.lab else "not detected"
            return (
                False,
                passed,
                (
                    f"laboratory: {how} by a laboratory test ({rule.name} needs "
                    f"{'detected' if rule.lab_detected else 'not detected'})"
                ),
                [],
            )
        passed += 1
    missing: list[str] = []
    for c in rule.all_of:
        ok = c.evaluate(ev.facts.get(c.field))
        if ok is None:
            missing.append(c.field)
        elif not ok:
            return False, passed, f"condition: {c.text} not met ({rule.name})", []
    if missing:
        return False, passed, "", missing
    passed += len(rule.all_of)
    if rule.any_of:
        results = [c.evaluate(ev.facts.get(c.field)) for c in rule.any_of]
        if not any(r is True for r in results):
            unknown = [c.field for c, r in zip(rule.any_of, results, strict=True) if r is None]
            if unknown:
                return False, passed, "", unknown
            texts = " or ".join(c.text for c in rule.any_of)
            return False, passed, f"condition: none of {texts} ({rule.name})", []
    return True, passed + 1, "", []


def _criteria(rules: tuple[DLTRule, ...], ev: _Event) -> _Verdict:
    """Which rule's criteria the event meets, or why none does (window/relatedness aside)."""
    v = _criteria_known_term(rules, ev)
    if ev.unmatched is None:
        return v
    text = (
        f"AEDECOD {ev.term!r} looks haematological ({ev.unmatched!r}) but matches no term of "
        "the protocol's dlt_terms (nor a synonym, bayes_dose.dlt_rules.TERM_SYNONYMS)"
    )
    if v.outcome in ("dlt", "query"):
        return _query(None, ("AEDECOD", *v.missing),
                      f"{text}; read as non-haematological it would be: {v.reason}; add the "
                      "term to dlt_terms or correct it")  # fmt: skip
    return _Verdict(v.met, v.outcome, f"{v.reason} (note: {text}; read as non-haematological)")


def _criteria_known_term(rules: tuple[DLTRule, ...], ev: _Event) -> _Verdict:
    if ev.term is None:
        return _query(None, ("AEDECOD",), "missing fact: AEDECOD (the term classifies the event)")
    if ev.grade is None:
        return _query(None, ("ATOXGR",), "missing fact: ATOXGR")
    best: tuple[int, str] | None = None
    missing: dict[str, list[str]] = {}
    grade_mins: list[int] = []
    for rule in rules:
        if not rule.applies(ev.category):
            continue
        fires, passed, why, unknown = _check_rule(rule, ev)
        if fires:
            return _Verdict(rule.name, "dlt", rule.name)
        if unknown:
            missing.setdefault(rule.name, unknown)
        elif why.startswith("grade:"):
            grade_mins.append(rule.grade_min)
        elif best is None or passed > best[0]:
            best = (passed, why)
    if missing:
        text = "; ".join(f"{', '.join(dict.fromkeys(f))} ({r})" for r, f in missing.items())
        facts = tuple(f for fs in missing.values() for f in fs)
        return _query(None, facts, f"missing fact: {text}")
    what = ev.category or "non-haematological"
    if grade_mins and (best is None or best[0] == 0):
        # no rule got past a real check: the grade is the reason
        low = min(grade_mins)
        text = (
            f"grade {ev.grade} < {low}, the lowest DLT grade for {what} events"
            if ev.grade < low
            else f"grade {ev.grade} {what} event matches no rule's grades"
        )
        return _Verdict(None, "grade", f"grade: {text}")  # fmt: skip
    if best is None:
        return _Verdict(None, "no_rule", f"no DLT rule covers {what} events")
    return _Verdict(None, best[1].split(":", 1)[0], best[1])


def _adjudicate_event(rules: tuple[DLTRule, ...], ev: _Event, window: int) -> _Verdict:
    crit = _criteria(rules, ev)
    meets = f"; meets {crit.met}" if crit.met else ""
    if ev.start is not None and ev.start < 1:
        return _Verdict(
            crit.met, "outside_window",
            f"outside DLT window: onset day {ev.start} is before the first dose{meets}",
        )  # fmt: skip
    if ev.start is not None and ev.start > window:
        return _Verdict(
            crit.met, "outside_window",
            f"outside DLT window (onset day {ev.start}, window days 1-{window}){meets}"
            + (": informs RP2D, not escalation" if crit.met else ""),
        )  # fmt: skip
    possible = crit.outcome in ("dlt", "query")  # a DLT for some value of the blank facts
    # a grade >= 2 event whose causality or onset is blank may be a grade-2 toxicity
    g2 = "; grade-2 toxicity status unknown" if (ev.grade or 0) >= 2 else ""
    if ev.start is None:
        if not possible:
            note = g2 if ev.related is not False else ""
            return _Verdict(crit.met, crit.outcome, f"{crit.reason} (ASTDY blank{note})")
        more = f"; also {crit.reason}" if crit.outcome == "query" else meets
        return _query(crit.met, ("ASTDY", *crit.missing), f"missing fact: ASTDY{more}")
    if ev.related is False:
        return _Verdict(crit.met, "unrelated", f"unrelated (AREL {ev.arel}){meets}")
    if ev.related is None:
        if not possible:
            return _Verdict(crit.met, crit.outcome, f"{crit.reason} (AREL blank{g2})")
        more = f"; also {crit.reason}" if crit.outcome == "query" else meets
        return _query(crit.met, ("AREL", *crit.missing), f"missing fact: AREL{more}")
    return crit


# -- validation -------------------------------------------------------------------------
def _rename(df: pd.DataFrame, columns: Mapping[str, str] | None) -> pd.DataFrame:
    df.columns = [str(c) for c in df.columns]
    if columns:
        df = df.rename(columns={k: v for k, v in columns.items() if k in df.columns})
    dup = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dup:
        raise ValueError(f"duplicate column name(s) {dup} (after renaming with columns=)")
    for std, alt in _ALIASES.items():
        if std not in df.columns and alt in df.columns:
            df = df.rename(columns={alt: std})
    return df.reset_index(drop=True)


def _required_ae_columns(rules: tuple[DLTRule, ...], ae: pd.DataFrame) -> None:
    need: dict[str, list[str]] = {c: [] for c in ("USUBJID", "AEDECOD", "ATOXGR", "ASTDY", "AREL")}
    for r in rules:
        if r.min_duration_days is not None and "ADURN" not in ae.columns:
            need.setdefault("AENDY", []).append(r.name)
        if r.lab_detected is not None:
            need.setdefault("AESOC", []).append(r.name)
            need.setdefault("LABFL", []).append(r.name)
        for f in r.facts:
            need.setdefault(f, []).append(r.name)
    missing = [c for c in need if c not in ae.columns]
    if missing:
        parts = [
            f"{c} (needed by {', '.join(dict.fromkeys(need[c]))})" if need[c] else c
            for c in missing
        ]
        raise ValueError(
            f"AE listing: missing column(s): {'; '.join(parts)}; present: "
            f"{', '.join(map(str, ae.columns))} (rename with columns=)"
        )


@dataclass
class _Subject:
    usubjid: str
    arm: str
    level: int
    dose_mg: float
    extra: dict[str, float]


def _subjects(
    df: pd.DataFrame, protocol: Protocol, problems: _Problems, loc: Callable[[int], str]
) -> list[_Subject]:
    missing = [c for c in ("USUBJID", "ARM", "DOSE") if c not in df.columns]
    if missing:
        raise ValueError(
            f"subject table: missing column(s): {', '.join(missing)}; present: "
            f"{', '.join(map(str, df.columns))} (rename with columns=)"
        )
    out: list[_Subject] = []
    seen: dict[str, int] = {}
    for i in range(len(df)):
        uid = _text(df["USUBJID"].iat[i])
        where = f"subject row {i} ({loc(i)}USUBJID={uid!r})"
        if uid is None:
            problems.add(f"subject row {i}{f' ({loc(i)[:-2]})' if loc(i) else ''} field "
                         "'USUBJID': missing")  # fmt: skip
            continue
        if _na_codes(df, i, where, problems):
            continue
        if uid in seen:
            problems.add(f"{where} field 'USUBJID': duplicate of subject row {seen[uid]}")
            continue
        seen[uid] = i
        arm = _text(df["ARM"].iat[i])
        if arm not in protocol.arm_names:
            problems.add(
                f"{where} field 'ARM': unknown arm {df['ARM'].iat[i]!r}; "
                f"protocol arms: {', '.join(protocol.arm_names)}"
            )
            continue
        raw = df["DOSE"].iat[i]
        try:
            dose = _num(raw)
            if dose is None:
                raise _Bad("is missing")
            level = protocol.arm(arm).level_of(dose)
        except _Bad as exc:
            problems.add(f"{where} field 'DOSE': {raw!r} {exc}")
            continue
        except ValueError:
            problems.add(
                f"{where} field 'DOSE': no dose level of {raw!r} mg in arm {arm!r} "
                f"(doses: {', '.join(f'{d:g}' for d in protocol.arm(arm).doses_mg)})"
            )
            continue
        extra: dict[str, float] = {}
        bad = False
        for col, target in _SUBJECT_OPTIONAL.items():
            if col not in df.columns:
                continue
            raw = df[col].iat[i]
            try:
                x = _int(raw) if col == "COHORT" else _num(raw)
                if x is not None and (x < 1 if col == "COHORT" else x < 0):
                    raise _Bad("is out of range")
            except _Bad as exc:
                problems.add(f"{where} field {col!r}: {raw!r} {exc}")
                bad = True
                continue
            if x is None and col == "COHORT":
                problems.add(f"{where} field 'COHORT': missing")
                bad = True
                continue
            if x is not None:
                extra[target] = x
        if not bad:
            out.append(_Subject(uid, arm, level, protocol.arm(arm).doses_mg[level - 1], extra))
    return out


def _coalesce(
    df: pd.DataFrame, problems: _Problems, where: Callable[[int], str]
) -> pd.DataFrame:
    """Where both a standard column and its alias (``ATOXGR``/``AETOXGR``,
    ``AREL``/``AEREL``) are present, a blank standard cell takes the alias's value; two
    different filled values are an error."""
    for std, alt in _ALIASES.items():
        if std not in df.columns or alt not in df.columns:
            continue
        col = df[std].astype(object).copy()
        for i in range(len(df)):
            a, b = df[std].iat[i], df[alt].iat[i]
            if _missing(b):
                continue
            if _missing(a):
                col.iat[i] = b
                continue
            ta, tb = _text(a), _text(b)
            same = ta == tb
            if not same and ta is not None and tb is not None:
                try:
                    same = float(ta) == float(tb)
                except ValueError:
                    same = " ".join(ta.upper().split()) == " ".join(tb.upper().split())
            if not same:
                problems.add(
                    f"{where(i)} field {std!r}: {a!r} disagrees with {alt} {b!r}; keep one "
                    "of the two columns or make them agree"
                )
        df[std] = col
    return df


def _ae_where(ae: pd.DataFrame, loc: Callable[[int], str]) -> Callable[[int], str]:
    def where(i: int) -> str:
        uid = _text(ae["USUBJID"].iat[i]) if "USUBJID" in ae.columns else None
        return f"AE row {i} ({loc(i)}USUBJID={uid!r})"

    return where


def _events(
    ae: pd.DataFrame,
    arms: dict[str, str],
    terms: dict[str, str],
    cutoffs: Mapping[str, int],
    problems: _Problems,
    loc: Callable[[int], str],
    followups: Mapping[str, float],
    window: float,
) -> list[_Event]:
    """The AE rows as events; ``cutoffs`` holds each subject's study day of the data
    cut-off (absent: no cut-off), ``followups`` each subject's recorded DLT follow-up."""
    out: list[_Event] = []
    for i in range(len(ae)):
        uid = _text(ae["USUBJID"].iat[i])
        where = _ae_where(ae, loc)(i)

        def get(col: str, reader: Callable, check: Callable | None = None) -> Any:
            return _cell(ae, col, i, where, reader, check, problems)  # noqa: B023

        def grade_range(x: int) -> None:
            if not 1 <= x <= 5:
                raise _Bad("is not a CTCAE grade 1-5")

        def study_day(x: int) -> None:
            if x == 0:
                raise _Bad("is not a study day (there is no day 0; day 1 = first dose)")

        def positive(x: int) -> None:
            if x < 1:
                raise _Bad("is not a duration >= 1 day")

        n_before = len(problems.items)
        if uid is None:
            problems.add(f"AE row {i}{f' ({loc(i)[:-2]})' if loc(i) else ''} field "
                         "'USUBJID': missing")  # fmt: skip
            continue
        if _na_codes(ae, i, where, problems):
            continue
        if uid not in arms:
            problems.add(f"{where} field 'USUBJID': unknown subject {uid!r} (not in subject table)")
            continue

        def get_int(col: str, check: Callable) -> int | None:
            """The integer cell, or None when it is bad (already recorded as a problem)."""
            try:
                return get(col, _int, check)
            except _Bad:
                return None

        grade = get_int("ATOXGR", grade_range)
        start = get_int("ASTDY", study_day)
        end = get_int("AENDY", study_day)
        durn = get_int("ADURN", positive)
        rel_raw = _text(ae["AREL"].iat[i])
        related: bool | None = None
        if rel_raw is not None:
            key = " ".join(rel_raw.upper().split())
            if key in RELATED:
                related = True
            elif key in NOT_RELATED:
                related = False
            else:
                problems.add(
                    f"{where} field 'AREL': unknown relationship {rel_raw!r}; expected one of "
                    f"{', '.join(sorted(RELATED | NOT_RELATED))}"
                )
        facts: dict[str, Any] = {}
        for f in FLAG_FACTS:
            try:
                facts[f] = get(f, _flag)
            except _Bad:
                pass
        for f, (lo, hi) in NUMERIC_FACTS.items():

            def in_range(x: float, lo: float = lo, hi: float = hi) -> None:
                if not lo <= x <= hi:
                    raise _Bad(f"is outside {lo:g}..{hi:g}")

            try:
                facts[f] = get(f, _num, in_range)
            except _Bad:
                pass
        if start is not None and end is not None and end < start:
            problems.add(f"{where} field 'AENDY': end day {end} is before onset day {start}")
        cutoff_day = cutoffs.get(uid) if uid is not None else None
        fu = followups.get(uid) if uid is not None else None
        if start is not None and cutoff_day is not None and cutoff_day < start:
            problems.add(
                f"{where} field 'ASTDY': onset day {start} is after the data cut-off (the "
                f"subject's study day {cutoff_day}{' (ongoing event)' if end is None else ''})"
            )
        if start is not None and fu is not None and fu < start <= window:
            problems.add(
                f"{where} field 'ASTDY': onset day {start} is after the subject's recorded DLT "
                f"follow-up (DLTFUDY {fu:g} days): the subject was followed at least to day "
                f"{start}"
            )
        duration: int | None = None
        if start is not None:
            if end is not None:
                duration = end - start + 1
            elif durn is not None:
                duration = durn
            elif cutoff_day is not None:
                duration = cutoff_day - start + 1
        soc = _text(ae["AESOC"].iat[i]) if "AESOC" in ae.columns else None
        lab = facts.get("LABFL")
        if soc is not None and soc.casefold() == "investigations":
            # an event coded under Investigations is a laboratory finding
            if lab == "N":
                problems.add(
                    f"{where} field 'LABFL': 'N' (not laboratory-detected) contradicts AESOC "
                    f"{soc!r} (an Investigations term is a laboratory finding); correct "
                    "one of the two"
                )
            lab = "Y"
        if len(problems.items) > n_before:
            continue
        term = _text(ae["AEDECOD"].iat[i])
        category = match_term(term, terms)
        unmatched = looks_haematological(term) if category is None else None
        out.append(
            _Event(
                row=i,
                usubjid=uid,
                arm=arms[uid],
                term=term,
                category=category,
                grade=grade,
                start=start,
                end=end,
                duration=duration,
                related=related,
                arel=rel_raw,
                lab=None if lab is None else lab == "Y",
                facts=facts,
                unmatched=unmatched,
            )
        )
    return out


def _cutoffs(
    subj: list[_Subject],
    cutoff_day: int | None,
    calendar_day: int | None,
    problems: _Problems,
) -> dict[str, int]:
    """Each subject's study day of the data cut-off (empty: no cut-off)."""
    enrol = {s.usubjid: s.extra.get("enroll_day") for s in subj}
    if cutoff_day is not None:
        days = sorted({float(v) for v in enrol.values() if v is not None and not _missing(v)})
        if days and days != [1.0]:
            raise ValueError(
                f"adjudicate_dlt: cutoff_day {cutoff_day} is a study day (day 1 = a subject's "
                f"first dose), but the subject table gives enrolment days on the trial calendar "
                f"(ENRLDY {days[0]:g} to {days[-1]:g}): a study day would mean a different date "
                "for each subject, and a trial-calendar day given as cutoff_day would be read "
                "as a study day; give cutoff_calendar_day (the cut-off on the ENRLDY calendar)"
            )
        return {s.usubjid: int(cutoff_day) for s in subj}
    if calendar_day is None:
        return {}
    out: dict[str, int] = {}
    for s in subj:
        e = enrol[s.usubjid]
        if e is None or _missing(e):
            raise ValueError(
                f"adjudicate_dlt: cutoff_calendar_day needs every subject's ENRLDY; subject "
                f"{s.usubjid!r} has none"
            )
        day = int(calendar_day - int(e) + 1)
        if day < 1:
            problems.add(
                f"subject {s.usubjid!r} field 'ENRLDY': enrolled on trial day {int(e)}, after "
                f"the data cut-off (cutoff_calendar_day {calendar_day})"
            )
        out[s.usubjid] = day
    return out


# -- the public function ----------------------------------------------------------------
def adjudicate_dlt(
    ae: pd.DataFrame | str | os.PathLike,
    subjects: pd.DataFrame | str | os.PathLike,
    protocol: Protocol,
    cutoff_day: int | None = None,
    errors: Literal["raise", "collect"] = "raise",
    columns: Mapping[str, str] | None = None,
    cutoff_calendar_day: int | None = None,
) -> tuple[Outcomes, pd.DataFrame]:
    """Adjudicate dose-limiting toxicities from an adverse-event listing.

    An event is a DLT when its onset is in the DLT window (study days
    ``1..protocol.dlt_window_days``), it is at least possibly related to the study drug
    (``AREL`` in :data:`RELATED`) and it meets one of ``protocol.dlt_rules`` (tried in
    order; the first that fires is named).  Haematological events are recognised by
    preferred term through ``protocol.dlt_terms``.

    Parameters
    ----------
    ae : DataFrame or path
        ADAE-like listing (``.csv`` or SAS transport ``.xpt``), one row per event:
        ``USUBJID``, ``AEDECOD``, ``ATOXGR`` (or ``AETOXGR``; 1-5), ``ASTDY`` (day 1 =
        first dose), ``AREL`` (or ``AEREL``), ``AENDY`` (blank = ongoing) or ``ADURN``,
        and the facts the rules read (``AESOC``, ``LABFL``, ``AESHOSP``, ``BLEEDGR``,
        ``TRANSFFL``, ``INFECTFL``, ``FEVERFL``, ``INTERVFL``, ``C2DELAY``).
    subjects : DataFrame or path
        ADSL-like table, one row per treated subject: ``USUBJID``, ``ARM`` (an arm of the
        protocol), ``DOSE`` (mg, a dose of that arm); optional ``COHORT``, ``ENRLDY``
        (enrolment day on the trial calendar), ``DLTFUDY`` (days of DLT follow-up).
    protocol : Protocol
        Supplies the arms' doses, the DLT window, rules and term mapping.
    cutoff_day : int, optional
        Study day of the data cut-off, the same for every subject (a subject table with
        ``ENRLDY`` other than 1 needs ``cutoff_calendar_day``): an
        ongoing event (blank ``AENDY``) lasts ``cutoff_day - ASTDY + 1`` days.  Without a
        cut-off, an ongoing event's duration is an unknown fact.  When ``DLTFUDY`` is
        absent it also sets follow-up to ``min(cutoff_day, window)`` days.  An event with
        onset after the cut-off is an error.
    errors : {"raise", "collect"}
        ``"raise"``: the first impossible value raises; ``"collect"``: one
        :class:`AdjudicationError` listing every bad row.
    columns : mapping, optional
        Renames input columns to the standard names, e.g. ``{"AETOXGRN": "ATOXGR"}``
        (applied to both tables).
    cutoff_calendar_day : int, optional
        Day of the data cut-off on the trial calendar of ``ENRLDY`` (required in the
        subject table): subject ``s`` is at study day ``cutoff_calendar_day - ENRLDY_s +
        1`` then, which serves as its ``cutoff_day`` (ongoing events, and follow-up
        ``min(that, window)`` when ``DLTFUDY`` is absent).  A subject enrolled after the
        cut-off is an error.  Not with ``cutoff_day``.

    Returns
    -------
    outcomes : Outcomes
        One patient per subject, in subject-table order (``dlt`` = 1 if any DLT event,
        else unknown (``<NA>``) if any event is a query, else 0; ``dlt_day`` = the onset
        day ``ASTDY`` of the earliest DLT event (NaN without DLT); ``grade2`` = 1 if any
        related grade >= 2 event in the window, else unknown (``<NA>``) if an event of
        grade >= 2 has blank causality or onset, or an event has a blank grade, and nothing
        else rules it out (for a grade >= 2 event the audit's ``rule`` says "grade-2
        toxicity status unknown"), else 0).
    audit : DataFrame
        One row per AE row (columns :data:`AUDIT_COLUMNS`): ``is_dlt``, ``rule`` (the
        rule that fired, or the reason it did not), ``outcome`` (a code from
        :data:`OUTCOMES`) and ``criteria_met`` (the rule met window and relatedness
        aside: events outside the window that meet it inform the RP2D, not escalation)
        and ``query`` (the blank facts of an event whose outcome is ``"query"``: it would
        be a DLT for some value of them).

    Raises
    ------
    AdjudicationError
        (a ``ValueError``) for impossible values: grade outside 1-5, end before onset,
        unknown subject, arm or dose, unreadable flags or numbers; naming row and field.
    ValueError
        For missing columns (listing them and the rules that need them) or bad arguments.
        Rows are named by their 0-based position in the table (the audit's ``row``) and,
        for CSV files, by their file line (header = line 1).  Missing-value codes written
        into cells (``NA``, ``NULL``, ``#N/A``, ...) are errors, in files and DataFrames.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> out, audit = bd.adjudicate_dlt(
    ...     bd.examples.bat6021_ae(), bd.examples.bat6021_adsl(), bd.protocols.bat6021())
    >>> out.arm("mono").counts()["dlt"].tolist()
    [0, 0, 0, 0, 0, 1, 2, 0]
    >>> audit.loc[audit.is_dlt, "rule"].tolist()[:2]
    ['nonhaem_g3_clinical', 'thrombocytopenia_g4_7d']
    """
    if errors not in ("raise", "collect"):
        raise ValueError(f"adjudicate_dlt: errors must be 'raise' or 'collect', got {errors!r}")
    if not isinstance(protocol, Protocol):
        raise ValueError(
            f"adjudicate_dlt: protocol must be a Protocol, got {type(protocol).__name__}"
        )
    for name, day in (("cutoff_day", cutoff_day), ("cutoff_calendar_day", cutoff_calendar_day)):
        if day is not None and (
            isinstance(day, bool) or not isinstance(day, (int, np.integer)) or day < 1
        ):  # fmt: skip
            raise ValueError(f"adjudicate_dlt: {name} must be a day >= 1, got {day!r}")
    if cutoff_day is not None and cutoff_calendar_day is not None:
        raise ValueError(
            "adjudicate_dlt: give cutoff_day (a study day) or cutoff_calendar_day (a day of "
            "the ENRLDY calendar), not both"
        )
    if columns is not None and (
        not isinstance(columns, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items())
    ):
        raise ValueError("adjudicate_dlt: columns must map input names to standard names (str)")
    rules = parse_dlt_rules(protocol.dlt_rules, protocol.dlt_terms)
    if not rules:
        raise ValueError(f"adjudicate_dlt: protocol {protocol.name!r} has no dlt_rules")
    terms = validate_dlt_terms(protocol.dlt_terms)
    ae_raw, ae_lines, ae_name = _read(ae, "AE listing")
    subj_raw, subj_lines, subj_name = _read(subjects, "subject table")
    ae_df = _rename(ae_raw, columns)
    subj_df = _rename(subj_raw, columns)
    _required_ae_columns(rules, ae_df)
    ae_loc, subj_loc = _locator(ae_lines, ae_name), _locator(subj_lines, subj_name)

    problems = _Problems(errors)
    ae_df = _coalesce(ae_df, problems, _ae_where(ae_df, ae_loc))
    subj = _subjects(subj_df, protocol, problems, subj_loc)
    arms = {s.usubjid: s.arm for s in subj}
    for i in range(len(subj_df)):  # a bad subject row is reported once, not per event
        uid = _text(subj_df["USUBJID"].iat[i])
        if uid is not None:
            arms.setdefault(uid, "")
    window = protocol.dlt_window_days
    cutoffs = _cutoffs(subj, cutoff_day, cutoff_calendar_day, problems)
    followups = {s.usubjid: s.extra["followup_days"] for s in subj if "followup_days" in s.extra
                 and not _missing(s.extra["followup_days"])}  # fmt: skip
    events = _events(ae_df, arms, terms, cutoffs, problems, ae_loc, followups, window)
    problems.check()

    rows = []
    for ev in events:
        v = _adjudicate_event(rules, ev, window)
        rows.append({
            "row": ev.row, "USUBJID": ev.usubjid, "ARM": ev.arm, "AEDECOD": ev.term,
            "category": ev.category or "non-haematological", "ATOXGR": ev.grade,
            "ASTDY": ev.start, "AENDY": ev.end, "duration_days": ev.duration,
            "related": ev.related,
            "in_window": None if ev.start is None else bool(1 <= ev.start <= window),
            "criteria_met": v.met, "is_dlt": v.outcome == "dlt", "outcome": v.outcome,
            "rule": v.reason, "query": ", ".join(v.missing) if v.missing else None,
        })  # fmt: skip
    audit = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    for c in ("row", "ATOXGR", "ASTDY", "AENDY", "duration_days"):
        audit[c] = audit[c].astype("Int64")
    for c in ("related", "in_window"):
        audit[c] = audit[c].astype("boolean")
    audit["is_dlt"] = audit["is_dlt"].astype(bool)

    dlt_ids = set(audit.loc[audit["is_dlt"], "USUBJID"])
    query_ids = set(audit.loc[audit["outcome"] == "query", "USUBJID"]) - dlt_ids
    # grade2 is three-valued like dlt: a grade >= 2 event is a grade-2 toxicity when related
    # and in the window; with its causality, onset or grade blank (and none of them ruling
    # it out) the patient's grade-2 status is unknown unless another event decides it
    rel, inside, grade = audit["related"], audit["in_window"], audit["ATOXGR"]
    g2 = (rel.fillna(False) & inside.fillna(False) & (grade.fillna(0) >= 2)).astype(bool)
    maybe = (rel.fillna(True) & inside.fillna(True) & (grade.fillna(2) >= 2)).astype(bool)
    g2_ids = set(audit.loc[g2, "USUBJID"])
    g2_unknown = set(audit.loc[maybe & ~g2, "USUBJID"]) - g2_ids
    # the DLT day: onset (ASTDY) of the patient's earliest DLT event (in the window)
    dlt_day = audit.loc[audit["is_dlt"]].groupby("USUBJID")["ASTDY"].min()
    frame = pd.DataFrame({
        "patient_id": [s.usubjid for s in subj],
        "arm": [s.arm for s in subj],
        "dose_level": [s.level for s in subj],
        "dose_mg": [s.dose_mg for s in subj],
        "dlt": [1 if s.usubjid in dlt_ids else "unknown" if s.usubjid in query_ids else 0
                for s in subj],
        "grade2": [1 if s.usubjid in g2_ids else "unknown" if s.usubjid in g2_unknown else 0
                   for s in subj],
        "dlt_day": [float(dlt_day[s.usubjid]) if s.usubjid in dlt_ids else np.nan
                    for s in subj],
    })  # fmt: skip
    for target in _SUBJECT_OPTIONAL.values():
        if any(target in s.extra for s in subj):
            frame[target] = [s.extra.get(target, np.nan) for s in subj]
    if "followup_days" not in frame.columns and cutoffs:
        frame["followup_days"] = [float(min(cutoffs[s.usubjid], window)) for s in subj]
    return Outcomes.from_frame(frame, protocol=protocol), audit
