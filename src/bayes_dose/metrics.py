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

**Chunk-wise reduction.** Every operating characteristic is the mean over trials of a
per-trial quantity (:data:`TRIAL_QUANTITIES`): an indicator, an integer count, or a ratio
of two integers (numerator, denominator).  :class:`OCReducer` accumulates, per design x
scenario, exact integer sums of these quantities and of their squares (ratios: per
denominator), so adding trials chunk by chunk, in any order and any chunking, gives
*exactly* the numbers of one pass over all trials; :func:`operating_characteristics` is
that reducer fed with the whole Dataset.  Means and SEs are computed from the exact sums
with exact rational arithmetic and one rounding.  Concordance is reduced from the
confusion counts the same way.  A new per-trial quantity is added with
:func:`register_trial_quantity`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import xarray as xr

from .scenarios import tied_mtd_levels

__all__ = [
    "TRIAL_QUANTITIES",
    "OCReducer",
    "TrialBlock",
    "TrialQuantity",
    "concordance",
    "operating_characteristics",
    "overdose_risk_planned",
    "register_trial_quantity",
    "target_table",
]  # fmt: skip


def target_table(
    designs: list[str],
    scenarios: list[str],
    specs: Mapping[str, Mapping[str, Any]],
    scenario_targets: list[float],
    target: float | Mapping[str, float] | None,
) -> np.ndarray:
    """Target per (design, scenario): ``target`` (a dict: by scenario, then design name),
    else the design's own (``target``, or the midpoint of ``target_interval``), else the
    scenario's (NaN for none)."""
    out = np.full((len(designs), len(scenarios)), np.nan)
    for gi, g in enumerate(designs):
        spec = specs.get(g, {})
        own = spec.get("target")
        if own is None and spec.get("target_interval") is not None:
            own = float(np.mean(spec["target_interval"]))
        for si, s in enumerate(scenarios):
            if isinstance(target, Mapping):
                t = target.get(s, target.get(g))
            else:
                t = target
            if t is None:
                t = own
            if t is None and scenario_targets is not None:
                t = float(scenario_targets[si])
            out[gi, si] = np.nan if t is None else float(t)
    return out


def _targets(sims: xr.Dataset, target: float | Mapping[str, float] | None) -> np.ndarray:
    """Target per (design, scenario) of a simulation Dataset."""
    designs = [str(g) for g in sims["design"].values]
    scen = [str(s) for s in sims["scenario"].values]
    specs = json.loads(sims.attrs.get("manifest", "{}")).get("designs", {})
    scen_t = [float(v) for v in sims["target"].values] if "target" in sims else None
    return target_table(designs, scen, specs, scen_t, target)


# ----------------------------------------------------------------------------- per trial
@dataclass(frozen=True)
class TrialBlock:
    """A block of trials of every design x scenario, handed to per-trial quantities.

    Arrays have shape ``(G, S, T)`` or ``(G, S, T, D)`` (int64 except ``is_mad``);
    ``mtd`` is the 1-based true MTD per (design, scenario) (0 = none, -1 = no target).
    """

    selected: np.ndarray
    is_mad: np.ndarray
    n: np.ndarray
    dlt: np.ndarray
    stop_reason: np.ndarray
    mtd: np.ndarray
    n_reasons: int
    resp: np.ndarray | None = None  # responders (G, S, T, D) of runs with efficacy
    obd: np.ndarray | None = None  # true OBD per (design, scenario), 1-based, 0 = none
    backfill_n: np.ndarray | None = None  # backfill patients (G, S, T, D) of backfill runs
    n_backfill: np.ndarray | None = None  # backfill patients per trial (G, S, T)

    @property
    def levels(self) -> np.ndarray:
        return np.arange(1, self.n.shape[-1] + 1)

    @property
    def n_above(self) -> np.ndarray:
        """Patients of each trial treated above the true MTD (every level if none)."""
        above = self.levels[None, None, :] > np.maximum(self.mtd, 0)[..., None]  # (G, S, D)
        return (self.n * above[:, :, None, :]).sum(axis=-1)

    @property
    def frac_above(self) -> np.ndarray:
        tot = self.n.sum(axis=-1)
        return np.where(tot > 0, self.n_above / np.maximum(tot, 1), 0.0)


