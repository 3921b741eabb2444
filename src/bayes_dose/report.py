"""The design memo: a self-contained HTML report (and Markdown) of a comparison.

``report(comparison, out_dir, ...)`` renders, from a :class:`~bayes_dose.compare.Comparison`
and optionally a simulation, a memo a statistician can paste into a protocol or a DSMB
pack: title, date and data cut-off; the protocol summary (with the assumptions of each
arm) and protocol-ready text of every design's rules; the data; each design's
recommendation per arm with human column headers (every overdose probability names its
threshold, one common cut across designs; provisional MTDs while a design continues; a
note where a recommendation breaks the protocol's MTD rule); the agreement with the
protocol design in words; the shadow ledger; dose-toxicity figures with each design's
selection marked; operating characteristics in R BOIN's ``get.oc`` layout
(:mod:`bayes_dose.oc_tables`) with the true curves beside them; extra sections (e.g. the
RP2D synthesis); MCMC diagnostics; and, in an appendix, the manifest (the full manifest
is also written to ``manifest.json``).  Figures are embedded as base64 PNG, so the HTML
file stands alone.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .compare import Comparison, overdose_definition, p_dlt_above
from .manifest import DEPENDENCIES as _DEPENDENCIES
from .manifest import build_manifest as _build
from .manifest import data_sha256, design_specs
from .oc_tables import (
    OBD_DEFINITION,
    OVERDOSE_DEFINITIONS,
    format_duration_table,
    format_oc_table,
    format_summary_table,
    get_oc_table,
    oc_duration_table,
    oc_summary,
    oc_summary_table,
)
from .outcomes import Outcomes
from .protocol import MTDRule, Protocol
from .protocol_text import boin_boundary_table, design_rules

__all__ = ["DEFAULT_OVERDOSE_CUT", "Report", "build_manifest", "oc_summary", "report"]

#: Overdose cut used across designs when neither the call nor the protocol gives one:
#: the usual EWOC overdose interval [0.33, 1] (Neuenschwander, Branson & Gsponer 2008).
DEFAULT_OVERDOSE_CUT = 0.33

#: Packages whose versions the memo records (see :mod:`bayes_dose.manifest`).
DEPENDENCIES = _DEPENDENCIES

SECTIONS = (
    ("summary", "Summary"),
    ("protocol", "Protocol and design rules"),
    ("data", "Data"),
    ("recommendations", "Recommendations per arm"),
    ("agreement", "Agreement with the protocol design"),
    ("shadow", "Shadow ledger: each design's decision after every cohort"),
    ("dose-toxicity", "Estimated dose-toxicity curves"),
    ("operating-characteristics", "Operating characteristics (simulation)"),
    ("diagnostics", "MCMC diagnostics"),
    ("manifest", "Appendix: manifest"),
)


@dataclass(frozen=True)
class Report:
    """A rendered design memo.

    Attributes
    ----------
    html, markdown : str
    manifest : dict
        Versions, seeds, input hashes and design specs.
    files : dict of str -> Path
        What :meth:`write` (or ``report(out=...)``) wrote.
    """

    html: str
    markdown: str
    manifest: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``report.html``, ``report.md`` and ``manifest.json`` into folder ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "html": out / "report.html",
            "markdown": out / "report.md",
            "manifest": out / "manifest.json",
        }
        files["html"].write_text(self.html, encoding="utf-8")
        files["markdown"].write_text(self.markdown, encoding="utf-8")
        files["manifest"].write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        self.files.update(files)
        return files

    def _repr_html_(self) -> str:
        return self.html


# -- the manifest -------------------------------------------------------------------
def build_manifest(
    comparison: Comparison,
    *,
    protocol: Protocol | None = None,
    seed: int | None = None,
    inputs: Mapping[str, Any] | None = None,
    simulation: Any = None,
) -> dict[str, Any]:
    """Everything needed to cite and regenerate a report.

    Package and dependency versions, the seeds, SHA-256 of the inputs (each arm's data as
    CSV, plus any files given in ``inputs``), the protocol, the design specs and the RP2D rule.
    """
    hashes = {f"outcomes[{a}]": data_sha256(o) for a, o in comparison.outcomes.items()}
    for k, v in (inputs or {}).items():
        hashes[k] = data_sha256(v)
    rule = comparison.rp2d_rule
    man = _build(
        python=True,
        dependencies=True,
        seed=seed,
        engine=comparison.engine,
        engine_kwargs=dict(comparison.engine_kwargs),
        mcmc={f"{a}/{n}": dict(comparison.mcmc_kwargs) for a, n in comparison.mcmc_fits},
        inputs_sha256=hashes,
        designs=design_specs(comparison.designs),
        reference_design=comparison.reference,
        rp2d_rule=None if rule is None else (rule.spec() if hasattr(rule, "spec") else repr(rule)),
    )
    if protocol is not None:
        man["protocol"] = protocol.to_dict()
    if simulation is not None:
        sims = simulation if isinstance(simulation, Mapping) else {"": simulation}
        man["simulation"] = {
            arm: {k: _plain(v) for k, v in ds.attrs.items() if k != "reasons"}
            for arm, ds in sims.items()
        }
    return man


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


# -- figures ------------------------------------------------------------------------------
#: Font sizes of the memo's figures (readable when the figure spans the page width).
FIG_FONT = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12,
            "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 10.5}  # fmt: skip


def _png(fig: Any, tight: bool = True) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def dose_toxicity_figure(
    comparison: Comparison, arm: str, target: float | None = None
) -> Any:
    """Estimated DLT probability per dose for every design on ``arm`` (with intervals).

    Each design's selected MTD (or MAD) is marked with a star and named in the legend;
    x labels give the level, dose and DLTs / patients.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with plt.rc_context(FIG_FONT):
        fig, ax = plt.subplots(figsize=(10, 5.2))
        names = list(comparison.designs[arm])
        width = 0.8 / max(len(names), 1)
        counts = None
        for j, name in enumerate(names):
            fit = comparison.fits[(arm, name)]
            lv = fit.prob_tox["dose_level"].to_numpy()
            x = lv + (j - (len(names) - 1) / 2) * width
            y = fit.prob_tox.to_numpy()
            status = "final" if fit.stop else "provisional"
            sel = (f"{fit.mtd_label} L{fit.mtd} ({status})" if fit.mtd is not None
                   else "no MTD")  # fmt: skip
            if fit.prob_tox_interval is not None:
                lo = fit.prob_tox_interval.sel(bound="lower").to_numpy()
                hi = fit.prob_tox_interval.sel(bound="upper").to_numpy()
                line = ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o-", capsize=3, lw=1.2,
                                   ms=5, label=f"{name}: {sel}")  # fmt: skip
                color = line[0].get_color()
            else:
                (pts,) = ax.plot(x, y, "s", ms=6, alpha=0.85,
                                 label=f"{name} (observed rate): {sel}")  # fmt: skip
                color = pts.get_color()
            if fit.mtd is not None:
                i = int(fit.mtd) - 1
                yy = y[i] if np.isfinite(y[i]) else 0.0
                ax.plot(x[i], yy, marker="*", ms=18, color=color, mec="black", mew=0.8,
                        zorder=5)  # fmt: skip
            if counts is None:
                counts = (lv, fit.data.n[0], fit.data.dlt[0], fit.prob_tox["dose_mg"].to_numpy())
        if target is not None:
            ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:g}")
        if counts is not None:
            lv, n, yv, mg = counts
            ax.set_xticks(lv)
            ax.set_xticklabels(
                [
                    f"L{int(a)}\n{m:g} mg\n{int(b)}/{int(c)}" if np.isfinite(m)
                    else f"L{int(a)}\n{int(b)}/{int(c)}"
                    for a, m, b, c in zip(lv, mg, yv, n, strict=True)
                ]
            )  # fmt: skip
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("dose level, dose, DLTs / patients")
        ax.set_ylabel("P(DLT)")
        ax.set_title(f"Arm {arm}: estimated DLT probability (intervals where modelled; "
                     "★ = selected MTD)")  # fmt: skip
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
    return fig


