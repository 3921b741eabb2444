"""Protocol-ready text of each design's rules (as R BOIN's boundary summary prints it).

``design_rules(design)`` returns a few plain sentences a statistician can paste into a
protocol's statistical section or a DSMB pack: the escalation rule, the stopping rules
and how the MTD is selected, with the design's numbers (BOIN's lambda cut-offs and its
boundary table, the CRM skeleton and prior, the BLRM prior, target interval and EWOC).

Examples
--------
>>> import bayes_dose as bd
>>> print(design_rules(bd.BOIN(target=0.25, n_doses=5, max_n=30))[0])
BOIN (Liu & Yuan 2015) with target DLT rate 0.25 (p.saf = 0.15, p.tox = 0.35): with the observed DLT rate at the current dose p = DLTs / patients, escalate if p <= 0.197 (lambda_e), de-escalate if p >= 0.298 (lambda_d), otherwise stay.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .deprecation import renamed_kwargs

__all__ = ["boin_boundary_text", "design_rules"]


def _g(x: float) -> str:
    return f"{x:g}"


def boin_boundary_text(design: Any) -> list[str]:
    """BOIN's rules with its lambda cut-offs and elimination rule, as sentences."""
    lam_e, lam_d = design.lambdas
    lines = [
        f"BOIN (Liu & Yuan 2015) with target DLT rate {_g(design.target)} "
        f"(p.saf = {_g(design.p_saf)}, p.tox = {_g(design.p_tox)}): with the observed DLT "
        "rate at the current dose p = DLTs / patients, escalate if "
        f"p <= {lam_e:.3f} (lambda_e), de-escalate if p >= {lam_d:.3f} (lambda_d), "
        "otherwise stay.",
        "Elimination: a dose and every higher dose are eliminated when at least 3 patients "
        f"were treated and P(DLT rate > {_g(design.target)} | data) > "
        f"{_g(design.elimination_cutoff)} (Beta(1, 1) prior); the trial stops when the "
        "lowest dose is eliminated (no MTD)."
        + (
            f" Extra safety rule: stop when the lowest dose has P(DLT rate > "
            f"{_g(design.target)}) > {_g(design.elimination_cutoff - design.offset)}."
            if design.extrasafe
            else ""
        ),
    ]
    stops = []
    if design.max_n is not None:
        stops.append(f"{design.max_n} patients have been treated")
    if getattr(design, "n_earlystop", None) is not None:
        stops.append(f"{design.n_earlystop} patients have been treated at the current dose")
    if stops:
        lines.append("The trial also stops when " + " or ".join(stops) + ".")
    lines.append(
        "MTD selection: isotonic regression of the observed DLT rates over the treated, "
        f"non-eliminated doses; the MTD is the dose whose estimate is closest to "
        f"{_g(design.target)}."
    )
    return lines


@renamed_kwargs(n_max="up_to_n")
def boin_boundary_table(design: Any, up_to_n: int | None = None) -> pd.DataFrame:
    """BOIN's boundaries at multiples of the cohort size (as R BOIN's summary prints them),
    for up to ``up_to_n`` patients at a dose (default: the design's ``max_n``, at most 30;
    ``n_max``: deprecated alias)."""
    up_to_n = up_to_n or min(design.max_n or 30, 30)
    tab = design.boundaries(up_to_n)
    rows = [n for n in tab.index if n % design.cohort_size == 0] or list(tab.index)
    t = tab.loc[rows]
    return pd.DataFrame(
        {
            "Patients treated at the current dose": t.index,
            "Escalate if DLTs <=": t["escalate"].to_numpy(),
            "De-escalate if DLTs >=": t["deescalate"].to_numpy(),
            "Eliminate if DLTs >=": [
                "never" if pd.isna(v) else int(v) for v in t["eliminate"].to_numpy()
            ],
        }
    )


def _three_plus_three(d: Any) -> list[str]:
    lines = []
    if d.titration_levels:
        lines.append(
            f"Accelerated titration over levels 1-{d.titration_levels}: one patient per level "
            "until the first DLT"
            + (" or the second drug-related grade-2 toxicity" if d.titration_grade2 else "")
            + "; the level is then completed to 3 patients and 3+3 rules apply."
        )
    lines.append(
        "3+3: 0/3 DLTs, or at most 1/6: escalate one level; 1/3: treat 3 more at the same "
        "level; 2 or more DLTs: the dose exceeds the MTD."
    )
    if d.variant == "deescalation":
        lines.append(
            "After a dose with 2 or more DLTs, de-escalate one level and expand it to 6 "
            "patients; the MTD is the highest dose with at most 1 DLT in 6 patients."
        )
    else:
        lines.append(
            "After a dose with 2 or more DLTs, stop; the MTD is the next lower dose."
        )
    lines.append(
        "No dose is skipped; at the top dose with at most 1/6 the trial stops and that dose "
        "is the maximum administered dose (MAD)."
    )
    return lines


