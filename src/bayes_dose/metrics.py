"""Operating characteristics and design concordance from simulated trials.

Every proportion comes with its Monte Carlo standard error ``sqrt(p (1 - p) / T)`` and
every mean with ``sd / sqrt(T)`` (``T`` trials, sample sd with ``ddof=1``).

**True MTD** (used by ``pcs`` and the overdosing measures): the level whose true DLT
probability is closest to the target (ties: the lower level); when even the lowest level
exceeds ``target + 0.1`` there is no acceptable dose and the correct decision is to
select none (:func:`bayes_dose.scenarios.true_mtd`).  The target is, in order: the
``target`` argument, the design's own ``target`` (midpoint of ``target_interval`` for
interval designs), the scenario's target (scenario library); else these measures are NaN.
Doses "above the MTD" are the levels above it (every level when no dose is acceptable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .scenarios import true_mtd

__all__ = ["concordance", "operating_characteristics", "overdose_risk_planned"]


def _se_prop(p: np.ndarray, T: int) -> np.ndarray:
    return np.sqrt(p * (1 - p) / T)


def _se_mean(x: np.ndarray, axis: int) -> np.ndarray:
    T = x.shape[axis]
    if T < 2:
        return np.full(np.delete(x.shape, axis), np.nan)
    return x.std(axis=axis, ddof=1) / np.sqrt(T)


def _targets(sims: xr.Dataset, target: float | Mapping[str, float] | None) -> np.ndarray:
    """Target per (design, scenario)."""
    designs = [str(g) for g in sims["design"].values]
    scen = [str(s) for s in sims["scenario"].values]
    specs = json.loads(sims.attrs.get("manifest", "{}")).get("designs", {})
    out = np.full((len(designs), len(scen)), np.nan)
    for gi, g in enumerate(designs):
        spec = specs.get(g, {})
        own = spec.get("target")
        if own is None and spec.get("target_interval") is not None:
            own = float(np.mean(spec["target_interval"]))
        for si, s in enumerate(scen):
            if isinstance(target, Mapping):
                t = target.get(s, target.get(g))
            else:
                t = target
            if t is None:
                t = own
            if t is None and "target" in sims:
                t = float(sims["target"].values[si])
            out[gi, si] = np.nan if t is None else float(t)
    return out


def operating_characteristics(
    sims: xr.Dataset, target: float | Mapping[str, float] | None = None
) -> xr.Dataset:
    """Operating characteristics per design x scenario, with Monte Carlo SEs.

    Parameters
    ----------
    sims : xarray.Dataset
        Output of :func:`bayes_dose.simulate`.
    target : float or dict, optional
        Target DLT probability defining the true MTD (a dict may map scenario or design
        names to targets).  Default: the design's, else the scenario's (module docstring).

    Returns
    -------
    xarray.Dataset
        Dims ``design``, ``scenario``, ``dose_level`` (and ``reason``).  Proportions in
        [0, 1]: ``p_select`` (+ ``p_select_se``), ``p_none``, ``p_mad``, ``pcs`` (correct
        selection), ``frac_patients_above_mtd`` (mean over trials of the fraction of a
        trial's patients treated above the true MTD), ``p_overdose_60`` / ``p_overdose_80``
        (trials treating >= 60% / 80% of their patients above the MTD), ``p_stop_reason``;
        means ``mean_n``, ``mean_dlt`` (per dose), ``mean_total_n``, ``mean_total_dlt``,
        each with ``*_se``; and ``true_tox``, ``target``, ``true_mtd`` (0 = none).
        ``oc[["p_select", "p_select_se"]].to_dataframe()`` gives a tidy table.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"3+3": bd.ThreePlusThree(5)}, [0.05, 0.15, 0.3, 0.45, 0.6],
    ...                    n_trials=500, seed=3, progress=False)
    >>> oc = bd.operating_characteristics(sims, target=0.3)
    >>> int(oc.true_mtd.item()), bool(abs(oc.p_select.sum("dose_level") + oc.p_none - 1).max() < 1e-12)
    (3, True)
    """
    sel = sims["selected"].to_numpy().astype(np.int64)  # (G, S, T)
    n = sims["n"].to_numpy().astype(np.int64)  # (G, S, T, D)
    y = sims["dlt"].to_numpy().astype(np.int64)
    G, S, T = sel.shape
    D = n.shape[-1]
    levels = np.arange(1, D + 1)
    p_sel = (sel[..., None] == levels).mean(axis=2)
    p_none = (sel == 0).mean(axis=2)
    p_mad = sims["is_mad"].to_numpy().mean(axis=2)
    tot_n = n.sum(axis=-1)
    tot_y = y.sum(axis=-1)

    tgt = _targets(sims, target)
    true_tox = sims["true_tox"].to_numpy()
    mtd = np.full((G, S), -1, dtype=np.int64)
    for gi in range(G):
        for si in range(S):
            if not np.isnan(tgt[gi, si]):
                mtd[gi, si] = true_mtd(true_tox[si], tgt[gi, si])
    known = mtd >= 0
    pcs = np.where(known, (sel == mtd[..., None]).mean(axis=2), np.nan)
    above = levels[None, None, :] > np.maximum(mtd, 0)[..., None]  # (G, S, D)
    n_above = (n * above[:, :, None, :]).sum(axis=-1)
    frac = np.where(tot_n > 0, n_above / np.maximum(tot_n, 1), 0.0)
    frac = np.where(known[..., None], frac, np.nan)
    od60 = np.where(known, (frac >= 0.6).mean(axis=2), np.nan)
    od80 = np.where(known, (frac >= 0.8).mean(axis=2), np.nan)

    reasons = json.loads(sims.attrs.get("reasons", "{}"))
    designs = [str(g) for g in sims["design"].values]
    R = max([len(reasons.get(g, [])) for g in designs] + [int(sims["stop_reason"].max()) + 1])
    codes = np.arange(R)
    p_reason = (sims["stop_reason"].to_numpy()[..., None] == codes).mean(axis=2)
    reason_text = np.array(
        [[(reasons.get(g, []) + [""] * R)[r] for r in codes] for g in designs], dtype=object
    )

    gs = ("design", "scenario")
    gsd = (*gs, "dose_level")
    mean_n = n.mean(axis=2)
    mean_y = y.mean(axis=2)
    oc = xr.Dataset(
        {
            "p_select": (gsd, p_sel, {"long_name": "P(level selected)"}),
            "p_select_se": (gsd, _se_prop(p_sel, T)),
            "p_none": (gs, p_none, {"long_name": "P(no dose selected)"}),
            "p_none_se": (gs, _se_prop(p_none, T)),
            "p_mad": (gs, p_mad, {"long_name": "P(selection is a MAD)"}),
            "p_mad_se": (gs, _se_prop(p_mad, T)),
            "pcs": (gs, pcs, {"long_name": "P(correct selection of the true MTD)"}),
            "pcs_se": (gs, _se_prop(pcs, T)),
            "mean_n": (gsd, mean_n, {"long_name": "mean patients per dose"}),
            "mean_n_se": (gsd, _se_mean(n, 2)),
            "mean_dlt": (gsd, mean_y, {"long_name": "mean DLTs per dose"}),
            "mean_dlt_se": (gsd, _se_mean(y, 2)),
            "mean_total_n": (gs, tot_n.mean(axis=2), {"long_name": "mean trial size"}),
            "mean_total_n_se": (gs, _se_mean(tot_n, 2)),
            "mean_total_dlt": (gs, tot_y.mean(axis=2)),
            "mean_total_dlt_se": (gs, _se_mean(tot_y, 2)),
            "frac_patients_above_mtd": (
                gs,
                frac.mean(axis=2),
                {"long_name": "mean fraction of a trial's patients above the true MTD"},
            ),
            "frac_patients_above_mtd_se": (gs, _se_mean(frac, 2)),
            "p_overdose_60": (gs, od60, {"long_name": "P(>= 60% of patients above the MTD)"}),
            "p_overdose_60_se": (gs, _se_prop(od60, T)),
            "p_overdose_80": (gs, od80, {"long_name": "P(>= 80% of patients above the MTD)"}),
            "p_overdose_80_se": (gs, _se_prop(od80, T)),
            "p_stop_reason": ((*gs, "reason"), p_reason, {"long_name": "P(stop reason)"}),
            "true_tox": (("scenario", "dose_level"), true_tox),
            "target": (gs, tgt),
            "true_mtd": (gs, mtd, {"long_name": "true MTD level (0 = none, -1 = no target)"}),
        },
        coords={
            "design": sims["design"].values,
            "scenario": sims["scenario"].values,
            "dose_level": levels,
            "dose_mg": ("dose_level", sims["dose_mg"].to_numpy()),
            "reason": codes,
            "reason_text": (("design", "reason"), reason_text),
        },
        attrs={
            "n_trials": T,
            "true_mtd_rule": "level with true DLT probability closest to the target (ties: "
            "lower); none when every level exceeds target + 0.1",
            "se": "Monte Carlo standard errors: sqrt(p(1-p)/T) and sd/sqrt(T)",
        },
    )
    return oc


def _kappa(a: np.ndarray, b: np.ndarray, k: int) -> float:
    po = float(np.mean(a == b))
    pa = np.bincount(a, minlength=k) / a.size
    pb = np.bincount(b, minlength=k) / b.size
    pe = float(pa @ pb)
    if po == 1.0:
        return 1.0
    return (po - pe) / (1 - pe)


def concordance(sims: xr.Dataset) -> xr.Dataset:
    """Trial-by-trial agreement of the designs' selections (common random numbers).

    Returns
    -------
    xarray.Dataset
        Dims ``design_a``, ``design_b``, ``scenario`` (and ``selected_a``,
        ``selected_b`` = 0..D, 0 = none): ``p_identical`` (same level, or both none),
        ``p_within_one`` (levels at most one apart, "none" counting as level 0), each with
        ``*_se``; ``kappa`` (Cohen's kappa over the categories none, 1..D) and
        ``confusion`` (proportion of trials with A selecting ``selected_a`` and B
        ``selected_b``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"a": bd.ThreePlusThree(5), "b": bd.ThreePlusThree(5,
    ...     variant="escalation_only")}, [0.05, 0.15, 0.3, 0.45, 0.6], n_trials=300,
    ...     seed=2, progress=False)
    >>> c = bd.concordance(sims)
    >>> float(c.kappa.sel(design_a="a", design_b="a").item())
    1.0
    """
    sel = sims["selected"].to_numpy().astype(np.int64)
    G, S, T = sel.shape
    D = sims.sizes["dose"]
    K = D + 1
    same = np.zeros((G, G, S))
    within = np.zeros((G, G, S))
    kappa = np.zeros((G, G, S))
    conf = np.zeros((G, G, S, K, K))
    for i in range(G):
        for j in range(G):
            for s in range(S):
                a, b = sel[i, s], sel[j, s]
                same[i, j, s] = np.mean(a == b)
                within[i, j, s] = np.mean(np.abs(a - b) <= 1)
                kappa[i, j, s] = _kappa(a, b, K)
                conf[i, j, s] = np.bincount(a * K + b, minlength=K * K).reshape(K, K) / T
    names = sims["design"].values
    dims = ("design_a", "design_b", "scenario")
    return xr.Dataset(
        {
            "p_identical": (dims, same),
            "p_identical_se": (dims, _se_prop(same, T)),
            "p_within_one": (dims, within),
            "p_within_one_se": (dims, _se_prop(within, T)),
            "kappa": (dims, kappa),
            "confusion": ((*dims, "selected_a", "selected_b"), conf),
        },
        coords={
            "design_a": names,
            "design_b": names,
            "scenario": sims["scenario"].values,
            "selected_a": np.arange(K),
            "selected_b": np.arange(K),
        },
        attrs={"n_trials": T, "note": "selected level 0 = no dose selected"},
    )


def _planned_n(sims: xr.Dataset) -> np.ndarray:
    """Planned maximum sample size per design: the design's ``max_n`` (NaN without one)."""
    specs = json.loads(sims.attrs.get("manifest", "{}")).get("designs", {})
    out = []
    for g in sims["design"].values:
        m = specs.get(str(g), {}).get("max_n")
        out.append(np.nan if m is None else float(m))
    return np.asarray(out)