def scenario_figure(oc: Any, scenario: str) -> Any:
    """Selection % per dose (and "none") of each design, with the true DLT curve beside."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    o = oc.sel(scenario=scenario)
    designs = [str(d) for d in oc["design"].to_numpy()]
    levels = oc["dose_level"].to_numpy()
    with plt.rc_context(FIG_FONT):
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        x = np.arange(len(levels) + 1)  # 0 = none
        w = 0.8 / max(len(designs), 1)
        for j, d in enumerate(designs):
            g = o.sel(design=d)
            vals = 100 * np.r_[float(g["p_none"]), g["p_select"].to_numpy()]
            ax.bar(x + (j - (len(designs) - 1) / 2) * w, vals, w, label=d)
        ax.set_xticks(x, ["none", *[f"L{int(v)}" for v in levels]])
        ax.set_ylabel("selected (%)")
        ax.set_ylim(0, 100)
        ax2 = ax.twinx()
        ax2.plot(x[1:], o["true_tox"].to_numpy(), "k-o", lw=2, ms=5, label="true DLT rate")
        tgt = np.unique(o["target"].to_numpy()[np.isfinite(o["target"].to_numpy())])
        for t in tgt:
            ax2.axhline(t, color="k", ls=":", lw=1)
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("true DLT rate")
        mtd = int(o["true_mtd"].to_numpy().max())
        ax.set_title(f"{scenario}: true MTD " + (f"L{mtd}" if mtd > 0 else "none"))
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                  ncols=min(len(h1) + 1, 4), frameon=False)  # fmt: skip
    return fig


# -- tables ---------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer() and v != 0:
            return f"{v:g}"
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _md_table(df: pd.DataFrame, index: bool = False) -> str:
    d = df.reset_index() if index else df
    cols = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in d.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _html_table(df: pd.DataFrame, index: bool = False) -> str:
    d = df.reset_index() if index else df
    d = d.map(_fmt) if len(d) else d
    return d.to_html(index=False, escape=True, classes="tbl", border=0)


def _level(lv: Any, mg: Any = np.nan) -> str:
    if lv is None or pd.isna(lv):
        return "–"
    return f"level {int(lv)} ({mg:g} mg)" if mg is not None and np.isfinite(mg) else f"level {int(lv)}"


def _counts_table(out: Outcomes, arm: str, n_doses: int) -> pd.DataFrame | None:
    if not len(out):
        return None
    c = out.counts(n_doses=n_doses, arm=arm)
    t = pd.DataFrame({"Dose level": c.index.to_numpy()})
    if "dose_mg" in c:
        t["Dose (mg)"] = c["dose_mg"].to_numpy()
    t["Patients"] = c["n"].to_numpy()
    t["DLTs"] = c["dlt"].to_numpy()
    if "resp" in c:  # efficacy recorded (Outcomes column ``response``)
        t["Responses"] = c["resp"].to_numpy()
        if "resp_unassessed" in c:
            t["Response not assessed"] = c["resp_unassessed"].to_numpy()
    return t


def mtd_rule_text(rule: MTDRule) -> str:
    """The protocol's MTD rule in words (e.g. "<= 1/6 DLTs in >= 6 patients")."""
    return f"<= {rule.max_dlt_fraction} DLTs in >= {rule.min_patients} patients"


