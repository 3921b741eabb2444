"""CDISC-like listings (CSV, pandas, SAS transport) read against a declarative schema.

A :class:`Schema` names the columns of a listing: each :class:`Column` has a type, whether
it must be present (``required``) and whether a cell may be blank (``nullable``), allowed
values for categories, numeric bounds and alternative column names (``aliases``).
:func:`read_listing` reads a listing against a schema and returns a DataFrame with the
standard column names, typed values and a ``source_row`` column naming where each record
came from (``"line 14"`` of a CSV file, header = line 1; ``"observation 13"`` of a SAS
transport file; ``"row 12"``, 0-based position, of a DataFrame).  Bad cells raise a
:class:`ListingError` naming that record, the subject, the field and the value as written.

Missing values follow explicit rules, not pandas' defaults:

* a cell is missing if and only if it is blank (empty or only spaces) or, in a DataFrame
  or SAS transport file, a null (``NaN`` / ``None``);
* the strings ``NA``, ``N/A``, ``NaN``, ``.`` and ``null`` are *not* missing: they are
  read as written and rejected where a number is expected (a schema may declare extra
  ``missing_tokens``);
* identifiers and other text columns are read as text (``"001"`` stays ``"001"``; a whole
  number in a numeric DataFrame column becomes ``"1"``, not ``"1.0"``).

:func:`read_pc` and :func:`read_ada` are the readers for concentrations (ADPC-like) and
anti-drug antibodies (ADAB-like) with the schemas :data:`PC_SCHEMA` and
:data:`ADA_SCHEMA`; both also check record-level consistency (a BLQ flag against the
concentration, duplicate and out-of-order samples, one baseline per subject).
The bundled listings ``data/bat6021_pc.csv`` and ``data/bat6021_ada.csv`` are SYNTHETIC
(column ``SYNTHFL`` = ``Y``; made by ``tools/make_bat6021_listings.py``) for the
subjects and doses of ``data/bat6021_example.csv``.

Examples
--------
>>> import bayes_dose as bd
>>> pc = bd.listings.read_pc()
>>> sorted(pc.columns[:4])
['ARM', 'CYCLE', 'DOSE', 'USUBJID']
>>> pc["source_row"].iat[0]
'line 2'
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import BadCell, RecordsError, cell_number
from .xport import read_xport

__all__ = [
    "ADA_SCHEMA",
    "PC_SCHEMA",
    "Column",
    "ListingError",
    "Schema",
    "bundled",
    "describe",
    "read_ada",
    "read_listing",
    "read_pc",
]

ColumnType = Literal["text", "number", "integer", "flag", "category"]
_YES = {"Y", "YES", "TRUE", "1"}
_NO = {"N", "NO", "FALSE", "0"}


class ListingError(RecordsError):
    """Bad records of a listing; ``errors`` lists every problem found."""

    what = "the listing"


@dataclass(frozen=True)
class Column:
    """One column of a listing schema.

    Parameters
    ----------
    name
        Standard (CDISC-like) name, used in the result.
    type
        ``"text"`` (stripped string), ``"number"`` (finite float), ``"integer"``,
        ``"flag"`` (``Y``/``N``, also yes/no, true/false, 1/0; read as bool) or
        ``"category"`` (one of ``allowed``, case-insensitive; stored as written in
        ``allowed``).
    required
        The column must be present (under its name or an alias).
    nullable
        A cell may be blank (missing).  A non-nullable cell that is blank is an error.
    allowed
        Allowed values of a category.
    aliases
        Other accepted column names (matched case-insensitively, like ``name``).
    min, max
        Inclusive bounds of a number or integer (``None``: unbounded).
    min_exclusive
        ``min`` itself is not allowed (a dose must be > 0).
    description
        What the column holds (units included).
    """

    name: str
    type: ColumnType = "text"
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in ("text", "number", "integer", "flag", "category"):
            raise ValueError(f"Column {self.name!r}: unknown type {self.type!r}")
        if self.type == "category" and not self.allowed:
            raise ValueError(f"Column {self.name!r}: a category needs allowed values")


@dataclass(frozen=True)
class Schema:
    """A listing's columns; other columns are kept as text unless ``extra="error"``.

    ``key`` names the columns whose values identify the record in messages
    (e.g. ``("USUBJID",)``).
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("USUBJID",)
    extra: Literal["keep", "error"] = "keep"
    missing_tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [c.name.upper() for c in self.columns]
        for c in self.columns:
            names += [a.upper() for a in c.aliases]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Schema {self.name!r}: column name(s) {dup} given twice")

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_Bad = BadCell  # a cell that cannot be read (message completes "field X: 'v' ...")


