"""A study: one protocol, the designs of each arm, the data and the scenarios, with what is
done to them: compare the designs on the data, simulate them, write the memo, and say
what produced each result (provenance).

The application layer of the package: the command line, the workflows
(:mod:`bayes_dose.workflows`) and notebooks drive the designs through a :class:`Study`,
which calls the library's own functions (:func:`bayes_dose.compare`,
:func:`bayes_dose.simulate`, :func:`bayes_dose.report`) and adds no rules of its own.

Arms are simulated one at a time (:meth:`Study.simulate`).  A design that borrows from
another arm (:attr:`Design.borrows_from <bayes_dose.Design.borrows_from>`) that has
designs and scenarios in the study is simulated with that arm as one programme
(:class:`bayes_dose.Programme`: Part II opens after Part I ends and borrows the simulated
Part I counts of the same trial; both arms' designs, in the study's time (calendar
time with its ``timeline``);
:attr:`StudySimulation.programme`); otherwise it is simulated with that arm's observed
data held fixed, and the result says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import checks
from .checks import check_seed
from .compare import ALL_ARMS
from .compare import borrowed_arms as _borrows
from .manifest import build_manifest, data_sha256, design_specs

__all__ = ["Study", "StudySimulation"]


class StudySimulation(Mapping):
    """Simulations of a study: ``{arm: xarray.Dataset}`` (as :func:`bayes_dose.simulate`
    returns for each arm), plus what was held fixed and what was not simulated, and why.

    Attributes
    ----------
    programme : xarray.Dataset or None
        The designs that borrow from an arm that has designs and scenarios in the study,
        simulated with that arm as one programme (:class:`bayes_dose.Programme`, Part II
        opening after Part I ends): both arms' designs, dimension ``arm``.
    programme_notes : tuple of str
        How the programme was simulated (pairing of scenarios, trials, calendar or
        cohort time).
    held_fixed : dict
        ``{"arm/design": {"source_arm", "patients", "sha256"}}``: designs that borrow
        from another arm, simulated with that arm's observed data held fixed (also in the
        attribute ``held_fixed`` of the arm's Dataset, as JSON).
    not_simulated : dict
        ``{"arm/design": reason}``.
    notes : tuple of str
        The same, in sentences (for the memo).
    """

    def __init__(self, sims: Mapping[str, Any], held_fixed: Mapping[str, dict],
                 not_simulated: Mapping[str, str], programme: Any = None,
                 programme_notes: Sequence[str] = ()) -> None:  # fmt: skip
        self._sims = dict(sims)
        self.held_fixed = dict(held_fixed)
        self.not_simulated = dict(not_simulated)
        #: the designs that borrow, simulated with their source arm as one programme
        #: (:meth:`bayes_dose.Programme.simulate`: one Dataset with an ``arm`` dimension)
        self.programme = programme
        self.programme_notes = tuple(programme_notes)

    def __getitem__(self, arm: str) -> Any:
        return self._sims[arm]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sims)

    def __len__(self) -> int:
        return len(self._sims)

    def __repr__(self) -> str:
        arms = ", ".join(f"{a!r}: {len(ds['design'])} designs" for a, ds in self._sims.items())
        return f"StudySimulation({{{arms}}}, held_fixed={list(self.held_fixed)})"

    @property
    def notes(self) -> tuple[str, ...]:
        """Sentences on the designs simulated with another arm's data held fixed."""
        by_source: dict[tuple[str, int], list[str]] = {}
        for key, h in self.held_fixed.items():
            arm, name = key.split("/", 1)
            by_source.setdefault((h["source_arm"], h["patients"]), []).append(f"{name} (arm {arm})")
        return self.programme_notes + tuple(
            f"Simulation of {', '.join(names)}: each simulated trial borrows from the observed "
            f"data of arm {src!r} ({n} patients), held fixed."
            for (src, n), names in by_source.items()
        )

    def to_netcdf(self, path: str | Path) -> Path:
        """All arms in one NetCDF file, one group per arm, and the programme in group
        ``programme`` (atomic write)."""
        from .sim_io import write_netcdf_groups

        groups = dict(self._sims)
        if self.programme is not None:
            groups["programme"] = self.programme
        return write_netcdf_groups(groups, Path(path))


