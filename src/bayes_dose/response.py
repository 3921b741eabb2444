"""Tumour response (RECIST 1.1): best overall response, ORR and disease control.

Input: one row per subject and tumour assessment (see :data:`RESPONSE_COLUMNS`; read a
listing with :func:`read_response_listing`).  Rows on or before the first-dose day are the
baseline (sum of diameters, no response); every later row carries an overall response
``CR``, ``PR``, ``SD``, ``NON-CR/NON-PD``, ``PD`` or ``NE``.

The confirmation rule (:data:`CONFIRMATION_RULE`, parameters of
:func:`best_overall_response`): assessments after the first PD are not used (listed in
``excluded``).  CR is confirmed by a later CR at least ``confirm_days`` (28) days after it;
PR by a later CR or PR at least ``confirm_days`` after a CR or PR.  Otherwise the best
response is SD if an SD, non-CR/non-PD, PR or CR was assessed at least ``sd_min_days`` (35:
6 weeks minus a 7-day window) after the first dose; else PD if progression was assessed;
else NE (not evaluable).  Subjects with no post-baseline assessment are NE.  ORR counts
confirmed CR + PR, the disease-control rate CR + PR + SD (SD including non-CR/non-PD), both
over all subjects of the group (NE counted as non-responders), with Clopper-Pearson
intervals.

Every PR row is checked against the sum of target-lesion diameters: a sum not at least
:data:`PR_MIN_DECREASE` (30) % below the subject's baseline sum (or a baseline sum of 0) is
an error naming the row, whether the row is used or not; a PR used for the best response
that cannot be checked (no baseline row, a blank baseline or visit sum) is used as recorded
and listed in :attr:`BOR.flags` (one after progression is not used: listed in
:attr:`BOR.excluded` only).

The Bayesian hierarchical model across tumour cohorts is in :mod:`bayes_dose.basket`
(re-exported here as :func:`hierarchical_orr`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .basket import HierarchicalFit, hierarchical_orr

__all__ = [
    "BOR",
    "CATEGORIES",
    "CONFIRMATION_RULE",
    "PR_MIN_DECREASE",
    "RESPONSE_COLUMNS",
    "RESPONSE_SCHEMA",
    "HierarchicalFit",
    "best_overall_response",
    "bundled_response_listing",
    "clopper_pearson",
    "hierarchical_orr",
    "orr",
    "read_response_listing",
    "validate_responses",
]

#: canonical columns of a per-visit response frame (listing names in parentheses are read
#: by :func:`read_response_listing`)
RESPONSE_COLUMNS = {
    "subject": "subject identifier (USUBJID)",
    "arm": "treatment arm, e.g. mono / combo (ARM)",
    "dose_mg": "BAT6021 dose in mg (DOSE)",
    "cohort": "tumour type / expansion cohort (COHORT)",
    "day": "study day of the assessment, first dose = day 1 (ADY)",
    "response": "RECIST 1.1 overall response at the visit; blank at baseline (OVRLRESP)",
    "sum_diameters": "sum of target-lesion diameters, mm (SUMDIAM)",
}
#: listing column -> canonical column
LISTING_NAMES = {
    "USUBJID": "subject", "ARM": "arm", "DOSE": "dose_mg", "COHORT": "cohort", "ADY": "day",
    "OVRLRESP": "response", "SUMDIAM": "sum_diameters",
}  # fmt: skip
#: the recognised RECIST 1.1 overall responses (upper case)
CATEGORIES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")


def _schema():
    from .listings import Column, Schema

    return Schema(
        "tumour response",
        (
            Column("USUBJID", description="subject identifier (text)"),
            Column("ARM", description="arm, e.g. mono / combo"),
            Column("DOSE", "number", min=0, min_exclusive=True, aliases=("DOSEA",),
                   description="BAT6021 dose (mg)"),
            Column("COHORT", aliases=("TUMTYPE",),
                   description="tumour type / expansion cohort ('escalation' in dose escalation)"),
            Column("ADY", "integer", aliases=("STUDYDAY",),
                   description="study day of the assessment (day 1 = first dose; <= 1: baseline)"),
            Column("OVRLRESP", "category", nullable=True, allowed=CATEGORIES,
                   aliases=("AVALC", "RSORRES"),
                   description="RECIST 1.1 overall response; blank at baseline"),
            Column("SUMDIAM", "number", nullable=True, min=0, aliases=("SOD",),
                   description="sum of target-lesion diameters (mm); blank if not measured"),
            Column("STUDYID", required=False, nullable=True, description="study"),
        ),
    )  # fmt: skip


#: listing schema of a tumour-response listing (:mod:`bayes_dose.listings`)
RESPONSE_SCHEMA = _schema()
_ORDER = {"CR": 0, "PR": 1, "SD": 2, "PD": 3, "NE": 4}
#: RECIST 1.1: a partial response needs at least this decrease (%) of the sum of diameters
PR_MIN_DECREASE = 30.0
CONFIRMATION_RULE = (
    "RECIST 1.1 with confirmation: assessments after the first PD are not used; CR needs a "
    "later CR >= {confirm_days} days after it, PR a later CR/PR >= {confirm_days} days after "
    "a CR/PR; otherwise SD if SD/non-CR-non-PD/PR/CR was seen >= {sd_min_days} days after the "
    "first dose, else PD if progression was seen, else NE. ORR = confirmed CR+PR, DCR = "
    "CR+PR+SD, over all subjects (NE = non-responder); Clopper-Pearson intervals."
)


# -- reading and validation ---------------------------------------------------------------
def _blank(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""


def _sum_value(v, where: str) -> float:
    """One sum of diameters as a float (blank: NaN); else an error naming ``where``."""
    if _blank(v):
        return np.nan
    try:
        s = float(v)
    except (TypeError, ValueError):
        s = -1.0
    if not (np.isfinite(s) and s >= 0):
        raise ValueError(f"{where}: must be a non-negative number, got {v!r}")
    return s


def _check_sums(
    df: pd.DataFrame, first_dose_day: int, where: Callable[[int], str]
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The sums of diameters and each PR row against the subject's baseline sum (RECIST 1.1).

    The checks of both :func:`validate_responses` and :func:`best_overall_response` (a
    frame validated, then edited).  ``where(i)`` names row ``i`` (0-based position) and its
    sum field in the errors: a sum that is not a non-negative number; a PR whose sum is not
    >= :data:`PR_MIN_DECREASE` % below the baseline sum, or whose baseline sum is 0.
    Returns the sums (blank: NaN) and ``(position, text)`` per PR that cannot be checked (no
    baseline row, a blank baseline sum, a blank sum at the visit).  The baseline is the
    subject's last row on or before ``first_dose_day``, as in :func:`best_overall_response`.
    """
    sods = np.asarray([_sum_value(v, where(i)) for i, v in enumerate(df["sum_diameters"].tolist())],
                      dtype=float)  # fmt: skip
    d = pd.DataFrame({"subject": df["subject"].to_numpy(), "day": df["day"].to_numpy(),
                      "pr": df["response"].fillna("").astype(str).to_numpy() == "PR",
                      "sod": sods})  # fmt: skip
    flags: list[tuple[int, str]] = []
    unchecked = "PR not checked against the sum of diameters: "
    for _, g in d.groupby("subject", sort=False):
        g = g.sort_values("day", kind="stable")
        base = g[g.day <= first_dose_day]
        for pos, r in zip(g.index, g.itertuples(), strict=True):
            if not r.pr:
                continue
            if base.empty:
                flags.append((int(pos), unchecked + "no baseline row"))
                continue
            b, bday = float(base.sod.iloc[-1]), int(base.day.iloc[-1])
            if not np.isfinite(b):
                flags.append((int(pos), unchecked + "baseline sum of diameters blank"))
            elif not np.isfinite(r.sod):
                flags.append((int(pos), unchecked + "sum of diameters blank at this visit"))
            elif b == 0:
                raise ValueError(f"{where(int(pos))}: PR on day {r.day} but the baseline sum of "
                                 f"diameters is 0 mm (day {bday}): no target lesion to shrink")  # fmt: skip
            else:
                pct = float(np.round(100.0 * (r.sod - b) / b, 10))
                if pct > -PR_MIN_DECREASE:
                    digits = 2  # enough digits that the figure shown is not the 30 % it misses
                    while round(pct, digits) <= -PR_MIN_DECREASE and digits < 10:
                        digits += 1
                    raise ValueError(
                        f"{where(int(pos))}: PR on day {r.day} but the sum of diameters {r.sod:g} mm is "
                        f"{round(pct, digits):+g}% from the baseline {b:g} mm (day {bday}); RECIST 1.1 "
                        f"PR needs a decrease of at least {PR_MIN_DECREASE:g}%"
                    )  # fmt: skip
    return sods, flags