def mtd_rule_check(rule: MTDRule, n: int, dlt: int, final: bool) -> str:
    """Whether ``dlt`` DLTs in ``n`` patients at a recommended dose meet the MTD rule.

    Returns a short phrase: "meets the protocol's MTD rule (1/6)", "BREAKS the protocol's
    MTD rule: 2/6 DLTs > 1/6", and, for a design still escalating (``final=False``) with
    fewer patients than the rule needs, "not yet assessable: 3 of >= 6 patients (0 DLTs)".
    """
    n, dlt = int(n), int(dlt)
    if n == 0:
        return "no patients at this dose: the protocol's MTD rule cannot be met"
    if Fraction(dlt, n) > rule.max_dlt_fraction:
        return (f"BREAKS the protocol's MTD rule: {dlt}/{n} DLTs > {rule.max_dlt_fraction} "
                f"(rule: {mtd_rule_text(rule)})")  # fmt: skip
    if n < rule.min_patients:
        if final:
            return (f"BREAKS the protocol's MTD rule: only {n} patients at this dose "
                    f"(rule: {mtd_rule_text(rule)})")  # fmt: skip
        return f"not yet assessable: {dlt}/{n}, the rule needs >= {rule.min_patients} patients"
    return f"meets the protocol's MTD rule ({dlt}/{n})"


def _op(op: str) -> str:
    return "≥" if op == ">=" else ">"


