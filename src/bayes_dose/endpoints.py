"""RP2D synthesis: safety (every design's MTD/MAD), exposure, response and immunogenicity.

:func:`rp2d_synthesis` builds one table per arm (one row per dose) with the DLT data, each
design's MTD/MAD and RP2D (from :func:`bayes_dose.compare`), the exposure-plateau dose,
the ORR and the ADA incidence per dose, and the RP2D with a reason citing each input.
:class:`EndpointsSection` renders it (and any extra tables) as a memo section for
``bd.report(..., sections=[...])``.

The rule (:data:`RP2D_RULE`):

1. **Safety ceiling**: the lowest RP2D over the designs that recommend one (the most
   cautious design wins).  No design with an RP2D -> no RP2D (flagged).
2. **Exposure**: with an exposure-plateau dose (the lowest dose from which exposure no
   longer rises, e.g. from ``pk.exposure_plateau``), the RP2D is the lowest dose at or
   above the plateau that is within the ceiling; a plateau above the ceiling leaves the
   ceiling (flagged: exposure still rising at the highest safe dose).  Without a plateau
   the RP2D is the ceiling (flagged).
3. **Response**: a higher dose within the ceiling replaces it only if its ORR is clearly
   higher: the lower Clopper-Pearson bound of its ORR above the upper bound at the chosen
   dose.  The ORR at the RP2D is cited; no response data is flagged, and so are the arm's
   PRs that could not be checked against the sum of diameters (``BOR.flags``: count and
   subjects; they are counted as recorded).
4. **Immunogenicity**: the ADA incidence at the RP2D is cited; above ``ada_threshold``
   it is flagged (look at exposure by ADA status before confirming the dose).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from .compare import Comparison
from .report import _html_table, _md_table
from .response import BOR, clopper_pearson

__all__ = [
    "RP2D_RULE",
    "UNCHECKED_PR_TITLE",
    "EndpointsSection",
    "RP2DSynthesis",
    "SecondaryEndpoints",
    "ada_by_dose",
    "rp2d_synthesis",
    "secondary_endpoints",
]

#: title of the memo table of the PRs not checked against the sum of diameters
UNCHECKED_PR_TITLE = "PRs not checked against the sum of diameters (used as recorded)"
RP2D_RULE = (
    "RP2D = the lowest dose at or above the exposure plateau within the safety ceiling (the "
    "lowest RP2D over the designs); a higher dose within the ceiling only if its ORR is "
    "clearly higher (its Clopper-Pearson lower bound above the upper bound at the chosen "
    "dose); ADA incidence cited and flagged above {ada_threshold:.0%}."
)


@dataclass
class RP2DSynthesis:
    """Per arm: the evidence table, the RP2D (level, mg), its reason and the flags."""

    tables: dict[str, pd.DataFrame]
    rp2d: dict[str, tuple[int | None, float | None]]
    reasons: dict[str, str]
    flags: dict[str, tuple[str, ...]]
    designs: pd.DataFrame
    rule: str

    def summary(self) -> pd.DataFrame:
        """One row per arm: RP2D level and dose, the reason, the flags."""
        return pd.DataFrame(
            [
                {"arm": a, "rp2d": lv, "rp2d_mg": mg, "reason": self.reasons[a],
                 "flags": "; ".join(self.flags[a])}
                for a, (lv, mg) in self.rp2d.items()
            ]
        ).astype({"rp2d": "Int64"})  # fmt: skip


def ada_by_dose(ada: pd.DataFrame, positive: str = "positive") -> pd.DataFrame:
    """Normalise an ADA incidence table to ``arm, dose_mg, n, positive``.

    Accepts :func:`bayes_dose.ada.incidence` (its treatment-emergent rows per dose: ``n``
    evaluable, ``positive`` treatment-emergent), the canonical columns, or a per-subject
    frame with ``arm``, ``dose_mg`` and a boolean / 0-1 column ``positive``, which is
    counted.
    """
    if {"arm", "dose", "category", "n", "N"} <= set(ada.columns):  # bayes_dose.ada.incidence
        te = ada[(ada["category"] == "treatment-emergent") & (ada["dose"].astype(str) != "all")]
        if te.empty:
            raise ValueError("ADA incidence table: no 'treatment-emergent' rows per dose")
        ada = pd.DataFrame({"arm": te["arm"], "dose_mg": te["dose"].astype(float),
                            "n": te["N"].astype(int), "positive": te["n"].astype(int)})  # fmt: skip
        ada = ada[ada["n"] > 0]
    need = {"arm", "dose_mg"}
    if not need <= set(ada.columns):
        raise ValueError(f"ADA table: need columns {sorted(need)} (got {list(ada.columns)})")
    if {"n", positive} <= set(ada.columns) and not ada.duplicated(["arm", "dose_mg"]).any():
        out = ada[["arm", "dose_mg", "n", positive]].rename(columns={positive: "positive"})
    elif positive in ada.columns:
        v = ada[positive]
        if v.isna().any():
            i = int(np.nonzero(v.isna().to_numpy())[0][0])
            raise ValueError(f"ADA table row {i}: blank {positive!r} (ADA status unknown)")
        out = (
            ada.assign(_p=v.astype(bool).astype(int))
            .groupby(["arm", "dose_mg"], as_index=False)
            .agg(n=("_p", "size"), positive=("_p", "sum"))
        )
    else:
        raise ValueError(f"ADA table: need a {positive!r} column (per subject or a count with n)")
    out = out.copy()
    out["dose_mg"] = out["dose_mg"].astype(float)
    bad = out[(out.positive < 0) | (out.positive > out.n) | (out.n < 1)]
    if len(bad):
        r = bad.iloc[0]
        raise ValueError(f"ADA table: arm {r.arm} dose {r.dose_mg:g} mg: {r.positive}/{r.n} is not a count")
    return out.reset_index(drop=True)


def _unchecked_prs(bor: BOR) -> pd.DataFrame:
    """``BOR.flags`` (PRs not checked against the sum of diameters) with each subject's arm and dose."""
    who = bor.table[["subject", "arm", "dose_mg"]]
    t = bor.flags.merge(who, on="subject", how="left", validate="many_to_one")
    return t[["source_row", "subject", "arm", "dose_mg", "day", "response", "reason"]]