def _crm(d: Any) -> list[str]:
    sk = ", ".join(f"{p:.3f}" for p in d.skeleton)
    model = (
        "p_d = skeleton_d ^ exp(beta)"
        if d.link == "empiric"
        else f"logit p_d = {_g(d.intercept)} + exp(beta) x_d, x_d = logit(skeleton_d) - "
        f"{_g(d.intercept)}"
    )
    lines = [
        f"CRM (O'Quigley, Pepe & Fisher 1990), {d.link} model {model}, beta ~ "
        f"Normal(0, {d.prior_sd:.3f}^2), skeleton ({sk}); target DLT rate {_g(d.target)}.",
        "Each cohort gets the dose whose posterior DLT estimate is closest to the target"
        + ("; no dose is skipped above the highest level tried" if d.no_skip else "")
        + ("; no escalation right after a cohort whose DLT rate is at or above the target"
           if d.coherent else "")
        + ".",
    ]
    if d.max_n is not None:
        lines.append(f"The trial stops after {d.max_n} patients.")
    lines.append(
        "MTD selection: the dose whose estimated DLT rate is closest to the target at the "
        "end of the trial."
    )
    if d.tite_window:
        lines.append(f"Time-to-event weighting over a {d.tite_window}-day DLT window (TITE-CRM).")
    return lines


def _blrm(d: Any) -> list[str]:
    lo, hi = d.target_interval
    lines = []
    prior = getattr(d, "prior", None)
    if prior is not None:
        lines.append(
            "BLRM (Neuenschwander, Branson & Gsponer 2008): logit p(d) = log(alpha) + beta "
            f"log(d / {_g(d.reference_dose)} mg), (log alpha, log beta) bivariate normal "
            f"with means ({prior.mean[0]:g}, {prior.mean[1]:g}), SDs ({prior.sd[0]:g}, "
            f"{prior.sd[1]:g}) and correlation {prior.corr:g}."
        )
    else:
        pp, ip = getattr(d, "partner_prior", None), getattr(d, "interaction_prior", None)
        lines.append(
            "Combination BLRM: the monotherapy BLRM of the escalated drug, a logistic model "
            "of the partner drug"
            + (f" (log-odds prior Normal({pp.mean:.3f}, {pp.sd:g}^2))" if pp is not None else "")
            + " and an interaction term"
            + (f" (prior Normal({ip.mean:g}, {ip.sd:g}^2))" if ip is not None else "")
            + (", borrowing the monotherapy arm's data" if getattr(d, "borrow", False) else "")
            + {"exchangeable": " through exchangeable BAT6021 parameters (between-arm "
               "heterogeneity tau)", "exnex": " through EXNEX (exchangeable with prior "
               f"probability {getattr(getattr(d, 'borrowing', None), 'p_exch', 0):g})"}.get(
                getattr(d, "borrowing_method", ""), "")
            + "."
        )
    lines.append(
        f"DLT-rate intervals: underdosing [0, {_g(lo)}), target [{_g(lo)}, {_g(hi)}), "
        f"overdosing [{_g(hi)}, 1]. Escalation with overdose control (EWOC): only doses "
        f"with P(DLT rate >= {_g(hi)} | data) < {_g(d.ewoc)} are eligible; the next dose is "
        "the eligible dose with the highest probability of the target interval"
        + (f", at most {_g(d.max_increment)} times the current dose" if d.max_increment else "")
        + ("; no dose is skipped" if d.no_skip else "")
        + "."
    )
    lines.append(
        "The trial stops when no dose is eligible (no MTD)"
        + (f" or after {d.max_n} patients" if d.max_n is not None else "")
        + "; the MTD is the dose the rule recommends on the final data."
    )
    return lines


def design_rules(design: Any) -> list[str]:
    """Protocol-ready sentences describing a design's rules (see module docstring).

    Parameters
    ----------
    design : Design

    Returns
    -------
    list of str
    """
    from .designs.boin import BOIN
    from .designs.crm import CRM
    from .designs.three_plus_three import ThreePlusThree

    if isinstance(design, BOIN):
        lines = boin_boundary_text(design)
    elif isinstance(design, ThreePlusThree):
        lines = _three_plus_three(design)
    elif isinstance(design, CRM):
        lines = _crm(design)
    elif hasattr(design, "target_interval") and hasattr(design, "ewoc"):
        lines = _blrm(design)
    else:
        return [f"{type(design).__name__}: parameters {design!r}."]
    return lines + _slot_lines(design)


def _slot_lines(design: Any) -> list[str]:
    """Sentences for the optional rule slots and the user's stopping rule."""
    out = []
    for key in ("escalation_limit", "coherence", "backfill"):
        slot = getattr(design, key, None)
        if slot is not None:
            out.append(slot.describe(design))
    rule = getattr(design, "stopping", None)
    if rule is not None:
        out.append(f"The trial also stops when {rule} (stopping rule {rule!r}).")
    return out
