"""A small grammar for stopping rules and slots written as text (TOML specs), never ``eval``.

::

    expr   := term ("|" term)*            # "|" : AnyOf (either stops)
    term   := factor ("&" factor)*        # "&" : AllOf (both stop); binds tighter than "|"
    factor := "(" expr ")" | call
    call   := NAME "(" [arg ("," arg)*] ")"
    arg    := [NAME "="] value
    value  := number | 'text' | "text" | True | False | None | "(" values ")" | "[" values "]"

``NAME`` is a registered rule (:func:`rule_types`: ``MaxPatients``, ``MinPatients``,
``PatientsAtDose``, ``StayWithPatients``, ``ProbAbove`` and any :func:`register_rule`) or,
for :func:`parse_slot`, a registered slot of the kind asked for.  ``repr(rule)`` is this
text, so ``parse_rule(repr(rule)) == rule``; ``str(rule)`` stays the sentence used in
reasons (``"(N >= 30) or (>= 9 patients at the next dose)"``).

Examples
--------
>>> from bayes_dose.designs.rule_grammar import parse_rule
>>> rule = parse_rule("MaxPatients(30) | PatientsAtDose(9) & MinPatients(18)")
>>> print(rule)
(N >= 30) or ((>= 9 patients at the next dose) and (N >= 18))
>>> rule
MaxPatients(30) | (PatientsAtDose(9) & MinPatients(18))
>>> parse_rule("PatientsAtDose(9) |")
Traceback (most recent call last):
...
ValueError: stopping rule 'PatientsAtDose(9) |': at position 19: expected a rule name, got end of text; known rules: MaxPatients, MinPatients, PatientsAtDose, ProbAbove, StayWithPatients
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping
from typing import Any

from . import rules as _rules
from .rules import AllOf, AnyOf, StoppingRule

__all__ = ["call_text", "parse_rule", "parse_slot", "register_rule", "rule_types"]

_RULES: dict[str, type[StoppingRule]] = {}


def register_rule(cls: type[StoppingRule]) -> type[StoppingRule]:
    """Register a stopping-rule class by name so that text (TOML ``stopping = "..."``)
    can name it; usable as a class decorator."""
    if not (isinstance(cls, type) and issubclass(cls, StoppingRule)) or cls in (AllOf, AnyOf):
        raise ValueError(f"register_rule: expected a StoppingRule subclass, got {cls!r}")
    _RULES[cls.__name__] = cls
    return cls


def rule_types() -> dict[str, type[StoppingRule]]:
    """Registered rule classes by name."""
    return dict(sorted(_RULES.items()))


for _name in ("MaxPatients", "MinPatients", "PatientsAtDose", "StayWithPatients", "ProbAbove"):
    register_rule(getattr(_rules, _name))

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<name>[A-Za-z_]\w*)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>[&|(),=\[\]])
    )""",
    re.VERBOSE,
)
_CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False}