def _ids(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return ""
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def recommendation_table(
    comparison: Comparison,
    arm: str,
    cut: float,
    protocol: Protocol | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The memo's recommendation table of one arm, with human headers, and its notes.

    Columns: design; decision (next dose, stop or hold); MTD / MAD with its status
    ("final" once the design stopped, else "provisional"); RP2D; the estimated DLT rate
    at the RP2D; ``P(DLT rate > cut)`` at the RP2D for every model-based design (one cut
    across designs); one column per design-specific overdose definition (threshold in the
    header, filled for the designs using it); the protocol's MTD rule at the RP2D (when a
    protocol is given); pending and unknown-DLT patients (when the comparison reports
    some), patients of unknown grade-2 status a hold rests on (when there are some);
    the reasons.  The notes are sentences naming the recommendations that break the
    protocol's MTD rule and the provisional ones.
    """
    table = comparison.table()
    t = table[table["arm"] == arm].reset_index(drop=True)
    out = comparison.outcomes[arm]
    n_doses = max(d.n_doses for d in comparison.designs[arm].values())
    counts = out.counts(n_doses=n_doses, arm=arm) if len(out) else None
    rule = protocol.mtd_rule if protocol is not None else None
    common = f"P(DLT rate > {cut:g}) at RP2D"
    own_defs: dict[str, tuple[str, float] | None] = {}
    for name in t["design"]:
        own_defs[name] = overdose_definition(comparison.fits[(arm, name)])
    own_cols: dict[tuple[str, float], str] = {}
    for d in own_defs.values():
        if d is not None and not np.isclose(d[1], cut) and d not in own_cols:
            own_cols[d] = f"P(DLT rate {_op(d[0])} {d[1]:g}) at RP2D (design's own overdose cut)"
    has_hold = "hold" in t.columns
    rows, notes, provisional = [], [], []
    for _, r in t.iterrows():
        name = r["design"]
        fit = comparison.fits[(arm, name)]
        held = bool(r["hold"]) if has_hold and not pd.isna(r["hold"]) else False
        final = bool(r["stop"]) and not held
        if held:
            decision = "hold"
        elif r["stop"]:
            decision = "stop"
        else:
            mg = fit.prob_tox["dose_mg"].to_numpy()[int(r["next_dose"]) - 1] \
                if not pd.isna(r["next_dose"]) else np.nan  # fmt: skip
            decision = f"next cohort: {_level(r['next_dose'], mg)}"
        status = "final" if final else "provisional"
        if pd.isna(r["mtd"]):
            mtd = "none (no acceptable dose)" if final else "none yet (provisional)"
        else:
            mg = fit.prob_tox["dose_mg"].to_numpy()[int(r["mtd"]) - 1]
            mtd = f"{r['mtd_label']} {_level(r['mtd'], mg)}, {status}"
        row: dict[str, Any] = {
            "Design": name,
            "Decision": decision,
            "MTD / MAD": mtd,
            "RP2D": _level(r["rp2d"], r["rp2d_mg"]) + ("" if pd.isna(r["rp2d"]) or final
                                                       else ", provisional"),
            "Estimated DLT rate at RP2D": r["prob_tox_rp2d"],
            common: p_dlt_above(comparison, arm, name,
                                None if pd.isna(r["rp2d"]) else int(r["rp2d"]), cut),
        }
        own = own_defs[name]
        for d, col in own_cols.items():
            row[col] = r["p_overdose_rp2d"] if own == d else np.nan
        if rule is not None:
            if pd.isna(r["rp2d"]) or counts is None:
                check = "–"
            else:
                lv = int(r["rp2d"])
                check = mtd_rule_check(rule, counts.at[lv, "n"], counts.at[lv, "dlt"], final)
                if check.startswith("BREAKS"):
                    notes.append(f"{name} recommends {_level(lv, r['rp2d_mg'])}: this "
                                 f"{check}.")  # fmt: skip
            row[f"Protocol MTD rule at RP2D ({mtd_rule_text(rule)})"] = check
        if has_hold:
            row["Pending patients"] = _ids(r.get("pending"))
            row["Unknown DLT status"] = _ids(r.get("unknown"))
            row["Unknown grade-2 status"] = _ids(r.get("grade2_unknown"))
        reason = str(r["reason"]).rstrip(".")
        row["Reason"] = reason + (f". RP2D: {r['rp2d_reason']}." if r["rp2d_reason"] else ".")
        rows.append(row)
        if not final:
            provisional.append(name)
    if provisional:
        notes.append("Provisional: " + ", ".join(provisional) + (" has" if len(provisional) == 1
                      else " have") + " not stopped; the MTD and RP2D shown may change with "
                      "more patients.")  # fmt: skip
    df = pd.DataFrame(rows)
    for cols in (["Pending patients", "Unknown DLT status"], ["Unknown grade-2 status"]):
        if has_hold and not df[cols].astype(bool).any(axis=None):  # no patient named
            df = df.drop(columns=cols)
    return df, notes


def _agreement_items(ag: pd.DataFrame) -> list[dict[str, str]]:
    items = []
    for _, r in ag.iterrows():
        if r["agree_rp2d"] and r["agree_next"]:
            word, cls = "Agrees", "agree"
        elif r["agree_rp2d"]:
            word, cls = "Same RP2D, different next step", "agree partial"
        else:
            word, cls = "Disagrees", "disagree"
        items.append({"word": word, "cls": cls, "text": r["summary"]})
    return items


def _agreement_table(ag: pd.DataFrame) -> pd.DataFrame:
    def nxt(v: Any) -> str:
        return "stop / none" if pd.isna(v) else f"level {int(v)}"

    return pd.DataFrame({
        "Design": ag["design"],
        "Reference": ag["reference"],
        "Next (design)": [nxt(v) for v in ag["next_dose"]],
        "Next (reference)": [nxt(v) for v in ag["ref_next_dose"]],
        "Same next step": ag["agree_next"],
        "RP2D (design)": [nxt(v) for v in ag["rp2d"]],
        "RP2D (reference)": [nxt(v) for v in ag["ref_rp2d"]],
        "Same RP2D": ag["agree_rp2d"],
        "RP2D difference (levels)": ag["level_diff"],
    })  # fmt: skip


def _followup_sentence(out: Outcomes) -> str | None:
    if not len(out):
        return None
    has = getattr(out, "has_followup", None)
    if has is None:  # before Outcomes.has_followup: a column with at least one value
        f = out.to_frame()
        has = "followup_days" in f.columns and bool(f["followup_days"].notna().any())
    if not has:
        return ("The data have no follow-up column: every patient's follow-up was taken as "
                "complete (the full DLT window).")  # fmt: skip
    return None


#: The memo's sentence for an arm whose data have no enrolment days (no timeline drawn).
NO_TIMELINE = ("These data have no enrolment days (enroll_day), so no timeline of "
               "patients over study days is drawn.")  # fmt: skip


def patient_timeline_figure(out: Outcomes, arm: str, window: int | None = None) -> Any:
    """Swimmer plot of one arm's observed patients over study days
    (:func:`bayes_dose.plots.plot_patient_timeline`), or None when the data have no
    ``enroll_day`` for every patient (the memo then says so instead)."""
    f = out.to_frame()
    if not len(f) or "enroll_day" not in f or f["enroll_day"].isna().any():
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .plots.timeline import plot_patient_timeline

    with plt.rc_context(FIG_FONT):
        legend_rows = int(f["dose_level"].nunique()) + 4  # levels, DLT x / o, pending, ?
        height = 0.2 * max(len(f), legend_rows) + 1.6
        fig, ax = plt.subplots(figsize=(10.5, height))
        # fixed margins (legend on the right) instead of bbox_inches="tight": half the time
        fig.subplots_adjust(left=0.07, right=0.64, bottom=0.9 / height, top=1 - 0.45 / height)
        plot_patient_timeline(out, arm=arm, window_days=window, ax=ax)
    return fig


def _ids_of(out: Outcomes, what: str, window: int | None) -> list[str]:
    """Unknown-DLT patients (``Outcomes.unknown``) or pending ones (``Outcomes.pending``)."""
    if what == "unknown" and hasattr(out, "unknown"):
        return list(out.unknown())
    if what == "pending" and hasattr(out, "pending") and window:
        p = out.pending(window)
        return [str(x) for x in p["patient_id"]] if len(p) else []
    return []


def _ledger(shadow: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Shadow ledger of one arm, wide: one row per step, each design's next dose (or stop)."""
    rows = []
    for step, g in shadow.groupby("step", sort=True):
        first = g.iloc[0]
        row: dict[str, Any] = {
            "Step": int(step),
            "Cohort (level, N = no DLT, T = DLT)": first["cohort"],
            "Patients so far": int(first["n_patients"]),
            "DLTs so far": int(first["n_dlt"]),
        }
        by = g.set_index("design")
        for n in names:
            r = by.loc[n]
            row[f"{n}: next"] = ("stop" if bool(r["stop"]) else "hold"
                                 if pd.isna(r["next_dose"]) else int(r["next_dose"]))  # fmt: skip
        act = first["actual_next"]
        row["Next cohort actually given"] = None if pd.isna(act) else int(act)
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df):
        df["Next cohort actually given"] = df["Next cohort actually given"].astype(object)
    return df


