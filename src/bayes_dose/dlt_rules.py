"""The protocol's DLT definition as data: rule schema, parsing and validation.

A protocol carries ``dlt_rules`` (a tuple of plain dicts, TOML tables) and ``dlt_terms``
(MedDRA preferred term -> haematological category).  This module turns them into
:class:`DLTRule` objects and checks them, with errors naming the rule and the key;
:mod:`bayes_dose.dlt` applies them to an adverse-event listing.

Rule keys
---------
``name``
    Unique identifier (letters, digits, ``_``), shown in the audit trail.
``description``
    Protocol wording (free text).
``applies_to``
    ``"any"``, ``"non-haematological"``, ``"haematological"`` or
    ``"haematological:<category>"`` (a category of ``dlt_terms``); a string or a list.
``grade_min``, ``grade_max``
    CTCAE grade range, inclusive (defaults 1 and 5).
``min_duration_days``
    Event duration ``AENDY - ASTDY + 1`` must be at least this.
``lab_detected``
    ``true``: only events detected by a laboratory test (``LABFL = Y`` or SOC
    "Investigations"); ``false``: only events not so detected.
``all_of``, ``any_of``
    Conditions on the event's facts, e.g. ``"BLEEDGR >= 2"``, ``"TRANSFFL = Y"``,
    ``"C2DELAY > 14"``: every one of ``all_of`` and at least one of ``any_of`` must hold.

Every rule applies only to events within the DLT window and at least possibly related to
the study drug; those two gates belong to the protocol, not to single rules.

Matching preferred terms
------------------------
An event's ``AEDECOD`` is matched to ``dlt_terms`` case-insensitively, ignoring repeated
blanks and British/American spelling (``ae``/``e``, ``haem``/``hem``: "Thrombocytopaenia"
matches "Thrombocytopenia"), then through :data:`TERM_SYNONYMS` (verbatim and lay
variants, e.g. "Platelets decreased" -> "Platelet count decreased").  A term that still
matches nothing but looks haematological (it contains a word of :data:`HAEM_HINTS`, such
as "platelet" or "neutro") is reported as unmatched (the event becomes a query), never
silently treated as non-haematological.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FLAG_FACTS",
    "HAEM_HINTS",
    "NUMERIC_FACTS",
    "TERM_SYNONYMS",
    "Condition",
    "DLTRule",
    "looks_haematological",
    "match_term",
    "parse_dlt_rules",
    "validate_dlt_terms",
]

#: Y/N facts a condition may test.
FLAG_FACTS = ("AESHOSP", "TRANSFFL", "INFECTFL", "FEVERFL", "INTERVFL", "LABFL")
#: Numeric facts a condition may test, with their allowed range.
NUMERIC_FACTS: dict[str, tuple[float, float]] = {
    "BLEEDGR": (0, 5),  # grade of associated bleeding (0 = none)
    "C2DELAY": (0, float("inf")),  # days cycle 2 was delayed by this toxicity
}

#: Variants of haematological preferred terms -> the MedDRA preferred term they stand for
#: (matched like ``dlt_terms``: case, blanks and ae/e, haem/hem spelling ignored).  A
#: synonym counts only when the protocol's ``dlt_terms`` map its preferred term.
TERM_SYNONYMS: dict[str, str] = {
    "Platelets decreased": "Platelet count decreased",
    "Platelet decreased": "Platelet count decreased",
    "Low platelets": "Platelet count decreased",
    "Low platelet count": "Platelet count decreased",
    "Decreased platelet count": "Platelet count decreased",
    "Thrombopenia": "Thrombocytopenia",
    "Neutrophils decreased": "Neutrophil count decreased",
    "Neutrophil decreased": "Neutrophil count decreased",
    "Decreased neutrophil count": "Neutrophil count decreased",
    "ANC decreased": "Neutrophil count decreased",
    "Absolute neutrophil count decreased": "Neutrophil count decreased",
    "Neutropenic fever": "Febrile neutropenia",
    "Haemoglobin low": "Haemoglobin decreased",
    "Low haemoglobin": "Haemoglobin decreased",
    "Decreased haemoglobin": "Haemoglobin decreased",
}
#: Word stems that mark a term as haematological (an unmatched such term is a query).
HAEM_HINTS = (
    "platelet", "thrombocyt", "thrombopen", "neutro", "anaemi", "anemi", "haemoglobin",
    "hemoglobin", "leuko", "leuco", "lymphopen", "lymphocyte count", "white blood cell",
    "pancytopen", "cytopen", "granulocyt", "agranulocyt", "febrile neutrop", "bone marrow",
)  # fmt: skip

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "==": operator.eq, "=": operator.eq, "!=": operator.ne,
}  # fmt: skip
_COND = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(>=|<=|==|!=|=|>|<)\s*(\S+)\s*$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_KEYS = {
    "name", "description", "applies_to", "grade_min", "grade_max", "min_duration_days",
    "lab_detected", "all_of", "any_of",
}  # fmt: skip


@dataclass(frozen=True)
class Condition:
    """A test on one fact of an event, e.g. ``BLEEDGR >= 2``."""

    field: str
    op: str
    value: float | str
    text: str

    def evaluate(self, fact: float | str | None) -> bool | None:
        """True/False, or ``None`` when the fact is missing."""
        if fact is None:
            return None
        return bool(_OPS[self.op](fact, self.value))


@dataclass(frozen=True)
class DLTRule:
    """One parsed DLT rule (see the module docstring for the keys)."""

    name: str
    description: str
    applies_to: tuple[str, ...]
    grade_min: int
    grade_max: int
    min_duration_days: int | None
    lab_detected: bool | None
    all_of: tuple[Condition, ...]
    any_of: tuple[Condition, ...]

    @property
    def facts(self) -> tuple[str, ...]:
        """Fact columns the rule's conditions read."""
        return tuple(dict.fromkeys(c.field for c in (*self.all_of, *self.any_of)))

    def applies(self, category: str | None) -> bool:
        """Whether the rule covers an event of haematological ``category`` (None = non-haem)."""
        for target in self.applies_to:
            if target == "any":
                return True
            if target == "non-haematological" and category is None:
                return True
            if target == "haematological" and category is not None:
                return True
            if category is not None and target == f"haematological:{category}":
                return True
        return False


