"""Non-compartmental analysis per subject and cycle (concentration listing -> tidy table).

Rules (stated once, also in ``nca(...).attrs["rules"]``):

* times are the actual times from the cycle's dose (``ARRLT``, h); a pre-dose sample
  (nominal time ``NRRLT <= 0``) is placed at time 0;
* **BLQ**: a BLQ sample before the first measurable concentration of a profile counts as
  0; a BLQ sample after it is excluded (listed with its reason);
* **first dose**: in cycle 1 the concentration at time 0 is 0 (no drug before the first
  dose); a *quantifiable* cycle-1 pre-dose sample is excluded and listed (it cannot be
  drug from a previous dose).  In later cycles the pre-dose sample is the residual
  concentration at time 0; without it, AUCs from time 0 are not computed;
* a sample with neither a value nor ``BLQFL = Y`` (not measured) is excluded and listed;
* AUC by linear-up / log-down trapezoids (linear when the concentration rises or either
  end is 0); ``auclast`` is AUC from 0 to the last measurable concentration;
  ``auctau`` is AUC from 0 to ``tau``: interpolated inside the samples (same rule), or
  extrapolated from the last measurable concentration with ``lambda_z`` when ``tau`` is
  after it; not computed (value NaN, ``note`` says why) when neither is possible;
* ``lambda_z``: log-linear regression on the last k >= 3 measurable points after Tmax
  (Tmax itself excluded); among the fits with ``lambda_z > 0`` those with adjusted R^2
  within 1e-4 of the best, the one with most points (as PKNCA and WinNonlin's
  best-fit rule); points used and adjusted R^2 are reported as parameters;
* ``ctrough``: the sample at nominal time ``tau`` of the cycle if there is one, else the
  pre-dose sample of the subject's next cycle; a BLQ trough is reported as NaN with
  note "BLQ";
* accumulation ratios ``rac_cmax`` and ``rac_auctau``: the cycle's value over cycle 1's;
  not computed (NaN, ``note`` says why) when the cycle's dose differs from cycle 1's.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..listings import describe, read_pc

__all__ = [
    "NCA_COLUMNS",
    "PARAMETERS",
    "RULES",
    "auc_interval",
    "lambda_z",
    "nca",
]

RULES = __doc__.split("Rules (stated once, also in ``nca(...).attrs[\"rules\"]``):")[1].strip()
#: Columns of the tidy NCA table.
NCA_COLUMNS = ("subject", "arm", "dose", "cycle", "parameter", "value", "unit", "note")
#: Parameters computed per profile, in order.
PARAMETERS = (
    "cmax", "tmax", "ctrough", "auclast", "auctau", "lambda_z", "half_life",
    "lambda_z_n_points", "lambda_z_adj_r2", "lambda_z_first_time", "lambda_z_last_time",
    "rac_cmax", "rac_auctau",
)  # fmt: skip
EXCLUDED_COLUMNS = ("source_row", "subject", "cycle", "nominal_time", "reason")
_ADJ_R2_TOLERANCE = 1e-4


def auc_interval(t1: float, c1: float, t2: float, c2: float) -> float:
    """Area between two samples, linear-up / log-down.

    Examples
    --------
    >>> auc_interval(0, 0, 1, 10)  # rising: linear
    5.0
    >>> round(auc_interval(1, 10, 2, 5), 6)  # falling: (10 - 5) / ln(10 / 5)
    7.213475
    """
    dt = t2 - t1
    if c2 >= c1 or c1 <= 0 or c2 <= 0:
        return 0.5 * (c1 + c2) * dt
    return (c1 - c2) / math.log(c1 / c2) * dt


def _interp(t1: float, c1: float, t2: float, c2: float, t: float) -> float:
    if c2 >= c1 or c1 <= 0 or c2 <= 0:
        return c1 + (c2 - c1) * (t - t1) / (t2 - t1)
    return math.exp(math.log(c1) + (math.log(c2) - math.log(c1)) * (t - t1) / (t2 - t1))


@dataclass(frozen=True)
class LambdaZ:
    """Terminal-phase fit: rate, points used, adjusted R^2, time range."""

    value: float
    n_points: int
    adj_r2: float
    first_time: float
    last_time: float


def lambda_z(times: Sequence[float], conc: Sequence[float], min_points: int = 3) -> LambdaZ | None:
    """Terminal elimination rate by the best adjusted R^2 (``None``: not estimable).

    ``times`` / ``conc`` are the measurable points after Tmax (Tmax excluded), in time
    order.  Fits the last k points for every k >= ``min_points``.

    Examples
    --------
    >>> fit = lambda_z([2, 4, 6], [8.0, 4.0, 2.0])  # half-life 2 h: ln(2) / 2
    >>> fit.n_points, round(fit.value, 6)
    (3, 0.346574)
    """
    t = np.asarray(times, dtype=float)
    c = np.asarray(conc, dtype=float)
    keep = c > 0
    t, c = t[keep], c[keep]
    best: list[LambdaZ] = []
    for k in range(min_points, len(t) + 1):
        x, y = t[-k:], np.log(c[-k:])
        xm, ym = x.mean(), y.mean()
        sxx = float(np.sum((x - xm) ** 2))
        if sxx <= 0:
            continue
        slope = float(np.sum((x - xm) * (y - ym)) / sxx)
        resid = y - (ym + slope * (x - xm))
        syy = float(np.sum((y - ym) ** 2))
        r2 = 1.0 if syy == 0 else 1 - float(np.sum(resid**2)) / syy
        adj = 1 - (1 - r2) * (k - 1) / (k - 2)
        if -slope > 0:
            best.append(LambdaZ(-slope, k, adj, float(x[0]), float(x[-1])))
    if not best:
        return None
    top = max(b.adj_r2 for b in best)
    close = [b for b in best if b.adj_r2 >= top - _ADJ_R2_TOLERANCE]
    return max(close, key=lambda b: b.n_points)


@dataclass
class _Profile:
    subject: str
    arm: str
    dose: float
    cycle: int
    tau: float | None
    t: list[float] = field(default_factory=list)
    c: list[float] = field(default_factory=list)
    c0: float | None = None  # concentration at time 0 (None: unknown)
    trough: tuple[float, str] | None = None  # (value or nan, note)
    n_post: int = 0


def _profiles(pc: pd.DataFrame, tau: float | None) -> tuple[list[_Profile], list[dict]]:
    excluded: list[dict] = []

    def drop(r: pd.Series, reason: str) -> None:
        excluded.append({
            "source_row": r["source_row"], "subject": r["USUBJID"], "cycle": int(r["CYCLE"]),
            "nominal_time": float(r["NRRLT"]), "reason": reason,
        })  # fmt: skip

    profiles: list[_Profile] = []
    predose_next: dict[tuple[str, int], tuple[float, str]] = {}
    for (subj, cyc), g in pc.groupby(["USUBJID", "CYCLE"], sort=False):
        g = g.sort_values("NRRLT", kind="stable")
        r0 = g.iloc[0]
        tau_c = tau
        if tau_c is None and "TAU" in g and g["TAU"].notna().any():
            tau_c = float(g["TAU"].dropna().iloc[0])
        p = _Profile(str(subj), str(r0["ARM"]), float(r0["DOSE"]), int(cyc), tau_c)
        if int(cyc) == 1:
            p.c0 = 0.0
        seen_measurable = False
        for _, r in g.iterrows():
            blq, x = bool(r["BLQFL"]), float(r["AVAL"])
            if not blq and np.isnan(x):
                drop(r, "not measured (AVAL blank and BLQFL = N)")
                continue
            if r["NRRLT"] <= 0:  # pre-dose
                if int(cyc) == 1:
                    if not blq:
                        drop(r, f"quantifiable pre-dose sample ({x:g}) before the first "
                                "dose: excluded; C(0) taken as 0")  # fmt: skip
                else:
                    p.c0 = 0.0 if blq else x
                    predose_next[(str(subj), int(cyc))] = (
                        (np.nan, f"BLQ (< LLOQ {r['LLOQ']:g}); {r['source_row']}") if blq
                        else (x, f"pre-dose of cycle {int(cyc)}, {r['source_row']}")
                    )  # fmt: skip
                continue
            is_trough = tau_c is not None and math.isclose(float(r["NRRLT"]), tau_c)
            if blq:
                if seen_measurable:
                    drop(r, "BLQ after the first measurable concentration: excluded")
                    if is_trough:
                        p.trough = (np.nan, f"BLQ (< LLOQ {r['LLOQ']:g}); {r['source_row']}")
                    continue
                x = 0.0
            else:
                seen_measurable = True
            if is_trough and not blq:
                p.trough = (x, f"nominal {tau_c:g} h sample, {r['source_row']}")
            p.t.append(float(r["ARRLT"]))
            p.c.append(x)
            p.n_post += 1
        profiles.append(p)
    for p in profiles:
        if p.trough is None and (p.subject, p.cycle + 1) in predose_next:
            p.trough = predose_next[(p.subject, p.cycle + 1)]
    return profiles, excluded


def _params(p: _Profile) -> list[tuple[str, float, str]]:
    out: list[tuple[str, float, str]] = []
    nan = float("nan")
    if not p.t:
        note = "no usable post-dose sample"
        return [(name, nan, note) for name in PARAMETERS if not name.startswith("rac")]
    t, c = np.array(p.t), np.array(p.c)
    i_max = int(np.argmax(c))  # first maximum
    sparse = f"from {p.n_post} post-dose sample(s)" if p.n_post < 3 else ""
    out.append(("cmax", float(c[i_max]), sparse))
    out.append(("tmax", float(t[i_max]), sparse))
    if p.trough is None:
        out.append(("ctrough", nan, "no end-of-interval sample (nominal tau or next pre-dose)"))
    else:
        out.append(("ctrough", p.trough[0], p.trough[1]))
    meas = np.nonzero(c > 0)[0]
    lz = lambda_z(t[i_max + 1 :], c[i_max + 1 :]) if len(t) > i_max + 1 else None
    if p.c0 is None:
        note = "no pre-dose sample: AUC from time 0 not computed"
        out += [("auclast", nan, note), ("auctau", nan, note)]
    elif len(meas) == 0:
        out += [("auclast", 0.0, "no measurable concentration"), ("auctau", nan, "no measurable concentration")]
    else:
        tt = np.concatenate([[0.0], t])
        cc = np.concatenate([[p.c0], c])
        last = int(meas[-1]) + 1
        auclast = sum(auc_interval(tt[j], cc[j], tt[j + 1], cc[j + 1]) for j in range(last))
        out.append(("auclast", float(auclast), f"AUC0-t, t = {tt[last]:g} h"))
        out.append(_auctau(p, tt, cc, last, lz))
    if lz is None:
        note = "not estimable (< 3 measurable points after Tmax with a falling fit)"
        out += [("lambda_z", nan, note), ("half_life", nan, note),
                ("lambda_z_n_points", nan, note), ("lambda_z_adj_r2", nan, note),
                ("lambda_z_first_time", nan, note), ("lambda_z_last_time", nan, note)]  # fmt: skip
    else:
        out += [("lambda_z", lz.value, ""), ("half_life", math.log(2) / lz.value, ""),
                ("lambda_z_n_points", float(lz.n_points), ""), ("lambda_z_adj_r2", lz.adj_r2, ""),
                ("lambda_z_first_time", lz.first_time, ""), ("lambda_z_last_time", lz.last_time, "")]  # fmt: skip
    return out


def _auctau(p: _Profile, tt: np.ndarray, cc: np.ndarray, last: int, lz: LambdaZ | None):
    nan = float("nan")
    if p.tau is None:
        return ("auctau", nan, "no dosing interval (TAU column or tau=)")
    tau = p.tau
    area = 0.0
    for j in range(len(tt) - 1):
        if tt[j + 1] <= tau:
            area += auc_interval(tt[j], cc[j], tt[j + 1], cc[j + 1])
        else:
            if tt[j] < tau:
                ct = _interp(tt[j], cc[j], tt[j + 1], cc[j + 1], tau)
                area += auc_interval(tt[j], cc[j], tau, ct)
            return ("auctau", float(area), "")
    # tau after the last sample: only if the last sample is the last measurable one
    t_last = tt[last]
    if math.isclose(t_last, tau):
        return ("auctau", float(area), "")
    if lz is None:
        return ("auctau", nan, f"tau {tau:g} h after the last measurable sample "
                               f"({t_last:g} h) and lambda_z not estimable")  # fmt: skip
    area = sum(auc_interval(tt[j], cc[j], tt[j + 1], cc[j + 1]) for j in range(last))
    c_last = cc[last]
    extra = c_last / lz.value * (1 - math.exp(-lz.value * (tau - t_last)))
    return ("auctau", float(area + extra), f"extrapolated from {t_last:g} h with lambda_z")


def nca(
    concentrations: pd.DataFrame | str | os.PathLike | None = None, *, tau: float | None = None
) -> pd.DataFrame:
    """NCA per subject and cycle: a tidy table (one row per parameter).

    Parameters
    ----------
    concentrations
        A listing read by :func:`bayes_dose.listings.read_pc`, or anything it reads
        (DataFrame, ``.csv``, ``.xpt``); default: the bundled synthetic listing.
    tau
        Dosing interval (h) for ``auctau`` and ``ctrough``; default: the ``TAU`` column.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NCA_COLUMNS` (``subject``, ``arm``, ``dose``, ``cycle``,
        ``parameter``, ``value``, ``unit``, ``note``); a parameter that cannot be
        computed has ``value`` NaN and its reason in ``note``.  ``attrs["excluded"]`` is
        the table of excluded records (``source_row``, ``subject``, ``cycle``,
        ``nominal_time``, ``reason``) and ``attrs["rules"]`` the rules above.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> res = bd.pk.nca()
    >>> res.query("subject == 'M07' and cycle == 1 and parameter == 'cmax'")["value"].round(1).tolist()
    [120.2]
    >>> len(res.attrs["excluded"])  # each with its source line and reason
    8
    """
    pc = concentrations
    if not (isinstance(pc, pd.DataFrame) and "source_row" in pc.columns):
        pc = read_pc(pc)
    if tau is not None and not (isinstance(tau, (int, float)) and tau > 0):
        raise ValueError(f"nca: tau must be a positive number of hours, got {tau!r}")
    profiles, excluded = _profiles(pc, tau)
    unit_c = "conc"
    if "AVALU" in pc and pc["AVALU"].notna().any():
        units = pc["AVALU"].dropna().unique()
        if len(units) > 1:
            r = pc[pc["AVALU"] != units[0]].iloc[0]
            raise ValueError(f"nca: {describe(r)} field 'AVALU': {r['AVALU']!r} differs from "
                             f"{units[0]!r}; convert to one unit first")  # fmt: skip
        unit_c = str(units[0])
    units = {"cmax": unit_c, "ctrough": unit_c, "tmax": "h", "auclast": f"h*{unit_c}",
             "auctau": f"h*{unit_c}", "lambda_z": "1/h", "half_life": "h",
             "lambda_z_n_points": "", "lambda_z_adj_r2": "", "lambda_z_first_time": "h",
             "lambda_z_last_time": "h", "rac_cmax": "", "rac_auctau": ""}  # fmt: skip
    rows = []
    first: dict[str, dict[str, float]] = {}
    first_dose: dict[str, float] = {}
    for p in profiles:
        vals = _params(p)
        if p.cycle == 1:
            first[p.subject] = {k: v for k, v, _ in vals}
            first_dose[p.subject] = p.dose
        for k, v, note in vals:
            rows.append((p.subject, p.arm, p.dose, p.cycle, k, v, units[k], note))
    for p in profiles:
        if p.cycle == 1:
            continue
        cur = {k: v for k, v, _ in rows_of(rows, p)}
        d1 = first_dose.get(p.subject)
        if d1 is not None and not math.isclose(p.dose, d1):
            why = f"dose {p.dose:g} mg differs from cycle 1 ({d1:g} mg): not an accumulation ratio"
            for k in ("rac_cmax", "rac_auctau"):
                rows.append((p.subject, p.arm, p.dose, p.cycle, k, float("nan"), "", why))
            continue
        for k, base_k in (("rac_cmax", "cmax"), ("rac_auctau", "auctau")):
            base = first.get(p.subject, {}).get(base_k, float("nan"))
            v = cur.get(base_k, float("nan"))
            if np.isnan(base) or np.isnan(v) or base == 0:
                why = "cycle 1 value missing" if p.subject not in first or np.isnan(base) else "value missing"
                rows.append((p.subject, p.arm, p.dose, p.cycle, k, float("nan"), "", why))
            else:
                rows.append((p.subject, p.arm, p.dose, p.cycle, k, v / base, "", f"{base_k} over cycle 1"))
    out = pd.DataFrame(rows, columns=list(NCA_COLUMNS))
    order = {k: i for i, k in enumerate(PARAMETERS)}
    out["_o"] = out["parameter"].map(order)
    out = out.sort_values(["subject", "cycle", "_o"], kind="stable").drop(columns="_o")
    out = out.reset_index(drop=True)
    out.attrs["excluded"] = pd.DataFrame(excluded, columns=list(EXCLUDED_COLUMNS))
    out.attrs["rules"] = RULES
    return out


def rows_of(rows: list[tuple], p: _Profile) -> list[tuple[str, float, str]]:
    """The (parameter, value, note) rows of profile ``p`` among ``rows``."""
    return [(r[4], r[5], r[7]) for r in rows if r[0] == p.subject and r[3] == p.cycle]