@dataclass(frozen=True)
class TrialQuantity:
    """A per-trial quantity whose mean over trials is an operating characteristic.

    ``kind``: ``"indicator"`` (0/1; SE ``sqrt(p (1 - p) / T)``), ``"count"`` (integer;
    SE ``sd / sqrt(T)``) or ``"ratio"`` (``func`` returns integer numerator and
    denominator arrays; a zero denominator counts as 0; SE ``sd / sqrt(T)``).  ``dim``
    names a trailing axis (``"dose_level"``, ``"reason"``) or is None.  ``needs_mtd``:
    NaN where the true MTD is undefined (no target).
    """

    name: str
    kind: str
    func: Callable[[TrialBlock], Any]
    dim: str | None = None
    needs_mtd: bool = False
    long_name: str = ""
    needs_efficacy: bool = False  # reduced only for runs with efficacy (block.resp)
    needs_backfill: bool = False  # reduced only for runs with backfill (block.backfill_n)


#: Per-trial quantities reduced by :class:`OCReducer` (name -> quantity), in output order.
TRIAL_QUANTITIES: dict[str, TrialQuantity] = {}


def register_trial_quantity(q: TrialQuantity) -> TrialQuantity:
    """Add a per-trial quantity to every operating-characteristics reduction.

    Its mean appears in :func:`operating_characteristics` as ``q.name`` with ``q.name +
    "_se"``, computed exactly alike in memory and chunk by chunk.
    """
    if q.kind not in ("indicator", "count", "ratio"):
        raise ValueError(f"kind must be 'indicator', 'count' or 'ratio', got {q.kind!r}")
    if q.dim not in (None, "dose_level", "reason"):
        raise ValueError(f"dim must be None, 'dose_level' or 'reason', got {q.dim!r}")
    TRIAL_QUANTITIES[q.name] = q
    return q


def _frac_ge(b: TrialBlock, level: float) -> np.ndarray:
    return b.frac_above >= level


for _q in (
    TrialQuantity("p_select", "indicator", lambda b: b.selected[..., None] == b.levels,
                  "dose_level", long_name="P(level selected)"),
    TrialQuantity("p_none", "indicator", lambda b: b.selected == 0,
                  long_name="P(no dose selected)"),
    TrialQuantity("p_mad", "indicator", lambda b: b.is_mad, long_name="P(selection is a MAD)"),
    TrialQuantity("pcs", "indicator", lambda b: b.selected == b.mtd[..., None], needs_mtd=True,
                  long_name="P(correct selection of the true MTD)"),
    TrialQuantity("mean_n", "count", lambda b: b.n, "dose_level",
                  long_name="mean patients per dose"),
    TrialQuantity("mean_dlt", "count", lambda b: b.dlt, "dose_level",
                  long_name="mean DLTs per dose"),
    TrialQuantity("mean_total_n", "count", lambda b: b.n.sum(axis=-1),
                  long_name="mean trial size"),
    TrialQuantity("mean_total_dlt", "count", lambda b: b.dlt.sum(axis=-1)),
    TrialQuantity("frac_patients_above_mtd", "ratio", lambda b: (b.n_above, b.n.sum(axis=-1)),
                  needs_mtd=True,
                  long_name="mean fraction of a trial's patients above the true MTD"),
    TrialQuantity("p_overdose_60", "indicator", lambda b: _frac_ge(b, 0.6), needs_mtd=True,
                  long_name="P(>= 60% of patients above the MTD)"),
    TrialQuantity("p_overdose_80", "indicator", lambda b: _frac_ge(b, 0.8), needs_mtd=True,
                  long_name="P(>= 80% of patients above the MTD)"),
    TrialQuantity("p_stop_reason", "indicator",
                  lambda b: b.stop_reason[..., None] == np.arange(b.n_reasons), "reason",
                  long_name="P(stop reason)"),
    TrialQuantity("p_select_obd", "indicator", lambda b: b.selected == b.obd[..., None],
                  needs_mtd=True, needs_efficacy=True,
                  long_name="P(selection is the true OBD; none when no dose is acceptable)"),
    TrialQuantity("mean_resp", "count", lambda b: b.resp, "dose_level", needs_efficacy=True,
                  long_name="mean responders per dose"),
    TrialQuantity("mean_total_resp", "count", lambda b: b.resp.sum(axis=-1),
                  needs_efficacy=True, long_name="mean responders per trial"),
    TrialQuantity("mean_backfill_n", "count", lambda b: b.backfill_n, "dose_level",
                  needs_backfill=True, long_name="mean backfill patients per dose"),
    TrialQuantity("mean_n_backfill", "count", lambda b: b.n_backfill,
                  needs_backfill=True, long_name="mean backfill patients per trial"),
):  # fmt: skip
    register_trial_quantity(_q)