def _condition(text: Any, where: str) -> Condition:
    if not isinstance(text, str):
        raise ValueError(f"{where}: condition {text!r} must be a string such as 'BLEEDGR >= 2'")
    m = _COND.match(text)
    if not m:
        raise ValueError(
            f"{where}: cannot read condition {text!r}; expected 'FIELD OP VALUE', "
            "e.g. 'BLEEDGR >= 2' or 'TRANSFFL = Y'"
        )
    field, op, raw = m.group(1).upper(), m.group(2), m.group(3)
    if field in FLAG_FACTS:
        if op not in ("=", "==", "!="):
            raise ValueError(f"{where}: condition {text!r}: flag {field} takes = or != only")
        value = raw.upper()
        if value not in ("Y", "N"):
            raise ValueError(f"{where}: condition {text!r}: flag {field} is compared to Y or N")
        return Condition(field, op, value, text)
    if field in NUMERIC_FACTS:
        try:
            num = float(raw)
        except ValueError:
            raise ValueError(f"{where}: condition {text!r}: {raw!r} is not a number") from None
        return Condition(field, op, num, text)
    known = ", ".join((*FLAG_FACTS, *NUMERIC_FACTS))
    raise ValueError(f"{where}: unknown condition field {field!r} in {text!r}; known: {known}")


def _int(value: Any, where: str, key: str, lo: int, hi: float) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{where}: {key!r} must be an integer in {lo}..{hi:g}, got {value!r}")
    return value


def _rule(data: Mapping[str, Any], i: int, categories: set[str]) -> DLTRule:
    name = data.get("name") if isinstance(data, Mapping) else None
    where = f"dlt_rules[{i}]" + (f" ({name!r})" if name else "")
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: a rule is a table of keys, got {type(data).__name__}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(_KEYS)}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{where}: 'name' must be an identifier (letters, digits, _), got {name!r}"
        )
    targets = data.get("applies_to", "any")
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    if not targets:
        raise ValueError(f"{where}: 'applies_to' is empty")
    for t in targets:
        ok = t in ("any", "non-haematological", "haematological")
        if isinstance(t, str) and t.startswith("haematological:"):
            ok = t.split(":", 1)[1] in categories
            if not ok:
                raise ValueError(
                    f"{where}: 'applies_to' {t!r}: unknown haematological category; "
                    f"dlt_terms define {sorted(categories)}"
                )
        if not ok:
            raise ValueError(
                f"{where}: 'applies_to' {t!r} must be 'any', 'non-haematological', "
                "'haematological' or 'haematological:<category>'"
            )
    gmin = _int(data.get("grade_min", 1), where, "grade_min", 1, 5)
    gmax = _int(data.get("grade_max", 5), where, "grade_max", 1, 5)
    if gmin > gmax:
        raise ValueError(f"{where}: bad grade range: grade_min {gmin} > grade_max {gmax}")
    dur = data.get("min_duration_days")
    if dur is not None:
        dur = _int(dur, where, "min_duration_days", 1, float("inf"))
    lab = data.get("lab_detected")
    if lab is not None and not isinstance(lab, bool):
        raise ValueError(f"{where}: 'lab_detected' must be true or false, got {lab!r}")
    conds = {}
    for key in ("all_of", "any_of"):
        items = data.get(key, ())
        if isinstance(items, str) or not isinstance(items, Sequence):
            raise ValueError(f"{where}: {key!r} must be a list of conditions, got {items!r}")
        conds[key] = tuple(_condition(c, where) for c in items)
    return DLTRule(
        name=name, description=str(data.get("description", "")), applies_to=targets,
        grade_min=gmin, grade_max=gmax, min_duration_days=dur, lab_detected=lab,
        all_of=conds["all_of"], any_of=conds["any_of"],
    )  # fmt: skip