DIAGNOSTIC_HEADERS = {
    "arm": "Arm", "design": "Design", "use": "Use", "max_rhat": "max R-hat",
    "min_ess_bulk": "min bulk ESS", "min_ess_tail": "min tail ESS",
    "divergences": "divergences", "flags": "flags",
    "max_abs_diff_prob_tox": "largest difference of mean P(DLT) vs the exact engine",
    "same_decision": "same decision as the exact engine",
}  # fmt: skip


def _diagnostics(comparison: Comparison) -> pd.DataFrame:
    """MCMC diagnostics of every PyMC fit (decision fits with the PyMC engine, and checks)."""
    rows = []
    for (arm, name), fit in comparison.fits.items():
        if fit.diagnostics and (arm, name) not in comparison.mcmc_fits:
            row: dict[str, Any] = {"arm": arm, "design": name, "use": "decisions"}
            for k, v in dict(fit.diagnostics).items():
                if isinstance(v, (list, tuple)):
                    row[k] = "; ".join(str(x) for x in v) or "none"
                elif np.ndim(v) == 0:
                    row[k] = v.item() if hasattr(v, "item") else v
            rows.append(row)
    check = comparison.mcmc_check()
    if len(check):
        check.insert(2, "use", "check of the exact engine")
    frames = [f for f in (pd.DataFrame(rows), check) if len(f)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return df.rename(columns=DIAGNOSTIC_HEADERS)


# -- operating characteristics --------------------------------------------------------------
def _has_efficacy(simulation: Any) -> bool:
    """Whether any simulation given to the report drew responses (``simulate(efficacy=)``)."""
    if simulation is None:
        return False
    sims = simulation.values() if isinstance(simulation, Mapping) else [simulation]
    return any("resp" in ds for ds in sims)


def _oc_context(
    comparison: Comparison,
    simulation: Any,
    target: float | None,
    not_simulated: Mapping[str, str],
    programme: Any = None,
) -> list[dict[str, Any]]:
    """Per arm: the get.oc tables of every scenario, its figure, and what was not simulated
    (or was simulated in the programme); then the programme's arms (Part I, Part II)."""
    sims = {} if simulation is None else (
        simulation if isinstance(simulation, Mapping) else {comparison.arms[0]: simulation})  # fmt: skip
    joint = _programme_designs(programme)
    arms = []
    for arm in list(comparison.arms) + [a for a in sims if a not in comparison.arms]:
        ds = sims.get(arm)
        names = list(comparison.designs.get(arm, {}))
        simulated = [] if ds is None else [str(d) for d in ds["design"].to_numpy()]
        missing, elsewhere = [], []
        for n in names:
            if n in simulated:
                continue
            if n in joint.get(arm, ()):
                elsewhere.append({"design": n, "where": _PROGRAMME_WHERE})
                continue
            why = not_simulated.get(f"{arm}/{n}", not_simulated.get(n))
            missing.append({"design": n, "why": why or (
                "no simulation of this arm was given to the report" if ds is None
                else "not in the simulation given to the report")})  # fmt: skip
        arms.append(_oc_entry(arm, ds, target, missing, elsewhere))
    if programme is not None:
        from .arm_dataset import arm_names, arm_view

        for k, a in enumerate(arm_names(programme)):
            part = "Part I" if k == 0 else "Part II, opens after Part I ends"
            timed = "programme_duration_days" in programme
            arms.append(_oc_entry(f"{a}, programme ({part}; "
                                  f"{'calendar' if timed else 'cohort'} time)",
                                  arm_view(programme, a), target, [], [], figures=False))  # fmt: skip
    return arms


_PROGRAMME_WHERE = ("simulated with the arm it borrows from as one programme: see the "
                    "programme's arms and the programme table below")  # fmt: skip


def _programme_designs(programme: Any) -> dict[str, list[str]]:
    """``{arm: [designs]}`` of a programme Dataset (designs each arm has)."""
    if programme is None:
        return {}
    from .arm_dataset import arm_names

    idx = programme["design_index"].to_numpy()
    designs = [str(g) for g in programme["design"].to_numpy()]
    return {a: [g for g, i in zip(designs, idx[k], strict=True) if i >= 0]
            for k, a in enumerate(arm_names(programme))}  # fmt: skip


def _oc_entry(arm: str, ds: Any, target: float | None, missing: list, elsewhere: list,
              figures: bool = True) -> dict[str, Any]:  # fmt: skip
    from .metrics import operating_characteristics, overdose_risk_planned

    entry: dict[str, Any] = {"name": arm, "missing": missing, "elsewhere": elsewhere,
                             "scenarios": [], "n_trials": None, "timeline": None}  # fmt: skip
    if ds is None:
        return entry
    oc = operating_characteristics(ds, target=target)
    planned = overdose_risk_planned(ds, target=target)
    entry["n_trials"] = int(oc.attrs["n_trials"])
    timed = "mean_duration_months" in oc  # calendar time (simulate(timeline=))
    if timed:
        entry["timeline"] = _timeline_text(ds)
    for sc in oc["scenario"].to_numpy():
        sc = str(sc)
        m = int(oc["true_mtd"].sel(scenario=sc).max())
        mg = oc["dose_mg"].to_numpy()
        entry["scenarios"].append({
            "name": sc,
            "true_mtd": "none (every dose too toxic)" if m == 0 else (
                _level(m, mg[m - 1]) if m > 0 else "undefined (no target)"),
            "layout": format_oc_table(get_oc_table(oc, sc)),
            "summary": format_summary_table(oc_summary_table(oc, sc, planned)),
            "duration": format_duration_table(oc_duration_table(oc, sc)) if timed
            else None,
            "backfill": _backfill_memo_table(ds, sc) if "backfill_n" in ds else None,
            "figure": _png(scenario_figure(oc, sc)) if figures else None,
        })  # fmt: skip
    return entry


def _backfill_memo_table(ds: Any, scenario: str) -> pd.DataFrame:
    """Mean backfill patients per dose level (of all patients there) and per trial, for
    each design of one scenario (:func:`bayes_dose.backfill_table`)."""
    from .backfill import backfill_table

    t = backfill_table(ds.sel(scenario=[scenario]))
    rows = []
    for g, part in t.groupby("design", sort=False):
        row = {"Design": g}
        for r in part.itertuples():
            row[f"Level {r.dose_level}"] = f"{r.mean_backfill_n:.2f} of {r.mean_n:.2f}"
        row["Backfill patients per trial"] = f"{part['mean_n_backfill'].iloc[0]:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def programme_table(programme: Any, target: float | None = None) -> pd.DataFrame | None:
    """The programme's OCs per Part II design x scenario pair (estimate ± MC SE): its
    Part I design, correct selection in both arms (%), mean total patients and DLTs of
    both arms and, in calendar time, the programme's duration in months; under an opening
    rule other than a plain ``opens_after`` also how often Part II opened (%) and, in
    calendar time, when (months); None without a programme."""
    if programme is None:
        return None
    from .arm_dataset import programme_characteristics

    pc = programme_characteristics(programme, target)
    rows = []
    for g in pc["design"].to_numpy():
        for sc in pc["scenario"].to_numpy():
            o = pc.sel(design=g, scenario=sc)

            def pm(v: str, scale: float = 1.0, o: Any = o, why: str = "no target") -> str:
                if v not in o or np.isnan(float(o[v])):
                    return f"not computed ({why})"
                return f"{scale * float(o[v]):.1f} ± {scale * float(o[f'{v}_se']):.1f}"

            rows.append({
                "Part II design": str(g), "Part I design": str(o["source_design"].item()),
                "Scenario": str(sc),
                "Correct in both arms (% ± SE)": pm("programme_p_correct_both", 100.0),
                "Patients, both arms (mean ± SE)": pm("programme_mean_total_n"),
                "DLTs, both arms (mean ± SE)": pm("programme_mean_total_dlt"),
                **({("Months, Part I start to the later arm's end (mean ± SE)"
                     if "programme_p_opened" in pc else  # the arms overlap
                     "Months, Part I start to Part II end (mean ± SE)"):
                    pm("programme_mean_duration_months")}
                   if "programme_mean_duration_months" in pc else {}),
                **({"Part II opened (% ± SE)": pm("programme_p_opened", 100.0)}
                   if "programme_p_opened" in pc else {}),
                **({"Months to Part II opening, if opened (mean ± SE)":
                    pm("programme_mean_open_months", why="never opened")}
                   if "programme_mean_open_months" in pc else {}),
            })  # fmt: skip
    return pd.DataFrame(rows)


def _timeline_text(ds: Any) -> str:
    """The calendar-time assumptions of a simulation, from its manifest."""
    from .calendar_oc import timeline_sentence
    from .simulate import manifest

    spec = manifest(ds).get("timeline") if "manifest" in ds.attrs else None
    if not spec:
        return ("Simulated in calendar time; the simulation's manifest does not record its "
                "timeline (accrual rate, DLT onset, waiting), so they cannot be stated here.")  # fmt: skip
    return timeline_sentence(spec)


def _concordance_table(simulation: Any, programme: Any = None) -> pd.DataFrame | None:
    if programme is not None:  # the programme's Part II designs, on common random numbers
        from .arm_dataset import arm_names, arm_view

        sims = dict(simulation) if isinstance(simulation, Mapping) else (
            {} if simulation is None else {"": simulation})  # fmt: skip
        second = arm_names(programme)[-1]
        simulation = {**sims, f"{second} (programme)": arm_view(programme, second)}
    if simulation is None:
        return None
    _, _, conc = oc_summary(simulation)
    if conc is None:
        return None
    return conc.rename(columns={"arm": "Arm", "scenario": "Scenario", "designs": "Designs",
                                "P(same selection)": "Same selection (proportion ± SE)",
                                "P(within one level)": "Within one level (proportion ± SE)",
                                "kappa": "Cohen's kappa"})  # fmt: skip


def _check_sections(sections: Sequence[Any] | None) -> list[Any]:
    out = []
    for i, sec in enumerate(sections or ()):
        for attr in ("title", "to_markdown", "to_html"):
            if not hasattr(sec, attr):
                raise ValueError(
                    f"report: sections[{i}] ({type(sec).__name__}) has no {attr!r}; a section "
                    "needs title, to_markdown() and to_html()"
                )
        out.append(sec)
    return out


def _overdose_cut(cut: float | None, protocol: Protocol | None) -> float:
    if cut is None:
        cut = getattr(protocol, "overdose_cut", None) if protocol is not None else None
    cut = DEFAULT_OVERDOSE_CUT if cut is None else cut
    if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not 0 < float(cut) < 1:
        raise ValueError(f"report: overdose_cut must be a number in (0, 1), got {cut!r}")
    return float(cut)


def _cutoff_text(comparison: Comparison, data_cutoff: str | None) -> str:
    if data_cutoff is not None:
        return str(data_cutoff)
    days = []
    for o in comparison.outcomes.values():
        f = o.to_frame()
        if len(f) and "enroll_day" in f and f["enroll_day"].notna().any():
            days.append(float(f["enroll_day"].max()))
    if days:
        return (f"not stated (the last patient in these data was enrolled on study day "
                f"{max(days):g})")  # fmt: skip
    return "not stated"


# -- the report -----------------------------------------------------------------------------
def report(
    comparison: Comparison,
    out: str | Path | None = None,
    *,
    protocol: Protocol | None = None,
    simulation: Any = None,
    oc: pd.DataFrame | None = None,
    concordance: pd.DataFrame | None = None,
    seed: int | None = None,
    inputs: Mapping[str, Any] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
    target: float | None = None,
    overdose_cut: float | None = None,
    data_cutoff: str | None = None,
    date: str | None = None,
    not_simulated: Mapping[str, str] | None = None,
    sections: Sequence[Any] | None = None,
    programme: Any = None,
) -> Report:
    """Render the design memo of a comparison as self-contained HTML and Markdown.

    Parameters
    ----------
    comparison : Comparison
        From :func:`bayes_dose.compare`.
    out : path, optional
        Folder to write ``report.html``, ``report.md`` and ``manifest.json`` into.
    protocol : Protocol, optional
        Shown in the summary (with the assumptions of each arm) and in the manifest; its
        MTD rule is checked at every recommended dose.
    simulation : xarray.Dataset or mapping of arm -> Dataset, optional
        From :func:`bayes_dose.simulate`: OC tables (R BOIN ``get.oc`` layout) with MC
        errors and concordance.
    oc, concordance : DataFrame, optional
        Precomputed OC / concordance tables, shown as given (besides ``simulation``).
    seed : int, optional
        The seed of the analysis (recorded in the manifest).
    inputs : mapping of name -> path, bytes or Outcomes, optional
        Inputs to hash in the manifest (e.g. the spec TOML and the data CSV).
    title : str, optional
    notes : sequence of str
        Extra remarks shown under the title (e.g. "synthetic data").
    target : float, optional
        Target DLT rate: drawn on the dose-toxicity plots and defining the true MTD of the
        simulated scenarios.
    overdose_cut : float, optional
        The one overdose threshold used across designs: the memo shows
        ``P(DLT rate > overdose_cut)`` at every model-based design's RP2D (default: the
        protocol's ``overdose_cut`` if it has one, else :data:`DEFAULT_OVERDOSE_CUT`).
        Each design's own overdose metric keeps its own column, threshold in the header.
    data_cutoff : str, optional
        The data cut-off shown under the title (e.g. "2026-11-30").
    date : str, optional
        The memo's date (default: today, UTC).
    not_simulated : mapping of str -> str, optional
        Why a design (``"name"`` or ``"arm/name"``) is not in the simulation.
    sections : sequence, optional
        Extra sections, each with ``title``, ``to_markdown()`` and ``to_html()``, rendered
        after the design comparison and before the appendix.
    programme : xarray.Dataset, optional
        From :meth:`bayes_dose.Programme.simulate` (dimension ``arm``): OC tables of both
        arms, the programme table (:func:`programme_table`) and concordance of both arms.

    Returns
    -------
    Report

    Examples
    --------
    >>> import bayes_dose as bd
    >>> cmp = bd.compare({"3+3": bd.ThreePlusThree(4)}, {"mono": bd.Outcomes.parse("1NNN 2NTT")})
    >>> rep = bd.report(cmp)
    >>> "Appendix: manifest" in rep.html and rep.manifest["package"]
    'bayes_dose'
    """
    import jinja2

    from .flagged import flagged_notes

    if not isinstance(comparison, Comparison):
        raise ValueError(f"report: expected a Comparison, got {type(comparison).__name__}")
    cut = _overdose_cut(overdose_cut, protocol)
    extra = _check_sections(sections)
    manifest = build_manifest(
        comparison, protocol=protocol, seed=seed, inputs=inputs, simulation=simulation
    )
    if programme is not None:  # the programme's arms' manifests (each arm's attributes)
        manifest["programme"] = {a: {k: _plain(v) for k, v in at.items() if k != "reasons"}
                                 for a, at in json.loads(programme.attrs["arm_attrs"]).items()}  # fmt: skip
    manifest["overdose_cut"] = cut
    agreement = comparison.agreement()
    shadow = comparison.shadow()
    window = protocol.dlt_window_days if protocol is not None else None
    arms, summary, summary_tables = [], [], []
    for arm in comparison.arms:
        out_arm = comparison.outcomes[arm]
        n_doses = max(d.n_doses for d in comparison.designs[arm].values())
        a = protocol.arm(arm) if protocol is not None and arm in protocol.arm_names else None
        sh = shadow[shadow["arm"] == arm]
        ag = agreement[agreement["arm"] == arm]
        rec, rec_notes = recommendation_table(comparison, arm, cut, protocol)
        for (fa, fname), f in comparison.fits.items():  # combination BLRM: borrowing, start
            if fa == arm and getattr(f, "borrowing", None) is not None:
                rec_notes = [*rec_notes, f"{fname}: {f.borrowing.sentence()}" + (
                    f". Combination starting dose: {f.reason}" if getattr(f, "start_dose", False) else ""
                )]  # fmt: skip
        rules = []
        for name, d in comparison.designs[arm].items():
            bt = None
            if hasattr(d, "lambdas") and hasattr(d, "boundaries"):
                bt = boin_boundary_table(d)
            rules.append({"name": name, "lines": design_rules(d), "boundaries": bt})
        frame = out_arm.to_frame()
        words = {r["design"]: it["word"] for (_, r), it in
                 zip(ag.iterrows(), _agreement_items(ag), strict=True)}  # fmt: skip
        ref = comparison.reference.get(arm)
        brief = rec[["Design", "Decision", "MTD / MAD", "RP2D"]].copy()
        if ref is not None:
            brief[f"Versus {ref}"] = [("reference" if n == ref else words.get(n, "–"))
                                      for n in rec["Design"]]  # fmt: skip
        rule_col = [c for c in rec.columns if c.startswith("Protocol MTD rule")]
        if rule_col:
            brief["Protocol MTD rule at RP2D"] = rec[rule_col[0]].str.split(" \\(rule").str[0]
        summary_tables.append({"name": arm, "table": brief})
        arms.append(
            {
                "name": arm,
                "label": a.label if a is not None else arm,
                "assumptions": list(a.assumptions) if a is not None else [],
                "doses": [f"{d:g}" for d in a.doses_mg] if a is not None else [],
                "n_patients": len(out_arm),
                "n_dlt": int(frame["dlt"].sum()) if len(frame) else 0,
                "counts": _counts_table(out_arm, arm, n_doses),
                "followup": _followup_sentence(out_arm),
                "pending": _ids_of(out_arm, "pending", window),
                "unknown": _ids_of(out_arm, "unknown", window),
                "swimmer": _png(tl, tight=False)
                if (tl := patient_timeline_figure(out_arm, arm, window))
                is not None else None,
                "no_swimmer": NO_TIMELINE,
                "rec": rec,
                "rec_notes": rec_notes,
                "agreement": _agreement_table(ag),
                "agree_items": _agreement_items(ag),
                "reference": comparison.reference.get(arm),
                "ledger": _ledger(sh, list(comparison.designs[arm])),
                "figure": _png(dose_toxicity_figure(comparison, arm, target)),
                "rules": rules,
            }
        )
        summary.extend(f"Arm {arm}: {n}" for n in rec_notes if "BREAKS" in n)
    diag = _diagnostics(comparison)
    hashes = pd.DataFrame({"Input": list(manifest["inputs_sha256"]),
                           "SHA-256": list(manifest["inputs_sha256"].values())})  # fmt: skip
    ctx = {
        "title": title or "Dose-finding design memo",
        "date": date or datetime.now(UTC).strftime("%Y-%m-%d"),
        "cutoff": _cutoff_text(comparison, data_cutoff),
        "notes": [*notes, *comparison.not_analysed_notes(), *flagged_notes(simulation, programme)],
        "summary": summary,
        "summary_tables": summary_tables,
        "protocol": protocol,
        "protocol_summary": protocol.summary() if protocol is not None else None,
        "mtd_rule": mtd_rule_text(protocol.mtd_rule) if protocol is not None else None,
        "cut": f"{cut:g}",
        "arms": arms,
        "oc_arms": _oc_context(comparison, simulation, target, dict(not_simulated or {}),
                               programme),
        "programme": programme_table(programme, target),
        "oc_definitions": OVERDOSE_DEFINITIONS,
        "oc_obd": OBD_DEFINITION if _has_efficacy(simulation) else None,
        "oc": oc,
        "concordance": concordance if concordance is not None else _concordance_table(
            simulation, programme),
        "extra": [{"title": s.title, "id": f"extra-{i + 1}", "md": s.to_markdown(),
                   "html": s.to_html()} for i, s in enumerate(extra)],
        "diagnostics": diag if len(diag) else None,
        "manifest": manifest,
        "hashes": hashes,
        "manifest_json": json.dumps(manifest, indent=2, default=str),
        "sections": SECTIONS,
    }
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["html_table"] = lambda df, index=False: jinja2.filters.Markup(
        _html_table(df, index)
    )
    env.filters["md_table"] = _md_table
    env.filters["markup"] = jinja2.filters.Markup
    html_text = env.get_template("report.html.j2").render(**ctx)
    md_text = env.get_template("report_md.jinja").render(**ctx)
    rep = Report(html=html_text, markdown=md_text, manifest=manifest)
    if out is not None:
        rep.write(out)
    return rep


def _template(name: str) -> str:
    return resources.files("bayes_dose").joinpath(f"data/{name}").read_text(encoding="utf-8")
