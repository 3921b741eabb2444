"""Part I (monotherapy) and Part II (combination) simulated as one programme.

:class:`Programme` simulates two arms trial by trial: simulated programme ``t`` runs
trial ``t`` of the first arm (Part I) to its end, then opens the second arm (Part II,
:func:`opens_after`: the protocol submits the Part I data first).  A design of the second
arm that borrows from the first (:class:`bayes_dose.CombinationBLRM`) sees, in every
decision of programme ``t``, the **final** per-dose counts of Part I of the same
programme ``t`` (``DoseData.source_n``/``source_dlt``), never a fixed data set.

Random numbers.  Each arm has its own common random numbers (:mod:`bayes_dose.crn`):
the first arm uses ``seed``, the second :func:`arm_seed` ``(seed, 1)``, so the arms'
patients are independent while every design of one arm meets the same patients.  A
design of the second arm that does not borrow (3+3, BOIN, CRM, BLRM) therefore gives
exactly ``bd.simulate(..., seed=arm_seed(seed, 1))``.

Output.  :meth:`Programme.simulate` returns one ``xarray.Dataset`` with an ``arm``
dimension (layout: :mod:`bayes_dose.arm_dataset`; the arms' dose grids differ, so the
``dose`` dimension is padded to the larger arm, with ``dose_mg`` (arm, dose) and
``n_doses`` (arm)).  :func:`bayes_dose.arm_view` ``(ds, "mono")`` gives an arm's own
Dataset back exactly; :func:`bayes_dose.operating_characteristics` and
:func:`bayes_dose.concordance` of the programme Dataset are per arm (an ``arm``
dimension), plus the programme's OCs (``programme_*``: correct selection in both arms,
total N, total DLTs, each with its Monte Carlo SE).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import xarray as xr

from .designs.base import Design
from .manifest import build_manifest, data_sha256
from .simulate import (
    _RNG,
    _assemble,
    _check_designs,
    _chunks,
    _integer,
    _scenario_table,
    _Uniforms,
    run_chunk,
)
from .simulate import simulate as _simulate

__all__ = ["OpensAfter", "Programme", "arm_seed", "opens_after"]


@dataclass(frozen=True)
class OpensAfter:
    """Opening rule: the other arm opens once every trial of ``arm`` has ended."""

    arm: str


def opens_after(arm: str) -> OpensAfter:
    """The second arm opens after ``arm`` ends (its final data are what borrowing sees).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.opens_after("mono")
    OpensAfter(arm='mono')
    """
    if not isinstance(arm, str) or not arm:
        raise ValueError(f"opens_after: arm must be a non-empty arm name, got {arm!r}")
    return OpensAfter(arm)


def arm_seed(seed: int, position: int) -> int:
    """Seed of the arm at ``position`` (0 = the first arm: ``seed`` itself; later arms:
    ``SeedSequence((seed, position)).generate_state(1)[0]``, independent streams)."""
    if position == 0:
        return int(seed)
    return int(np.random.SeedSequence((int(seed), int(position))).generate_state(1)[0])


class Programme:
    """Two arms simulated together, trial by trial (module docstring).

    Parameters
    ----------
    arms : dict
        ``{first_arm: {name: Design}, second_arm: {name: Design}}``, e.g.
        ``{"mono": {...}, "combo": {...}}``; the first arm is the one named by ``opens``.
    opens : OpensAfter
        ``bd.opens_after(first_arm)``: the second arm opens after the first ends.
    source : dict, optional
        ``{second-arm design: first-arm design}``: whose per-trial final counts a
        borrowing design reads, and with which design it is paired in the programme
        totals.  Default: the first-arm design with the same name, else the first one.
        A borrowing design's stored ``mono_data`` is not used here: each trial reads its
        own simulated monotherapy counts.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> prog = bd.Programme(
    ...     arms={"mono": {"3+3": bd.ThreePlusThree(3)}, "combo": {"3+3": bd.ThreePlusThree(2)}},
    ...     opens=bd.opens_after("mono"))
    >>> ds = prog.simulate({"mono": [0.05, 0.1, 0.4], "combo": [0.1, 0.5]}, n_trials=20, seed=1)
    >>> ds["arm"].values.tolist(), int(ds["programme_total_n"].min()) >= 6
    (['mono', 'combo'], True)
    """

    def __init__(
        self,
        arms: Mapping[str, Mapping[str, Design]],
        opens: OpensAfter,
        source: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(opens, OpensAfter):
            raise ValueError(
                f"Programme: opens must be bd.opens_after(arm), got {type(opens).__name__}"
            )
        if not isinstance(arms, Mapping) or len(arms) != 2:
            raise ValueError(
                "Programme: arms must be a dict of two arms {first: {name: Design}, "
                "second: {name: Design}}, got "
                f"{list(arms) if isinstance(arms, Mapping) else arms!r}"
            )
        if opens.arm not in arms:
            raise ValueError(f"Programme: opens_after({opens.arm!r}) names no arm of {list(arms)}")
        first = opens.arm
        second = next(a for a in arms if a != first)
        for a in (first, second):
            ds = arms[a]
            if not isinstance(ds, Mapping) or not ds:
                raise ValueError(f"Programme: arms[{a!r}] must be a non-empty dict {{name: Design}}")
            for g, d in ds.items():
                if not isinstance(d, Design):
                    raise ValueError(f"Programme: arms[{a!r}][{g!r}] is not a Design: {type(d).__name__}")
        self.first, self.second, self.opens = first, second, opens
        self.arms = {first: dict(arms[first]), second: dict(arms[second])}
        src = dict(source or {})
        unknown = set(src) - set(arms[second])
        if unknown:
            raise ValueError(f"Programme: source names no {second!r} design: {sorted(unknown)}")
        mono = list(arms[first])
        self.source: dict[str, str] = {}
        for g, d in arms[second].items():
            s = src.get(g, g if g in arms[first] else mono[0])
            if s not in arms[first]:
                raise ValueError(f"Programme: source[{g!r}] = {s!r} is no {first!r} design ({mono})")
            self.source[g] = s
            for b in d.borrows_from:
                if b != first:
                    raise ValueError(
                        f"Programme: {second!r} design {g!r} borrows from arm {b!r}, but the "
                        f"programme's first arm is {first!r}"
                    )
                m = getattr(d, "mono", None)
                if m is not None and m.n_doses != arms[first][s].n_doses:
                    raise ValueError(
                        f"Programme: {g!r} borrows over {m.n_doses} monotherapy doses, "
                        f"{first!r} design {s!r} has {arms[first][s].n_doses}"
                    )
                mg = arms[first][s].doses_mg
                if m is not None and mg is not None and not np.allclose(m.doses, mg):
                    raise ValueError(
                        f"Programme: {g!r} borrows over monotherapy doses {list(m.doses)} mg, "
                        f"{first!r} design {s!r} has {list(mg)} mg"
                    )

    def _pairs_of(self, scenarios: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        if not isinstance(scenarios, Mapping) or not scenarios:
            raise ValueError("Programme.simulate: scenarios must be a non-empty dict")
        if set(scenarios) == {self.first, self.second}:
            return {"true_tox": dict(scenarios)}
        out = {}
        for name, pair in scenarios.items():
            if not isinstance(pair, Mapping) or set(pair) != {self.first, self.second}:
                raise ValueError(
                    f"Programme.simulate: scenario {name!r} must be a dict "
                    f"{{{self.first!r}: curve, {self.second!r}: curve}}, got "
                    f"{sorted(pair) if isinstance(pair, Mapping) else type(pair).__name__}"
                )
            out[str(name)] = dict(pair)
        return out

    def simulate(
        self,
        scenarios: Mapping[str, Any],
        n_trials: int = 1000,
        seed: int = 0,
        *,
        max_n: int | None = None,
        n_jobs: int = 1,
        chunk_size: int | None = None,
        progress: bool = False,
    ) -> xr.Dataset:
        """Simulate ``n_trials`` programmes per scenario pair.

        Parameters
        ----------
        scenarios : dict
            ``{first_arm: curve, second_arm: curve}`` (one pair, named ``"true_tox"``) or
            ``{pair_name: {first_arm: curve, second_arm: curve}}``.
        n_trials, seed, max_n, n_jobs, chunk_size, progress
            As in :func:`bayes_dose.simulate` (results are bit-identical for any
            ``n_jobs`` and ``chunk_size``); the second arm uses ``arm_seed(seed, 1)``.
            The progress bar covers the first arm only.

        Returns
        -------
        xarray.Dataset
            Dimension ``arm`` (layout: :mod:`bayes_dose.arm_dataset`), programme variables
            ``programme_total_n``, ``programme_total_dlt`` (design = second-arm design,
            coordinate ``source_design``).
        """
        pairs = self._pairs_of(scenarios)
        n_trials = _integer("n_trials", n_trials, 1)
        first = _simulate(
            self.arms[self.first], scenarios={s: p[self.first] for s, p in pairs.items()},
            n_trials=n_trials, seed=seed, max_n=max_n, n_jobs=n_jobs, chunk_size=chunk_size,
            progress=progress,
        )  # fmt: skip
        second = self._second(first, {s: p[self.second] for s, p in pairs.items()}, n_trials,
                              arm_seed(seed, 1), max_n, n_jobs, chunk_size)  # fmt: skip
        arms = {self.first: first, self.second: second}
        return _stack(arms, self.source)

    def _second(self, first: xr.Dataset, curves: Mapping[str, Any], n_trials: int, seed: int,
                max_n: int | None, n_jobs: int, chunk_size: int | None) -> xr.Dataset:  # fmt: skip
        designs = self.arms[self.second]
        table = _scenario_table(None, curves)
        plain = {g: d for g, d in designs.items() if not d.borrows_from}
        levels = {p.size for p, _ in table.values()}
        if plain:
            _check_designs(plain, levels, max_n)
        for g, d in designs.items():
            if g in plain:
                continue
            if levels != {d.n_doses}:
                raise ValueError(f"scenarios have {sorted(levels)} levels, design {g!r} {d.n_doses}")
            if max_n is None and d.max_n is None and d.stopping is None and not d.self_limiting:
                raise ValueError(f"{self.second!r} design {g!r} has no max_n and no stopping rule")
        n_jobs = _integer("n_jobs", n_jobs, 1)
        chunk = _integer("chunk_size", n_trials if chunk_size is None else chunk_size, 1)
        chunks = _chunks(n_trials, chunk)
        src = {
            (g, s): (first["n"].sel(design=self.source[g], scenario=s).values,
                     first["dlt"].sel(design=self.source[g], scenario=s).values)
            for g, d in designs.items() if d.borrows_from for s in table
        }  # fmt: skip

        def unit(ab: tuple[int, int]) -> dict[tuple[str, str], tuple[int, dict]]:
            a, b = ab
            cache = _Uniforms()
            out = {}
            for s, (p, _) in table.items():
                for g, d in designs.items():
                    so = src.get((g, s))
                    res = run_chunk(d, p, seed, a, b, max_n,
                                    lambda k: cache.get(seed, a, b, k),
                                    source=None if so is None else (so[0][a:b], so[1][a:b]))  # fmt: skip
                    out[(g, s)] = (a, res)
            return out

        if n_jobs > 1:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                parts = list(pool.map(unit, chunks))
        else:
            parts = [unit(c) for c in chunks]
        results: dict[tuple[str, str], list[tuple[int, dict]]] = {
            (g, s): [] for g in designs for s in table
        }
        for part in parts:
            for key, item in part.items():
                results[key].append(item)
        specs = {g: d.spec() for g, d in designs.items()}
        inputs = {
            "designs": specs,
            "scenarios": {s: {"true_tox": p.tolist(), "target": None if np.isnan(t) else t}
                          for s, (p, t) in table.items()},
            "seed": seed, "n_trials": n_trials, "max_n": max_n, "rng": _RNG,
            "programme": {"opens_after": self.first, "source": dict(self.source),
                          "first_arm_input_hash": json.loads(first.attrs["manifest"]).get("input_hash")},
        }  # fmt: skip
        manifest = build_manifest(
            numpy=np.__version__, xarray=xr.__version__, **inputs,
            date=datetime.now(UTC).isoformat(timespec="seconds"),
            input_hash=data_sha256(json.dumps(inputs, sort_keys=True).encode()),
        )  # fmt: skip
        D = levels.pop()
        return _assemble(designs, table, results, n_trials, D, manifest)


def correct_selection(ds: xr.Dataset, target: float | Mapping[str, float] | None) -> xr.DataArray:
    """Per trial: the selection is the true MTD (0 = none acceptable), as ``pcs``."""
    from .metrics import _targets
    from .scenarios import true_mtd

    tg = _targets(ds, target)
    mtd = np.full(tg.shape, -1, dtype=np.int64)
    for gi in range(tg.shape[0]):
        for si in range(tg.shape[1]):
            if np.isfinite(tg[gi, si]):
                mtd[gi, si] = true_mtd(ds["true_tox"].values[si], float(tg[gi, si]))
    if (mtd < 0).any():
        raise ValueError(
            "Programme: correct selection needs a target for every design x scenario (give "
            "target=, designs with a target, or library scenarios)"
        )
    return ds["selected"] == xr.DataArray(mtd, dims=("design", "scenario"),
                                          coords={"design": ds["design"], "scenario": ds["scenario"]})  # fmt: skip


def _stack(arms: Mapping[str, xr.Dataset], source: Mapping[str, str]) -> xr.Dataset:
    """The arms stacked along ``arm`` with the programme totals per second-arm design."""
    from .arm_dataset import stack_arms

    first, second = (arms[a] for a in arms)
    names = list(source)
    mono = [source[g] for g in names]
    f = first.sel(design=mono).assign_coords(design=names)
    sec = second.sel(design=names)
    tot = {
        "programme_total_n": f["n_patients"].astype(np.int64) + sec["n_patients"].astype(np.int64),
        "programme_total_dlt": (f["dlt"].sum("dose").astype(np.int64)
                                + sec["dlt"].sum("dose").astype(np.int64)),
    }  # fmt: skip
    tot = {k: v.drop_vars([c for c in v.coords if c not in ("design", "scenario", "trial")])
           for k, v in tot.items()}  # fmt: skip
    return stack_arms(arms, {"vars": tot, "source": dict(source)})