def _pct(x: int, n: int) -> str:
    lo, hi = clopper_pearson(int(x), int(n))
    return f"{int(x)}/{int(n)} ({x / n:.0%}, 95% CI {lo:.0%}-{hi:.0%})"


def rp2d_synthesis(
    comparison: Comparison,
    *,
    response: BOR | pd.DataFrame | None = None,
    ada: pd.DataFrame | None = None,
    plateau: Mapping[str, float | None] | None = None,
    plateau_source: str | Mapping[str, str] = "user-given",
    ada_threshold: float = 0.3,
    doses_mg: Mapping[str, Sequence[float]] | None = None,
) -> RP2DSynthesis:
    """Synthesise the RP2D of each arm from safety, exposure, response and ADA.

    Parameters
    ----------
    comparison
        :func:`bayes_dose.compare` of the dose-finding designs on each arm.
    response
        Best overall response per subject (:class:`~bayes_dose.response.BOR` or its table:
        ``arm``, ``dose_mg``, ``bor``); ORR per arm and dose.  With a ``BOR``, the PRs of
        an arm in its ``flags`` (not checked against the sum of diameters) are a flag of
        that arm.
    ada
        ADA incidence (see :func:`ada_by_dose`): ``arm``, ``dose_mg``, ``n``, ``positive``.
    plateau
        Arm -> exposure-plateau dose in mg; ``None`` for an arm whose exposure was found to
        keep rising (no plateau within the doses studied).  Arms left out: no PK input.
    plateau_source
        Where the plateau comes from (cited in the reason), one text or one per arm (e.g.
        the reason of :func:`bayes_dose.pk.exposure_plateau`).
    ada_threshold
        ADA incidence at the RP2D above which it is flagged.
    doses_mg
        Arm -> doses (default: the dose labels of the fits).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> from bayes_dose.endpoints import rp2d_synthesis
    >>> cmp = bd.compare({"3+3": bd.ThreePlusThree(4, doses_mg=[10, 30, 100, 300])},
    ...                  {"mono": bd.Outcomes.parse("1NNN 2NNN 3NNN 3NNN 4NTT")})
    >>> s = rp2d_synthesis(cmp, plateau={"mono": 30.0})
    >>> s.rp2d["mono"]
    (2, 30.0)
    """
    if not 0 <= ada_threshold <= 1:
        raise ValueError(f"ada_threshold must be in [0, 1], got {ada_threshold}")
    table = comparison.table()
    bor = response.table if isinstance(response, BOR) else response
    unchecked = _unchecked_prs(response) if isinstance(response, BOR) else None
    if bor is not None:
        miss = {"arm", "dose_mg", "bor"} - set(bor.columns)
        if miss:
            raise ValueError(f"response: missing column(s) {sorted(miss)}")
    ada_t = ada_by_dose(ada) if ada is not None else None
    plateau = dict(plateau or {})
    unknown = set(plateau) - set(comparison.arms)
    if unknown:
        raise ValueError(f"plateau: unknown arm(s) {sorted(unknown)}; arms {list(comparison.arms)}")
    tables, rp2d, reasons, flags = {}, {}, {}, {}
    for arm in comparison.arms:
        t_arm = table[table.arm == arm]
        names = list(t_arm.design)
        fit0 = comparison.fits[(arm, names[0])]
        mg = (
            np.asarray(doses_mg[arm], dtype=float)
            if doses_mg and arm in doses_mg
            else fit0.prob_tox["dose_mg"].to_numpy()
        )
        counts = comparison.outcomes[arm].counts()
        levels = np.arange(1, len(mg) + 1)
        df = pd.DataFrame({"level": levels, "dose_mg": mg})
        df["n"] = counts["n"].reindex(levels, fill_value=0).to_numpy()
        df["dlt"] = counts["dlt"].reindex(levels, fill_value=0).to_numpy()
        for r in t_arm.itertuples():
            col = []
            for lv in levels:
                tags = []
                if not pd.isna(r.mtd) and int(r.mtd) == lv:
                    tags.append(str(r.mtd_label))
                if not pd.isna(r.rp2d) and int(r.rp2d) == lv:
                    tags.append("RP2D")
                col.append("/".join(tags))
            df[r.design] = col
        fl: list[str] = []
        # 1. safety ceiling
        with_rp2d = t_arm[t_arm.rp2d.notna()]
        without = [d for d in names if d not in set(with_rp2d.design)]
        design_txt = ", ".join(
            f"{r.design} {'level ' + str(int(r.rp2d)) + ' (' + format(mg[int(r.rp2d) - 1], 'g') + ' mg)' if not pd.isna(r.rp2d) else 'none'}"
            for r in t_arm.itertuples()
        )
        # ORR and ADA columns
        if bor is not None:
            b = bor[bor.arm == arm]
            unmatched = sorted(set(b.dose_mg.astype(float)) - set(mg))
            if unmatched:
                raise ValueError(f"response: arm {arm} has doses {unmatched} mg not in the arm's doses {list(mg)}")
            g = b.groupby(b.dose_mg.astype(float))["bor"]
            df["orr_n"] = [int(g.size().get(d, 0)) for d in mg]
            df["responders"] = [int(g.apply(lambda s: s.isin(["CR", "PR"]).sum()).get(d, 0)) for d in mg]
            ci = [clopper_pearson(x, n) if n else (np.nan, np.nan)
                  for x, n in zip(df.responders, df.orr_n, strict=True)]  # fmt: skip
            df["orr"] = np.where(df.orr_n > 0, df.responders / df.orr_n.where(df.orr_n > 0, 1), np.nan)
            df["orr_lower"] = [c[0] for c in ci]
            df["orr_upper"] = [c[1] for c in ci]
        pr_flag = ""
        if unchecked is not None and (unchecked.arm == arm).any():
            u = unchecked[unchecked.arm == arm]
            subj = list(dict.fromkeys(u.subject.astype(str)))
            pr_flag = (
                f"{len(u)} PR{'s' if len(u) > 1 else ''} not checked against the sum of diameters "
                f"(subject{'s' if len(subj) > 1 else ''} {', '.join(subj)}): used as recorded"
            )
        if ada_t is not None:
            a = ada_t[ada_t.arm == arm].set_index("dose_mg")
            unmatched = sorted(set(a.index) - set(mg))
            if unmatched:
                raise ValueError(f"ADA table: arm {arm} has doses {unmatched} mg not in the arm's doses {list(mg)}")
            df["ada_n"] = [int(a.n.get(d, 0)) for d in mg]
            df["ada_positive"] = [int(a.positive.get(d, 0)) for d in mg]
            df["ada_incidence"] = np.where(df.ada_n > 0, df.ada_positive / df.ada_n.where(df.ada_n > 0, 1), np.nan)
        p = plateau.get(arm)
        p_src = plateau_source.get(arm, "user-given") if isinstance(plateau_source, Mapping) else plateau_source
        if p is not None and not (np.isfinite(p) and p > 0):
            raise ValueError(f"plateau for arm {arm}: must be a positive dose in mg, got {p}")
        df["at_plateau"] = (mg >= p) if p is not None else False
        if with_rp2d.empty:
            level = None
            why = f"no RP2D: no design recommends a dose ({design_txt})"
            fl.append("no design has an RP2D")
        else:
            ceil_lv = int(with_rp2d.rp2d.min())
            cautious = ", ".join(with_rp2d[with_rp2d.rp2d == ceil_lv].design)
            parts = [
                f"safety ceiling {mg[ceil_lv - 1]:g} mg (level {ceil_lv}, the lowest RP2D: "
                f"{cautious}; designs: {design_txt})"
            ]
            if without:
                fl.append(f"no RP2D from {', '.join(without)}")
            # 2. exposure
            if p is None and arm in plateau:
                level = ceil_lv
                parts.append(f"no exposure plateau within the doses studied ({p_src}): the ceiling is kept")
                fl.append("exposure still rising: no plateau")
            elif p is None:
                level = ceil_lv
                parts.append("no exposure plateau given: the ceiling is kept")
                fl.append("no exposure plateau")
            else:
                at = [lv for lv in levels if mg[lv - 1] >= p and lv <= ceil_lv]
                if at:
                    level = at[0]
                    parts.append(
                        f"exposure plateau from {p:g} mg ({p_src}): {mg[level - 1]:g} mg is the "
                        "lowest dose at the plateau within the ceiling"
                    )
                else:
                    level = ceil_lv
                    parts.append(
                        f"exposure plateau {p:g} mg ({p_src}) is above the ceiling: exposure "
                        "still rises at the highest safe dose"
                    )
                    fl.append("exposure plateau above the safety ceiling")
            # 3. response
            if bor is not None and df.orr_n.sum() > 0:
                here = df.iloc[level - 1]
                better = [
                    int(r.level) for r in df.itertuples()
                    if level < r.level <= ceil_lv and r.orr_n > 0 and here.orr_n > 0
                    and r.orr_lower > here.orr_upper
                ]  # fmt: skip
                if better:
                    new = better[0]
                    r = df.iloc[new - 1]
                    parts.append(
                        f"ORR at {mg[new - 1]:g} mg {_pct(r.responders, r.orr_n)} clearly above "
                        f"{mg[level - 1]:g} mg {_pct(here.responders, here.orr_n)}: moved up"
                    )
                    level = new
                elif here.orr_n > 0:
                    parts.append(
                        f"ORR at {mg[level - 1]:g} mg {_pct(here.responders, here.orr_n)}; no dose "
                        "within the ceiling has a clearly higher ORR"
                    )
                else:
                    parts.append(f"no response data at {mg[level - 1]:g} mg")
                    fl.append("no response data at the RP2D")
            else:
                parts.append("no response data")
                fl.append("no response data")
            # 4. immunogenicity
            if ada_t is not None:
                here = df.iloc[level - 1]
                if here.ada_n > 0:
                    inc = here.ada_positive / here.ada_n
                    parts.append(f"ADA incidence at {mg[level - 1]:g} mg {_pct(here.ada_positive, here.ada_n)}")
                    if inc > ada_threshold:
                        fl.append(f"ADA incidence {inc:.0%} > {ada_threshold:.0%} at the RP2D")
                else:
                    parts.append(f"no ADA results at {mg[level - 1]:g} mg")
                    fl.append("no ADA results at the RP2D")
            else:
                parts.append("no ADA data")
                fl.append("no ADA data")
            why = f"RP2D {mg[level - 1]:g} mg (level {level}): " + "; ".join(parts) + "."
        if pr_flag:
            fl.append(pr_flag)
        df["rp2d"] = df.level == level if level is not None else False
        tables[arm] = df
        rp2d[arm] = (int(level), float(mg[level - 1])) if level is not None else (None, None)
        reasons[arm] = why
        flags[arm] = tuple(fl)
    return RP2DSynthesis(
        tables=tables, rp2d=rp2d, reasons=reasons, flags=flags,
        designs=table[["arm", "design", "mtd", "mtd_label", "rp2d", "rp2d_mg", "rp2d_reason"]],
        rule=RP2D_RULE.format(ada_threshold=ada_threshold),
    )  # fmt: skip


