"""The design memo: a self-contained HTML report (and Markdown) of a comparison.

``report(comparison, out_dir, ...)`` renders, from a :class:`~bayes_dose.compare.Comparison`
and optionally a simulation: the protocol summary (with the assumptions of each arm), the
data, each design's recommendation per arm, the agreement with the protocol design, the
shadow ledger, dose-toxicity plots with intervals, operating characteristics with Monte
Carlo standard errors and concordance, MCMC diagnostics (PyMC fits), and a manifest
(package and dependency versions, seeds, SHA-256 of the inputs, design specs) so that a
memo can cite the report and anyone can regenerate it.  Figures are embedded as base64
PNG, so the HTML file stands alone.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .compare import Comparison
from .outcomes import Outcomes
from .protocol import Protocol

__all__ = ["Report", "build_manifest", "report"]

DEPENDENCIES = ("numpy", "scipy", "pandas", "xarray", "matplotlib", "pymc", "pytensor",
                "arviz", "jinja2", "h5netcdf")  # fmt: skip

SECTIONS = (
    ("protocol", "Protocol"),
    ("data", "Data"),
    ("recommendations", "Recommendations per arm"),
    ("agreement", "Agreement with the protocol design"),
    ("shadow", "Shadow ledger: each design's decision after every cohort"),
    ("dose-toxicity", "Estimated dose-toxicity curves"),
    ("operating-characteristics", "Operating characteristics (simulation)"),
    ("diagnostics", "MCMC diagnostics"),
    ("manifest", "Manifest"),
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


# -- hashing and the manifest ---------------------------------------------------------
def _sha256(obj: Any) -> str:
    if isinstance(obj, Outcomes):
        data = obj.to_frame().to_csv(index=False).encode()
    elif isinstance(obj, (bytes, bytearray)):
        data = bytes(obj)
    elif isinstance(obj, (str, Path)):
        data = Path(obj).read_bytes()
    else:
        raise ValueError(f"report: input of type {type(obj).__name__} cannot be hashed")
    return hashlib.sha256(data).hexdigest()


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


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
    from . import __version__

    hashes = {f"outcomes[{a}]": _sha256(o) for a, o in comparison.outcomes.items()}
    for k, v in (inputs or {}).items():
        hashes[k] = _sha256(v)
    rule = comparison.rp2d_rule
    man: dict[str, Any] = {
        "package": "bayes_dose",
        "version": __version__,
        "python": platform.python_version(),
        "dependencies": {p: _version(p) for p in DEPENDENCIES},
        "seed": seed,
        "engine": comparison.engine,
        "engine_kwargs": dict(comparison.engine_kwargs),
        "mcmc": {f"{a}/{n}": dict(comparison.mcmc_kwargs) for a, n in comparison.mcmc_fits},
        "inputs_sha256": hashes,
        "designs": {
            a: {n: (d.spec() if hasattr(d, "spec") else repr(d)) for n, d in ds.items()}
            for a, ds in comparison.designs.items()
        },
        "reference_design": comparison.reference,
        "rp2d_rule": None
        if rule is None
        else (rule.spec() if hasattr(rule, "spec") else repr(rule)),
    }
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
def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def dose_toxicity_figure(comparison: Comparison, arm: str, target: float | None = None) -> Any:
    """Estimated DLT probability per dose for every design on ``arm`` (with intervals)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    names = list(comparison.designs[arm])
    width = 0.8 / max(len(names), 1)
    counts = None
    for j, name in enumerate(names):
        fit = comparison.fits[(arm, name)]
        lv = fit.prob_tox["dose_level"].to_numpy()
        x = lv + (j - (len(names) - 1) / 2) * width
        y = fit.prob_tox.to_numpy()
        if fit.prob_tox_interval is not None:
            lo = fit.prob_tox_interval.sel(bound="lower").to_numpy()
            hi = fit.prob_tox_interval.sel(bound="upper").to_numpy()
            ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o-", capsize=3, label=name, lw=1)
        else:
            ax.plot(x, y, "s", label=f"{name} (observed rate)", alpha=0.8)
        if counts is None:
            counts = (lv, fit.data.n[0], fit.data.dlt[0], fit.prob_tox["dose_mg"].to_numpy())
    if target is not None:
        ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:g}")
    if counts is not None:
        lv, n, y, mg = counts
        ax.set_xticks(lv)
        ax.set_xticklabels(
            [
                f"{int(a)}\n{m:g} mg\n{int(b)}/{int(c)}"
                if np.isfinite(m)
                else f"{int(a)}\n{int(b)}/{int(c)}"
                for a, m, b, c in zip(lv, mg, y, n, strict=True)
            ],
            fontsize=8,
        )
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("dose level (DLTs / patients)")
    ax.set_ylabel("P(DLT)")
    ax.set_title(f"Arm {arm}: estimated DLT probability (90% intervals where modelled)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
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


def _pm(v: float, se: float) -> str:
    return f"{v:.3f} ± {se:.3f}"


def oc_summary(
    simulations: Mapping[str, Any] | Any, target: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """OC tables of simulations (``{arm: Dataset}`` or one Dataset), with MC standard errors.

    Returns ``(summary, selection, concordance)``: per arm, scenario and design the
    probability of correct selection, of no selection, the mean patients and DLTs and the
    overdosing risk; P(select level) per level; and the pairwise concordance of the
    designs' selections (common random numbers), each "estimate ± MC standard error".
    ``target`` defines the true MTD of each scenario (default: the design's or scenario's).
    """
    import bayes_dose

    if not isinstance(simulations, Mapping):
        simulations = {"": simulations}
    rows, sel_rows, conc_rows = [], [], []
    for arm, sims in simulations.items():
        oc = bayes_dose.operating_characteristics(sims, target=target)
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
                        "P(correct)": _pm(float(o["pcs"]), float(o["pcs_se"]))
                        if "pcs_se" in o
                        else f"{float(o['pcs']):.3f}",
                        "P(no MTD)": _pm(float(o["p_none"]), float(o["p_none_se"]))
                        if "p_none_se" in o
                        else f"{float(o['p_none']):.3f}",
                        "E[N]": _pm(float(o["mean_total_n"]), float(o["mean_total_n_se"])),
                        "E[DLTs]": _pm(float(o["mean_total_dlt"]), float(o["mean_total_dlt_se"])),
                        "P(>=60% above MTD)": f"{float(o['p_overdose_60']):.3f}",
                    }
                )
                r = {"arm": arm, "scenario": str(sc), "design": str(d)}
                for lv in o["dose_level"].to_numpy():
                    ps = o.sel(dose_level=lv)
                    r[f"L{int(lv)}"] = _pm(float(ps["p_select"]), float(ps["p_select_se"]))
                sel_rows.append(r)
        if sims.sizes.get("design", 0) > 1:
            c = bayes_dose.concordance(sims)
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