def _pad_last(a: np.ndarray, size: int) -> np.ndarray:
    if a.shape[-1] >= size:
        return a
    return np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, size - a.shape[-1])])


def _exact_mean_se(s: Any, q: Any, T: int, kind: str) -> tuple[float, float]:
    """Mean and Monte Carlo SE from exact sums (int or Fraction), one rounding each."""
    mean = Fraction(s) / T
    if kind == "indicator":
        p = float(mean)
        return p, float(np.sqrt(p * (1 - p) / T))
    if T < 2:
        return float(mean), float("nan")
    var = (Fraction(q) - Fraction(s) * mean) / (T - 1)  # exact sample variance
    return float(mean), float(np.sqrt(float(var / T)))


# ----------------------------------------------------------------------------- reducer
class OCReducer:
    """Exact chunk-wise reduction of operating characteristics and concordance.

    Parameters
    ----------
    designs, scenarios : sequence of str
        Names, in output order.
    true_tox : ndarray (S, D)
        True DLT curves.
    target : ndarray (G, S)
        Target per design x scenario (NaN: none; see :func:`_targets`).
    reasons : dict of str to list of str
        Reason templates per design.
    dose_mg : ndarray (D,)
    quantities : sequence of str, optional
        Names in :data:`TRIAL_QUANTITIES` (default: all; those needing efficacy only with
        ``true_resp``).
    true_resp : ndarray (S, D), optional
        True response probabilities (runs with efficacy): adds ``p_select_obd`` (true OBD
        of :func:`bayes_dose.obd.true_obd` with the design's target, its utility table if
        it has one, else the default) and ``mean_resp``.
    correlation : float
        The copula correlation of the run (for the true OBD's expected utilities).
    specs : dict, optional
        Design specs (their ``utility``).
    backfill : bool
        A run with backfill designs (:mod:`bayes_dose.backfill`): adds ``mean_backfill_n``
        and ``mean_n_backfill``; every block then carries ``backfill_n`` (G, S, t, D) and
        ``n_backfill`` (G, S, t), zeros for designs without backfill.

    Notes
    -----
    ``add(block)`` takes a dict with ``selected``, ``is_mad``, ``stop_reason`` (G, S, t)
    and ``n``, ``dlt`` (G, S, t, D) of any trial range; every range must be added once.
    Accumulators are integers, so :meth:`merge` of reducers (e.g. one per Dask worker)
    and any order of chunks give the same result.
    """

    def __init__(
        self,
        designs: Any,
        scenarios: Any,
        true_tox: np.ndarray,
        target: np.ndarray,
        reasons: Mapping[str, list[str]],
        dose_mg: np.ndarray,
        quantities: Any = None,
        true_resp: np.ndarray | None = None,
        correlation: float = 0.0,
        specs: Mapping[str, Any] | None = None,
        backfill: bool = False,
    ) -> None:
        self.designs = [str(g) for g in designs]
        self.scenarios = [str(s) for s in scenarios]
        self.true_tox = np.asarray(true_tox, dtype=float)
        self.target = np.asarray(target, dtype=float)
        self.reasons = {g: list(reasons.get(g, [])) for g in self.designs}
        self.dose_mg = np.asarray(dose_mg, dtype=float)
        self.true_resp = None if true_resp is None else np.asarray(true_resp, dtype=float)
        self.correlation = float(correlation)
        eff = self.true_resp is not None
        self.backfill = bool(backfill)
        self.quantities = (
            [k for k, q in TRIAL_QUANTITIES.items()
             if (eff or not q.needs_efficacy) and (self.backfill or not q.needs_backfill)]
            if quantities is None else list(quantities)
        )  # fmt: skip
        G, S = len(self.designs), len(self.scenarios)
        self.D = self.true_tox.shape[1]
        self.mtd = np.full((G, S), -1, dtype=np.int64)
        self.obd = np.full((G, S), -1, dtype=np.int64)
        self.notes: list[str] = []  # ambiguous truths (tied true MTD levels)
        for gi in range(G):
            for si in range(S):
                if not np.isnan(self.target[gi, si]):
                    tied = tied_mtd_levels(self.true_tox[si], self.target[gi, si])
                    self.mtd[gi, si] = tied[0] if tied else 0  # true_mtd: ties -> the lower
                    if len(tied) > 1:
                        note = (f"scenario {self.scenarios[si]!r}: levels {tied} are equally close "
                                f"to the target {self.target[gi, si]:g}; only level {tied[0]} "
                                "counts as the correct selection (ties: the lower level)")
                        if note not in self.notes:
                            self.notes.append(note)
                            warnings.warn(note, UserWarning, stacklevel=2)
                    if eff:
                        from .obd import DEFAULT_UTILITY, true_obd

                        util = (specs or {}).get(self.designs[gi], {}).get("utility")
                        self.obd[gi, si] = true_obd(
                            self.true_tox[si], self.true_resp[si], self.target[gi, si],
                            DEFAULT_UTILITY if util is None else util, self.correlation,
                        )  # fmt: skip
        self.n_reasons = max([len(r) for r in self.reasons.values()] + [1])
        self.T = 0
        self.sums: dict[str, np.ndarray] = {}  # int64 (G, S[, K]) or (G, S[, K], den)
        self.sqs: dict[str, np.ndarray] = {}
        self.confusion = np.zeros((G, G, S, self.D + 1, self.D + 1), dtype=np.int64)

    @classmethod
    def for_sims(cls, sims: xr.Dataset, target: float | Mapping[str, float] | None = None,
                 quantities: Any = None) -> OCReducer:  # fmt: skip
        """A reducer with the layout, targets and reasons of a simulation Dataset."""
        eff = "true_resp" in sims and "resp" in sims
        _check_truth_against_manifest(sims)
        return cls(
            sims["design"].values, sims["scenario"].values, sims["true_tox"].to_numpy(),
            _targets(sims, target), json.loads(sims.attrs.get("reasons", "{}")),
            sims["dose_mg"].to_numpy(), quantities,
            true_resp=sims["true_resp"].to_numpy() if eff else None,
            correlation=float(sims.attrs.get("correlation", 0.0)),
            specs=json.loads(sims.attrs.get("manifest", "{}")).get("designs", {}),
            backfill="backfill_n" in sims,
        )  # fmt: skip

    # -- accumulate
    def add(self, block: Mapping[str, np.ndarray]) -> None:
        """Add trials (arrays with design, scenario, trial[, dose] axes)."""
        sel = np.asarray(block["selected"]).astype(np.int64)
        G, S, T = sel.shape
        if (G, S) != self.mtd.shape:
            raise ValueError(f"block has {G} designs x {S} scenarios, expected {self.mtd.shape}")
        reason = np.asarray(block["stop_reason"]).astype(np.int64)
        self.n_reasons = max(self.n_reasons, int(reason.max(initial=-1)) + 1)
        resp = block.get("resp") if hasattr(block, "get") else None
        bfn = block.get("backfill_n") if hasattr(block, "get") else None
        nbf = block.get("n_backfill") if hasattr(block, "get") else None
        if self.backfill and (bfn is None or nbf is None):
            raise ValueError("a reducer of a backfill run needs block['backfill_n'] and "
                             "block['n_backfill']")
        b = TrialBlock(
            sel, np.asarray(block["is_mad"], dtype=bool), np.asarray(block["n"]).astype(np.int64),
            np.asarray(block["dlt"]).astype(np.int64), reason, self.mtd, self.n_reasons,
            None if resp is None else np.asarray(resp).astype(np.int64), self.obd,
            None if bfn is None else np.asarray(bfn).astype(np.int64),
            None if nbf is None else np.asarray(nbf).astype(np.int64),
        )  # fmt: skip
        for name in self.quantities:
            q = TRIAL_QUANTITIES[name]
            if q.kind == "ratio":
                num, den = (np.asarray(a).astype(np.int64) for a in q.func(b))
                self._add_ratio(name, num, den)
            else:
                v = np.asarray(q.func(b)).astype(np.int64)
                self._add(name, v.sum(axis=2), (v * v).sum(axis=2))
        K = self.D + 1
        for i in range(G):
            for j in range(G):
                for s in range(S):
                    cnt = np.bincount(sel[i, s] * K + sel[j, s], minlength=K * K)
                    self.confusion[i, j, s] += cnt.reshape(K, K)
        self.T += T

    def _add(self, name: str, s: np.ndarray, q: np.ndarray) -> None:
        if name not in self.sums:
            self.sums[name], self.sqs[name] = s, q
            return
        size = max(self.sums[name].shape[-1], s.shape[-1]) if s.ndim == 3 else None
        if size is not None:  # the reason axis can grow
            self.sums[name] = _pad_last(self.sums[name], size)
            self.sqs[name] = _pad_last(self.sqs[name], size)
            s, q = _pad_last(s, size), _pad_last(q, size)
        self.sums[name] = self.sums[name] + s
        self.sqs[name] = self.sqs[name] + q

    def _add_ratio(self, name: str, num: np.ndarray, den: np.ndarray) -> None:
        """Sums of numerator and squared numerator per denominator value."""
        G, S, T = num.shape
        W = int(den.max(initial=0)) + 1
        cell = (np.arange(G * S)[:, None] * W + den.reshape(G * S, T)).ravel()
        nv = num.reshape(G * S, T).ravel()
        s = np.zeros(G * S * W, dtype=np.int64)
        q = np.zeros(G * S * W, dtype=np.int64)
        np.add.at(s, cell, nv)  # integer sums: exact
        np.add.at(q, cell, nv * nv)
        s, q = s.reshape(G, S, W), q.reshape(G, S, W)
        if name in self.sums:
            size = max(self.sums[name].shape[-1], W)
            s, q = _pad_last(s, size), _pad_last(q, size)
            s = s + _pad_last(self.sums[name], size)
            q = q + _pad_last(self.sqs[name], size)
        self.sums[name], self.sqs[name] = s, q

    def merge(self, other: OCReducer) -> OCReducer:
        """Add another reducer's trials (same layout) to this one."""
        if other.T == 0:
            return self
        self.n_reasons = max(self.n_reasons, other.n_reasons)
        for name in other.sums:
            if TRIAL_QUANTITIES[name].kind == "ratio":
                size = max(self.sums[name].shape[-1] if name in self.sums else 0,
                           other.sums[name].shape[-1])  # fmt: skip
                base_s = _pad_last(self.sums.get(name, np.zeros_like(other.sums[name])), size)
                base_q = _pad_last(self.sqs.get(name, np.zeros_like(other.sqs[name])), size)
                self.sums[name] = base_s + _pad_last(other.sums[name], size)
                self.sqs[name] = base_q + _pad_last(other.sqs[name], size)
            else:
                self._add(name, other.sums[name], other.sqs[name])
        self.confusion += other.confusion
        self.T += other.T
        return self

    # -- results
    def _mean_se(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        q = TRIAL_QUANTITIES[name]
        s, sq, T = self.sums[name], self.sqs[name], self.T
        if q.kind == "ratio":
            den = [Fraction(1, d) if d else Fraction(0) for d in range(s.shape[-1])]
            den2 = [f * f for f in den]
            shape = s.shape[:-1]
            mean, se = np.empty(shape), np.empty(shape)
            for idx in np.ndindex(*shape):
                srow, qrow = s[idx].tolist(), sq[idx].tolist()
                tot = sum((a * w for a, w in zip(srow, den, strict=True) if a), Fraction(0))
                tot2 = sum((a * w for a, w in zip(qrow, den2, strict=True) if a), Fraction(0))
                mean[idx], se[idx] = _exact_mean_se(tot, tot2, T, q.kind)
        else:
            shape = s.shape
            mean, se = np.empty(shape), np.empty(shape)
            for idx in np.ndindex(*shape):
                mean[idx], se[idx] = _exact_mean_se(int(s[idx]), int(sq[idx]), T, q.kind)
        if q.needs_mtd:
            unknown = (self.mtd < 0).reshape(self.mtd.shape + (1,) * (mean.ndim - 2))
            mean = np.where(unknown, np.nan, mean)
            se = np.where(unknown, np.nan, se)
        return mean, se

    def operating_characteristics(self) -> xr.Dataset:
        """The :func:`operating_characteristics` Dataset of the trials added so far."""
        if self.T == 0:
            raise ValueError("no trials were added to the reducer")
        gs = ("design", "scenario")
        R = self.n_reasons
        codes = np.arange(R)
        data: dict[str, Any] = {}
        for name in self.quantities:
            q = TRIAL_QUANTITIES[name]
            mean, se = self._mean_se(name)
            if q.dim == "reason":
                mean, se = _pad_last(mean, R), _pad_last(se, R)
            dims = gs if q.dim is None else (*gs, q.dim)
            data[name] = (dims, mean, {"long_name": q.long_name} if q.long_name else {})
            data[f"{name}_se"] = (dims, se)
        data["true_tox"] = (("scenario", "dose_level"), self.true_tox)
        data["target"] = (gs, self.target)
        data["true_mtd"] = (gs, self.mtd, {"long_name": "true MTD level (0 = none, -1 = no target)"})
        if self.true_resp is not None:
            data["true_resp"] = (("scenario", "dose_level"), self.true_resp)
            data["true_obd"] = (gs, self.obd, {"long_name": "true OBD level (0 = none, -1 = no "
                                               "target); bayes_dose.obd.true_obd"})  # fmt: skip
        reason_text = np.array(
            [[(self.reasons[g] + [""] * R)[r] for r in codes] for g in self.designs], dtype=object
        )
        return xr.Dataset(
            data,
            coords={
                "design": np.array(self.designs, dtype=object),
                "scenario": np.array(self.scenarios, dtype=object),
                "dose_level": np.arange(1, self.D + 1),
                "dose_mg": ("dose_level", self.dose_mg),
                "reason": codes,
                "reason_text": (("design", "reason"), reason_text),
            },
            attrs={
                "n_trials": self.T,
                "true_mtd_rule": "level with true DLT probability closest to the target (ties: "
                "lower); none when every level exceeds target + 0.1",
                "se": "Monte Carlo standard errors: sqrt(p(1-p)/T) and sd/sqrt(T)",
                **({"note": "; ".join(self.notes)} if self.notes else {}),
            },
        )

    def concordance(self) -> xr.Dataset:
        """The :func:`concordance` Dataset of the trials added so far."""
        if self.T == 0:
            raise ValueError("no trials were added to the reducer")
        T, K = self.T, self.D + 1
        cnt = self.confusion
        a_lvl, b_lvl = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
        same = np.trace(cnt, axis1=-2, axis2=-1) / T
        within = (cnt * (np.abs(a_lvl - b_lvl) <= 1)).sum(axis=(-2, -1)) / T
        pa = cnt.sum(axis=-1) / T  # bincount of A's selections / T
        pb = cnt.sum(axis=-2) / T
        G, _, S = same.shape
        kappa = np.zeros((G, G, S))
        for idx in np.ndindex(G, G, S):
            po = float(same[idx])
            pe = float(pa[idx] @ pb[idx])
            kappa[idx] = 1.0 if po == 1.0 else (po - pe) / (1 - pe)
        names = np.array(self.designs, dtype=object)
        dims = ("design_a", "design_b", "scenario")
        return xr.Dataset(
            {
                "p_identical": (dims, same),
                "p_identical_se": (dims, _se_prop(same, T)),
                "p_within_one": (dims, within),
                "p_within_one_se": (dims, _se_prop(within, T)),
                "kappa": (dims, kappa),
                "confusion": ((*dims, "selected_a", "selected_b"), cnt / T),
            },
            coords={
                "design_a": names,
                "design_b": names,
                "scenario": np.array(self.scenarios, dtype=object),
                "selected_a": np.arange(K),
                "selected_b": np.arange(K),
            },
            attrs={"n_trials": T, "note": "selected level 0 = no dose selected"},
        )


def _se_prop(p: np.ndarray, T: int) -> np.ndarray:
    return np.sqrt(p * (1 - p) / T)


def _check_truth_against_manifest(sims: xr.Dataset) -> None:
    """The true curves a Dataset carries must be those its manifest records: operating
    characteristics of an edited (or mislabelled) truth would look right and be wrong."""
    try:
        recorded = json.loads(sims.attrs.get("manifest", "{}")).get("scenarios", {})
    except (TypeError, ValueError):
        return
    if not isinstance(recorded, Mapping) or "true_tox" not in sims:
        return
    names = [str(x) for x in sims["scenario"].values]
    tox = sims["true_tox"].to_numpy()
    for i, name in enumerate(names):
        entry = recorded.get(name)
        curve = entry.get("true_tox") if isinstance(entry, Mapping) else None
        if curve is None:
            continue
        want = np.asarray(curve, dtype=float)
        if want.shape != tox[i].shape or not np.allclose(want, tox[i], rtol=0, atol=1e-12):
            raise ValueError(
                f"operating characteristics: scenario {name!r} has true_tox "
                f"{np.round(tox[i], 6).tolist()} in the Dataset but {want.tolist()} in its "
                "manifest (the curve it was simulated under); the Dataset was edited or "
                "mislabelled"
            )


#: Trials per block when reducing a whole Dataset (bounds the int64 temporaries; a lazily
#: opened store is read block by block).
BLOCK = 65_536


def _reduce(sims: xr.Dataset, red: OCReducer) -> OCReducer:
    T = sims.sizes["trial"]
    for a in range(0, max(T, 1), BLOCK):
        part = sims.isel(trial=slice(a, a + BLOCK))
        keys = ("selected", "is_mad", "n", "dlt", "stop_reason") + (
            ("resp",) if red.true_resp is not None else ()) + (
            ("backfill_n", "n_backfill") if red.backfill else ())
        red.add({k: part[k].to_numpy() for k in keys})
    return red


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

    A programme's Dataset (dimension ``arm``, :meth:`bayes_dose.Programme.simulate`) gets
    each arm's OCs stacked along ``arm`` (NaN where an arm has no such design or level)
    and the programme's (:func:`bayes_dose.arm_dataset.programme_characteristics`).

    A calendar-time simulation (``simulate(..., timeline=...)``) also gets
    :func:`bayes_dose.calendar_oc.time_characteristics`: ``mean_duration_months``,
    ``duration_months_q`` (coordinate ``quantile``), suspension, turned away (with SEs).
    A run with backfill designs also gets ``mean_backfill_n`` (per dose) and
    ``mean_n_backfill`` (per trial), with SEs (zeros for designs without backfill).
    """
    if "arm" in sims.dims:  # a programme (bd.Programme.simulate): per arm + programme OCs
        from .arm_dataset import programme_oc

        return programme_oc(sims, target)
    oc = _reduce(sims, OCReducer.for_sims(sims, target)).operating_characteristics()
    if "n_flagged_decisions" in sims:  # decisions on unverified grid results (nothing silent)
        f = sims["n_flagged_decisions"].astype(float)
        T = sims.sizes["trial"]
        p = (f > 0).mean("trial")
        oc["p_flagged"] = p.assign_attrs(long_name="trials with >= 1 decision on a flagged "
                                                   "grid result")  # fmt: skip
        oc["p_flagged_se"] = np.sqrt(p * (1 - p) / T)
        oc["mean_flagged_decisions"] = f.mean("trial")
        oc["mean_flagged_decisions_se"] = (f.std("trial", ddof=1) / np.sqrt(T) if T > 1
                                           else f.mean("trial") * np.nan)  # fmt: skip
    if "duration_days" in sims:
        from .calendar_oc import time_characteristics

        oc = oc.merge(time_characteristics(sims))
    return oc


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

    A programme's Dataset (dimension ``arm``, :meth:`bayes_dose.Programme.simulate`) gets
    each arm's concordance stacked along ``arm``.
    """
    if "arm" in sims.dims:  # a programme (bd.Programme.simulate): per arm
        from .arm_dataset import per_arm

        return per_arm(sims, concordance)
    return _reduce(sims, OCReducer.for_sims(sims, quantities=())).concordance()


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