@dataclass
class EndpointsSection:
    """A memo section (interface B of ``bd.report(..., sections=[...])``).

    ``title``; ``to_markdown()`` and ``to_html()`` render the RP2D of each arm with its
    reason and flags, the per-dose evidence tables, then ``extra`` tables (e.g. PK
    parameters, ADA incidence, ORR by cohort, hierarchical shrinkage) and ``notes``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> from bayes_dose.endpoints import EndpointsSection, rp2d_synthesis
    >>> cmp = bd.compare({"3+3": bd.ThreePlusThree(4)}, {"mono": bd.Outcomes.parse("1NNN 2NTT")})
    >>> sec = EndpointsSection(rp2d_synthesis(cmp))
    >>> sec.title
    'Secondary endpoints and RP2D synthesis'
    >>> "RP2D" in sec.to_markdown() and "<table" in sec.to_html()
    True
    """

    synthesis: RP2DSynthesis
    extra: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    notes: Sequence[str] = ()
    title: str = "Secondary endpoints and RP2D synthesis"

    def to_markdown(self) -> str:
        s = self.synthesis
        out = [f"Rule: {s.rule}", ""]
        for n in self.notes:
            out += [f"*{n}*", ""]
        for arm, t in s.tables.items():
            out += [f"### Arm {arm}", "", f"**{s.reasons[arm]}**", ""]
            if s.flags[arm]:
                out += ["Flags: " + "; ".join(s.flags[arm]), ""]
            out += [_md_table(t), ""]
        for name, t in self.extra.items():
            out += [f"### {name}", "", _md_table(t), ""]
        return "\n".join(out)

    def to_html(self) -> str:
        s = self.synthesis
        out = [f"<p>Rule: {escape(s.rule)}</p>"]
        out += [f"<p><em>{escape(n)}</em></p>" for n in self.notes]
        for arm, t in s.tables.items():
            out.append(f"<h3>Arm {escape(arm)}</h3><p><strong>{escape(s.reasons[arm])}</strong></p>")
            if s.flags[arm]:
                out.append("<p>Flags: " + escape("; ".join(s.flags[arm])) + "</p>")
            out.append(_html_table(t))
        for name, t in self.extra.items():
            out.append(f"<h3>{escape(name)}</h3>" + _html_table(t))
        return "\n".join(out)


