"""Helpers of the command line: argument types, output formats, atomic folders, progress.

Kept free of heavy imports (pandas is imported inside the functions that need it) so
``bayes-dose --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

# atomic_folder lives with the workflows that write folders (re-exported here)
from .workflows import atomic_folder

__all__ = [
    "Steps",
    "atomic_folder",
    "check_data_file",
    "json_manifest",
    "nonnegative_int",
    "out_format",
    "positive_int",
    "write_tables",
]


# -- argument types ---------------------------------------------------------------------
def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--n-trials 0`` is an error, not the default).

    Examples
    --------
    >>> positive_int("5")
    5
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a positive integer, got 0
    """
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {v}")
    return v


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0 (seeds).

    Examples
    --------
    >>> nonnegative_int("0")
    0
    """
    v = _int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


# -- input files ------------------------------------------------------------------------
def check_data_file(path: Path, what: str = "--data") -> None:
    """A clear ``ValueError`` when ``path`` is missing, a directory or unreadable."""
    if not path.exists():
        raise ValueError(f"{what} {str(path)!r}: no such file")
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a directory; give the CSV file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{what} {str(path)!r}: not readable (permission denied)")


# -- output formats ---------------------------------------------------------------------
#: File extension -> output format of the table commands.
EXTENSIONS = {".json": "json", ".csv": "csv", ".txt": "table", ".md": "table", ".text": "table",
              "": "table"}  # fmt: skip


def out_format(fmt: str | None, out: Path | None, flag: str = "--out") -> str:
    """The output format: ``fmt`` if given, else ``out``'s extension, else ``"table"``.

    A ``--format`` that contradicts the extension, or an extension with no format, is a
    ``ValueError`` (``--out rec.csv`` never gets a fixed-width table).

    Examples
    --------
    >>> from pathlib import Path
    >>> out_format(None, Path("rec.csv")), out_format("json", None), out_format(None, None)
    ('csv', 'json', 'table')
    >>> out_format("json", Path("rec.csv"))
    Traceback (most recent call last):
    ...
    ValueError: --out 'rec.csv': the extension says csv but --format is json
    """
    if out is None:
        return fmt or "table"
    ext = out.suffix.lower()
    if ext not in EXTENSIONS:
        raise ValueError(
            f"{flag} {str(out)!r}: unknown extension {ext!r}; use .txt (table), .csv or .json"
        )
    by_ext = EXTENSIONS[ext]
    if fmt is not None and fmt != by_ext:
        raise ValueError(f"{flag} {str(out)!r}: the extension says {by_ext} but --format is {fmt}")
    return by_ext


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() else "_" for c in name.lower())
    return "_".join(p for p in keep.split("_") if p)


def write_tables(
    tables: Mapping[str, Any],
    fmt: str,
    out: Path | None,
    manifest: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Render named tables as ``fmt`` to stdout (``out=None``) or atomically to files.

    ``"csv"`` writes the first table to ``out`` and each further table beside it as
    ``<stem>_<table name>.csv`` (a CSV file holds one table).  ``"json"`` writes one
    object with every table and, when given, the ``manifest``.  Returns the files written.
    """
    import pandas as pd

    def frame(v: Any) -> pd.DataFrame:
        return v if isinstance(v, pd.DataFrame) else pd.DataFrame({"value": [v]})

    if fmt == "csv":
        if out is None:
            raise ValueError("CSV output needs a file: --out NAME.csv")
        written = []
        for i, (k, v) in enumerate(tables.items()):
            path = out if i == 0 else out.with_name(f"{out.stem}_{_slug(k)}{out.suffix}")
            _atomic_write(path, frame(v).to_csv(index=False))
            written.append(path)
        if manifest is not None:
            path = out.with_name(f"{out.stem}_manifest.json")
            _atomic_write(path, json.dumps(manifest, indent=2, default=str) + "\n")
            written.append(path)
        return written
    if fmt == "json":
        obj: dict[str, Any] = {
            k: json.loads(v.to_json(orient="records")) if isinstance(v, pd.DataFrame) else v
            for k, v in tables.items()
        }
        if manifest is not None:
            obj["manifest"] = manifest
        text = json.dumps(obj, indent=2, default=str)
    elif fmt == "table":
        parts = []
        for k, v in tables.items():
            body = v.to_string(index=False) if isinstance(v, pd.DataFrame) else str(v)
            parts.append(f"== {k}\n{body}")
        text = "\n\n".join(parts)
    else:
        raise ValueError(f"unknown output format {fmt!r}")
    if out is None:
        print(text)
        return []
    _atomic_write(out, text + "\n")
    return [out]


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise ValueError(f"--out {str(path)!r} is a directory; give a file name")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# -- manifests --------------------------------------------------------------------------
def json_manifest(
    spec: Any,
    spec_path: Path,
    seed: int | None,
    data: Path | None = None,
    simulations: Mapping[str, Any] | None = None,
    designs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """What saved JSON needs to be cited and regenerated: versions, command, seed, input
    hashes, protocol and design specs (and each arm's simulation manifest); built by
    :func:`bayes_dose.manifest.build_manifest`."""
    from .manifest import build_manifest, command_line, design_specs, file_record

    inputs = {"spec": file_record(spec_path)}
    if data is not None:
        inputs["data"] = file_record(data)
    man = build_manifest(
        python=True, command=command_line(), seed=seed, inputs=inputs,
        protocol=spec.protocol.name,
        designs=design_specs(spec.designs if designs is None else designs),
    )  # fmt: skip
    if simulations:
        from .simulate import manifest

        man["simulation"] = {a: manifest(s) for a, s in simulations.items()
                             if "manifest" in s.attrs}  # fmt: skip
    return man


# -- progress ---------------------------------------------------------------------------
class Steps:
    """Progress of the steps of a long command, on stderr.

    ``with steps("simulating"):`` prints ``prog: simulating ...`` and, when the step
    ends, its duration; on a terminal a ticking clock shows the step is alive (unless
    ``bar=True``: the step draws a progress bar of its own).
    """

    def __init__(self, prog: str, stream: Any = None) -> None:
        self.prog = prog
        self.stream = stream if stream is not None else sys.stderr

    @contextlib.contextmanager
    def __call__(self, what: str, bar: bool = False) -> Iterator[None]:
        t0 = time.perf_counter()
        tty = hasattr(self.stream, "isatty") and self.stream.isatty() and not bar
        self.stream.write(f"{self.prog}: {what} ...")
        self.stream.write("" if tty else "\n")
        self.stream.flush()
        stop = threading.Event()
        ticker = None
        if tty:
            def tick() -> None:
                while not stop.wait(1.0):
                    self.stream.write(f"\r{self.prog}: {what} ... {time.perf_counter() - t0:.0f} s")
                    self.stream.flush()

            ticker = threading.Thread(target=tick, daemon=True)
            ticker.start()
        outcome = "failed after"
        try:
            yield
            outcome = "done in"
        finally:
            stop.set()
            if ticker is not None:
                ticker.join()
            dt = time.perf_counter() - t0
            lead = f"\r{self.prog}: {what} ... " if tty else f"{self.prog}: {what}: "
            self.stream.write(f"{lead}{outcome} {dt:.1f} s\n")
            self.stream.flush()
