"""Operating-characteristics tables as reviewers expect them (R BOIN's ``get.oc`` layout).

Built from :func:`bayes_dose.operating_characteristics` (and
:func:`bayes_dose.overdose_risk_planned`): per arm and true-toxicity scenario,

* :func:`get_oc_table`: the true DLT rate per dose, then per design the selection
  percentage per dose (and of "none"), the mean number of patients and of DLTs per dose
  (with totals), as ``get.oc`` prints them;
* :func:`oc_summary_table`: per design the percentage of correct selection, of early
  stops without a selected dose, mean trial size and DLTs and the risks of overdosing
  under two stated definitions, each with its Monte Carlo standard error;
* :func:`oc_summary`: the long tables of every arm (with concordance) used by the CLI;
* :func:`oc_duration_table` (calendar-time simulations, ``simulate(..., timeline=)``): per
  design the trial duration in months (mean and 10/50/90 % quantiles), the days accrual
  was suspended and the patients turned away, queued and their wait, with MC SEs.

Definitions
-----------
*True MTD*: the level whose true DLT rate is closest to the target (ties: lower);
none when every level exceeds target + 0.1.  *Risk of overdosing (this package)*:
percentage of trials treating at least 60% (80%) of their own patients at doses above
the true MTD.  *Risk of overdosing (R BOIN)*: percentage of trials treating more than 60%
(80%) of the planned maximum sample size at doses whose true DLT rate exceeds the target.
*True OBD* (simulations with efficacy, ``simulate(..., efficacy=...)``): among doses whose
true DLT rate is at most the target, the one with the highest expected utility
(:func:`bayes_dose.obd.true_obd`); the tables then add the true response rate, the mean
responses per dose and the percentage selecting the true OBD.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "OBD_DEFINITION",
    "OVERDOSE_DEFINITIONS",
    "format_oc_table",
    "get_oc_table",
    "oc_duration_table",
    "oc_summary",
    "oc_summary_table",
]

#: The two definitions of the risk of overdosing, as stated in the memo.
OVERDOSE_DEFINITIONS = {
    "package": "percentage of simulated trials that treat at least 60% (80%) of their own "
    "patients at doses above the true MTD",
    "R BOIN": "R BOIN get.oc's definition: percentage of simulated trials that treat more "
    "than 60% (80%) of the planned maximum sample size at doses whose true DLT rate exceeds "
    "the target (n/a for a design without a planned maximum)",
}

#: The true OBD of a scenario with response probabilities, as the memo states it.
OBD_DEFINITION = (
    "among the levels whose true DLT rate is at most the target, the one with the highest "
    "expected utility (BOIN12's utility table, default 100 for a response without DLT, 40 "
    "for neither, 60 for both, 0 for a DLT without response; ties: the lower); correct OBD "
    "selection is the percentage of trials selecting it, whatever the design selects for"
)

QUANTITIES = ("Selection (%)", "Mean patients", "Mean DLTs", "Mean responses")


def _dose_labels(oc: Any) -> list[str]:
    levels = oc["dose_level"].to_numpy()
    mg = oc["dose_mg"].to_numpy() if "dose_mg" in oc.coords else np.full(len(levels), np.nan)
    return [
        f"L{int(lv)} ({m:g} mg)" if np.isfinite(m) else f"L{int(lv)}"
        for lv, m in zip(levels, mg, strict=True)
    ]


def get_oc_table(oc: Any, scenario: str) -> pd.DataFrame:
    """One scenario of an OC Dataset in R BOIN's ``get.oc`` layout (numbers, not text).

    Parameters
    ----------
    oc : xarray.Dataset
        From :func:`bayes_dose.operating_characteristics`.
    scenario : str

    Returns
    -------
    pandas.DataFrame
        Columns ``design``, ``quantity``, one column per dose level (``"L1 (1 mg)"``...),
        ``none`` and ``total``.  First row: the true DLT rate per dose; then per design
        ``Selection (%)`` (100 x ``p_select``; ``none`` = 100 x ``p_none``; total 100),
        ``Mean patients`` (``mean_n``; total ``mean_total_n``) and ``Mean DLTs``
        (``mean_dlt``; total ``mean_total_dlt``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"3+3": bd.ThreePlusThree(3)}, [0.05, 0.3, 0.6], n_trials=100,
    ...                    seed=1, progress=False)
    >>> t = get_oc_table(bd.operating_characteristics(sims, target=0.3), "true_tox")
    >>> t["quantity"].tolist()
    ['True DLT rate', 'Selection (%)', 'Mean patients', 'Mean DLTs']
    """
    names = [str(s) for s in oc["scenario"].to_numpy()]
    if scenario not in names:
        raise ValueError(f"scenario {scenario!r} not in {names}")
    o = oc.sel(scenario=scenario)
    labels = _dose_labels(oc)
    rows: list[dict[str, Any]] = []
    true = o["true_tox"].to_numpy()
    rows.append({"design": "", "quantity": "True DLT rate", **dict(zip(labels, true, strict=True)),
                 "none": np.nan, "total": np.nan})  # fmt: skip
    eff = "mean_resp" in o
    if eff:  # simulations with efficacy
        rows.append({"design": "", "quantity": "True response rate",
                     **dict(zip(labels, o["true_resp"].to_numpy(), strict=True)),
                     "none": np.nan, "total": np.nan})  # fmt: skip
    for d in oc["design"].to_numpy():
        g = o.sel(design=d)
        sel = 100 * g["p_select"].to_numpy()
        rows.append({"design": str(d), "quantity": QUANTITIES[0],
                     **dict(zip(labels, sel, strict=True)),
                     "none": 100 * float(g["p_none"]), "total": 100.0})  # fmt: skip
        rows.append({"design": str(d), "quantity": QUANTITIES[1],
                     **dict(zip(labels, g["mean_n"].to_numpy(), strict=True)),
                     "none": np.nan, "total": float(g["mean_total_n"])})  # fmt: skip
        rows.append({"design": str(d), "quantity": QUANTITIES[2],
                     **dict(zip(labels, g["mean_dlt"].to_numpy(), strict=True)),
                     "none": np.nan, "total": float(g["mean_total_dlt"])})  # fmt: skip
        if eff:
            rows.append({"design": str(d), "quantity": QUANTITIES[3],
                         **dict(zip(labels, g["mean_resp"].to_numpy(), strict=True)),
                         "none": np.nan, "total": float(g["mean_total_resp"])})  # fmt: skip
    return pd.DataFrame(rows, columns=["design", "quantity", *labels, "none", "total"])


def format_oc_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`get_oc_table` as text: rates to 2 decimals, percentages to 1, means to 2."""
    out = table.copy().astype(object)
    for i, q in enumerate(table["quantity"]):
        for c in table.columns[2:]:
            v = table.at[i, c]
            if pd.isna(v):
                out.at[i, c] = ""
            elif q in ("True DLT rate", "True response rate"):
                out.at[i, c] = f"{v:.2f}"
            elif q == QUANTITIES[0]:
                out.at[i, c] = f"{v:.1f}"
            else:
                out.at[i, c] = f"{v:.2f}"
    # a design's name once, on its first row
    out["design"] = [d if i == 0 or d != table.at[i - 1, "design"] else ""
                     for i, d in enumerate(table["design"])]  # fmt: skip
    return out.rename(columns={"design": "Design", "quantity": ""})


