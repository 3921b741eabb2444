"""Provenance: the one builder of every manifest the package writes.

A manifest says what is needed to cite and regenerate a result: the package and its
version, the design specifications, the SHA-256 of the data, the seed and the settings.
The posterior of a fit (``Design._manifest``), a simulation (``simulate``), the memo
(``report``), the JSON outputs of the command line and :class:`bayes_dose.Study` all build
theirs with :func:`build_manifest`; the data hash is computed by :func:`data_sha256` only.

Examples
--------
>>> import hashlib
>>> import bayes_dose as bd
>>> from bayes_dose.manifest import build_manifest, data_sha256
>>> out = bd.Outcomes.parse("1N 2NNN")
>>> data_sha256(out) == hashlib.sha256(out.to_frame().to_csv(index=False).encode()).hexdigest()
True
>>> man = build_manifest(seed=3, design=bd.BOIN(target=0.25, n_doses=3).spec())
>>> list(man)[:3], man["seed"]
(['package', 'version', 'seed'], 3)
"""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from ._version import __version__

__all__ = [
    "DEPENDENCIES", "build_manifest", "command_line", "data_sha256", "dependency_versions",
    "design_specs", "file_record", "outcomes_csv",
]  # fmt: skip

#: Packages whose versions the memo records.
DEPENDENCIES = ("numpy", "scipy", "pandas", "xarray", "matplotlib", "pymc", "pytensor",
                "arviz", "jinja2", "h5netcdf")  # fmt: skip


def outcomes_csv(outcomes: Any) -> bytes:
    """The bytes an :class:`~bayes_dose.Outcomes` is hashed by: its table as CSV, no index."""
    return outcomes.to_frame().to_csv(index=False).encode()


def data_sha256(obj: Any) -> str:
    """SHA-256 (hex) of data: an :class:`~bayes_dose.Outcomes` (its CSV form,
    :func:`outcomes_csv`), bytes, or a file (path) read as bytes.

    The one place the package hashes data; anything else is a ``ValueError``.
    """
    from .outcomes import Outcomes

    if isinstance(obj, Outcomes):
        data = outcomes_csv(obj)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
    elif isinstance(obj, (str, Path)):
        data = Path(obj).read_bytes()
    else:
        raise ValueError(f"manifest: input of type {type(obj).__name__} cannot be hashed")
    return hashlib.sha256(data).hexdigest()


def file_record(path: str | Path) -> dict[str, str]:
    """``{"path": ..., "sha256": ...}`` of one input file."""
    return {"path": str(path), "sha256": data_sha256(Path(path))}


def design_specs(designs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{arm: {name: spec}}`` of designs given as ``{arm: {name: design}}`` (an object
    without ``spec()`` is recorded by its ``repr``)."""
    return {
        a: {n: (d.spec() if hasattr(d, "spec") else repr(d)) for n, d in ds.items()}
        for a, ds in designs.items()
    }


def dependency_versions(packages: tuple[str, ...] = DEPENDENCIES) -> dict[str, str | None]:
    """Installed version of each package (None: not installed)."""
    out: dict[str, str | None] = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def command_line() -> list[str]:
    """The ``bayes-dose`` command being run (its arguments as given)."""
    return ["bayes-dose", *sys.argv[1:]] if sys.argv else ["bayes-dose"]


def build_manifest(
    *,
    python: bool = False,
    dependencies: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A manifest: ``package`` and ``version`` first, then (when asked) the Python and
    dependency versions, then ``fields`` in the order given.

    Parameters
    ----------
    python : bool
        Record the Python version (key ``python``).
    dependencies : bool
        Record the versions of :data:`DEPENDENCIES` (key ``dependencies``).
    **fields
        What the result depends on, e.g. ``design=`` (a spec), ``designs=``
        (:func:`design_specs`), ``seed=``, settings, and data hashes
        (:func:`data_sha256`, :func:`file_record`).

    Returns
    -------
    dict
    """
    man: dict[str, Any] = {"package": "bayes_dose", "version": __version__}
    if python:
        man["python"] = platform.python_version()
    if dependencies:
        man["dependencies"] = dependency_versions()
    man.update(fields)
    return man