# -- reading the source ------------------------------------------------------------------
def _read_csv(path: Path, what: str) -> tuple[pd.DataFrame, list[str]]:
    """All cells as text, with the file line of each record (csv module: exact lines)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListingError([f"{what}: {str(path)!r} is not UTF-8 text: {exc}"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    where: list[str] = []
    problems: list[str] = []
    try:
        start = 1
        for rec in reader:
            line = start
            start = reader.line_num + 1
            if not rec or all(not c.strip() for c in rec):
                continue  # blank line
            if header is None:
                header = [c.strip() for c in rec]
                continue
            if len(rec) != len(header):
                problems.append(
                    f"{what}: line {line}: {len(rec)} fields, header has {len(header)}"
                )
                continue
            rows.append(rec)
            where.append(f"line {line}")
    except csv.Error as exc:
        raise ListingError([f"{what}: cannot read CSV {str(path)!r}: {exc}"]) from None
    if header is None:
        raise ListingError([f"{what}: {str(path)!r} has no header line"])
    if problems:
        raise ListingError(problems)
    return pd.DataFrame(rows, columns=header, dtype=object), where


def _source(source: Any, what: str) -> tuple[pd.DataFrame, list[str], str]:
    if isinstance(source, pd.DataFrame):
        df = source.reset_index(drop=True)
        return df.copy(), [f"row {i}" for i in range(len(df))], "DataFrame"
    if not isinstance(source, (str, os.PathLike)):
        raise ListingError(
            [f"{what}: expected a DataFrame or a path to a .csv / .xpt file, "
             f"got {type(source).__name__}"]
        )  # fmt: skip
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xpt", ".xport"):
        raise ListingError(
            [f"{what}: unsupported file type {suffix!r} of {str(path)!r}; use .csv or .xpt"]
        )
    if not path.is_file():
        raise ListingError([f"{what}: file {str(path)!r} not found"])
    if suffix == ".csv":
        df, where = _read_csv(path, what)
        return df, where, str(path)
    try:
        df = read_xport(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ListingError(
            [f"{what}: cannot read SAS transport (version 5) file {str(path)!r}: {exc}"]
        ) from None
    return df, [f"observation {i + 1}" for i in range(len(df))], str(path)


# -- cells --------------------------------------------------------------------------------
def _is_missing(v: Any, tokens: tuple[str, ...]) -> bool:
    if v is None:
        return True
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    if isinstance(v, str):
        s = v.strip()
        return s == "" or s in tokens
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _as_text(v: Any) -> str:
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    if isinstance(v, (bool, np.bool_)):
        return "Y" if v else "N"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


_as_number = cell_number


def _reader(col: Column) -> Callable[[Any], Any]:
    def bounds(x: float) -> float:
        if col.min is not None and (x < col.min or (col.min_exclusive and x == col.min)):
            op = ">" if col.min_exclusive else ">="
            raise _Bad(f"must be {op} {col.min:g}")
        if col.max is not None and x > col.max:
            raise _Bad(f"must be <= {col.max:g}")
        return x

    if col.type == "text":
        return _as_text
    if col.type == "number":
        return lambda v: bounds(_as_number(v))
    if col.type == "integer":

        def integer(v: Any) -> int:
            x = _as_number(v)
            if not x.is_integer():
                raise _Bad("is not a whole number")
            return int(bounds(x))

        return integer
    if col.type == "flag":

        def flag(v: Any) -> bool:
            if isinstance(v, (bool, np.bool_)):
                return bool(v)
            t = _as_text(v).upper()
            if t in _YES:
                return True
            if t in _NO:
                return False
            raise _Bad("is not Y or N")

        return flag
    canon = {a.upper(): a for a in col.allowed or ()}

    def category(v: Any) -> str:
        t = _as_text(v)
        if t.upper() not in canon:
            raise _Bad(f"is not one of {', '.join(col.allowed or ())}")
        return canon[t.upper()]

    return category


def _match_columns(
    df: pd.DataFrame, schema: Schema, columns: Mapping[str, str] | None, what: str
) -> dict[str, str]:
    """Map standard name -> input column name (after the user's ``columns=`` renaming)."""
    if columns is not None:
        if not isinstance(columns, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise ListingError([f"{what}: columns= must map input names to standard names"])
        absent = [k for k in columns if k not in df.columns]
        if absent:
            raise ListingError([f"{what}: columns= names {absent} not in the listing"])
    rename = dict(columns or {})
    found: dict[str, str] = {}
    problems = []
    for inp in df.columns:
        std = rename.get(str(inp), str(inp))
        for c in schema.columns:
            names = {c.name.upper(), *(a.upper() for a in c.aliases)}
            if std.strip().upper() in names:
                if c.name in found:
                    problems.append(
                        f"{what}: columns {found[c.name]!r} and {inp!r} both give {c.name!r}"
                    )
                found[c.name] = str(inp)
    missing = [c.name for c in schema.columns if c.required and c.name not in found]
    if missing:
        problems.append(
            f"{what}: missing column(s) {', '.join(missing)} (header: "
            f"{', '.join(map(str, df.columns))})"
        )
    if schema.extra == "error":
        used = set(found.values())
        extra = [str(c) for c in df.columns if str(c) not in used]
        if extra:
            problems.append(f"{what}: unknown column(s) {extra}")
    if problems:
        raise ListingError(problems)
    return found


def describe(row: pd.Series, key: Sequence[str] = ("USUBJID",)) -> str:
    """``"line 14 (USUBJID='M03')"``: where a record of a read listing came from."""
    ids = ", ".join(f"{k}={row[k]!r}" for k in key if k in row.index and not _na(row[k]))
    return f"{row['source_row']} ({ids})" if ids else str(row["source_row"])


def _show(v: Any) -> str:
    """A value for a message: numbers as ``3`` / ``2.5``, text quoted."""
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return f"{float(v):g}"
    return repr(v)


def _na(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def read_listing(
    source: pd.DataFrame | str | os.PathLike,
    schema: Schema,
    *,
    columns: Mapping[str, str] | None = None,
    errors: Literal["raise", "collect"] = "collect",
) -> pd.DataFrame:
    """Read a listing (DataFrame, ``.csv`` or SAS transport ``.xpt``) against a schema.

    Parameters
    ----------
    source
        A DataFrame or the path of a CSV (UTF-8, header on line 1) or SAS transport
        (version 5) file.
    schema
        The columns expected (see :class:`Schema`).
    columns
        Optional renaming ``{input name: standard name}`` for names not among the aliases.
    errors
        ``"collect"`` (default): check every cell, then raise one :class:`ListingError`
        listing all problems; ``"raise"``: raise at the first.

    Returns
    -------
    pandas.DataFrame
        The schema's columns under their standard names (absent optional columns are
        added as all-missing), typed (``text``/``category`` as ``object``, ``number`` as
        float with ``NaN`` for missing, ``integer`` as ``Int64``, ``flag`` as
        ``boolean``), then any other columns of the input as text, then ``source_row``.
        ``attrs["source"]`` is the path (or ``"DataFrame"``) and ``attrs["schema"]`` the
        schema name.

    Raises
    ------
    ListingError
        Naming the record (file line, header = line 1), the key (subject), the field and
        the value as written.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_dose.listings import Column, Schema, read_listing
    >>> s = Schema("demo", (Column("USUBJID"), Column("AVAL", "number", min=0)))
    >>> read_listing(pd.DataFrame({"USUBJID": ["001"], "AVAL": ["2.5"]}), s)["AVAL"].iat[0]
    np.float64(2.5)
    >>> read_listing(pd.DataFrame({"USUBJID": ["001"], "AVAL": ["NA"]}), s)
    Traceback (most recent call last):
    ...
    bayes_dose.listings.ListingError: demo: row 0 (USUBJID='001') field 'AVAL': 'NA' is not a number (leave the cell blank if it is missing)
    """
    if errors not in ("raise", "collect"):
        raise ValueError(f"read_listing: errors must be 'raise' or 'collect', got {errors!r}")
    what = schema.name
    df, where, src = _source(source, what)
    if "source_row" in map(str, df.columns):
        raise ListingError([f"{what}: column name 'source_row' is reserved"])
    found = _match_columns(df, schema, columns, what)
    n = len(df)
    problems: list[str] = []

    def add(msg: str) -> None:
        if errors == "raise":
            raise ListingError([msg])
        problems.append(msg)

    key_text = {}
    for k in schema.key:
        if k in found:
            key_text[k] = [
                None if _is_missing(v, schema.missing_tokens) else _as_text(v)
                for v in df[found[k]]
            ]

    def loc(i: int) -> str:
        ids = ", ".join(f"{k}={v[i]!r}" for k, v in key_text.items() if v[i] is not None)
        return f"{where[i]} ({ids})" if ids else where[i]

    out: dict[str, Any] = {}
    for col in schema.columns:
        values: list[Any] = [None] * n
        if col.name in found:
            raw_col = df[found[col.name]]
            read = _reader(col)
            for i in range(n):
                raw = raw_col.iat[i]
                if _is_missing(raw, schema.missing_tokens):
                    if not col.nullable:
                        add(f"{what}: {loc(i)} field {col.name!r}: blank (a value is required)")
                    continue
                try:
                    values[i] = read(raw)
                except _Bad as exc:
                    shown = repr(raw.strip()) if isinstance(raw, str) else _show(raw)
                    add(f"{what}: {loc(i)} field {col.name!r}: {shown} {exc}")
        out[col.name] = _typed(values, col.type)
    if problems:
        raise ListingError(problems)
    used = set(found.values())
    for c in df.columns:
        if str(c) not in used and str(c) not in out:
            out[str(c)] = pd.Series(
                [None if _is_missing(v, ()) else _as_text(v) for v in df[c]], dtype=object
            )
    out["source_row"] = pd.Series(where, dtype=object)
    result = pd.DataFrame(out)
    result.attrs["source"] = src
    result.attrs["schema"] = schema.name
    return result


def _typed(values: list[Any], kind: str) -> pd.Series:
    if kind == "number":
        return pd.Series([np.nan if v is None else v for v in values], dtype=float)
    if kind == "integer":
        return pd.Series(values, dtype="Int64")
    if kind == "flag":
        return pd.Series(values, dtype="boolean")
    return pd.Series(values, dtype=object)


# -- concentrations -------------------------------------------------------------------------
#: Concentration listing (ADPC-like); times in hours relative to the cycle's dose.
PC_SCHEMA = Schema(
    "concentrations",
    (
        Column("USUBJID", description="subject identifier (text)"),
        Column("ARM", description="arm, e.g. mono / combo"),
        Column("DOSE", "number", min=0, min_exclusive=True, aliases=("DOSEA", "EXDOSE"),
               description="dose of the study drug in the cycle (mg)"),
        Column("CYCLE", "integer", min=1, aliases=("APERIOD",),
               description="treatment cycle (1 = first dose)"),
        Column("NRRLT", "number", aliases=("NOMTIME",),
               description="nominal time from the cycle's dose (h); <= 0 is pre-dose"),
        Column("ARRLT", "number", aliases=("ACTTIME",),
               description="actual time from the cycle's dose (h)"),
        Column("AVAL", "number", nullable=True, min=0, aliases=("PCSTRESN", "CONC"),
               description="concentration; blank if BLQ or not measured"),
        Column("BLQFL", "flag", aliases=("PCBLQFL",),
               description="Y if below the lower limit of quantification"),
        Column("LLOQ", "number", min=0, min_exclusive=True, aliases=("PCLLOQ",),
               description="lower limit of quantification (concentration units)"),
        Column("AVALU", required=False, nullable=True, aliases=("PCSTRESU",),
               description="concentration unit"),
        Column("TAU", "number", required=False, nullable=True, min=0, min_exclusive=True,
               description="dosing interval (h), for AUCtau"),
        Column("SYNTHFL", "flag", required=False, nullable=True,
               description="Y: made-up data"),
    ),
)  # fmt: skip

#: Anti-drug antibody listing (ADAB-like): one row per subject and visit.
ADA_SCHEMA = Schema(
    "ADA",
    (
        Column("USUBJID", description="subject identifier (text)"),
        Column("ARM", description="arm"),
        Column("DOSE", "number", min=0, min_exclusive=True, aliases=("DOSEA",),
               description="dose (mg)"),
        Column("CYCLE", "integer", min=1, aliases=("AVISITN",),
               description="visit: the cycle whose pre-dose sample this is (1 = baseline; last + 1 = end of treatment)"),
        Column("BASEFL", "flag", aliases=("ABLFL",),
               description="Y for the baseline (pre-first-dose) sample"),
        Column("ADA", "category", allowed=("POSITIVE", "NEGATIVE"), aliases=("ADARES",),
               description="confirmed ADA result"),
        Column("TITRE", "number", nullable=True, min=0, min_exclusive=True,
               aliases=("TITER", "ADATITER"),
               description="titre of a positive sample (reciprocal dilution)"),
        Column("NAB", "category", required=False, nullable=True,
               allowed=("POSITIVE", "NEGATIVE"), aliases=("NABRES",),
               description="neutralising antibody result of an ADA-positive sample"),
        Column("ADY", "integer", required=False, nullable=True, aliases=("STUDYDAY",),
               description="study day of the sample (day 1 = first dose)"),
        Column("SYNTHFL", "flag", required=False, nullable=True,
               description="Y: made-up data"),
    ),
)  # fmt: skip


def bundled(name: Literal["pc", "ada"]) -> Path:
    """Path of a bundled synthetic BAT6021 listing (``"pc"`` or ``"ada"``)."""
    if name not in ("pc", "ada"):
        raise ValueError(f"bundled: name must be 'pc' or 'ada', got {name!r}")
    return Path(str(resources.files("bayes_dose") / "data" / f"bat6021_{name}.csv"))


@dataclass
class _Checks:
    problems: list[str] = field(default_factory=list)

    def add(self, msg: str) -> None:
        self.problems.append(msg)


def read_pc(
    source: pd.DataFrame | str | os.PathLike | None = None,
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a concentration listing (ADPC-like, :data:`PC_SCHEMA`); default: the bundled one.

    Beyond the cells, checks each record against the others:

    * ``BLQFL = Y`` with a concentration at or above ``LLOQ``, ``BLQFL = N`` with a
      concentration below ``LLOQ``: errors (``AVAL`` of a BLQ sample is usually blank);
    * two samples of one subject, cycle and nominal time: error;
    * within a profile (subject and cycle) ordered by nominal time, actual times must
      increase: an actual time out of order is an error naming its record and ``ARRLT``;
    * one dose, arm and dosing interval (``TAU``, blank rows aside) per subject and cycle:
      error otherwise;
    * a post-dose sample (``NRRLT > 0``) with an actual time at or before the dose
      (``ARRLT <= 0``): error.

    A quantifiable pre-dose sample (``NRRLT <= 0``) is not an error here: :func:`bayes_dose.pk.nca`
    lists it as excluded (cycle 1) or uses it as the residual concentration (later cycles).
    A sample with neither a value nor ``BLQFL = Y`` (not measured) is kept here and listed
    as excluded by the NCA.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> pc = bd.listings.read_pc()
    >>> bool(pc["SYNTHFL"].all()), pc["USUBJID"].nunique()
    (True, 33)
    """
    pc = read_listing(bundled("pc") if source is None else source, PC_SCHEMA, columns=columns)
    chk = _Checks()
    what = PC_SCHEMA.name
    blq = pc["BLQFL"].to_numpy(bool)
    x, lloq = pc["AVAL"].to_numpy(float), pc["LLOQ"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        bad = (blq & (x >= lloq)) | (~blq & (x < lloq))  # NaN compares False
    for i in np.flatnonzero(bad):
        r = pc.iloc[i]
        op = ">=" if blq[i] else "<"
        chk.add(f"{what}: {describe(r)} field 'BLQFL': '{'Y' if blq[i] else 'N'}' but AVAL "
                f"{x[i]:g} {op} LLOQ {lloq[i]:g}")  # fmt: skip
    for (_subj, _cyc), g in pc.groupby(["USUBJID", "CYCLE"], sort=False):
        for col in ("DOSE", "ARM", "TAU"):
            given = g[g[col].notna()]  # TAU may be blank on some rows
            if given[col].nunique() > 1:
                r = given.iloc[int(np.argmax((given[col] != given[col].iat[0]).to_numpy()))]
                chk.add(
                    f"{what}: {describe(r)} field {col!r}: {_show(r[col])} differs from "
                    f"{_show(given[col].iat[0])} of {given['source_row'].iat[0]} "
                    "(same subject and cycle)"
                )
        for _, r in g[(g["NRRLT"] > 0) & (g["ARRLT"] <= 0)].iterrows():
            chk.add(
                f"{what}: {describe(r)} field 'ARRLT': {r['ARRLT']:g} h is not after the dose "
                f"(nominal {r['NRRLT']:g} h post-dose)"
            )
        dup = g[g.duplicated("NRRLT", keep="first")]
        for _, r in dup.iterrows():
            first = g[g["NRRLT"] == r["NRRLT"]].iloc[0]
            chk.add(
                f"{what}: {describe(r)} field 'NRRLT': {r['NRRLT']:g} h repeats "
                f"{first['source_row']} (same subject and cycle)"
            )
        s = g.sort_values("NRRLT", kind="stable")
        act = s["ARRLT"].to_numpy()
        for j in range(1, len(s)):
            if act[j] <= act[j - 1]:
                r, prev = s.iloc[j], s.iloc[j - 1]
                chk.add(
                    f"{what}: {describe(r)} field 'ARRLT': {act[j]:g} h is not after "
                    f"{act[j - 1]:g} h of {prev['source_row']} (nominal {r['NRRLT']:g} h "
                    f"follows {prev['NRRLT']:g} h): times out of order"
                )
    if chk.problems:
        raise ListingError(chk.problems)
    return pc


def read_ada(
    source: pd.DataFrame | str | os.PathLike | None = None,
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read an anti-drug antibody listing (ADAB-like, :data:`ADA_SCHEMA`); default: bundled.

    Record checks: a positive sample needs a titre (``TITRE``; blank only if negative —
    a titre on a negative sample is an error); ``NAB`` is given only for ADA-positive
    samples (a NAb result on an ADA-negative sample is an error); at most one baseline
    (``BASEFL = Y``) per subject and at most one sample per subject and cycle.  A subject
    *without* a baseline is not an error here: :func:`bayes_dose.ada.incidence` lists it
    as not evaluable (it cannot be classed treatment-induced or boosted).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> ada = bd.listings.read_ada()
    >>> int(ada["BASEFL"].sum()) == ada["USUBJID"].nunique()
    True
    """
    ada = read_listing(bundled("ada") if source is None else source, ADA_SCHEMA, columns=columns)
    chk = _Checks()
    what = ADA_SCHEMA.name
    for i in range(len(ada)):
        r = ada.iloc[i]
        pos = r["ADA"] == "POSITIVE"
        if pos and np.isnan(r["TITRE"]):
            chk.add(f"{what}: {describe(r)} field 'TITRE': blank for a POSITIVE sample")
        if not pos and not np.isnan(r["TITRE"]):
            chk.add(
                f"{what}: {describe(r)} field 'TITRE': {r['TITRE']:g} given for a NEGATIVE sample"
            )
        if not pos and isinstance(r["NAB"], str):
            chk.add(
                f"{what}: {describe(r)} field 'NAB': {r['NAB']!r} given for an ADA-NEGATIVE sample"
            )
    for _subj, g in ada.groupby("USUBJID", sort=False):
        base = g[g["BASEFL"].fillna(False).astype(bool)]
        for _, r in base.iloc[1:].iterrows():
            chk.add(
                f"{what}: {describe(r)} field 'BASEFL': second baseline of the subject "
                f"(first: {base['source_row'].iat[0]})"
            )
        post = g[~g["BASEFL"].fillna(False).astype(bool)]
        for _, r in post[post.duplicated("CYCLE", keep="first")].iterrows():
            chk.add(f"{what}: {describe(r)} field 'CYCLE': {r['CYCLE']} repeats for the subject")
        for col in ("ARM", "DOSE"):
            if g[col].nunique() > 1:
                r = g.iloc[int(np.argmax((g[col] != g[col].iat[0]).to_numpy()))]
                chk.add(
                    f"{what}: {describe(r)} field {col!r}: {_show(r[col])} differs from "
                    f"{_show(g[col].iat[0])} of {g['source_row'].iat[0]} (same subject)"
                )
    if chk.problems:
        raise ListingError(chk.problems)
    return ada
