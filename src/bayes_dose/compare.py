"""Compare designs on the same observed cohort data, per arm.

``compare(designs, {"mono": out_mono, "combo": out_combo})`` fits every design on its
arm's data (a design that reads several arms — the combination BLRM — gets all arms) and
collects, per arm and design: the next dose, whether to stop, the MTD (or MAD), the RP2D
with the rule that chose it, the estimated DLT probability and P(overdose) at the RP2D,
and the reason.  ``agreement()`` sets each design against the protocol's 3+3;
``shadow()`` replays the data cohort by cohort.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .designs.base import Design, Fit
from .designs.three_plus_three import ThreePlusThree
from .errors import DoseGridError
from .inference.engines import engines
from .outcomes import Outcomes

__all__ = ["Comparison", "RP2DRule", "compare", "overdose_definition", "p_dlt_above", "recommend_rp2d"]


@runtime_checkable
class RP2DPolicy(Protocol):
    """Anything that maps ``(arm, fit, level)`` to ``(rp2d level or None, reason)``."""

    def __call__(self, arm: str, fit: Fit, level: int) -> tuple[int | None, str]: ...


def _per_arm(value: Any, arm: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(arm)
    if callable(value):
        return value(arm)
    return value


def _borrowing_text(fit: Fit) -> str:
    """The combination BLRM's borrowing strength and, with no combination patients yet,
    that ``next_dose`` is its recommended starting dose ("" for other designs)."""
    rep = getattr(fit, "borrowing", None)
    if rep is None:
        return ""
    text = rep.sentence()
    if getattr(fit, "start_dose", False):
        text += f"; starting dose: {fit.reason}"
    return text


@dataclass(frozen=True)
class RP2DRule:
    """A cap on the RP2D below the MTD/MAD.

    Parameters
    ----------
    max_level : int, mapping of arm to int, optional
        Never recommend above this 1-based level.
    min_level_reaching : int, mapping of arm to int, or callable ``arm -> int``, optional
        The lowest level reaching a PK exposure or efficacy threshold (e.g. from the PK
        analysis): the RP2D is not above it (no need for more drug than reaches the target).
    threshold : str
        What the threshold is, for the reason sentence.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> rule = bd.RP2DRule(min_level_reaching={"mono": 5}, threshold="AUC >= 500 h·µg/mL")
    >>> fit = bd.ThreePlusThree(8, titration_levels=3).fit(
    ...     bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 6NNN 7NTT 6NNN"))
    >>> bd.recommend_rp2d(fit, "mono", rule)
    (5, 'MTD = level 6; capped at level 5, the lowest level reaching AUC >= 500 h·µg/mL')
    """

    max_level: int | Mapping[str, int] | None = None
    min_level_reaching: int | Mapping[str, int] | Callable[[str], int | None] | None = None
    threshold: str = "the PK/efficacy threshold"

    def __call__(self, arm: str, fit: Fit, level: int) -> tuple[int | None, str]:
        notes = []
        cap = _per_arm(self.max_level, arm)
        if cap is not None and level > int(cap):
            level = int(cap)
            notes.append(f"capped at level {level}, the protocol's maximum")
        reach = _per_arm(self.min_level_reaching, arm)
        if reach is not None:
            reach = int(reach)
            if level > reach:
                level = reach
                notes.append(f"capped at level {level}, the lowest level reaching {self.threshold}")
            elif reach > level:
                notes.append(
                    f"{self.threshold} is first reached at level {reach}, above it: "
                    "the RP2D stays at the tolerated dose"
                )
        return level, "; ".join(notes)

    def spec(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Mapping):
                return dict(v)
            return repr(v) if callable(v) else v

        return {
            "rule": "RP2DRule",
            "max_level": plain(self.max_level),
            "min_level_reaching": plain(self.min_level_reaching),
            "threshold": self.threshold,
        }


def recommend_rp2d(fit: Fit, arm: str, rule: RP2DPolicy | None = None) -> tuple[int | None, str]:
    """The RP2D of one fit: the MTD, or with no MTD the MAD, optionally capped by ``rule``.

    The RP2D is never above the highest level given to patients (a model-based design
    may select an untried dose as its MTD estimate).  Returns the 1-based level (None
    when no dose is acceptable) and the reason.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> skel = bd.crm_skeleton(target=0.25, halfwidth=0.05, mtd_guess=3, n_doses=5)
    >>> fit = bd.CRM(skel, target=0.25).fit(bd.Outcomes.parse("1NNN 2NNN"))
    >>> fit.mtd, bd.recommend_rp2d(fit, "mono")
    (5, (2, 'MTD = level 5; capped at level 2, the highest level given to patients'))
    """
    if getattr(fit, "hold", False):
        return None, (
            "no RP2D while the design holds (patients pending or with unknown DLT or grade-2 "
            "status)"
        )
    if fit.mtd is None:
        if fit.stop:
            return None, "no RP2D: no dose is acceptable"
        return None, "no RP2D yet: no dose selected on the data so far (escalation continues)"
    level = int(fit.mtd)
    reason = f"{fit.mtd_label} = level {level}"
    tried = int(fit.data.highest_tried[0]) + 1
    if level > tried:  # a model may select an untried dose; phase II needs a tested one
        reason += f"; capped at level {tried}, the highest level given to patients"
        level = tried
    if rule is not None:
        new, why = rule(arm, fit, level)
        if new is not None and not 1 <= int(new) <= level:
            raise ValueError(
                f"RP2D rule returned level {new} for arm {arm!r}; it must be in 1..{level} "
                f"(at most the {fit.mtd_label})"
            )
        level = None if new is None else int(new)
        if why:
            reason += f"; {why}"
    return level, reason


#: What :func:`borrowed_arms` says for an object reading every arm (``reads_all_arms``).
ALL_ARMS = "*"


def borrowed_arms(design: Any) -> tuple[str, ...]:
    """The arms a design reads besides its own: the one predicate
    :attr:`Design.borrows_from <bayes_dose.Design.borrows_from>` (objects that are not
    designs may say ``reads_all_arms``: then ``(ALL_ARMS,)``)."""
    b = getattr(design, "borrows_from", None)
    if b is not None:
        return tuple(b)
    return (ALL_ARMS,) if getattr(design, "reads_all_arms", False) else ()


def reads_all_arms(design: Any) -> bool:
    """Whether the design is fitted on every arm's data: it borrows from another arm.

    The one predicate is :attr:`Design.borrows_from <bayes_dose.Design.borrows_from>`
    (non-empty: the combination BLRM with ``borrow=True``), from which
    ``Design.requires_other_arms`` follows too.  Objects that are not :class:`Design`
    may say so with a ``reads_all_arms`` attribute (:func:`borrowed_arms`).
    """
    return bool(borrowed_arms(design))


def _not_analysed(designs: Mapping[str, Mapping[str, Any]], data: Mapping[str, Outcomes]
                  ) -> dict[str, int]:  # fmt: skip
    """``{arm: patients}``: the arms of ``data`` holding patients that no design is for
    and no design reads (:attr:`Design.borrows_from <bayes_dose.Design.borrows_from>`; an
    object saying only ``reads_all_arms`` reads every arm).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> out = bd.examples.bat6021_outcomes()
    >>> _not_analysed({"mono": {"3+3": bd.ThreePlusThree(8)}}, {a: out.arm(a) for a in out.arms})
    {'combo': 15}
    """
    read = set(designs)
    for ds in designs.values():
        for d in ds.values():
            read.update(borrowed_arms(d))
    if ALL_ARMS in read:
        return {}
    return {a: len(o) for a, o in data.items() if a not in read and len(o)}


def _normalise(designs: Mapping[str, Any], arms: tuple[str, ...]) -> dict[str, dict[str, Design]]:
    if not designs:
        raise ValueError("compare: no designs given")
    nested = all(isinstance(v, Mapping) for v in designs.values())
    if nested:
        unknown = sorted(set(designs) - set(arms))
        if unknown:
            raise ValueError(
                f"compare: designs given for arms {unknown} without data (arms: {arms})"
            )
        out = {a: dict(designs[a]) for a in arms if a in designs}
    elif any(isinstance(v, Mapping) for v in designs.values()):
        raise ValueError(
            "compare: give designs as {name: design} or {arm: {name: design}}, not mixed"
        )
    else:
        out = {a: dict(designs) for a in arms}
    for a, ds in out.items():
        for name, d in ds.items():
            if not hasattr(d, "fit"):
                raise ValueError(f"compare: design {name!r} (arm {a!r}) has no fit method: {d!r}")
    return out


def _split_outcomes(outcomes: Mapping[str, Outcomes] | Outcomes) -> dict[str, Outcomes]:
    if isinstance(outcomes, Outcomes):
        return {a: outcomes.arm(a) for a in outcomes.arms}
    out = {}
    for a, o in outcomes.items():
        if not isinstance(o, Outcomes):
            raise ValueError(f"compare: data of arm {a!r} must be Outcomes, got {type(o).__name__}")
        if o.arms and o.arms != (a,):
            raise ValueError(f"compare: data given for arm {a!r} hold arms {o.arms}")
        out[a] = o
    if not out:
        raise ValueError("compare: no data given")
    return out


def _fit_one(
    design: Any,
    arm: str,
    data: dict[str, Outcomes],
    engine: str,
    name: str,
    engine_kwargs: Mapping[str, Any] | None = None,
    missing: str | None = None,
) -> Fit:
    kw = dict(engine_kwargs or {}) if engine != "grid" else {}
    if missing is not None:
        kw["missing"] = missing
    try:
        if reads_all_arms(design):
            return design.fit(data, engine=engine, **kw)
        return design.fit(data[arm], engine=engine, **kw)
    except DoseGridError as exc:  # Design.fit's check of the arm's dose grid
        raise ValueError(f"compare: arm {arm!r}, design {name!r}: {exc}; give designs per "
                         "arm ({arm: {name: design}})") from exc  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"compare: arm {arm!r}, design {name!r}: {exc}") from exc


def _at_level(fit: Fit, level: int | None) -> tuple[float, float, float]:
    """Estimated DLT probability, P(overdose) and dose (mg) at a 1-based level (NaN if n/a)."""
    if level is None:
        return np.nan, np.nan, np.nan
    i = level - 1
    prob = float(fit.prob_tox.to_numpy()[i])
    mg = float(fit.prob_tox["dose_mg"].to_numpy()[i])
    return prob, _p_overdose(fit, i), mg


def _p_overdose(fit: Fit, i: int) -> float:
    """P(DLT probability in the overdose interval) at 0-based dose ``i``, if the design has it.

    Read from the fit's ``interval_probs`` (category ``over``) or the estimate's ``p_over``.
    """
    ip = getattr(fit, "interval_probs", None)
    if ip is not None and hasattr(ip, "dims"):
        for dim in ip.dims:
            if dim == "dose":
                continue
            labels = [str(x) for x in ip[dim].to_numpy()]
            for key in ("over", "overdose"):
                if key in labels:
                    return float(np.asarray(ip.sel({dim: key}).transpose("dose", ...))[i])
    stats = getattr(fit.estimate, "stats", {}) or {}
    for key in ("p_over", "p_overdose"):
        if key in stats:
            return float(np.asarray(stats[key])[0][i])
    return np.nan


@dataclass(frozen=True, repr=False)
class Comparison:
    """Every design's recommendation on each arm's data (the result of :func:`compare`).

    Attributes
    ----------
    designs : dict of arm -> {name: Design}
    outcomes : dict of arm -> Outcomes
        Every arm of the data (also arms without designs that a borrowing design reads).
    fits : dict of (arm, name) -> Fit
    reference : dict of arm -> name of the reference design (the protocol's 3+3) or None
    rp2d_rule : RP2D policy or None
    engine : str or dict of design name -> engine
    engine_kwargs : dict
        Passed to non-grid engines (e.g. ``draws``, ``chains``, ``random_seed``).
    mcmc_fits : dict of (arm, name) -> Fit
        PyMC fits of the designs named in ``compare(mcmc=...)`` (diagnostics and a check
        of the decision engine; decisions come from ``fits``).
    missing : str or None
        Policy for unknown DLT statuses given to every fit (``compare(missing=...)``).
    not_analysed : dict of arm -> int
        Arms of the data whose patients no design is for and no design reads (e.g.
        combination patients given with monotherapy designs only), with their numbers of
        patients: not in any decision (:meth:`not_analysed_notes`).
    """

    designs: dict[str, dict[str, Design]]
    outcomes: dict[str, Outcomes]
    fits: dict[tuple[str, str], Fit] = field(repr=False)
    reference: dict[str, str | None]
    rp2d_rule: Any = None
    engine: str | Mapping[str, str] = "grid"
    engine_kwargs: Mapping[str, Any] = field(default_factory=dict)
    mcmc_fits: dict[tuple[str, str], Fit] = field(default_factory=dict, repr=False)
    mcmc_kwargs: Mapping[str, Any] = field(default_factory=dict)
    missing: str | None = None
    obd: Any = None  # an OBD selector (bayes_dose.obd.OBD) applied below each design's MTD
    not_analysed: dict[str, int] = field(default_factory=dict)

    def not_analysed_notes(self, why: Mapping[str, str] | None = None) -> list[str]:
        """One sentence per arm of the data left out of every decision
        (:attr:`not_analysed`); empty when every arm with patients was analysed.

        ``why`` maps an arm to the reason said instead of the default "no design here is
        for this arm and none borrows from it" (e.g. the CLI's ``--arm`` left out designs
        the spec has for it)."""
        return [
            f"[{arm}] not analysed: {n} patient{'s' if n != 1 else ''} of arm {arm!r} in the "
            f"data; {(why or {}).get(arm, 'no design here is for this arm and none borrows from it')}"
            for arm, n in self.not_analysed.items()
        ]

    def obd_of(self, arm: str, name: str) -> tuple[int | None, str]:
        """The OBD of design ``name`` on ``arm`` and its reason: the design's own (BOIN12),
        else ``compare(obd=...)``'s selector at or below the design's MTD/MAD; None when
        neither applies (no selector, or data without responses)."""
        fit = self.fits[(arm, name)]
        if hasattr(fit, "obd"):
            return fit.obd, f"{fit.design.label} OBD selection"
        out = self.outcomes[arm]
        if self.obd is None or not out.has_response:
            return None, "no OBD selector" if self.obd is None else "no response data"
        if fit.mtd is None:
            return None, f"no OBD: {name} has no safe dose"
        c = self.obd.select(out, fit.mtd, safe_label=fit.mtd_label, n_doses=fit.design.n_doses)
        return c.level, c.reason

    def mcmc_check(self) -> pd.DataFrame:
        """Per PyMC fit: its diagnostics and how far it is from the decision fit.

        Columns ``arm``, ``design``, the diagnostics (R-hat, ESS, divergences, flags),
        ``max_abs_diff_prob_tox`` (largest difference of the posterior mean DLT probability
        between the PyMC and the decision engine) and ``same_decision``.
        """
        rows = []
        for key, mf in self.mcmc_fits.items():
            f = self.fits[key]
            row: dict[str, Any] = {"arm": key[0], "design": key[1]}
            for k, v in dict(mf.diagnostics or {}).items():
                if isinstance(v, (list, tuple)):
                    row[k] = "; ".join(str(x) for x in v) or "none"
                elif np.ndim(v) == 0:
                    row[k] = v.item() if hasattr(v, "item") else v
            diff = np.abs(mf.prob_tox.to_numpy() - f.prob_tox.to_numpy())
            row["max_abs_diff_prob_tox"] = float(np.nanmax(diff))
            row["same_decision"] = (mf.next_dose, mf.stop, mf.mtd) == (f.next_dose, f.stop, f.mtd)
            rows.append(row)
        return pd.DataFrame(rows)

    def engine_of(self, name: str) -> str:
        """The inference engine design ``name`` was fitted with."""
        if isinstance(self.engine, Mapping):
            return self.engine.get(name, "grid")
        return self.engine

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(self.designs)

    def rp2d(self, arm: str, name: str) -> tuple[int | None, str]:
        """The RP2D of design ``name`` on ``arm`` and the reason."""
        return recommend_rp2d(self.fits[(arm, name)], arm, self.rp2d_rule)

    def table(self) -> pd.DataFrame:
        """One row per arm and design: next dose, stop, MTD/MAD, RP2D, estimates, reasons.

        ``borrowing``: the combination BLRM's borrowing strength (and its starting dose
        with no combination patients yet); empty for other designs.
        ``hold`` (the design waits: patients pending or with unknown DLT status, or an
        unknown grade-2 status deciding accelerated titration), ``pending``, ``unknown``
        and ``grade2_unknown`` (comma-separated patient ids: :attr:`Fit.pending
        <bayes_dose.Fit.pending>`, ``Fit.unknown``, ``Fit.grade2_unknown``) say which
        patients the decision could not count in full (see :meth:`Design.fit
        <bayes_dose.Design.fit>`).
        """
        rows = []
        for (arm, name), fit in self.fits.items():
            rp2d, why = self.rp2d(arm, name)
            prob, pover, mg = _at_level(fit, rp2d)
            rows.append(
                {
                    "arm": arm,
                    "design": name,
                    "next_dose": fit.next_dose,
                    "stop": fit.stop,
                    "mtd": fit.mtd,
                    "mtd_label": fit.mtd_label,
                    "rp2d": rp2d,
                    "rp2d_mg": mg,
                    "prob_tox_rp2d": prob,
                    "p_overdose_rp2d": pover,
                    "rp2d_reason": why,
                    "reason": fit.reason,
                    "n_patients": len(self.outcomes[arm]),
                    "n_dlt": int(self.outcomes[arm].to_frame()["dlt"].sum()),
                    "hold": bool(getattr(fit, "hold", False)),
                    "pending": ", ".join(getattr(fit, "pending", ())),
                    "unknown": ", ".join(getattr(fit, "unknown", ())),
                    "grade2_unknown": ", ".join(getattr(fit, "grade2_unknown", ())),
                    "borrowing": _borrowing_text(fit),
                    "obd": self.obd_of(arm, name)[0],
                }
            )
        df = pd.DataFrame(rows)
        for c in ("next_dose", "mtd", "rp2d", "obd"):
            df[c] = pd.array(df[c].tolist(), dtype="Int64")
        return df

    def agreement(self) -> pd.DataFrame:
        """Per arm, each design against the reference (protocol 3+3): agreement and why.

        Columns: ``arm``, ``design``, ``reference``, ``next_dose``/``ref_next_dose``,
        ``agree_next``, ``rp2d``/``ref_rp2d``, ``agree_rp2d``, ``level_diff`` (design minus
        reference, levels), ``summary`` (a sentence), ``reason``, ``ref_reason``, and
        ``obd``/``ref_obd``/``agree_obd`` (both none counts as agreement; see
        :meth:`obd_of`).
        """
        t = self.table().set_index(["arm", "design"])
        rows = []
        for arm in self.arms:
            ref = self.reference.get(arm)
            if ref is None:
                continue
            r = t.loc[(arm, ref)]
            for name in self.designs[arm]:
                if name == ref:
                    continue
                d = t.loc[(arm, name)]
                agree_next = bool(d["stop"] == r["stop"] and d["hold"] == r["hold"]) and (
                    bool(d["stop"]) or _same(d["next_dose"], r["next_dose"])
                )
                agree_rp2d = _same(d["rp2d"], r["rp2d"])
                diff = (
                    pd.NA
                    if pd.isna(d["rp2d"]) or pd.isna(r["rp2d"])
                    else int(d["rp2d"] - r["rp2d"])
                )
                rows.append(
                    {
                        "arm": arm,
                        "design": name,
                        "reference": ref,
                        "next_dose": d["next_dose"],
                        "ref_next_dose": r["next_dose"],
                        "agree_next": agree_next,
                        "rp2d": d["rp2d"],
                        "ref_rp2d": r["rp2d"],
                        "agree_rp2d": agree_rp2d,
                        "level_diff": diff,
                        "summary": _sentence(name, ref, d, r, diff),
                        "reason": d["reason"],
                        "ref_reason": r["reason"],
                        "obd": d["obd"],
                        "ref_obd": r["obd"],
                        "agree_obd": _same(d["obd"], r["obd"]),
                    }
                )
        cols = ["arm", "design", "reference", "next_dose", "ref_next_dose", "agree_next", "rp2d",
                "ref_rp2d", "agree_rp2d", "level_diff", "summary", "reason", "ref_reason",
                "obd", "ref_obd", "agree_obd"]  # fmt: skip
        df = pd.DataFrame(rows, columns=cols)
        for c in ("next_dose", "ref_next_dose", "rp2d", "ref_rp2d", "level_diff", "obd", "ref_obd"):
            df[c] = pd.array(df[c].tolist(), dtype="Int64")
        return df

    def shadow(self) -> pd.DataFrame:
        """The shadow ledger: every design's decision after each cohort, replayed in order.

        One row per arm, step (cohort) and design: the cohort just observed, the data so
        far, the design's next dose / stop / MTD and reason, the dose the next cohort
        actually received and whether the design would have given it.  A design reading
        several arms (combination BLRM) sees the other arms' complete data at every step
        of this arm (the monotherapy part precedes the combination part).  Replays use the
        exact grid engines (fast; PyMC fits are kept for the final data).
        """
        rows = []
        for arm in self.arms:
            cum = list(self.outcomes[arm].cohort_prefixes())
            frames = [c.to_frame() for c in cum]
            for k, (sub, f) in enumerate(zip(cum, frames, strict=True), start=1):
                last = f[f["cohort"] == f["cohort"].iat[-1]]
                lv = int(last["dose_level"].iat[0])
                cohort = f"{lv}" + "".join(
                    "?" if pd.isna(y) else "T" if y else "N" for y in last["dlt"]
                )
                actual = int(frames[k]["dose_level"].iat[-1]) if k < len(cum) else None
                data = {**self.outcomes, arm: sub}
                for name, design in self.designs[arm].items():
                    fit = _fit_one(design, arm, data, "grid", name, missing=self.missing)
                    nd = fit.next_dose
                    rows.append(
                        {
                            "arm": arm,
                            "step": k,
                            "cohort": cohort,
                            "n_patients": len(f),
                            "n_dlt": int(f["dlt"].sum()),
                            "design": name,
                            "next_dose": nd,
                            "stop": fit.stop,
                            "hold": bool(getattr(fit, "hold", False)),
                            "mtd": fit.mtd,
                            "actual_next": actual,
                            "follows": (actual is not None and nd == actual and not fit.stop),
                            "reason": fit.reason,
                        }
                    )
        cols = ["arm", "step", "cohort", "n_patients", "n_dlt", "design", "next_dose", "stop",
                "hold", "mtd", "actual_next", "follows", "reason"]  # fmt: skip
        df = pd.DataFrame(rows, columns=cols)  # an arm without patients has no steps
        for c in ("next_dose", "mtd", "actual_next"):
            df[c] = pd.array(df[c].tolist(), dtype="Int64")
        return df

    def __repr__(self) -> str:
        arms = "; ".join(f"{a}: {', '.join(ds)}" for a, ds in self.designs.items())
        return f"<Comparison {arms}>"

    def __str__(self) -> str:
        cols = ["arm", "design", "next_dose", "stop", "hold", "mtd_label", "mtd", "rp2d",
                "reason"]  # fmt: skip
        out = self.table()[cols].to_string(index=False)
        ag = self.agreement()
        if len(ag):
            out += "\n\n" + "\n".join(ag["summary"])
        if self.not_analysed:
            out += "\n\n" + "\n".join(self.not_analysed_notes())
        return out

    def _repr_html_(self) -> str:
        cols = ["arm", "design", "next_dose", "stop", "hold", "mtd_label", "mtd", "rp2d",
                "prob_tox_rp2d", "p_overdose_rp2d", "pending", "unknown", "grade2_unknown",
                "reason"]  # fmt: skip
        parts = ["<h4>Recommendations per arm and design</h4>",
                 self.table()[cols].to_html(index=False, float_format="%.3f", na_rep="–")]  # fmt: skip
        ag = self.agreement()
        if len(ag):
            parts.append("<h4>Agreement with the protocol design</h4><ul>")
            parts += [f"<li>{html.escape(s)}</li>" for s in ag["summary"]]
            parts.append("</ul>")
        if self.not_analysed:
            parts.append("<h4>Data not analysed</h4><ul>")
            parts += [f"<li>{html.escape(s)}</li>" for s in self.not_analysed_notes()]
            parts.append("</ul>")
        return "\n".join(parts)


def _same(a: Any, b: Any) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if pd.isna(a) or pd.isna(b):
        return False
    return int(a) == int(b)


def _sentence(name: str, ref: str, d: pd.Series, r: pd.Series, diff: Any) -> str:
    arm = d.name[0] if isinstance(d.name, tuple) else ""

    def none(s: pd.Series, who: str) -> str:
        if s.get("hold", False):
            return f"{who} holds (patients not evaluable yet)"
        return f"{who} finds no acceptable dose" if s["stop"] else f"{who} has no RP2D yet"

    if pd.isna(d["rp2d"]) and pd.isna(r["rp2d"]):
        rp = f"{none(d, name)} and {none(r, ref)}"
    elif pd.isna(d["rp2d"]):
        rp = f"{none(d, name)}, {ref} recommends level {int(r['rp2d'])}"
    elif pd.isna(r["rp2d"]):
        rp = f"{name} recommends level {int(d['rp2d'])}, {none(r, ref)}"
    elif diff == 0:
        rp = f"{name} agrees with {ref} on the RP2D (level {int(d['rp2d'])})"
    else:
        word = "above" if diff > 0 else "below"
        rp = (
            f"{name} recommends level {int(d['rp2d'])}, {abs(diff)} level"
            f"{'s' if abs(diff) > 1 else ''} {word} {ref} (level {int(r['rp2d'])})"
        )

    def nxt(s: pd.Series) -> str:
        if s.get("hold", False):
            return "hold"
        return "stop" if s["stop"] else f"level {int(s['next_dose'])}"

    same_next = nxt(d) == nxt(r)
    nx = (
        f"both say next: {nxt(d)}"
        if same_next
        else f"next: {nxt(d)} vs {nxt(r)} ({name}: {d['reason']}; {ref}: {r['reason']})"
    )
    return f"[{arm}] {rp}; {nx}."


def compare(
    designs: Mapping[str, Any],
    outcomes_by_arm: Mapping[str, Outcomes] | Outcomes,
    *,
    reference: str | Mapping[str, str] | None = None,
    rp2d_rule: RP2DPolicy | None = None,
    engine: str | Mapping[str, str] = "grid",
    engine_kwargs: Mapping[str, Any] | None = None,
    mcmc: Sequence[str] | Mapping[str, str] = (),
    mcmc_kwargs: Mapping[str, Any] | None = None,
    missing: str | None = None,
    mcmc_engine: str = "pymc",
    obd: Any = None,
) -> Comparison:
    """Fit every design on its arm's data and compare the recommendations.

    Parameters
    ----------
    designs : mapping
        ``{name: design}`` (the same designs for every arm) or ``{arm: {name: design}}``.
        A design whose ``fit`` accepts a mapping of arms (the combination BLRM; or with
        ``reads_all_arms = True``) is fitted on the dict of every arm's data.
    outcomes_by_arm : mapping of arm -> Outcomes, or Outcomes holding several arms
    reference : str or mapping of arm -> str, optional
        The design others are compared with (default: the arm's first
        :class:`ThreePlusThree`).
    rp2d_rule : RP2DRule or callable ``(arm, fit, level) -> (level, reason)``, optional
        Caps the RP2D below the MTD/MAD (e.g. a PK threshold).
    engine : str or mapping of design name -> str
        Inference engine for model-based designs, any name registered in
        :data:`bayes_dose.engines` (``"grid"``: exact and fast; ``"pymc"``, ``"nutpie"``:
        NUTS with diagnostics), for all designs or per design name.
    engine_kwargs : mapping, optional
        Passed to non-grid engines (``draws``, ``tune``, ``chains``, ``random_seed``, ...).
    mcmc : sequence of str, or mapping of design name -> engine name
        Designs also fitted with an MCMC engine on the data (diagnostics; see
        :meth:`Comparison.mcmc_check`); decisions stay with ``engine``.  A sequence uses
        ``mcmc_engine`` for every name; a mapping names each design's engine.
    mcmc_kwargs : mapping, optional
        Sampler settings of those fits.
    missing : {None, "assume_dlt", "assume_not"}
        Policy for patients with unknown DLT status, passed to every fit (None: designs
        hold on them; see :meth:`Design.fit <bayes_dose.Design.fit>`).
    mcmc_engine : str
        Registered engine of the ``mcmc`` fits given as a sequence (default ``"pymc"``).
    obd : bayes_dose.OBD, optional
        OBD selector applied at or below each design's MTD/MAD on data with responses
        (column ``obd`` of :meth:`Comparison.table`; designs with their own OBD, e.g.
        BOIN12, report theirs).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import bayes_dose as bd
    >>> out = bd.Outcomes.parse("1NNN 2NNN 2NTN 3NTT")
    >>> cmp = bd.compare({"3+3": bd.ThreePlusThree(4)}, {"mono": out})
    >>> cmp.table()[["arm", "design", "stop", "mtd", "rp2d"]]
        arm design  stop  mtd  rp2d
    0  mono    3+3  True    2     2
    """
    data = _split_outcomes(outcomes_by_arm)
    per_arm = _normalise(designs, tuple(data))
    fits: dict[tuple[str, str], Fit] = {}
    for arm, ds in per_arm.items():
        for name, d in ds.items():
            eng = engine.get(name, "grid") if isinstance(engine, Mapping) else engine
            fits[(arm, name)] = _fit_one(d, arm, data, eng, name, engine_kwargs, missing)
    refs: dict[str, str | None] = {}
    for arm, ds in per_arm.items():
        want = reference.get(arm) if isinstance(reference, Mapping) else reference
        if want is not None:
            if want not in ds:
                raise ValueError(
                    f"compare: reference design {want!r} not among arm {arm!r}'s designs {list(ds)}"
                )
            refs[arm] = want
        else:
            refs[arm] = next((n for n, d in ds.items() if isinstance(d, ThreePlusThree)), None)
    mcmc_engines = dict(mcmc) if isinstance(mcmc, Mapping) else dict.fromkeys(mcmc, mcmc_engine)
    for eng_name in {*mcmc_engines.values(), *(
        engine.values() if isinstance(engine, Mapping) else [engine]
    )}:
        engines[eng_name]  # an unknown name is an error listing the registered ones
    unknown = sorted(set(mcmc_engines) - {n for ds in per_arm.values() for n in ds})
    if unknown:
        raise ValueError(f"compare: mcmc names unknown design(s) {unknown}")
    ruled = sorted({n for ds in per_arm.values() for n, d in ds.items()
                    if n in mcmc_engines and not getattr(d, "model_based", False)})  # fmt: skip
    if ruled:
        raise ValueError(
            f"compare: mcmc names design(s) {ruled} without a model (rule-based: their "
            "estimates are observed rates whatever the engine, so there is nothing to check "
            "with MCMC)"
        )
    mcmc_fits: dict[tuple[str, str], Fit] = {}
    for arm, ds in per_arm.items():
        for name, d in ds.items():
            if name in mcmc_engines:
                mcmc_fits[(arm, name)] = _fit_one(
                    d, arm, data, mcmc_engines[name], name, mcmc_kwargs, missing
                )
    if rp2d_rule is not None and not callable(rp2d_rule):
        raise ValueError(f"compare: rp2d_rule must be callable, got {rp2d_rule!r}")
    return Comparison(
        designs=per_arm,
        outcomes=dict(data),
        fits=fits,
        reference=refs,
        rp2d_rule=rp2d_rule,
        engine=dict(engine) if isinstance(engine, Mapping) else engine,
        engine_kwargs=dict(engine_kwargs or {}),
        mcmc_fits=mcmc_fits,
        mcmc_kwargs=dict(mcmc_kwargs or {}),
        missing=missing,
        obd=obd,
        not_analysed=_not_analysed(per_arm, data),
    )


# -- overdose metrics with their definitions (the memo's columns) -------------------------
def overdose_definition(fit: Fit) -> tuple[str, float] | None:
    """The design's own overdose probability as ``(operator, cut)``, or None.

    BLRM family: ``P(p >= hi)`` of its target interval ``[lo, hi)``; BOIN and CRM:
    ``P(p > target)``; designs without a posterior of the DLT rate (3+3): None.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> out = bd.Outcomes.parse("1NNN 2NNT")
    >>> overdose_definition(bd.BOIN(target=0.25, n_doses=4).fit(out))
    ('>', 0.25)
    >>> overdose_definition(bd.ThreePlusThree(4).fit(out)) is None
    True
    """
    design = fit.design
    if np.isnan(_p_overdose(fit, 0)) and not _has_p_over(fit):
        return None
    interval = getattr(design, "target_interval", None)
    if interval is not None:
        return (">=", float(interval[1]))
    target = getattr(design, "target", None)
    return None if target is None else (">", float(target))


def _has_p_over(fit: Fit) -> bool:
    if getattr(fit, "interval_probs", None) is not None:
        return True
    stats = getattr(fit.estimate, "stats", {}) or {}
    return any(k in stats for k in ("p_over", "p_overdose"))


def p_dlt_above(comparison: Comparison, arm: str, name: str, level: int | None, cut: float) -> float:
    """Posterior P(DLT rate > ``cut``) at a 1-based level under design ``name``'s own model.

    The same number for every model-based design, whatever its own overdose cut: BOIN's
    isotonic Beta posterior, the CRM's posterior and the BLRM family's posterior (exact
    grid engines; the posteriors are continuous, so ``>`` and ``>=`` coincide).  NaN for a
    design without a posterior of the DLT rate (3+3) or without a level.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> cmp = bd.compare({"BOIN": bd.BOIN(target=0.25, n_doses=4)},
    ...                  {"mono": bd.Outcomes.parse("1NNN 2NNT")})
    >>> round(p_dlt_above(cmp, "mono", "BOIN", 2, 0.25), 3)  # P(p > 0.25), Beta(1.05, 2.05)
    0.575
    """
    if not 0 < cut < 1:
        raise ValueError(f"overdose cut must be in (0, 1), got {cut}")
    fit = comparison.fits[(arm, name)]
    own = overdose_definition(fit)
    if level is None or own is None:
        return np.nan
    i = int(level) - 1
    if np.isclose(own[1], cut, rtol=0, atol=1e-12):
        return _p_overdose(fit, i)
    design = comparison.designs[arm][name]
    interval = getattr(design, "target_interval", None)
    if interval is not None:  # refit with the cut as the interval's upper end
        lo = float(interval[0]) if interval[0] < cut else cut / 2
        other = design.replace(target_interval=(lo, float(cut)))
        return _p_overdose(_fit_one(other, arm, comparison.outcomes, "grid", name), i)
    # BOIN and CRM read their target only for p_over in ``estimate``
    other = copy.copy(design)
    object.__setattr__(other, "target", float(cut))
    est = other.estimate(fit.data)
    return float(np.asarray(est.stats["p_over"])[0][i])