class Study:
    """One protocol, its designs per arm, the data and the scenarios.

    Parameters
    ----------
    protocol : Protocol
        The trial's protocol (its arms, doses and rules); the memo shows it.
    designs : mapping
        ``{arm: {name: design}}``; every arm must be an arm of the protocol.
    data : Outcomes or mapping of arm -> Outcomes, optional
        The observed patients (an :class:`~bayes_dose.Outcomes` may hold every arm).
        Needed by :meth:`compare` and :meth:`report`; :meth:`simulate` uses it only for
        designs that borrow from another arm.
    scenarios : mapping, optional
        ``{arm: {scenario: true DLT probability per level}}`` for :meth:`simulate`.
    seed : int, optional
        Default seed of :meth:`simulate` and of the MCMC checks (default 0).
    target : float, optional
        Target DLT rate defining the true MTD of each scenario in the OC tables (default:
        each design's or scenario's).
    n_trials : int, optional
        Default number of simulated trials per design and scenario (default 200).
    mcmc : sequence of str
        Designs also fitted with MCMC by :meth:`compare` (diagnostics), as in
        :func:`bayes_dose.compare`; ``mcmc_kwargs`` are the sampler settings.
    timeline : Timeline, optional
        Simulate in calendar time (:class:`bayes_dose.Timeline`, with the protocol's DLT
        window and staggering); default: cohort time.
    programme_n_trials : int, optional
        Trials per scenario pair of the programme (:meth:`simulate`; default and at
        most: as many as the arms').  The combination BLRM decides in ~10 ms, so a smaller number keeps a
        memo quick; the memo states it.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> proto = bd.protocols.bat6021()
    >>> designs = {arm: {"3+3": bd.ThreePlusThree(proto.arm(arm).n_doses),
    ...                  "BOIN": bd.BOIN(target=0.25, n_doses=proto.arm(arm).n_doses, max_n=12)}
    ...            for arm in proto.arm_names}
    >>> study = bd.Study(proto, designs, data=bd.examples.bat6021_outcomes(),
    ...                  scenarios={"combo": {"rising": [0.05, 0.1, 0.25, 0.4, 0.55]}})
    >>> study.compare().table()[["arm", "design", "mtd"]]
         arm design  mtd
    0   mono    3+3    6
    1   mono   BOIN    6
    2  combo    3+3    2
    3  combo   BOIN    3
    >>> sims = study.simulate(n_trials=20, seed=1)
    >>> list(sims), sims["combo"].sizes["trial"]
    (['combo'], 20)
    >>> sims.not_simulated["mono/3+3"]
    'no scenarios are given for this arm'
    >>> sorted(study.manifest()["data_sha256"]), study.manifest()["seed"]
    (['combo', 'mono'], 0)
    """

    def __init__(
        self,
        protocol: Any,
        designs: Mapping[str, Mapping[str, Any]],
        data: Any = None,
        scenarios: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
        *,
        seed: int | None = None,
        target: float | None = None,
        n_trials: int | None = None,
        mcmc: Sequence[str] = (),
        mcmc_kwargs: Mapping[str, Any] | None = None,
        efficacy: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
        correlation: float = 0.0,
        timeline: Any = None,
        programme_n_trials: int | None = None,
    ) -> None:
        from .outcomes import Outcomes
        from .protocol import Protocol
        from .timeline import Timeline

        if not isinstance(protocol, Protocol):
            raise ValueError(f"Study: protocol must be a Protocol, got {type(protocol).__name__}")
        self.protocol = protocol
        if not isinstance(designs, Mapping) or not designs or not all(
            isinstance(v, Mapping) for v in designs.values()
        ):
            raise ValueError("Study: designs must be {arm: {name: design}}")
        unknown = sorted(set(designs) - set(protocol.arm_names))
        if unknown:
            raise ValueError(
                f"Study: designs given for arms {unknown} that the protocol "
                f"{protocol.name!r} does not have (arms: {list(protocol.arm_names)})"
            )
        self.designs = {a: dict(ds) for a, ds in designs.items()}
        for a, ds in self.designs.items():
            for name, d in ds.items():
                if not hasattr(d, "fit"):
                    raise ValueError(f"Study: design {name!r} (arm {a!r}) has no fit method")
        #: the data as given, when one Outcomes (written back as it is: outcomes.csv)
        self._given = data if isinstance(data, Outcomes) else None
        if data is None:
            self.data: dict[str, Any] = {}
        elif isinstance(data, Outcomes):
            self.data = {a: data.arm(a) for a in data.arms}
        elif isinstance(data, Mapping) and all(isinstance(v, Outcomes) for v in data.values()):
            self.data = dict(data)
        else:
            raise ValueError(
                "Study: data must be Outcomes or {arm: Outcomes}, got " + type(data).__name__
            )
        self.scenarios = self._check_scenarios(scenarios or {})
        self.seed = 0 if seed is None else check_seed(seed, "Study")
        self.target = None if target is None else checks.real(
            "Study", "target", target, low=0, high=1, low_open=True, high_open=True)
        self.n_trials = None if n_trials is None else checks.whole(
            "Study", "n_trials", n_trials, low=1)
        self.programme_n_trials = None if programme_n_trials is None else checks.whole(
            "Study", "programme_n_trials", programme_n_trials, low=1)
        self.mcmc = list(mcmc)
        self.mcmc_kwargs = dict(mcmc_kwargs or {})
        extra = sorted(set(efficacy or {}) - set(self.designs))
        if extra:
            raise ValueError(f"Study: efficacy given for arms {extra} without designs "
                             f"(arms: {list(self.designs)})")  # fmt: skip
        self.efficacy = {a: dict(e) for a, e in (efficacy or {}).items()}
        self.correlation = checks.real("Study", "correlation", correlation, low=-1, high=1)
        if timeline is not None and not isinstance(timeline, Timeline):
            raise ValueError(
                f"Study: timeline must be a bayes_dose.Timeline, got {type(timeline).__name__}"
            )
        self.timeline = timeline

    def _check_scenarios(self, scenarios: Mapping[str, Any]) -> dict[str, dict[str, list[float]]]:
        out: dict[str, dict[str, list[float]]] = {}
        for arm, sc in scenarios.items():
            if arm not in self.designs:
                raise ValueError(
                    f"Study: scenarios given for arm {arm!r}, which has no designs "
                    f"(arms: {list(self.designs)})"
                )
            if not isinstance(sc, Mapping):
                raise ValueError(f"Study: scenarios[{arm!r}] must be {{name: curve}}")
            n = self.protocol.arm(arm).n_doses
            for name, p in sc.items():
                if len(p) != n:
                    raise ValueError(
                        f"Study: scenario {name!r} of arm {arm!r}: {len(p)} values for "
                        f"{n} dose levels"
                    )
            out[arm] = {k: list(v) for k, v in sc.items()}
        return out

    @classmethod
    def from_spec(cls, spec: Any, data: Any = None, *, seed: int | None = None,
                  analysis: bool = True) -> Study:  # fmt: skip
        """The study of a TOML design spec (:func:`bayes_dose.io.load_spec`) and data.

        ``seed`` overrides the spec's (default: the spec's, else 0); the spec's
        ``[simulation]`` settings are kept (``[simulation.timeline]``: calendar time), and
        its ``[analysis]`` MCMC checks unless ``analysis=False`` (simulation does not read
        them).
        """
        seed = seed if seed is not None else (spec.seed if spec.seed is not None else 0)
        mcmc, mcmc_kwargs = spec.mcmc(seed) if analysis else ([], {})
        scenarios = {a: s for a in spec.designs if (s := spec.scenarios(a))}
        return cls(
            spec.protocol, spec.designs, data, scenarios, seed=seed,
            target=spec.simulation.get("target"), n_trials=spec.simulation.get("n_trials"),
            mcmc=mcmc, mcmc_kwargs=mcmc_kwargs,
            efficacy={a: e for a in spec.designs if (e := spec.efficacy(a))},
            correlation=spec.simulation.get("correlation", 0.0),
            timeline=spec.simulation.get("timeline"),
            programme_n_trials=spec.simulation.get("programme_n_trials"),
        )  # fmt: skip

    # -- arms ---------------------------------------------------------------------------
    @property
    def arms(self) -> tuple[str, ...]:
        """The arms with designs, in the order given."""
        return tuple(self.designs)

    @property
    def source_arms(self) -> tuple[str, ...]:
        """Arms some design borrows from (:attr:`Design.borrows_from`; an object saying
        only ``reads_all_arms`` reads every arm of the data)."""
        found = [s for ds in self.designs.values() for d in ds.values() for s in _borrows(d)]
        every = [a for a in self.data if ALL_ARMS in found]
        return tuple(dict.fromkeys(s for s in [*found, *every] if s != ALL_ARMS))

    def outcomes(self, arm: str) -> Any:
        """The observed patients of ``arm`` (empty when the data hold none)."""
        if arm in self.data:
            return self.data[arm]
        if self._given is not None:
            return self._given.arm(arm)
        if not self.data:
            raise ValueError("Study: no data given (Study(..., data=outcomes))")
        return next(iter(self.data.values())).arm(arm)

    # -- compare ------------------------------------------------------------------------
    def compare(self, **kwargs: Any) -> Any:
        """Every design on its arm's data: :func:`bayes_dose.compare`.

        A design that borrows from other arms (:attr:`Design.borrows_from`) is given every
        arm's data; arms with designs but no patients get empty data.  The patients of an
        arm that has no designs and that no design borrows from are in no decision: the
        result names that arm and their number (:attr:`Comparison.not_analysed
        <bayes_dose.Comparison.not_analysed>`).  ``kwargs`` go to
        :func:`bayes_dose.compare` (``reference``, ``rp2d_rule``, ``engine``, ``missing``,
        ...; ``mcmc`` and ``mcmc_kwargs`` default to the study's).
        """
        import dataclasses

        from .compare import compare

        arms = [*self.designs, *(a for a in self.source_arms if a in self.data)]
        data = {a: self.outcomes(a) for a in dict.fromkeys(arms)}
        kwargs.setdefault("mcmc", self.mcmc)
        kwargs.setdefault("mcmc_kwargs", self.mcmc_kwargs)
        cmp = compare(self.designs, data, **kwargs)
        left = {a: len(o) for a, o in self.data.items() if a not in data and len(o)}
        if not left:
            return cmp
        return dataclasses.replace(cmp, not_analysed={**cmp.not_analysed, **left})

    # -- simulate -----------------------------------------------------------------------
    def simulate(
        self,
        n_trials: int | None = None,
        seed: int | None = None,
        *,
        arms: Sequence[str] | None = None,
        progress: bool = False,
        checkpoint_dir: str | Path | None = None,
        held_fixed: Mapping[str, Any] | None = None,
        timeline: Any = None,
        programme: bool = True,
        **kwargs: Any,
    ) -> StudySimulation:
        """Simulate each arm's designs on its scenarios with :func:`bayes_dose.simulate`.

        Arms are simulated one at a time with the same ``seed`` (common random numbers
        across the designs of an arm).  A design borrowing from another arm is given that
        arm's observed data (``held_fixed``, default: the study's data), held fixed in
        every simulated trial; without such data it is not simulated, and the result says
        why (:attr:`StudySimulation.not_simulated`).

        Parameters
        ----------
        n_trials : int, optional
            Trials per design and scenario (default: the study's, else 200).
        seed : int, optional
            Default: the study's.
        arms : sequence of str, optional
            Only these arms (default: every arm with scenarios).
        progress, checkpoint_dir, **kwargs
            Passed to :func:`bayes_dose.simulate`.
        held_fixed : mapping of arm -> Outcomes, optional
            The data borrowing designs borrow from (default: the study's data).
        timeline : Timeline, optional
            Simulate in calendar time (default: the study's ``timeline``; none: cohort
            time); the DLT window and staggering are the study's protocol's.
        programme : bool
            Simulate the designs that borrow from an arm with designs and scenarios in the
            study together with that arm, as one :class:`bayes_dose.Programme` (default
            True; :attr:`StudySimulation.programme`), instead of holding the arm's observed
            data fixed.  In the same time as the arms (``timeline``);
            ``programme_n_trials`` trials per scenario pair.

        Returns
        -------
        StudySimulation
            ``{arm: xarray.Dataset}`` with ``held_fixed`` and ``not_simulated``.
        """
        from .simulate import simulate

        n = n_trials if n_trials is not None else (self.n_trials or 200)
        seed = self.seed if seed is None else seed
        fixed = self.data if held_fixed is None else dict(held_fixed)
        timeline = self.timeline if timeline is None else timeline
        if timeline is not None:  # calendar time: the protocol's window and staggering
            kwargs = {"timeline": timeline, "protocol": self.protocol, **kwargs}
        chosen = list(self.designs) if arms is None else list(arms)
        unknown = sorted(set(chosen) - set(self.designs))
        if unknown:
            raise ValueError(f"Study.simulate: arms {unknown} have no designs "
                             f"(arms: {list(self.designs)})")  # fmt: skip
        sims: dict[str, Any] = {}
        held: dict[str, dict] = {}
        skipped: dict[str, str] = {}
        joint = self._programme_designs(chosen) if programme else {}
        prog, prog_notes = None, []
        if joint:
            prog, prog_notes, prog_skipped = self._simulate_programme(
                joint, min(self.programme_n_trials or n, n), seed, timeline)  # fmt: skip
            skipped.update(prog_skipped)
        if programme:
            prog_notes = [*prog_notes, *self._unpaired_notes(chosen)]
        for arm in chosen:
            designs, arm_held, arm_skipped = self._simulable(arm, fixed)
            for name in joint.get(arm, {}).get("designs", ()):  # simulated in the programme
                designs.pop(name, None)
                arm_held.pop(f"{arm}/{name}", None)
                arm_skipped.pop(f"{arm}/{name}", None)
            scen = self.scenarios.get(arm)
            if not scen:
                for name in self.designs[arm]:
                    skipped[f"{arm}/{name}"] = "no scenarios are given for this arm"
                continue
            skipped.update(arm_skipped)
            if not designs:
                continue
            extra = dict(kwargs)
            if self.efficacy.get(arm) and "efficacy" not in extra:  # responses with the DLTs
                extra.update(efficacy=self.efficacy[arm], correlation=self.correlation)
            ds = simulate(designs, scenarios=scen, n_trials=n, seed=seed, progress=progress,
                          checkpoint_dir=checkpoint_dir, **extra)  # fmt: skip
            if arm_held:
                ds.attrs["held_fixed"] = json.dumps(
                    {k.split("/", 1)[1]: v for k, v in arm_held.items()}, sort_keys=True
                )
                held.update(arm_held)
            sims[arm] = ds
        return StudySimulation(sims, held, skipped, prog, prog_notes)

    def _unpaired_notes(self, chosen: Sequence[str]) -> list[str]:
        """Why no programme is simulated for a design that borrows from one arm with
        designs and scenarios whose scenarios do not pair with its own arm's."""
        notes = []
        for arm in chosen:
            for name, d in self.designs[arm].items():
                src = self._programme_source(arm, d)
                if src is None:
                    continue
                first, second = list(self.scenarios[src]), list(self.scenarios[arm])
                if scenario_pairs(first, second) is not None:
                    continue
                ignored = (f"; programme_n_trials={self.programme_n_trials} is not used"
                           if self.programme_n_trials is not None else "")  # fmt: skip
                notes.append(
                    f"{name} (arm {arm}): no programme simulated with arm {src!r}: the "
                    f"scenarios of arms {src!r} ({', '.join(first)}) and {arm!r} "
                    f"({', '.join(second)}) do not pair (the same names, or as many in "
                    f"order){ignored}"
                )
        return notes

    def _programme_designs(self, chosen: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{arm: {"source": arm, "designs": [names], "pairs": {pair: (s1, s2)}, "how"}}``:
        the designs of ``chosen`` arms that borrow from one other arm with designs and
        scenarios in the study, whose scenarios pair up (same names, else same count, in
        order)."""
        out: dict[str, dict[str, Any]] = {}
        for arm in chosen:
            for name, d in self.designs[arm].items():
                src = self._programme_source(arm, d)
                if src is None:
                    continue
                paired = scenario_pairs(self.scenarios[src], self.scenarios[arm])
                if paired is None:
                    continue
                pairs, how = paired
                e = out.setdefault(arm, {"source": src, "designs": [], "pairs": pairs,
                                         "how": how})  # fmt: skip
                if e["source"] == src:
                    e["designs"].append(name)
        return out

    def _programme_source(self, arm: str, d: Any) -> str | None:
        """The arm a design of ``arm`` would be simulated with as a programme: the one
        other arm it borrows from, when that arm has designs and both arms scenarios."""
        from .designs.base import Design

        src = _borrows(d)
        if (not isinstance(d, Design) or len(src) != 1 or src[0] == arm
                or src[0] not in self.designs or not self.scenarios.get(src[0])
                or not self.scenarios.get(arm)):  # fmt: skip
            return None
        return src[0]

    def _simulate_programme(self, joint: Mapping[str, dict[str, Any]], n: int, seed: int,
                            timeline: Any = None) -> tuple[Any, list[str], dict[str, str]]:  # fmt: skip
        """The borrowing designs and their source arm simulated as one
        :class:`bayes_dose.Programme` (Part II after Part I; in calendar time with the
        study's timeline and protocol, else cohort time)."""
        from .designs.base import Design
        from .programme import Programme, opens_after

        arm, e = next(iter(joint.items()))
        skipped = {f"{a}/{g}": (f"a second borrowing arm ({a!r}); the programme simulates "
                                f"one pair of arms, {e['source']!r} -> {arm!r}")
                   for a, f in list(joint.items())[1:] for g in f["designs"]}  # fmt: skip
        src = e["source"]

        def plain(a: str) -> dict[str, Any]:
            return {g: d for g, d in self.designs[a].items()
                    if isinstance(d, Design) and not _borrows(d)}  # fmt: skip

        first = plain(src)
        second = {**{g: d for g, d in plain(arm).items() if getattr(d, "backfill", None) is None},
                  **{g: self.designs[arm][g] for g in e["designs"]}}  # no backfill in Part II
        source = {}
        for g in e["designs"]:
            m = getattr(self.designs[arm][g], "mono", None)
            same = [k for k, d in first.items() if m is not None and d.spec() == m.spec()]
            if same:
                source[g] = same[0]
        scen = {p: {src: self.scenarios[src][a], arm: self.scenarios[arm][b]}
                for p, (a, b) in e["pairs"].items()}  # fmt: skip
        try:
            prog = Programme({src: first, arm: second}, opens=opens_after(src), source=source)
            ds = prog.simulate(scen, n_trials=n, seed=seed, timeline=timeline,
                               protocol=self.protocol if timeline is not None else None)  # fmt: skip
        except ValueError as exc:
            skipped.update({f"{arm}/{g}": f"not simulated as a programme: {exc}"
                            for g in e["designs"]})  # fmt: skip
            return None, [], skipped
        notes = [
            f"Programme: {', '.join(e['designs'])} (arm {arm}) simulated with arm {src} as one "
            f"programme ({n} trials per scenario pair, seed {seed}): Part II opens after "
            f"Part I ends, and every Part II decision borrows the final Part I counts of the "
            f"same simulated trial (Part I design paired: "
            f"{', '.join(f'{g} <- {prog.source[g]}' for g in e['designs'])}); scenarios "
            f"paired {e['how']}; "
            + ("in calendar time, as the arms (Part II opens when Part I's last DLT window "
               "is complete)." if timeline is not None else "in cohort time.")
        ]
        return ds, notes, skipped

    def _simulable(self, arm: str, fixed: Mapping[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, dict], dict[str, str]]:  # fmt: skip
        """The designs of ``arm`` that can be simulated on counts (borrowing designs given
        their source arm's data, held fixed), what was held fixed, and what was left out."""
        designs: dict[str, Any] = {}
        held: dict[str, dict] = {}
        skipped: dict[str, str] = {}
        for name, d in self.designs[arm].items():
            sources = _borrows(d)
            key = f"{arm}/{name}"
            if not sources:
                designs[name] = d
                continue
            if len(sources) != 1 or ALL_ARMS in sources or "mono_data" not in _params(d):
                what = "every arm" if ALL_ARMS in sources else f"arms {list(sources)}"
                skipped[key] = f"it reads the data of {what} and cannot be given them held fixed"
                continue
            src = sources[0]
            data = fixed.get(src)
            if data is None or len(data) == 0:
                if not getattr(d, "requires_other_arms", True):  # holds its own data
                    designs[name] = d
                    continue
                skipped[key] = (
                    f"it decides from arm {src!r}'s data too and these data have no {src!r} "
                    "patients to borrow from"
                )
                continue
            d = d.replace(mono_data=data)
            if getattr(d, "requires_other_arms", True):
                skipped[key] = f"it still needs arm {src!r}'s data after they were given"
                continue
            designs[name] = d
            held[key] = {"source_arm": src, "patients": len(data), "sha256": data_sha256(data)}
        return designs, held, skipped

    # -- report -------------------------------------------------------------------------
    def report(
        self,
        out: str | Path,
        *,
        n_trials: int | None = None,
        seed: int | None = None,
        simulate: bool = True,
        inputs: Mapping[str, Any] | None = None,
        notes: Sequence[str] = (),
        title: str | None = None,
        overdose_cut: float | None = None,
        data_cutoff: str | None = None,
        steps: Any = None,
        progress: bool = False,
    ) -> dict[str, Path]:
        """Compare, simulate and write the memo with the data behind it into folder ``out``.

        Files: ``report.html``, ``report.md``, ``manifest.json`` (:func:`bayes_dose.report`),
        ``outcomes.csv``, ``comparison.csv``, ``agreement.csv``, ``shadow.csv`` and
        ``simulation.nc`` (when simulated).  They are written into a temporary folder
        beside ``out`` and moved into ``out`` only when all are written.  Designs not
        simulated are named in the memo with the reason; designs simulated with another
        arm's data held fixed are noted.

        Parameters
        ----------
        out : path
            Folder of the memo.
        n_trials, seed
            Of the simulation (default: the study's).
        simulate : bool
            Simulate the scenarios (default True).
        inputs : mapping of name -> path, bytes or Outcomes, optional
            Extra inputs to hash in the manifest (e.g. the spec file).
        notes : sequence of str
            Remarks shown under the title.
        title, overdose_cut, data_cutoff
            As in :func:`bayes_dose.report` (title default: "<protocol>: what each design
            recommends").
        steps : callable, optional
            Progress reporter ``steps(what, bar=False)`` (a context manager per step;
            default: silent).
        progress : bool
            Show the simulation's progress bar.

        Returns
        -------
        dict of str -> Path
        """
        from .workflows import atomic_folder, quiet_steps

        steps = steps if steps is not None else quiet_steps
        out = Path(out)
        with atomic_folder(out) as tmp:
            files = self._write_report(tmp, n_trials, seed, simulate, inputs, tuple(notes),
                                       title, overdose_cut, data_cutoff, steps, progress)  # fmt: skip
        return {k: out / f.relative_to(tmp) for k, f in files.items()}

    def _write_report(self, out: Path, n_trials: int | None, seed: int | None, simulate: bool,
                      inputs: Mapping[str, Any] | None, notes: tuple[str, ...],
                      title: str | None, overdose_cut: float | None, data_cutoff: str | None,
                      steps: Any, progress: bool) -> dict[str, Path]:  # fmt: skip
        from .report import report

        seed = self.seed if seed is None else seed
        what = "fitting every design to the data" + (
            f" (PyMC for {', '.join(self.mcmc)})" if self.mcmc else "")  # fmt: skip
        with steps(what):
            cmp = self.compare()
        sims = None
        not_simulated: dict[str, str] = {}
        if simulate:
            with steps("simulating the designs on the spec's scenarios", bar=True):
                sims = self.simulate(n_trials, seed, progress=progress)
            notes = (*notes, *sims.notes)
            not_simulated = dict(sims.not_simulated)
        with steps("rendering the memo"):
            rep = report(
                cmp, protocol=self.protocol, simulation=dict(sims) if sims else None, seed=seed,
                inputs=inputs, notes=notes,
                title=title or f"{self.protocol.name}: what each design recommends",
                target=self.target, not_simulated=not_simulated, overdose_cut=overdose_cut,
                data_cutoff=data_cutoff, programme=sims.programme if sims else None,
            )  # fmt: skip
            files = rep.write(out)
        with steps("writing the data behind the memo (outcomes, comparison, shadow CSVs)"):
            files["outcomes"] = out / "outcomes.csv"
            self.all_outcomes().to_csv_frame().to_csv(files["outcomes"], index=False)
            files["comparison"] = out / "comparison.csv"
            cmp.table().to_csv(files["comparison"], index=False)
            files["agreement"] = out / "agreement.csv"
            cmp.agreement().to_csv(files["agreement"], index=False)
            files["shadow"] = out / "shadow.csv"
            cmp.shadow().to_csv(files["shadow"], index=False)
        if sims:
            with steps("saving the simulations"):
                files["simulation"] = sims.to_netcdf(out / "simulation.nc")
        files["manifest"].write_text(json.dumps(rep.manifest, indent=2, default=str) + "\n")
        return files

    # -- provenance ---------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        """What the study's results depend on (:func:`bayes_dose.manifest.build_manifest`):
        versions, protocol, design specs, SHA-256 of each arm's data, scenarios, seed and
        settings."""
        return build_manifest(
            python=True, dependencies=True, seed=self.seed, protocol=self.protocol.to_dict(),
            designs=design_specs(self.designs),
            data_sha256={a: data_sha256(o) for a, o in self.data.items()},
            scenarios=self.scenarios,
            settings={"n_trials": self.n_trials, "target": self.target, "mcmc": self.mcmc,
                      "mcmc_kwargs": self.mcmc_kwargs,
                      **({"timeline": self.timeline.spec()} if self.timeline else {})},
        )  # fmt: skip

    def all_outcomes(self) -> Any:
        """The data as one :class:`~bayes_dose.Outcomes` holding every arm."""
        if self._given is not None:
            return self._given
        if not self.data:
            raise ValueError("Study: no data given (Study(..., data=outcomes))")
        import pandas as pd

        from .outcomes import Outcomes

        frames = [o.to_frame() for o in self.data.values()]
        return Outcomes.from_frame(pd.concat(frames, ignore_index=True))

    def __repr__(self) -> str:
        arms = ", ".join(f"{a!r}: {list(ds)}" for a, ds in self.designs.items())
        return f"Study({self.protocol.name!r}, designs={{{arms}}})"


def scenario_pairs(first: Sequence[str], second: Sequence[str]
                   ) -> tuple[dict[str, tuple[str, str]], str] | None:  # fmt: skip
    """How a programme pairs the scenarios of its two arms: ``({pair: (s1, s2)}, how)`` by
    name when both arms have the same names, else in the order given when they have as
    many; None when neither (no programme is simulated).

    Examples
    --------
    >>> scenario_pairs(["a", "b"], ["b", "a"])
    ({'b': ('b', 'b'), 'a': ('a', 'a')}, 'by name')
    >>> scenario_pairs(["a"], ["x"])[0]
    {'a / x': ('a', 'x')}
    >>> scenario_pairs(["a", "b"], ["x"]) is None
    True
    """
    s1, s2 = list(first), list(second)
    if set(s1) == set(s2):
        return {s: (s, s) for s in s2}, "by name"
    if len(s1) == len(s2):
        return ({f"{a} / {b}": (a, b) for a, b in zip(s1, s2, strict=True)},
                "in the order given (their names differ)")  # fmt: skip
    return None



def _params(design: Any) -> dict[str, Any]:
    get = getattr(design, "get_params", None)
    return get() if callable(get) else {}