class _Parser:
    def __init__(self, text: str, what: str, known: Mapping[str, type], combine: bool) -> None:
        self.text, self.what, self.known, self.combine = text, what, known, combine
        self.tokens: list[tuple[str, Any, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                start = len(text) - len(text[pos:].lstrip())
                self.fail(start, f"unexpected character {text[start]!r}")
            kind = m.lastgroup or ""
            start = m.start(kind)
            self.tokens.append((kind, m.group(kind), start))
            pos = m.end()
        self.i = 0

    # -- helpers ---------------------------------------------------------------------
    def fail(self, pos: int, msg: str) -> None:
        names = ", ".join(sorted(self.known)) or "none registered"
        label = "rules" if self.combine else f"{self.what} slots"
        raise ValueError(
            f"{self.what} {self.text!r}: at position {pos}: {msg}; known {label}: {names}"
        )

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def show(self, tok: tuple[str, Any, int] | None) -> str:
        return "end of text" if tok is None else repr(tok[1])

    def where(self, tok: tuple[str, Any, int] | None) -> int:
        return len(self.text) if tok is None else tok[2]

    def take(self, op: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] == op:
            self.i += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.take(op):
            tok = self.peek()
            self.fail(self.where(tok), f"expected {op!r}, got {self.show(tok)}")

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> Any:
        out = self.expr() if self.combine else self.call()
        tok = self.peek()
        if tok is not None:
            self.fail(tok[2], f"unexpected token {tok[1]!r} after a complete {self.what}")
        return out

    def expr(self) -> Any:
        parts = [self.term()]
        while self.take("|"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else AnyOf(*parts)

    def term(self) -> Any:
        parts = [self.factor()]
        while self.take("&"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else AllOf(*parts)

    def factor(self) -> Any:
        if self.take("("):
            inner = self.expr()
            self.expect(")")
            return inner
        return self.call()

    def call(self) -> Any:
        tok = self.peek()
        noun = "a rule name" if self.combine else "a slot name"
        if tok is None or tok[0] != "name":
            self.fail(self.where(tok), f"expected {noun}, got {self.show(tok)}")
        assert tok is not None
        name, pos = tok[1], tok[2]
        if name not in self.known:
            self.fail(pos, f"unknown name {name!r}")
        self.i += 1
        self.expect("(")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        if not self.take(")"):
            while True:
                nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
                tok = self.peek()
                if tok is not None and tok[0] == "name" and nxt is not None and nxt[1] == "=":
                    self.i += 2
                    if tok[1] in kwargs:
                        self.fail(tok[2], f"argument {tok[1]!r} given twice")
                    kwargs[tok[1]] = self.value()
                else:
                    if kwargs:
                        self.fail(self.where(tok), "a positional argument after a keyword one")
                    args.append(self.value())
                if self.take(")"):
                    break
                self.expect(",")
        cls = self.known[name]
        sig = inspect.signature(cls)
        bad = [k for k in kwargs if k not in sig.parameters]
        if bad:
            self.fail(pos, f"{name}{sig}: unexpected keyword argument {bad[0]!r}")
        try:
            sig.bind(*args, **kwargs)
        except TypeError as exc:
            self.fail(pos, f"{name}{sig}: {exc}")
        try:
            return cls(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            msg = str(exc)  # the class's own message names it already, usually
            self.fail(pos, msg if msg.startswith(f"{name}:") else f"{name}: {msg}")

    def value(self) -> Any:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), "expected a value, got end of text")
        assert tok is not None
        kind, text, pos = tok
        if kind == "number":
            self.i += 1
            v = float(text) if re.search(r"[.eE]", text) else int(text)
            if not math.isfinite(v):
                self.fail(pos, f"number {text!r} is not finite")
            return v
        if kind == "string":
            self.i += 1
            return text[1:-1]
        if kind == "name" and text in _CONSTANTS:
            self.i += 1
            return _CONSTANTS[text]
        if kind == "op" and text in "([":
            close = ")" if text == "(" else "]"
            self.i += 1
            items: list[Any] = []
            while not self.take(close):
                items.append(self.value())
                if self.take(close):
                    break
                self.expect(",")
            return tuple(items)
        self.fail(pos, f"expected a value (number, text, True/False/None, tuple), got {text!r}")


def parse_rule(text: str) -> StoppingRule:
    """The stopping rule written in ``text`` (see the module docstring).

    Raises
    ------
    ValueError
        Naming the position, the offending token and the known rule names.
    """
    if isinstance(text, StoppingRule):
        return text
    if not isinstance(text, str):
        raise ValueError(f"stopping rule: expected text, got {text!r}")
    return _Parser(text, "stopping rule", _RULES, combine=True).parse()


def parse_slot(text: str, kind: str) -> Any:
    """The slot of ``kind`` (e.g. ``"escalation_limit"``) written in ``text``, e.g.
    ``"RelativeIncrements(1.0)"`` or ``"RelativeIncrements(max_increase=1.0, basis='max')"``.

    Examples
    --------
    >>> from bayes_dose.designs.rule_grammar import parse_slot
    >>> parse_slot("RelativeIncrements(1.0, basis='max')", "escalation_limit")
    RelativeIncrements(1.0, basis='max')
    """
    from .slots import slot_types

    if not isinstance(text, str):
        raise ValueError(f"{kind}: expected text, got {text!r}")
    return _Parser(text, kind, slot_types(kind), combine=False).parse()


def _fmt(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_fmt(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return repr(v)


def call_text(name: str, params: Mapping[str, Any], cls: type) -> str:
    """``Name(a, b, key=c)``: positional while the constructor's parameters are given in
    order, trailing defaults left out (the text :func:`parse_rule` / :func:`parse_slot`
    read back)."""
    try:
        sig = [p for p in inspect.signature(cls).parameters.values()
               if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]  # fmt: skip
    except (TypeError, ValueError):
        sig = []
    names = [p.name for p in sig]
    if set(params) - set(names):  # not the constructor's arguments: show them as keywords
        return f"{name}({', '.join(f'{k}={_fmt(v)}' for k, v in params.items())})"
    parts: list[str] = []
    positional = True
    for i, p in enumerate(sig):
        if p.name not in params:
            positional = False
            continue
        v = params[p.name]
        if i > 0 and p.default is not inspect.Parameter.empty and _same(v, p.default):
            positional = False  # a default left out: what follows needs its keyword
            continue
        if positional and p.kind is p.POSITIONAL_OR_KEYWORD:
            parts.append(_fmt(v))
        else:
            parts.append(f"{p.name}={_fmt(v)}")
    return f"{name}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # arrays and the like: not a default
        return False
