"""Immunogenicity: ADA / NAb incidence with the harmonised terms of Shankar et al. (2014).

Per subject, from an ADA listing (:func:`bayes_dose.listings.read_ada`; one sample per
subject and visit, baseline ``BASEFL = Y``), following Shankar G et al., AAPS J 2014;
16: 658-73:

* **evaluable**: a baseline result and at least one post-baseline result.  A subject
  without a baseline sample cannot be classed (induced and boosted need the baseline):
  not evaluable, listed with the reason and the rows (``attrs["not_evaluable"]``);
* **baseline positive** (pre-existing ADA): positive baseline sample;
* **treatment-induced**: negative baseline, at least one positive post-baseline sample;
* **treatment-boosted**: positive baseline and a post-baseline titre at least
  ``boost_fold`` (default 4) times the baseline titre;
* **treatment-emergent** (the ADA incidence): induced or boosted;
* **persistent** / **transient** (of treatment-induced ADA): persistent if positive at
  the last sample, or at >= 2 samples whose first and last positives are >= 16 weeks apart
  (``persistent_weeks``); transient otherwise.  Sample days are ``ADY`` when it is given
  for every post-baseline sample of the subject, else ``(CYCLE - 1) * cycle_days + 1``;
* **NAb positive**: a treatment-emergent subject with a NAb-positive post-baseline sample.

:func:`incidence` counts each category by arm and dose (and per arm over doses) with the
exact Clopper-Pearson interval; the denominator is the evaluable subjects (subjects with a
baseline for "baseline positive").  :func:`pk_by_status` summarises Cmax and Ctrough by
treatment-emergent ADA status.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .listings import read_ada

__all__ = ["CATEGORIES", "classify", "clopper_pearson", "incidence", "pk_by_status"]

#: Incidence categories, in order.
CATEGORIES = (
    "baseline positive", "treatment-emergent", "treatment-induced", "treatment-boosted",
    "persistent", "transient", "NAb positive",
)  # fmt: skip


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a binomial proportion; ``(nan, nan)`` if n = 0.

    Examples
    --------
    >>> [round(x, 4) for x in clopper_pearson(2, 10)]
    [0.0252, 0.5561]
    """
    if n == 0:
        return (float("nan"), float("nan"))
    a = 1 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def _read(ada) -> pd.DataFrame:
    if isinstance(ada, pd.DataFrame) and "source_row" in ada.columns:
        return ada
    return read_ada(ada)


def classify(
    ada: pd.DataFrame | str | os.PathLike | None = None,
    *,
    boost_fold: float = 4.0,
    persistent_weeks: float = 16.0,
    cycle_days: int = 21,
) -> pd.DataFrame:
    """One row per subject: baseline, treatment-emergent status, persistence, NAb.

    Columns: ``subject``, ``arm``, ``dose``, ``evaluable``, ``baseline`` ("POSITIVE" /
    "NEGATIVE" / None), ``induced``, ``boosted``, ``emergent``, ``persistence``
    ("persistent" / "transient" / None), ``nab``, ``max_fold`` (highest post-baseline
    titre over the baseline titre), ``reason`` (why not evaluable).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> c = bd.ada.classify()
    >>> int(c["evaluable"].sum()), int(c["emergent"].sum())
    (33, 10)
    """
    if not boost_fold > 1:
        raise ValueError(f"classify: boost_fold must be > 1, got {boost_fold!r}")
    df = _read(ada)
    rows = []
    for subj, g in df.groupby("USUBJID", sort=False):
        base = g[g["BASEFL"].fillna(False).astype(bool)]
        post = g[~g["BASEFL"].fillna(False).astype(bool)].sort_values("CYCLE")
        rec = {"subject": subj, "arm": g["ARM"].iat[0], "dose": float(g["DOSE"].iat[0]),
               "evaluable": False, "baseline": None, "induced": False, "boosted": False,
               "emergent": False, "persistence": None, "nab": False, "max_fold": np.nan,
               "reason": ""}  # fmt: skip
        if base.empty:
            rec["reason"] = (f"no baseline sample (BASEFL = Y) among {', '.join(g['source_row'])}: "
                             "treatment-induced / boosted cannot be classed")  # fmt: skip
            rows.append(rec)
            continue
        if post.empty:
            rec["baseline"] = base["ADA"].iat[0]
            rec["reason"] = f"no post-baseline sample (baseline {base['source_row'].iat[0]})"
            rows.append(rec)
            continue
        rec["evaluable"] = True
        b_pos = base["ADA"].iat[0] == "POSITIVE"
        rec["baseline"] = base["ADA"].iat[0]
        pos = post["ADA"] == "POSITIVE"
        if b_pos:
            b_t = float(base["TITRE"].iat[0])
            fold = post.loc[pos, "TITRE"].to_numpy(float) / b_t
            rec["max_fold"] = float(fold.max()) if len(fold) else 0.0
            rec["boosted"] = bool(len(fold) and fold.max() >= boost_fold)
        else:
            rec["induced"] = bool(pos.any())
        rec["emergent"] = rec["induced"] or rec["boosted"]
        if rec["induced"]:
            days = post["ADY"] if "ADY" in post and post["ADY"].notna().all() else None
            if days is None:
                days = (post["CYCLE"].astype(int) - 1) * cycle_days + 1
            d = days.to_numpy(float)[pos.to_numpy()]
            last_pos = bool(pos.iat[-1])
            span = d.max() - d.min()
            rec["persistence"] = (
                "persistent" if last_pos or (len(d) >= 2 and span >= persistent_weeks * 7)
                else "transient"
            )  # fmt: skip
        if rec["emergent"] and "NAB" in post:
            rec["nab"] = bool((post["NAB"] == "POSITIVE").any())
        rows.append(rec)
    return pd.DataFrame(rows)