# -- everything on the listings ---------------------------------------------------------------
@dataclass
class SecondaryEndpoints:
    """PK, ADA and response analyses of both arms and the RP2D synthesis built on them."""

    nca: pd.DataFrame
    dose_proportionality: pd.DataFrame
    plateaus: dict[str, Any]
    ada_incidence: pd.DataFrame
    bor: BOR
    orr_by_dose: pd.DataFrame
    orr_by_cohort: pd.DataFrame | None
    hierarchical: Any
    synthesis: RP2DSynthesis
    notes: tuple[str, ...] = ()

    def plateau_table(self) -> pd.DataFrame:
        """Per arm: the exposure-plateau dose (or none) and the reason."""
        rows = []
        for arm, p in self.plateaus.items():
            if hasattr(p, "reason"):
                rows.append({"arm": arm, "plateau_mg": p.dose, "source": f"pk.exposure_plateau ({p.parameter})",
                             "reason": p.reason})  # fmt: skip
            else:
                rows.append({"arm": arm, "plateau_mg": p, "source": "user-given", "reason": "given"})
        return pd.DataFrame(rows)

    def section(self, title: str = "Secondary endpoints and RP2D synthesis") -> EndpointsSection:
        """The memo section: RP2D per arm, then the PK, ADA and response tables.

        With PRs not checked against the sum of diameters (``bor.flags``), they are a table
        of their own (:data:`UNCHECKED_PR_TITLE`) after the ORR by dose, besides the flag of
        each arm.
        """
        te = self.ada_incidence[self.ada_incidence["category"] == "treatment-emergent"]
        extra: dict[str, pd.DataFrame] = {
            "Exposure plateau (PK)": self.plateau_table(),
            "Dose proportionality (power model, Smith et al. 2000)": self.dose_proportionality,
            "ADA incidence (treatment-emergent, Shankar et al. 2014)": te,
            "ORR / DCR by arm and dose (RECIST 1.1, confirmed)": self.orr_by_dose,
        }
        if not self.bor.flags.empty:
            extra[UNCHECKED_PR_TITLE] = _unchecked_prs(self.bor)
        if self.orr_by_cohort is not None:
            extra["ORR by expansion cohort"] = self.orr_by_cohort
        if self.hierarchical is not None:
            extra[f"Borrowing across cohorts ({self.hierarchical.model}): raw vs posterior ORR"] = (
                self.hierarchical.table()
            )
        notes = (*self.notes, self.bor.rule)
        return EndpointsSection(self.synthesis, extra=extra, notes=notes, title=title)