def oc_summary_table(oc: Any, scenario: str, planned: Any = None) -> pd.DataFrame:
    """Per design on one scenario: the trial-level OCs, each with its MC standard error.

    Parameters
    ----------
    oc : xarray.Dataset
        From :func:`bayes_dose.operating_characteristics`.
    scenario : str
    planned : xarray.Dataset, optional
        From :func:`bayes_dose.overdose_risk_planned` (R BOIN's overdosing risk).

    Returns
    -------
    pandas.DataFrame
        One row per design: ``design``, ``true MTD`` (level, 0 = none), and percentages
        ``correct``, ``early stop`` (no dose selected), ``>=60% above MTD``,
        ``>=80% above MTD`` and (with ``planned``) ``R BOIN >60%``, ``R BOIN >80%``;
        means ``patients`` and ``DLTs`` (and for a calendar-time simulation ``months``,
        ``suspended days``, ``turned away``); each with a ``<name> SE`` column.
    """
    o = oc.sel(scenario=scenario)
    rows = []
    for d in oc["design"].to_numpy():
        g = o.sel(design=d)
        r: dict[str, Any] = {"design": str(d), "true MTD": int(g["true_mtd"])}

        def put(name: str, var: str, scale: float = 100.0, src: Any = g,
                r: dict[str, Any] = r) -> None:  # fmt: skip
            r[name] = scale * float(src[var])
            r[f"{name} SE"] = scale * float(src[f"{var}_se"])

        put("correct", "pcs")
        if "p_select_obd" in g:
            r["true OBD"] = int(g["true_obd"])
            put("correct OBD", "p_select_obd")
            put("responses", "mean_total_resp", 1.0)
        put("early stop", "p_none")
        put("patients", "mean_total_n", 1.0)
        put("DLTs", "mean_total_dlt", 1.0)
        put(">=60% above MTD", "p_overdose_60")
        put(">=80% above MTD", "p_overdose_80")
        if planned is not None:
            p = planned.sel(scenario=scenario, design=d)
            put("R BOIN >60%", "p_overdose_planned_60", src=p)
            put("R BOIN >80%", "p_overdose_planned_80", src=p)
        if "mean_duration_months" in g:  # a calendar-time simulation (timeline=)
            put("months", "mean_duration_months", 1.0)
            put("suspended days", "mean_suspended_days", 1.0)
            put("turned away", "mean_turned_away", 1.0)
        rows.append(r)
    return pd.DataFrame(rows)


