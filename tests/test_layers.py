"""Import layering of the package (issue 11): no import runs from a lower layer to a higher
one, nor into the package root from inside the package.

Every module's imports are read with ``ast`` (module level and inside functions), each
resolved to the module it names.  The layer map is the one of ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "bayes_dose"

#: Layers, lowest first.  A module may import modules of its own layer or of lower ones.
#: Modules not named are in the application layer.
LAYERS = ("data", "inference", "designs", "application", "cli")
DATA = {
    "_version", "deprecation", "dose_data", "errors", "checks", "csv_text", "xport", "arrays",
    "crn", "manifest", "protocol", "protocols", "dlt_rules", "outcomes", "examples", "dlt",
    "listings",
}  # fmt: skip
CLI = {"cli", "cli_pk", "cli_util", "__main__"}


def layer_of(module: str) -> str:
    """Layer of a module given by its dotted name (``bayes_dose.designs.boin``)."""
    parts = module.split(".")[1:]
    if not parts:
        return "root"
    if parts[0] in ("inference", "designs"):
        return parts[0]
    if parts[0] in DATA:
        return "data"
    if parts[0] in CLI:
        return "cli"
    return "application"


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = f.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _is_module(name: str) -> bool:
    return name in MODULES


def imports(module: str, path: Path) -> list[tuple[int, str, str]]:
    """``(line, imported module, as written)`` of every import of the package in a module.

    ``from P import x`` imports module ``P.x`` when that is a module of the package, else
    (a name defined in ``P``) the module ``P`` itself.
    """
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "bayes_dose" or a.name.startswith("bayes_dose."):
                    found.append((node.lineno, a.name, f"import {a.name}"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == "bayes_dose" or target.startswith("bayes_dose.")):
                continue
            where = f"{'.' * node.level}{node.module or ''}"
            for a in node.names:
                sub = f"{target}.{a.name}"
                text = f"from {where} import {a.name}"
                found.append((node.lineno, sub if _is_module(sub) else target, text))
    return found


def test_the_layer_map_covers_every_module():
    assert len(MODULES) > 50
    for name in MODULES:
        assert layer_of(name) in (*LAYERS, "root"), name
    for name in DATA | CLI:
        assert f"bayes_dose.{name}" in MODULES, f"layer map names a missing module {name!r}"


def test_no_module_imports_the_package_root():
    bad = [
        f"{m} line {line}: {text}"
        for m, path in MODULES.items() if m != "bayes_dose"
        for line, target, text in imports(m, path) if target == "bayes_dose"
    ]  # fmt: skip
    assert not bad, "modules importing the package root (import from the defining module):\n" + (
        "\n".join(bad)
    )


def test_no_import_runs_up_the_layers():
    rank = {name: i for i, name in enumerate(LAYERS)}
    bad = []
    for m, path in MODULES.items():
        if m == "bayes_dose":
            continue
        mine = layer_of(m)
        for line, target, text in imports(m, path):
            theirs = layer_of(target)
            if theirs != "root" and rank[theirs] > rank[mine]:
                bad.append(f"{m} ({mine}) line {line} imports {target} ({theirs}): {text}")
    assert not bad, "imports from a lower layer to a higher one:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from .. import __version__\n", "bayes_dose.designs.base", "bayes_dose"),
        ("from .. import outcomes\n", "bayes_dose.designs.base", "bayes_dose.outcomes"),
        ("from ..designs.state import DoseData\n", "bayes_dose.inference.crm_grid",
         "bayes_dose.designs.state"),
        ("import bayes_dose\n", "bayes_dose.io", "bayes_dose"),
        ("def f():\n    from . import __version__\n", "bayes_dose.simulate", "bayes_dose"),
    ],
)  # fmt: skip
def test_the_checks_catch_what_they_look_for(tmp_path, source, module, expected):
    """The resolver finds root imports and upward imports, also inside functions."""
    f = tmp_path / "m.py"
    f.write_text(source)
    ((_, target, _),) = imports(module, f)
    assert target == expected
    if expected == "bayes_dose.designs.state":
        assert LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(module))