def validate_dlt_terms(terms: Mapping[str, Any]) -> dict[str, str]:
    """Check the term mapping (preferred term -> category); keys are matched case-insensitively."""
    out: dict[str, str] = {}
    for term, cat in terms.items():
        if not isinstance(term, str) or not term.strip():
            raise ValueError(f"dlt_terms: term {term!r} must be a non-empty string")
        if not isinstance(cat, str) or not _NAME.match(cat):
            raise ValueError(
                f"dlt_terms[{term!r}]: category must be an identifier such as 'neutropenia', "
                f"got {cat!r}"
            )
        key = term.strip().casefold()
        if key in out and out[key] != cat:
            raise ValueError(f"dlt_terms: term {term!r} is mapped twice ({out[key]!r}, {cat!r})")
        out[key] = cat
    return out


def parse_dlt_rules(
    rules: Sequence[Mapping[str, Any]], terms: Mapping[str, str]
) -> tuple[DLTRule, ...]:
    """Parse and validate a protocol's rules against its term mapping.

    Examples
    --------
    >>> from bayes_dose.dlt_rules import parse_dlt_rules
    >>> r = parse_dlt_rules([{"name": "g5", "grade_min": 5}], {})
    >>> r[0].grade_min, r[0].applies(None)
    (5, True)
    """
    mapping = validate_dlt_terms(terms)
    categories = set(mapping.values())
    parsed = tuple(_rule(r, i, categories) for i, r in enumerate(rules))
    names = [r.name for r in parsed]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"dlt_rules: duplicate rule name(s) {dup}")
    # a category no rule names (a misspelt one, say) would take its events out of the
    # non-haematological rules without putting them under any haematological one
    named = {t for r in parsed for t in r.applies_to}
    for cat in sorted(categories) if parsed else ():
        if "haematological" not in named and f"haematological:{cat}" not in named:
            term = next(t for t, c in terms.items() if c == cat)
            targeted = sorted(t for t in named if t.startswith("haematological"))
            raise ValueError(
                f"dlt_terms[{term!r}]: category {cat!r} is named by no rule's applies_to "
                f"(the rules name {targeted or 'no haematological category'}); its events "
                "would be judged by the 'any' rules alone"
            )
    return parsed


def _norm(term: str) -> str:
    """A term folded for matching: case, blanks, and British/American spelling."""
    t = " ".join(term.casefold().split())
    return t.replace("haem", "hem").replace("ae", "e").replace("oe", "e")


def match_term(term: str | None, terms: Mapping[str, str]) -> str | None:
    """The haematological category of ``term`` (``None``: not in the protocol's terms).

    ``terms`` is the output of :func:`validate_dlt_terms`.

    Examples
    --------
    >>> from bayes_dose.dlt_rules import match_term, validate_dlt_terms
    >>> t = validate_dlt_terms({"Thrombocytopenia": "thrombocytopenia",
    ...                         "Platelet count decreased": "thrombocytopenia"})
    >>> match_term("Thrombocytopaenia", t), match_term("Platelets decreased", t)
    ('thrombocytopenia', 'thrombocytopenia')
    >>> match_term("Fatigue", t) is None
    True
    """
    if term is None:
        return None
    if term.casefold() in terms:
        return terms[term.casefold()]
    normed = {_norm(k): v for k, v in terms.items()}
    key = _norm(term)
    if key in normed:
        return normed[key]
    syn = {_norm(k): _norm(v) for k, v in TERM_SYNONYMS.items()}
    if key in syn and syn[key] in normed:
        return normed[syn[key]]
    return None


def looks_haematological(term: str | None) -> str | None:
    """The :data:`HAEM_HINTS` stem found in ``term``, if any."""
    if term is None:
        return None
    t = " ".join(term.casefold().split())
    return next((h for h in HAEM_HINTS if h in t), None)