SUMMARY_HEADERS = {
    "correct": "Correct selection (%)",
    "correct OBD": "Correct OBD selection (%)",
    "responses": "Mean responses",
    "early stop": "Early stop, no dose selected (%)",
    "patients": "Mean patients",
    "DLTs": "Mean DLTs",
    ">=60% above MTD": "Overdosing risk: >= 60% of patients above true MTD (%)",
    ">=80% above MTD": "Overdosing risk: >= 80% of patients above true MTD (%)",
    "R BOIN >60%": "R BOIN overdosing risk: > 60% of planned N above target (%)",
    "R BOIN >80%": "R BOIN overdosing risk: > 80% of planned N above target (%)",
    "months": "Mean trial duration (months)",
    "suspended days": "Mean days accrual suspended",
    "turned away": "Mean patients turned away",
}


def format_summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`oc_summary_table` as text with human headers: "value ± MC SE"."""
    out = pd.DataFrame({"Design": table["design"]})
    out["True MTD"] = ["none" if m == 0 else f"L{m}" if m > 0 else "n/a"
                       for m in table["true MTD"]]  # fmt: skip
    if "true OBD" in table:
        out["True OBD"] = ["none" if m == 0 else f"L{m}" if m > 0 else "n/a"
                           for m in table["true OBD"]]  # fmt: skip
    for key, head in SUMMARY_HEADERS.items():
        if key not in table:
            continue
        digits = 2 if key in ("patients", "DLTs", "responses", "turned away") else 1
        out[head] = [
            "n/a" if pd.isna(v) else f"{v:.{digits}f} ± {se:.{digits}f}"
            for v, se in zip(table[key], table[f"{key} SE"], strict=True)
        ]
    return out


#: Columns of :func:`oc_duration_table` (key -> memo header).
DURATION_HEADERS = {
    "months": "Mean duration (months)",
    "months 10%": "10% quantile (months)",
    "months 50%": "Median (months)",
    "months 90%": "90% quantile (months)",
    "suspended days": "Mean days accrual suspended",
    "turned away": "Mean patients turned away",
    "queued": "Mean patients who waited",
    "wait days": "Mean wait (days)",
}


def oc_duration_table(oc: Any, scenario: str) -> pd.DataFrame:
    """Per design on one scenario of a calendar-time simulation: how long the trial takes.

    Parameters
    ----------
    oc : xarray.Dataset
        From :func:`bayes_dose.operating_characteristics` of a simulation with a
        ``timeline`` (it has ``mean_duration_months``).
    scenario : str

    Returns
    -------
    pandas.DataFrame
        One row per design: ``design``; ``months`` (mean duration, first dose to the last
        DLT window completed), ``months 10%``, ``months 50%``, ``months 90%`` (quantiles),
        ``suspended days``, ``turned away``, ``queued`` and ``wait days`` (means per
        trial); each with a ``<name> SE`` column (MC SE; order-statistic SE for quantiles).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"3+3": bd.ThreePlusThree(3)}, [0.05, 0.3, 0.6], n_trials=50,
    ...                    seed=1, progress=False, timeline=bd.Timeline(accrual_per_month=4))
    >>> t = oc_duration_table(bd.operating_characteristics(sims), "true_tox")
    >>> list(t.columns[:4])
    ['design', 'months', 'months SE', 'months 10%']
    """
    if "mean_duration_months" not in oc:
        raise ValueError(
            "oc_duration_table: the simulation has no timeline (simulate(..., timeline=...))"
        )
    o = oc.sel(scenario=scenario)
    rows = []
    for d in oc["design"].to_numpy():
        g = o.sel(design=d)
        r: dict[str, Any] = {"design": str(d)}
        r["months"] = float(g["mean_duration_months"])
        r["months SE"] = float(g["mean_duration_months_se"])
        for q in oc["quantile"].to_numpy():
            key = f"months {100 * float(q):g}%"
            r[key] = float(g["duration_months_q"].sel(quantile=q))
            r[f"{key} SE"] = float(g["duration_months_q_se"].sel(quantile=q))
        for key, var in (("suspended days", "mean_suspended_days"),
                         ("turned away", "mean_turned_away"), ("queued", "mean_queued"),
                         ("wait days", "mean_wait_days")):  # fmt: skip
            r[key] = float(g[var])
            r[f"{key} SE"] = float(g[f"{var}_se"])
        rows.append(r)
    return pd.DataFrame(rows)


def format_duration_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`oc_duration_table` as text with memo headers: "value ± MC SE"."""
    out = pd.DataFrame({"Design": table["design"]})
    for key, head in DURATION_HEADERS.items():
        if key not in table:
            continue
        digits = 2 if key in ("turned away", "queued") else 1
        out[head] = [
            "n/a" if pd.isna(v) else f"{v:.{digits}f} ± {se:.{digits}f}"
            for v, se in zip(table[key], table[f"{key} SE"], strict=True)
        ]
    return out