def overdose_risk_planned(
    sims: xr.Dataset,
    target: float | Mapping[str, float] | None = None,
    shares: tuple[float, ...] = (0.6, 0.8),
    planned_n: float | Mapping[str, float] | None = None,
) -> xr.Dataset:
    """Risk of overdosing as R BOIN's ``get.oc`` defines it, with Monte Carlo SEs.

    The proportion of trials treating *more than* ``share`` x the planned maximum sample
    size at doses whose true DLT probability exceeds the target (R BOIN: ``overdose60``,
    ``overdose80``).  Unlike ``p_overdose_60`` of :func:`operating_characteristics`
    (at least 60% of the trial's *own* patients above the true MTD), the denominator is
    the planned size and "overdosed" means a true rate above the target.

    Parameters
    ----------
    sims : xarray.Dataset
        Output of :func:`bayes_dose.simulate`.
    target : float or dict, optional
        As in :func:`operating_characteristics`.
    shares : tuple of float
        Fractions of the planned size (default 60% and 80%).
    planned_n : float or dict of design -> float, optional
        Planned maximum sample size; default each design's ``max_n`` (NaN without one).

    Returns
    -------
    xarray.Dataset
        Dims ``design``, ``scenario``: ``p_overdose_planned_<pct>`` and ``*_se`` per share
        (e.g. ``p_overdose_planned_60``) and ``planned_n`` (design).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"BOIN": bd.BOIN(target=0.3, n_doses=5, max_n=30)},
    ...                    [0.05, 0.15, 0.3, 0.45, 0.6], n_trials=200, seed=3, progress=False)
    >>> r = bd.overdose_risk_planned(sims)
    >>> float(r.planned_n.item()), 0 <= float(r.p_overdose_planned_60.item()) <= 1
    (30.0, True)
    """
    n = sims["n"].to_numpy().astype(np.int64)  # (G, S, T, D)
    G, _S, T, _D = n.shape
    tgt = _targets(sims, target)
    true_tox = sims["true_tox"].to_numpy()  # (S, D)
    designs = [str(g) for g in sims["design"].values]
    if planned_n is None:
        plan = _planned_n(sims)
    elif isinstance(planned_n, Mapping):
        plan = np.asarray([float(planned_n.get(g, np.nan)) for g in designs])
    else:
        plan = np.full(G, float(planned_n))
    above = true_tox[None, :, :] > tgt[..., None]  # (G, S, D); NaN target -> False
    n_above = (n * above[:, :, None, :]).sum(axis=-1)  # (G, S, T)
    data: dict[str, Any] = {"planned_n": (("design",), plan)}
    ok = ~np.isnan(tgt) & ~np.isnan(plan)[:, None]
    for share in shares:
        limit = share * np.nan_to_num(plan, nan=0.0)[:, None, None]
        p = np.where(ok, (n_above > limit).mean(axis=2), np.nan)
        key = f"p_overdose_planned_{round(100 * share)}"
        data[key] = (("design", "scenario"), p, {
            "long_name": f"P(> {share:.0%} of the planned sample size treated at doses "
                         "with true DLT rate > target)"})  # fmt: skip
        data[f"{key}_se"] = (("design", "scenario"), _se_prop(p, T))
    return xr.Dataset(
        data,
        coords={"design": sims["design"].values, "scenario": sims["scenario"].values},
        attrs={
            "definition": "R BOIN get.oc: trials with more than share x planned sample size "
            "treated at doses whose true DLT probability exceeds the target",
            "n_trials": T,
        },
    )