def validate_responses(
    frame: pd.DataFrame,
    *,
    first_dose_day: int = 1,
    source: str = "data",
    rows: Sequence[str] | None = None,
    fields: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Validate a per-visit response frame with the canonical columns; returns a clean copy.

    Errors name the record (``rows[i]``; default ``"row i"``, the 0-based position) and the
    field (``fields`` maps canonical to listing names for messages): missing columns,
    blank subject/day, a day that is not a whole number, an unknown RECIST category, a
    response at baseline or a blank one after it, a negative or non-numeric sum of
    diameters, two assessments of a subject on one day, a subject whose arm, dose or
    cohort changes between rows, a PR whose sum of diameters is not at least
    :data:`PR_MIN_DECREASE` % below the subject's baseline sum (RECIST 1.1; a PR that cannot
    be checked, without a baseline or visit sum, is listed in :attr:`BOR.flags` instead if
    the best response uses it).  :func:`best_overall_response` repeats the sum checks on a
    frame validated here and edited since.
    The result has a ``source_row`` column.
    """
    missing = [c for c in RESPONSE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; need {list(RESPONSE_COLUMNS)}")
    df = frame[list(RESPONSE_COLUMNS)].copy().reset_index(drop=True)
    rows = [f"row {i}" for i in range(len(df))] if rows is None else list(rows)
    fields = dict(fields or {})

    def where(i: int, col: str) -> str:
        return f"{source}: {rows[i]} (subject {df.subject[i]!r}) field {fields.get(col, col)!r}"

    days, resp, sod, dose = [], [], [], []
    for i, row in enumerate(df.itertuples(index=False)):
        for col in ("subject", "arm", "cohort"):
            if _blank(getattr(row, col)):
                raise ValueError(f"{where(i, col)}: blank {col}")
        try:
            d = float(row.day)
        except (TypeError, ValueError):
            d = np.nan
        if not np.isfinite(d) or d != int(d):
            raise ValueError(f"{where(i, 'day')}: study day must be a whole number, got {row.day!r}")
        d = int(d)
        days.append(d)
        try:
            dm = float(row.dose_mg)
        except (TypeError, ValueError):
            dm = np.nan
        if not (np.isfinite(dm) and dm > 0):
            raise ValueError(f"{where(i, 'dose_mg')}: dose must be a positive number, got {row.dose_mg!r}")
        dose.append(dm)
        r = "" if _blank(row.response) else str(row.response).strip().upper()
        if d <= first_dose_day:
            if r:
                raise ValueError(
                    f"{where(i, 'response')}: {r!r} on day {d}, on or before the first dose "
                    f"(day {first_dose_day}): baseline rows carry no response"
                )
        elif not r:
            raise ValueError(
                f"{where(i, 'response')}: blank overall response on day {d}: write NE if the "
                "assessment was not evaluable"
            )
        elif r not in CATEGORIES:
            raise ValueError(
                f"{where(i, 'response')}: unknown RECIST category {row.response!r}; "
                f"use one of {', '.join(CATEGORIES)}"
            )
        resp.append(r or pd.NA)
        sod.append(_sum_value(row.sum_diameters, where(i, "sum_diameters")))
    df["subject"] = df["subject"].astype(str).str.strip()
    df["arm"] = df["arm"].astype(str).str.strip()
    df["cohort"] = df["cohort"].astype(str).str.strip()
    df["day"] = np.asarray(days, dtype=int)
    df["dose_mg"] = np.asarray(dose, dtype=float)
    df["response"] = pd.array(resp, dtype="string")
    df["sum_diameters"] = np.asarray(sod, dtype=float)
    df["source_row"] = rows
    dup = df.duplicated(["subject", "day"], keep="first")
    if dup.any():
        i = int(np.nonzero(dup.to_numpy())[0][0])
        raise ValueError(
            f"{where(i, 'day')}: subject {df.subject[i]} has two assessments on day {df.day[i]}"
        )
    for col in ("arm", "dose_mg", "cohort"):
        nun = df.groupby("subject", sort=False)[col].transform("nunique")
        if (nun > 1).any():
            i = int(np.nonzero((nun > 1).to_numpy())[0][0])
            raise ValueError(
                f"{where(i, col)}: subject {df.subject[i]} has more than one {col} "
                f"({sorted(map(str, df.loc[df.subject == df.subject[i], col].unique()))})"
            )
    _check_sums(df, first_dose_day, lambda i: where(i, "sum_diameters"))
    return df


def read_response_listing(
    source: str | Path | pd.DataFrame | None = None, *, first_dose_day: int = 1
) -> pd.DataFrame:
    """Read a tumour-response listing (CSV, SAS ``.xpt`` or a DataFrame) and validate it.

    Read with :func:`bayes_dose.listings.read_listing` against :data:`RESPONSE_SCHEMA`
    (columns ``USUBJID, ARM, DOSE, COHORT, ADY, OVRLRESP, SUMDIAM``; an unknown RECIST
    category, a non-integer day, a negative sum of diameters is a
    :class:`~bayes_dose.listings.ListingError` naming the line and field), then the
    record checks of :func:`validate_responses`.  Default: the bundled synthetic listing.
    Returns the canonical columns of :data:`RESPONSE_COLUMNS` plus ``source_row``.

    Examples
    --------
    >>> from bayes_dose import response
    >>> df = response.read_response_listing()
    >>> sorted(df["arm"].unique()), df["source_row"].iat[0]
    (['combo', 'mono'], 'line 2')
    """
    from .listings import read_listing

    if source is None:
        source = Path(str(resources.files("bayes_dose").joinpath("data/bat6021_response.csv")))
    lst = read_listing(source, RESPONSE_SCHEMA)
    canon = lst.rename(columns=LISTING_NAMES)
    return validate_responses(
        canon, first_dose_day=first_dose_day, source=RESPONSE_SCHEMA.name,
        rows=list(lst["source_row"]), fields={v: k for k, v in LISTING_NAMES.items()},
    )  # fmt: skip


def bundled_response_listing() -> pd.DataFrame:
    """The bundled **synthetic** BAT6021 tumour-response listing, validated.

    Escalation subjects (same ids, arms and doses as :func:`bayes_dose.examples.bat6021_frame`)
    and four combination expansion cohorts (tumour types, >= 20 subjects each) at 100 mg
    with tislelizumab.  Made up by ``tools/make_bat6021_response.py`` (seeded); column
    ``STUDYID = SYNTHETIC-BAT6021``; not trial data.
    """
    return read_response_listing()


# -- best overall response ----------------------------------------------------------------
@dataclass(frozen=True)
class BOR:
    """Best overall response per subject, the records not used and the rule applied.

    ``table``: one row per subject (``subject, arm, dose_mg, cohort, bor, bor_unconfirmed,
    confirmed, first_response_day, confirm_day, pd_day, last_day, n_assessments,
    baseline_sod, best_pct_change, reason``).  ``excluded``: every listing row not used for
    the best response (``source_row, subject, day, response, reason``).  ``rule``: the sentence.
    ``flags``: the PR rows used for the best response that could not be checked against
    the sum of diameters (no baseline row, a blank baseline or visit sum; same columns as
    ``excluded``); they are used as recorded.  A PR in ``excluded`` (after progression) is
    not used, so it is not in ``flags``: no row is in both.
    """

    table: pd.DataFrame
    excluded: pd.DataFrame
    rule: str
    flags: pd.DataFrame


def best_overall_response(
    visits: pd.DataFrame,
    *,
    confirm_days: int = 28,
    sd_min_days: int = 35,
    first_dose_day: int = 1,
) -> BOR:
    """Best overall response per subject with confirmation (RECIST 1.1).

    Parameters
    ----------
    visits
        Per-visit frame with the columns of :data:`RESPONSE_COLUMNS` (validated here; a
        frame from :func:`validate_responses` has its sums of diameters checked again, so
        an edit since, e.g. a negative sum or a PR the sums contradict, is an error naming
        the ``source_row``, subject and field).
    confirm_days
        Minimum days between a CR/PR and the assessment confirming it.
    sd_min_days
        Minimum days after the first dose for an SD to count as best response.
    first_dose_day
        Study day of the first dose; rows on or before it are the baseline.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_dose.response import best_overall_response
    >>> v = pd.DataFrame({"subject": "S1", "arm": "mono", "dose_mg": 100, "cohort": "NSCLC",
    ...     "day": [1, 43, 85, 127], "response": [None, "PR", "PR", "PD"],
    ...     "sum_diameters": [50, 30, 28, 45]})
    >>> b = best_overall_response(v)
    >>> r = b.table.iloc[0]
    >>> r.bor, int(r.first_response_day), int(r.confirm_day), float(r.best_pct_change)
    ('PR', 43, 85, -44.0)
    """
    if confirm_days < 0 or sd_min_days < 0:
        raise ValueError("confirm_days and sd_min_days must be >= 0")
    if "source_row" in visits.columns and visits["response"].dtype == "string":
        df = visits.reset_index(drop=True)
    else:
        df = validate_responses(visits, first_dose_day=first_dose_day)
    src, sid, dd = (df[c].to_numpy() for c in ("source_row", "subject", "day"))
    # the sums again: a frame validated, then edited, is refused as validate_responses would
    df["sum_diameters"], unchecked = _check_sums(
        df, first_dose_day, lambda i: f"{src[i]} (subject {sid[i]!r}) field 'sum_diameters'"
    )
    rows, excl, excluded_at = [], [], set()
    for subj, g in df.groupby("subject", sort=False):
        g = g.sort_values("day")
        base = g[g.day <= first_dose_day]
        post = g[g.day > first_dose_day]
        baseline_sod = np.nan
        for r in base.itertuples():
            if np.isfinite(r.sum_diameters) and not np.isfinite(baseline_sod):
                baseline_sod = r.sum_diameters
        if len(base) > 1:
            for r in base.iloc[:-1].itertuples():
                excl.append((r.source_row, subj, r.day, "", "earlier baseline row; the last one on or "
                             "before the first dose is the baseline"))  # fmt: skip
            baseline_sod = base.sum_diameters.iloc[-1]
        pd_rows = post[post.response == "PD"]
        pd_day = int(pd_rows.day.iloc[0]) if len(pd_rows) else None
        if pd_day is not None:
            after = post[post.day > pd_day]
            for r in after.itertuples():
                excluded_at.add(r.Index)
                excl.append((r.source_row, subj, r.day, str(r.response),
                             f"after progression on day {pd_day} (best response is taken up "
                             "to progression)"))  # fmt: skip
            post = post[post.day <= pd_day]
        resp = post.response.astype(str).tolist()
        day = post.day.tolist()
        first_resp = next((d for d, r in zip(day, resp, strict=True) if r in ("CR", "PR")), None)
        bor, confirm_day, why = None, None, ""
        # confirmed CR
        for i, (d, r) in enumerate(zip(day, resp, strict=True)):
            later = [d2 for d2, r2 in zip(day[i + 1 :], resp[i + 1 :], strict=True)
                     if r2 == "CR" and d2 - d >= confirm_days] if r == "CR" else []  # fmt: skip
            if later:
                bor, confirm_day = "CR", later[0]
                why = f"CR on day {d} confirmed by CR on day {later[0]}"
                break
        if bor is None:
            for i, (d, r) in enumerate(zip(day, resp, strict=True)):
                if r not in ("CR", "PR"):
                    continue
                later = [d2 for d2, r2 in zip(day[i + 1 :], resp[i + 1 :], strict=True)
                         if r2 in ("CR", "PR") and d2 - d >= confirm_days]  # fmt: skip
                if later:
                    bor, confirm_day = "PR", later[0]
                    why = f"{r} on day {d} confirmed by a response on day {later[0]}"
                    break
        sd_ok = [d for d, r in zip(day, resp, strict=True)
                 if r in ("SD", "NON-CR/NON-PD", "PR", "CR") and d - first_dose_day >= sd_min_days]  # fmt: skip
        if bor is None and sd_ok:
            bor = "SD"
            why = f"stable disease or better on day {sd_ok[0]} (>= {sd_min_days} days after the first dose)"
            if first_resp is not None:
                why += f"; response on day {first_resp} not confirmed"
        if bor is None and pd_day is not None:
            bor, why = "PD", f"progression on day {pd_day}"
            if first_resp is not None:
                why += f"; response on day {first_resp} not confirmed"
        if bor is None:
            bor = "NE"
            why = (
                "no post-baseline assessment" if not day
                else f"no confirmed response, no SD >= {sd_min_days} days, no progression"
            )
        # unconfirmed best (for reference)
        unc = [r if r != "NON-CR/NON-PD" else "SD" for r in resp]
        unc = [r for r, d in zip(unc, day, strict=True)
               if not (r == "SD" and d - first_dose_day < sd_min_days)]  # fmt: skip
        bor_unc = min(unc, key=_ORDER.get) if unc else "NE"
        sods = post.sum_diameters.to_numpy(dtype=float)
        finite = sods[np.isfinite(sods)]
        best_pct = (
            float(np.round(100.0 * (finite.min() - baseline_sod) / baseline_sod, 10))
            if finite.size and np.isfinite(baseline_sod) and baseline_sod > 0
            else np.nan
        )
        first = g.iloc[0]
        rows.append(
            {
                "subject": subj, "arm": first.arm, "dose_mg": float(first.dose_mg),
                "cohort": first.cohort, "bor": bor, "bor_unconfirmed": bor_unc,
                "confirmed": bor in ("CR", "PR"), "first_response_day": first_resp,
                "confirm_day": confirm_day, "pd_day": pd_day,
                "last_day": int(g.day.max()), "n_assessments": len(post),
                "baseline_sod": baseline_sod, "best_pct_change": best_pct, "reason": why,
            }
        )  # fmt: skip
    table = pd.DataFrame(rows)
    for c in ("first_response_day", "confirm_day", "pd_day"):
        table[c] = pd.array(table[c].tolist(), dtype="Int64")
    excluded = pd.DataFrame(excl, columns=["source_row", "subject", "day", "response", "reason"])
    rule = CONFIRMATION_RULE.format(confirm_days=confirm_days, sd_min_days=sd_min_days)
    flags = pd.DataFrame([(src[i], sid[i], int(dd[i]), "PR", text) for i, text in unchecked
                          if i not in excluded_at],
                         columns=list(excluded.columns))  # fmt: skip
    return BOR(table=table, excluded=excluded, rule=rule, flags=flags)


# -- ORR / DCR ----------------------------------------------------------------------------
def clopper_pearson(x: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for ``x`` successes of ``n``.

    Examples
    --------
    >>> from bayes_dose.response import clopper_pearson
    >>> [round(v, 4) for v in clopper_pearson(3, 10)]
    [0.0667, 0.6525]
    """
    if not (0 <= x <= n) or n < 1:
        raise ValueError(f"need 0 <= x <= n and n >= 1 (got x={x}, n={n})")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    a = (1 - conf_level) / 2
    lo = 0.0 if x == 0 else float(stats.beta.ppf(a, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.ppf(1 - a, x + 1, n - x))
    return lo, hi


def orr(
    responses: pd.DataFrame | BOR,
    by: Sequence[str] = ("arm", "dose_mg"),
    conf_level: float = 0.95,
    **bor_kwargs,
) -> pd.DataFrame:
    """Objective response and disease-control rates with Clopper-Pearson intervals.

    Parameters
    ----------
    responses
        A :class:`BOR`, its ``table`` (one row per subject with ``bor``) or a per-visit
        frame (then :func:`best_overall_response` is applied with ``bor_kwargs``).
    by
        Grouping columns, e.g. ``["arm", "dose_mg"]`` or ``["cohort"]``; ``[]`` for all.

    Returns
    -------
    pandas.DataFrame
        Per group: ``n``, ``n_cr``, ``n_pr``, ``n_sd``, ``n_pd``, ``n_ne``, ``responders``,
        ``orr``, ``orr_lower``, ``orr_upper``, ``dcr``, ``dcr_lower``, ``dcr_upper``.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_dose.response import orr
    >>> t = pd.DataFrame({"arm": "combo", "bor": ["PR"] * 3 + ["SD"] * 4 + ["PD"] * 3})
    >>> orr(t, by=["arm"])[["n", "responders", "orr", "orr_lower", "dcr"]].round(4).values.tolist()
    [[10.0, 3.0, 0.3, 0.0667, 0.7]]
    """
    if isinstance(responses, BOR):
        table = responses.table
    elif "bor" in responses.columns:
        table = responses
    else:
        table = best_overall_response(responses, **bor_kwargs).table
    by = list(by)
    bad = [c for c in by if c not in table.columns]
    if bad:
        raise ValueError(f"orr: no column(s) {bad} to group by (have {list(table.columns)})")
    unknown = set(table["bor"].astype(str)) - set(_ORDER)
    if unknown:
        raise ValueError(f"orr: unknown best overall response(s) {sorted(unknown)}")
    groups = table.groupby(by, sort=True, dropna=False) if by else [((), table)]
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        counts = {c: int((g["bor"] == c).sum()) for c in _ORDER}
        n = len(g)
        resp = counts["CR"] + counts["PR"]
        dc = resp + counts["SD"]
        olo, ohi = clopper_pearson(resp, n, conf_level)
        dlo, dhi = clopper_pearson(dc, n, conf_level)
        row = dict(zip(by, key, strict=True))
        row.update(
            n=n, n_cr=counts["CR"], n_pr=counts["PR"], n_sd=counts["SD"], n_pd=counts["PD"],
            n_ne=counts["NE"], responders=resp, orr=resp / n, orr_lower=olo, orr_upper=ohi,
            dcr=dc / n, dcr_lower=dlo, dcr_upper=dhi,
        )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