def incidence(
    ada: pd.DataFrame | str | os.PathLike | None = None,
    *,
    level: float = 0.95,
    boost_fold: float = 4.0,
    persistent_weeks: float = 16.0,
    cycle_days: int = 21,
) -> pd.DataFrame:
    """ADA incidence table by arm and dose (and per arm, ``dose = "all"``), exact CIs.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm``, ``dose``, ``category`` (:data:`CATEGORIES`), ``n``, ``N``
        (evaluable subjects; subjects with a baseline for "baseline positive"),
        ``percent``, ``ci_low``, ``ci_high`` (Clopper-Pearson, ``level``).
        ``attrs["subjects"]`` is :func:`classify`'s table and ``attrs["not_evaluable"]``
        its non-evaluable subjects with the reason.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> t = bd.ada.incidence()
    >>> row = t.query("arm == 'mono' and dose == 'all' and category == 'treatment-emergent'")
    >>> int(row["n"].iat[0]), int(row["N"].iat[0])
    (5, 18)
    """
    if not 0 < level < 1:
        raise ValueError(f"incidence: level must be in (0, 1), got {level!r}")
    subj = classify(ada, boost_fold=boost_fold, persistent_weeks=persistent_weeks,
                    cycle_days=cycle_days)  # fmt: skip
    out = []
    groups = []
    for arm, g in subj.groupby("arm", sort=False):
        for dose, gd in g.groupby("dose", sort=True):
            groups.append((arm, f"{dose:g}", gd))
        groups.append((arm, "all", g))
    for arm, dose, g in groups:
        ev = g[g["evaluable"]]
        with_base = g[g["baseline"].notna()]
        counts = {
            "baseline positive": (int((with_base["baseline"] == "POSITIVE").sum()), len(with_base)),
            "treatment-emergent": (int(ev["emergent"].sum()), len(ev)),
            "treatment-induced": (int(ev["induced"].sum()), len(ev)),
            "treatment-boosted": (int(ev["boosted"].sum()), len(ev)),
            "persistent": (int((ev["persistence"] == "persistent").sum()), len(ev)),
            "transient": (int((ev["persistence"] == "transient").sum()), len(ev)),
            "NAb positive": (int(ev["nab"].sum()), len(ev)),
        }
        for cat in CATEGORIES:
            k, n = counts[cat]
            lo, hi = clopper_pearson(k, n, level)
            out.append({"arm": arm, "dose": dose, "category": cat, "n": k, "N": n,
                        "percent": 100 * k / n if n else np.nan,
                        "ci_low": 100 * lo, "ci_high": 100 * hi})  # fmt: skip
    res = pd.DataFrame(out)
    res.attrs["subjects"] = subj
    res.attrs["not_evaluable"] = subj.loc[~subj["evaluable"], ["subject", "arm", "dose", "reason"]]
    res.attrs["level"] = level
    return res


def pk_by_status(
    nca: pd.DataFrame,
    ada: pd.DataFrame | str | os.PathLike | None = None,
    parameters: Sequence[str] = ("cmax", "ctrough"),
    **classify_kw,
) -> pd.DataFrame:
    """PK parameters by treatment-emergent ADA status (per arm and cycle).

    Geometric mean and geometric CV (%) of each parameter, and of the parameter divided
    by the dose (doses differ between subjects), among ADA-positive (treatment-emergent)
    and ADA-negative evaluable subjects.  Missing / non-positive values are left out and
    counted in ``n_missing``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> t = bd.ada.pk_by_status(bd.pk.nca())
    >>> sorted(t["ada_status"].unique())
    ['ADA negative', 'ADA positive']
    """
    subj = classify(ada, **classify_kw).set_index("subject")
    need = {"subject", "arm", "dose", "cycle", "parameter", "value"}
    if not isinstance(nca, pd.DataFrame) or not need <= set(nca.columns):
        raise ValueError(f"pk_by_status: expected the NCA table with columns {sorted(need)}")
    unknown = sorted(set(nca["subject"]) - set(subj.index))
    if unknown:
        raise ValueError(f"pk_by_status: subjects {unknown} of the NCA table have no ADA results")
    d = nca[nca["parameter"].isin(list(parameters))].copy()
    ev = subj["evaluable"]
    d = d[d["subject"].map(ev)]
    d["ada_status"] = np.where(d["subject"].map(subj["emergent"]), "ADA positive", "ADA negative")
    rows = []
    for (arm, cyc, par, status), g in d.groupby(["arm", "cycle", "parameter", "ada_status"]):
        ok = g[g["value"] > 0]
        lv = np.log(ok["value"].to_numpy(float))
        ln = np.log((ok["value"] / ok["dose"]).to_numpy(float))
        sd = float(np.std(lv, ddof=1)) if len(lv) > 1 else np.nan
        rows.append({
            "arm": arm, "cycle": int(cyc), "parameter": par, "ada_status": status,
            "n": len(ok), "n_missing": len(g) - len(ok),
            "geo_mean": float(np.exp(lv.mean())) if len(lv) else np.nan,
            "geo_cv_percent": 100 * float(np.sqrt(np.exp(sd**2) - 1)) if len(lv) > 1 else np.nan,
            "geo_mean_per_mg": float(np.exp(ln.mean())) if len(ln) else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)