def secondary_endpoints(
    comparison: Comparison,
    *,
    pc: Any = None,
    ada: Any = None,
    responses: Any = None,
    plateau: Mapping[str, Any] | None = None,
    parameter: str = "cmax",
    model: str = "exnex",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 2026,
    ada_threshold: float = 0.3,
) -> SecondaryEndpoints:
    """Run PK, ADA and response on the listings and synthesise the RP2D of each arm.

    Parameters
    ----------
    comparison
        The dose-finding designs on each arm (:func:`bayes_dose.compare`).
    pc, ada, responses
        Concentration, ADA and tumour-response listings (path, DataFrame or ``None`` for
        the bundled synthetic listings).
    plateau
        Arm -> exposure-plateau dose in mg given by the user (``None``: no plateau), or a
        :class:`bayes_dose.pk.ExposurePlateau` already fitted; arms not given are fitted by
        :func:`bayes_dose.pk.exposure_plateau` (PyMC; ``draws``, ``tune``, ``chains``,
        ``seed``).
    parameter
        PK parameter of the dose-exposure models and dose proportionality.
    model
        Hierarchical model across the expansion cohorts (``"exnex"`` or
        ``"exchangeable"``, exact grid engine).
    """
    from . import ada as ada_mod
    from . import pk
    from . import response as resp

    unknown = set(plateau or {}) - set(comparison.arms)
    if unknown:
        raise ValueError(f"plateau: unknown arm(s) {sorted(unknown)}; arms {list(comparison.arms)}")
    nca = pk.nca(pc)
    dp_rows = []
    for arm in comparison.arms:
        sub = nca[nca["arm"] == arm]
        if sub.empty:
            continue
        d = pk.dose_proportionality(sub, parameter=parameter)
        dp_rows.append({"arm": arm, "parameter": parameter, "n": d.n, "slope": d.slope,
                        "ci_low": d.ci[0], "ci_high": d.ci[1], "criterion_low": d.criterion[0],
                        "criterion_high": d.criterion[1], "verdict": d.verdict})  # fmt: skip
    given = dict(plateau or {})
    plateaus: dict[str, Any] = {}
    for arm in comparison.arms:
        if arm in given:
            plateaus[arm] = given[arm]
        elif (nca["arm"] == arm).any():
            plateaus[arm] = pk.exposure_plateau(nca, parameter, arm=arm, draws=draws, tune=tune,
                                                chains=chains, seed=seed)  # fmt: skip
    plateau_mg = {a: (p.dose if hasattr(p, "dose") else p) for a, p in plateaus.items()}
    sources = {a: (f"pk.exposure_plateau: {p.reason}" if hasattr(p, "dose") else "user-given")
               for a, p in plateaus.items()}  # fmt: skip
    inc = ada_mod.incidence(ada)
    bor = resp.best_overall_response(resp.read_response_listing(responses))
    by_dose = resp.orr(bor, by=["arm", "dose_mg"])
    exp = bor.table[bor.table["cohort"] != "escalation"]
    by_cohort = hier = None
    if exp["cohort"].nunique() >= 2:
        by_cohort = resp.orr(exp, by=["arm", "dose_mg", "cohort"])
        hier = resp.hierarchical_orr(resp.orr(exp, by=["cohort"]), model=model)
    synth = rp2d_synthesis(
        comparison, response=bor, ada=inc, plateau=plateau_mg, plateau_source=sources,
        ada_threshold=ada_threshold,
    )  # fmt: skip
    notes = ("ORR per dose pools the escalation and expansion subjects treated at that dose.",)
    return SecondaryEndpoints(
        nca=nca, dose_proportionality=pd.DataFrame(dp_rows), plateaus=plateaus, ada_incidence=inc,
        bor=bor, orr_by_dose=by_dose, orr_by_cohort=by_cohort, hierarchical=hier,
        synthesis=synth, notes=notes,
    )  # fmt: skip