def _ledger(shadow: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Shadow ledger of one arm, wide: one row per step, each design's next dose (or stop)."""
    rows = []
    for step, g in shadow.groupby("step", sort=True):
        first = g.iloc[0]
        row: dict[str, Any] = {
            "step": int(step),
            "cohort": first["cohort"],
            "patients": int(first["n_patients"]),
            "DLTs": int(first["n_dlt"]),
        }
        by = g.set_index("design")
        for n in names:
            r = by.loc[n]
            row[f"{n}: next"] = "stop" if bool(r["stop"]) else int(r["next_dose"])
        act = first["actual_next"]
        row["given next"] = None if pd.isna(act) else int(act)
        rows.append(row)
    df = pd.DataFrame(rows)
    df["given next"] = df["given next"].astype(object)
    return df


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
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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
) -> Report:
    """Render the design memo of a comparison as self-contained HTML and Markdown.

    Parameters
    ----------
    comparison : Comparison
        From :func:`bayes_dose.compare`.
    out : path, optional
        Folder to write ``report.html``, ``report.md`` and ``manifest.json`` into.
    protocol : Protocol, optional
        Shown in the summary (with the assumptions of each arm) and in the manifest.
    simulation : xarray.Dataset or mapping of arm -> Dataset, optional
        From :func:`bayes_dose.simulate`: OC tables with MC errors and concordance.
    oc, concordance : DataFrame, optional
        Precomputed OC / concordance tables (instead of, or besides, ``simulation``).
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

    Returns
    -------
    Report

    Examples
    --------
    >>> import bayes_dose as bd
    >>> cmp = bd.compare({"3+3": bd.ThreePlusThree(4)}, {"mono": bd.Outcomes.parse("1NNN 2NTT")})
    >>> rep = bd.report(cmp)
    >>> "Manifest" in rep.html and rep.manifest["package"]
    'bayes_dose'
    """
    import jinja2

    if not isinstance(comparison, Comparison):
        raise ValueError(f"report: expected a Comparison, got {type(comparison).__name__}")
    selection = None
    if simulation is not None:
        sim_oc, selection, sim_conc = oc_summary(simulation, target=target)
        oc = oc if oc is not None else sim_oc
        concordance = concordance if concordance is not None else sim_conc
    manifest = build_manifest(
        comparison, protocol=protocol, seed=seed, inputs=inputs, simulation=simulation
    )
    table = comparison.table()
    agreement = comparison.agreement()
    shadow = comparison.shadow()
    rec_cols = ["design", "next_dose", "stop", "mtd_label", "mtd", "rp2d", "rp2d_mg",
                "prob_tox_rp2d", "p_overdose_rp2d", "rp2d_reason", "reason"]  # fmt: skip
    ag_cols = ["design", "reference", "next_dose", "ref_next_dose", "agree_next", "rp2d",
               "ref_rp2d", "agree_rp2d", "level_diff"]  # fmt: skip
    arms = []
    for arm in comparison.arms:
        out_arm = comparison.outcomes[arm]
        n_doses = max(d.n_doses for d in comparison.designs[arm].values())
        counts = out_arm.counts(n_doses=n_doses, arm=arm) if len(out_arm) else None
        a = protocol.arm(arm) if protocol is not None and arm in protocol.arm_names else None
        sh = shadow[shadow["arm"] == arm]
        ledger = _ledger(sh, list(comparison.designs[arm]))
        ag = agreement[agreement["arm"] == arm]
        arms.append(
            {
                "name": arm,
                "label": a.label if a is not None else arm,
                "assumptions": list(a.assumptions) if a is not None else [],
                "doses": [f"{d:g}" for d in a.doses_mg] if a is not None else [],
                "n_patients": len(out_arm),
                "n_dlt": int(out_arm.to_frame()["dlt"].sum()),
                "counts": counts,
                "rec": table[table["arm"] == arm][rec_cols],
                "agreement": ag[ag_cols],
                "sentences": list(ag["summary"]),
                "reference": comparison.reference.get(arm),
                "ledger": ledger,
                "figure": _png(dose_toxicity_figure(comparison, arm, target)),
            }
        )
    diag = _diagnostics(comparison)
    ctx = {
        "title": title or "Dose-finding design memo",
        "notes": list(notes),
        "protocol": protocol,
        "protocol_summary": protocol.summary() if protocol is not None else None,
        "arms": arms,
        "oc": oc,
        "concordance": concordance,
        "selection": selection,
        "diagnostics": diag if len(diag) else None,
        "manifest": manifest,
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
    html_text = env.get_template("report.html.j2").render(**ctx)
    md_text = env.get_template("report_md.jinja").render(**ctx)
    rep = Report(html=html_text, markdown=md_text, manifest=manifest)
    if out is not None:
        rep.write(out)
    return rep


def _template(name: str) -> str:
    return resources.files("bayes_dose").joinpath(f"data/{name}").read_text(encoding="utf-8")
