"""Reading a CSV file as text, keeping the file line of every row.

Every cell is kept as written (a string; a blank cell is ``""``), so identifiers such as
``"001"`` stay text and no value is turned into "missing" behind the user's back (pandas
would read ``NA``, ``NULL``, ``#N/A`` ... as missing).  Each data row carries its line in
the file (header = line 1), so errors can name the line the user sees.  A file that is
semicolon- or tab-separated is recognised from its header; one that is not UTF-8, is
empty or has rows of the wrong length is an error naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["NA_TOKENS", "TextTable", "is_na_token", "read_text_csv"]

#: Cell texts that spreadsheets and statistics packages write for "missing" (compared
#: case-insensitively after stripping).  Readers never take them as a value or as blank:
#: they are errors (or queries) that name the cell.
NA_TOKENS = frozenset(
    t.casefold()
    for t in ("NA", "N/A", "#N/A", "#N/A N/A", "#NA", "NULL", "NaN", "-NaN", "nan", "-nan",
              "None", "<NA>", "n/a", "null", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN", ".")
)  # fmt: skip

_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def is_na_token(text: str) -> bool:
    """Whether ``text`` is a missing-value code such as ``"NA"`` or ``"#N/A"``."""
    return text.strip().casefold() in NA_TOKENS


@dataclass(frozen=True)
class TextTable:
    """A CSV file read as text: ``frame`` (all cells ``str``), ``lines`` (file line per row)."""

    frame: pd.DataFrame
    lines: tuple[int, ...]
    path: Path
    delimiter: str

    def where(self, i: int) -> str:
        """``'<file> line N'`` of 0-based row ``i``."""
        return f"{self.path.name} line {self.lines[i]}"


def _pick_delimiter(header: str, known: Iterable[str] | None) -> str:
    """The delimiter that splits the header best (comma unless another clearly fits)."""
    known_set = {k.casefold() for k in known} if known is not None else None

    def score(d: str) -> tuple[int, int]:
        cells = [c.strip().casefold() for c in next(csv.reader([header], delimiter=d))]
        hits = sum(c in known_set for c in cells) if known_set is not None else 0
        return hits, len(cells)

    best = ","
    for d in (";", "\t"):
        if d in header and score(d) > score(best) and score(best)[1] == 1:
            best = d
    return best


def read_text_csv(
    path: str | os.PathLike, what: str = "data file", known: Iterable[str] | None = None
) -> TextTable:
    """Read ``path`` as text (see the module docstring).

    Parameters
    ----------
    path : str or path
        The CSV file.
    what : str
        What the file is, for messages (``"data file"``, ``"AE listing"``).
    known : iterable of str, optional
        Expected column names, used to recognise a semicolon- or tab-separated header.

    Raises
    ------
    ValueError
        Naming the file (and line): not found, a directory, not UTF-8, empty, no header,
        a row with more or fewer fields than the header, a duplicate column name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayes_dose.csv_text import read_text_csv
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("patient_id;dlt\\n001;0\\n\\n002;NA\\n")
    >>> t = read_text_csv(p, known=["patient_id", "dlt"])
    >>> t.frame["patient_id"].tolist(), t.lines, t.delimiter
    (['001', '002'], (2, 4), ';')
    """
    path = Path(path)
    name = str(path)
    if path.is_dir():
        raise ValueError(f"{what} {name!r} is a directory, not a CSV file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{what} {name!r} not found") from None
    except OSError as exc:
        raise ValueError(f"{what} {name!r}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{what} {name!r} line {line}: not UTF-8 text (byte {raw[exc.start]:#04x}); "
            "save the file as UTF-8 CSV"
        ) from None
    if not text.strip():
        raise ValueError(f"{what} {name!r} is empty (expected a header line and one row per line)")
    header_line = text.splitlines()[0] if text.splitlines() else ""
    delim = _pick_delimiter(header_line, known)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for rec in reader:
            line, start = start, reader.line_num + 1
            if not rec or all(c.strip() == "" for c in rec):
                if header is None or not rec:
                    continue  # blank lines are skipped (their numbers still count)
            if header is None:
                header = [c.strip() for c in rec]
                if any(h == "" for h in header):
                    k = header.index("")
                    raise ValueError(f"{what} {name!r} line {line}: column {k + 1} has no name")
                dup = sorted({h for h in header if header.count(h) > 1})
                if dup:
                    raise ValueError(f"{what} {name!r} line {line}: duplicate column(s) {dup}")
                continue
            if len(rec) != len(header):
                hint = ""
                if len(header) == 1 and any(d in header[0] for d in ";\t"):
                    hint = " (is the file semicolon- or tab-separated?)"
                elif len(rec) > len(header):
                    hint = " (a comma inside a value must be quoted, e.g. \"1,5\")"
                raise ValueError(
                    f"{what} {name!r} line {line}: {len(rec)} fields, the header has "
                    f"{len(header)}{hint}"
                )
            rows.append(rec)
            lines.append(line)
    except csv.Error as exc:
        raise ValueError(f"{what} {name!r} line {reader.line_num}: {exc}") from None
    if header is None:
        raise ValueError(f"{what} {name!r} is empty (no header line)")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    if not rows:
        frame = pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
    return TextTable(frame, tuple(lines), path, delim)