def _time_cells(o: Any) -> dict[str, str]:
    """Duration cells of :func:`oc_summary` for one design and scenario (calendar time)."""
    q = [f"{float(x):.2f}" for x in o["duration_months_q"].to_numpy()]
    qs = "/".join(f"{100 * float(x):g}" for x in o["quantile"].to_numpy())
    return {
        "E[months]": _pm(float(o["mean_duration_months"]), float(o["mean_duration_months_se"])),
        f"months q{qs}%": " / ".join(q),
        "E[suspended days]": _pm(
            float(o["mean_suspended_days"]), float(o["mean_suspended_days_se"])
        ),
        "E[turned away]": _pm(float(o["mean_turned_away"]), float(o["mean_turned_away_se"])),
    }


def _pm(v: float, se: float) -> str:
    return f"{v:.3f} ± {se:.3f}"


def oc_summary(
    simulations: Mapping[str, Any] | Any, target: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """OC tables of simulations (``{arm: Dataset}`` or one Dataset), with MC standard errors.

    Returns ``(summary, selection, concordance)``: per arm, scenario and design the
    probability of correct selection, of no selection, the mean patients and DLTs and the
    overdosing risk (and for a calendar-time simulation the mean duration in months, its
    10/50/90 % quantiles, the mean days accrual was suspended and patients turned away);
    P(select level) per level; and the pairwise concordance of the designs' selections
    (common random numbers), each "estimate ± MC standard error".
    ``target`` defines the true MTD of each scenario (default: the design's or scenario's).
    """
    from .metrics import concordance as _concordance
    from .metrics import operating_characteristics

    if not isinstance(simulations, Mapping):
        simulations = {"": simulations}
    rows, sel_rows, conc_rows = [], [], []
    for arm, sims in simulations.items():
        oc = operating_characteristics(sims, target=target)
        for sc in oc["scenario"].to_numpy():
            for d in oc["design"].to_numpy():
                o = oc.sel(scenario=sc, design=d)
                tm = int(o["true_mtd"])
                rows.append(
                    {
                        "arm": arm,
                        "scenario": str(sc),
                        "design": str(d),
                        "true MTD": tm if tm > 0 else "none",
                        "P(correct)": _pm(float(o["pcs"]), float(o["pcs_se"])),
                        "P(no MTD)": _pm(float(o["p_none"]), float(o["p_none_se"])),
                        "E[N]": _pm(float(o["mean_total_n"]), float(o["mean_total_n_se"])),
                        "E[DLTs]": _pm(float(o["mean_total_dlt"]), float(o["mean_total_dlt_se"])),
                        "P(>=60% above MTD)": f"{float(o['p_overdose_60']):.3f}",
                    }
                )
                if "p_select_obd" in o:
                    to = int(o["true_obd"])
                    rows[-1]["true OBD"] = to if to > 0 else "none"
                    rows[-1]["P(correct OBD)"] = _pm(float(o["p_select_obd"]),
                                                     float(o["p_select_obd_se"]))  # fmt: skip
                    rows[-1]["E[responses]"] = _pm(float(o["mean_total_resp"]),
                                                   float(o["mean_total_resp_se"]))  # fmt: skip
                if "mean_duration_months" in o:  # calendar time (simulate(timeline=))
                    rows[-1].update(_time_cells(o))
                r = {"arm": arm, "scenario": str(sc), "design": str(d)}
                for lv in o["dose_level"].to_numpy():
                    ps = o.sel(dose_level=lv)
                    r[f"L{int(lv)}"] = _pm(float(ps["p_select"]), float(ps["p_select_se"]))
                sel_rows.append(r)
        if sims.sizes.get("design", 0) > 1:
            c = _concordance(sims)
            names = [str(x) for x in c["design_a"].to_numpy()]
            for sc in c["scenario"].to_numpy():
                for i, da in enumerate(names):
                    for db in names[i + 1 :]:
                        cc = c.sel(scenario=sc, design_a=da, design_b=db)
                        conc_rows.append(
                            {
                                "arm": arm,
                                "scenario": str(sc),
                                "designs": f"{da} vs {db}",
                                "P(same selection)": _pm(
                                    float(cc["p_identical"]), float(cc["p_identical_se"])
                                ),
                                "P(within one level)": _pm(
                                    float(cc["p_within_one"]), float(cc["p_within_one_se"])
                                ),
                                "kappa": f"{float(cc['kappa']):.3f}",
                            }
                        )
    return (
        pd.DataFrame(rows),
        pd.DataFrame(sel_rows),
        pd.DataFrame(conc_rows) if conc_rows else None,
    )
