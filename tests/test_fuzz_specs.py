"""Generated TOML specs and CLI invocations (Hypothesis, issue 16).

A mutated spec either loads, with every value of the type its field declares, or raises a
``ValueError`` naming the spec file and the place (key, design, field); nothing else.  The
command line never shows a traceback: exit 0, or 2 with one ``bayes-dose <cmd>: error:``
line.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path
from typing import Any

import pytest
import tomli_w

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bayes_dose import cli  # noqa: E402
from bayes_dose.io import ANALYSIS_KEYS, SIMULATION_KEYS, TIMELINE_KEYS, TOP_KEYS, load_spec  # noqa: E402

BASE: dict[str, Any] = {
    "protocol": "bat6021",
    "seed": 5,
    "designs": {
        "3+3": {"type": "ThreePlusThree", "variant": "deescalation", "mono": {"titration_levels": 3}},
        "BOIN": {"type": "BOIN", "target": 0.25, "max_n": 12, "extrasafe": False},
        "CRM": {"type": "CRM", "target": 0.25, "max_n": 12, "arms": ["combo"],
                "skeleton": {"halfwidth": 0.05, "mtd_guess": 3}},
    },
    "simulation": {"n_trials": 5, "target": 0.25,
                   "scenarios": {"combo": {"s": [0.05, 0.1, 0.25, 0.4, 0.6]}},
                   "timeline": {"accrual_per_month": 4.0, "max_wait_days": 30.0}},
    "analysis": {"draws": 10},
}  # fmt: skip

#: Fields whose type a mutation may break: (path in the spec, declared type).
FIELDS = [
    (("seed",), int),
    (("simulation", "n_trials"), int),
    (("simulation", "target"), float),
    (("analysis", "draws"), int),
    (("designs", "BOIN", "target"), float),
    (("designs", "BOIN", "max_n"), int),
    (("designs", "BOIN", "cohort_size"), int),
    (("designs", "BOIN", "extrasafe"), bool),
    (("designs", "3+3", "variant"), str),
    (("designs", "3+3", "mono", "titration_levels"), int),
    (("designs", "CRM", "skeleton", "mtd_guess"), int),
    (("designs", "CRM", "skeleton", "halfwidth"), float),
    (("designs", "CRM", "arms"), list),
    (("simulation", "scenarios", "combo", "s"), list),
    (("simulation", "timeline", "max_wait_days"), float),
    (("simulation", "timeline", "waiting"), str),
    (("protocol",), str),
]

toml_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=6),
)
toml_values = st.one_of(
    toml_scalars,
    st.lists(st.one_of(st.integers(-5, 20), st.floats(-1, 2)), max_size=9),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=6), st.integers(0, 9), max_size=2),
)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=9)


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return list(obj)
    return obj


def _set(spec: dict, path: tuple[str, ...], value: Any) -> None:
    d = spec
    for k in path[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            return
    d[path[-1]] = value


def _ok_type(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))  # fmt: skip
    if kind is bool:
        return isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    return isinstance(value, list)


@st.composite
def mutated_specs(draw: st.DrawFn) -> tuple[dict, list[str]]:
    """The base spec with a few mutations, and what each one expects."""
    spec = _copy(BASE)
    expect: dict[tuple[str, ...], str] = {}
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "key", "drop"]))
        if kind == "field":
            path, typ = draw(st.sampled_from(FIELDS))
            value = draw(toml_values)
            _set(spec, path, value)
            expect.pop(path, None)
            if not _ok_type(value, typ):
                expect[path] = f"bad type {path}"
        elif kind == "key":
            where = draw(st.sampled_from(["top", "simulation", "analysis", "BOIN", "skeleton",
                                          "timeline"]))  # fmt: skip
            key = draw(names)
            valid = {"top": TOP_KEYS, "simulation": SIMULATION_KEYS, "analysis": ANALYSIS_KEYS,
                     "skeleton": ("target", "halfwidth", "mtd_guess", "model", "intercept"),
                     "BOIN": (), "timeline": TIMELINE_KEYS}[where]  # fmt: skip
            table = {"top": spec, "simulation": spec.get("simulation"),
                     "analysis": spec.get("analysis"), "BOIN": spec["designs"].get("BOIN"),
                     "skeleton": spec["designs"]["CRM"].get("skeleton"),
                     "timeline": (spec.get("simulation") or {}).get("timeline")}[where]  # fmt: skip
            if isinstance(table, dict) and key not in table and key not in valid:
                table[key] = 1
                if where != "BOIN" or key not in _boin_params():
                    expect[(where, key)] = f"unknown key {key}"
        else:
            path, _ = draw(st.sampled_from(FIELDS))
            d = spec
            for k in path[:-1]:
                d = d.get(k) if isinstance(d, dict) else None
            if isinstance(d, dict):
                d.pop(path[-1], None)
                expect.pop(path, None)
    return spec, sorted(expect.values())


def _boin_params() -> set[str]:
    import inspect

    import bayes_dose as bd

    return set(inspect.signature(bd.BOIN.__init__).parameters) | {"type", "arms", "mono", "combo"}


def _write(tmp: Path, spec: dict) -> Path | None:
    try:
        text = tomli_w.dumps(spec)
    except (TypeError, ValueError):  # not representable in TOML (e.g. surrogate text)
        return None
    p = tmp / "spec.toml"
    p.write_text(text, encoding="utf-8")
    return p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(mutated_specs())
def test_mutated_specs_load_or_name_the_place(tmp_path_factory, case):
    spec, expect = case
    path = _write(tmp_path_factory.mktemp("s"), spec)
    if path is None:
        return
    try:
        loaded = load_spec(path)
    except ValueError as exc:
        msg = str(exc)
        assert "spec.toml" in msg and ": " in msg, msg
        return
    # it loaded: no typo and no wrong type may have slipped through
    assert not expect, f"accepted {expect}: {spec}"
    for d in (d for ds in loaded.designs.values() for d in ds.values()):
        for k, v in d.get_params().items():
            assert not (k in ("max_n", "cohort_size", "n_doses") and isinstance(v, bool)), (k, v)


def _empty(tmp: Path) -> Path:
    p = tmp / "empty.csv"
    p.write_text("")
    return p


arg_values = st.one_of(st.integers(-3, 50).map(str), st.sampled_from(["", "x", "2.5", "1e3"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    case=mutated_specs(),
    command=st.sampled_from(["recommend", "simulate", "boundaries", "paths"]),
    extra=st.lists(st.tuples(st.sampled_from(["--seed", "--n-trials", "--arm", "--out",
                                              "--format", "--cohorts", "--data"]), arg_values),
                   max_size=2),
    out_ext=st.sampled_from([".csv", ".json", ".txt", ".xlsx", ".nc", ""]),
)  # fmt: skip
def test_cli_never_shows_a_traceback(tmp_path_factory, case, command, extra, out_ext):
    tmp = tmp_path_factory.mktemp("c")
    path = _write(tmp, case[0])
    if path is None:
        return
    argv = [command, "--spec", str(path)]
    if command == "paths":
        argv += ["--design", "3+3", "--arm", "combo"]
    for flag, value in extra:
        if flag == "--out":
            value = str(tmp / f"out{out_ext}")
        elif flag == "--data":  # a folder, a missing file or an empty file
            value = str([tmp, tmp / "missing.csv", _empty(tmp)][len(value) % 3])
        argv += [flag, value]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = cli.main(argv)
        except SystemExit as exc:  # argparse: usage + one error line, code 2
            rc = exc.code
    text = err.getvalue()
    assert "Traceback" not in text, text
    assert rc in (0, 2), (argv, rc, text)
    if rc == 2:
        errors = [ln for ln in text.splitlines() if ": error:" in ln]
        assert len(errors) == 1 and errors[0].startswith(f"bayes-dose {command}: error:"), text
