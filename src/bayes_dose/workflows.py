"""Library workflows behind the command line: a spec's simulations, the memo with the data
behind it, decision trails, notes on the patients a fit could not count in full, and the
tumour-response tables.

The command line (:mod:`bayes_dose.cli`) only parses arguments and calls these (and
:class:`bayes_dose.Study`, which they use); they are usable from Python as they are.  The
module imports nothing heavy until a function runs.

Examples
--------
>>> import bayes_dose as bd
>>> from bayes_dose.workflows import decision_trail
>>> trail = decision_trail(bd.ThreePlusThree(4), bd.Outcomes.parse("1NNN 2NTN"))
>>> trail[0].split("|")[0].strip()
'after cohort  1 (level 1): level 2'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import checks

__all__ = [
    "BUNDLED_SPEC", "atomic_folder", "bundled_spec", "decision_trail", "patient_notes",
    "quiet_steps", "response_tables", "save_simulations", "simulate_spec", "write_memo",
]  # fmt: skip

#: The bundled design spec (BAT6021 example), relative to the package.
BUNDLED_SPEC = "data/bat6021_designs.toml"


def bundled_spec() -> Path:
    """Path of the bundled design spec (:data:`BUNDLED_SPEC`)."""
    from importlib import resources

    return Path(str(resources.files("bayes_dose").joinpath(BUNDLED_SPEC)))


@contextlib.contextmanager
def quiet_steps(what: str, bar: bool = False) -> Iterator[None]:
    """A progress step that reports nothing (the default of the workflows; the command
    line passes :class:`bayes_dose.cli_util.Steps`, which prints each step on stderr)."""
    yield


#: A progress reporter: ``with steps("what", bar=False): ...``.
StepsLike = Callable[..., contextlib.AbstractContextManager]


def decision_trail(design: Any, outcomes: Any) -> list[str]:
    """One line per cohort: the data so far and the design's decision."""
    lines = []
    for k, sub in enumerate(outcomes.cohort_prefixes(), start=1):
        f = design.fit(sub)
        last = sub.to_frame().iloc[-1]
        nxt = "stop" if f.stop else f"level {f.next_dose}"
        lines.append(f"  after cohort {k:2d} (level {int(last.dose_level)}): {nxt:9s} | {f.reason}")
    return lines


def patient_notes(cmp: Any, why: Mapping[str, str] | None = None) -> list[str]:
    """Sentences on the patients the fits could not count in full: holds, pending
    follow-up (with the days left), unknown DLT status, unknown grade-2 status a held
    accelerated titration rests on (``titration_grade2=True``: ``Fit.grade2_unknown``),
    data without follow-up, and the arms of the data no design analysed
    (:attr:`Comparison.not_analysed`; ``why``: the reason per arm,
    :meth:`Comparison.not_analysed_notes`)."""
    lines = list(cmp.not_analysed_notes(why))
    held: dict[str, list[str]] = {}
    for (arm, name), fit in cmp.fits.items():
        if fit.hold:
            held.setdefault(arm, []).append(name)
    for arm, names in held.items():
        lines.append(
            f"[{arm}] on hold (no next cohort until the patients below are evaluable): "
            f"{', '.join(names)}"
        )
    seen: set[str] = set()
    for (arm, _), fit in cmp.fits.items():
        if fit.pending and fit.dlt_window is not None:
            for r in fit.outcomes.pending(fit.dlt_window).itertuples():
                if r.patient_id in fit.pending and r.patient_id not in seen:
                    seen.add(r.patient_id)
                    if r.followup_days != r.followup_days:  # NaN: not recorded
                        lines.append(
                            f"[{arm}] pending: {r.patient_id} (level {r.dose_level}, "
                            "follow-up not recorded)"
                        )
                        continue
                    day = (
                        f", window completes on study day {r.window_complete_day:g}"
                        if r.window_complete_day == r.window_complete_day
                        else ""
                    )
                    lines.append(
                        f"[{arm}] pending: {r.patient_id} (level {r.dose_level}, "
                        f"{r.followup_days:g} of {fit.dlt_window:g} days{day}, "
                        f"{r.days_left:g} days left)"
                    )
        for p in fit.unknown:
            if p not in seen:
                seen.add(p)
                how = (
                    f"counted by missing={fit.missing_policy!r}" if fit.missing_policy else "hold"
                )
                lines.append(f"[{arm}] unknown DLT status: {p} ({how})")
    grade2: dict[tuple[str, str], list[str]] = {}  # (arm, patient) -> designs held on it
    levels: dict[tuple[str, str], int] = {}
    for (arm, name), fit in cmp.fits.items():
        if fit.hold and getattr(fit, "grade2_unknown", ()):  # Fit.grade2_unknown: held on
            f = fit.outcomes.to_frame().set_index("patient_id")
            for p in fit.grade2_unknown:
                grade2.setdefault((arm, p), []).append(name)
                levels[(arm, p)] = int(f.at[p, "dose_level"])
    for (arm, p), names in grade2.items():
        lines.append(f"[{arm}] unknown grade-2 status: {p} (level {levels[(arm, p)]}; "
                     f"accelerated titration of {', '.join(names)} reads it)")  # fmt: skip
    for arm, o in cmp.outcomes.items():
        if arm in cmp.designs and len(o) and not o.has_followup:
            lines.append(
                f"[{arm}] the data have no followup_days: every patient is taken as having "
                "completed the DLT window"
            )
    return lines


def spec_n_trials(spec: Any, n_trials: int | None) -> int:
    """Trials per design and scenario: ``n_trials``, else the spec's, else 200."""
    n = n_trials if n_trials is not None else spec.simulation.get("n_trials", 200)
    return checks.whole("simulate", "n_trials", n, low=1)


def simulate_spec(
    spec: Any,
    seed: int,
    n_trials: int | None = None,
    arms: list[str] | None = None,
    mono_data: Any = None,
    progress: bool = False,
    checkpoint: Path | None = None,
    store: Path | None = None,
) -> dict[str, Any]:
    """Simulate each arm's designs on the spec's scenarios: ``{arm: xarray.Dataset}``.

    Designs that read another arm (:attr:`Design.borrows_from`, e.g. the combination
    BLRM) are simulated with that arm as one programme when the spec has designs and
    scenarios for it (:meth:`bayes_dose.Study.simulate`): the programme's arms are added
    as ``"<arm> (programme)"`` (each its own Dataset, :func:`bayes_dose.arm_view`; cohort
    time, ``[simulation] programme_n_trials`` trials).  Otherwise they are simulated only
    when ``mono_data`` (the observed data of the arm they borrow from) is given: they
    borrow from it, held fixed; otherwise they are left out.
    ``checkpoint``: folder of verified chunk checkpoints (see :func:`bayes_dose.simulate`).
    A spec with ``[simulation.timeline]`` simulates in calendar time (the protocol's DLT
    window and staggering).  ``store``: a folder; each arm's trials are written chunk by
    chunk to the Zarr store ``<store>/<arm>.zarr`` (:func:`bayes_dose.simulate`'s
    ``store``) and returned lazily opened.
    """
    from .study import Study

    n = spec_n_trials(spec, n_trials)
    study = Study.from_spec(spec, None, seed=seed, analysis=False)
    held = None if mono_data is None else _as_source(study, mono_data)
    chosen = arms or list(spec.designs)
    if store is None:
        sims = study.simulate(n, seed, arms=chosen, progress=progress,
                              checkpoint_dir=checkpoint, held_fixed=held,
                              programme=mono_data is None)  # fmt: skip
        out = dict(sims)
        if sims.programme is not None:
            from .arm_dataset import arm_names, arm_view

            out.update({f"{a} (programme)": arm_view(sims.programme, a)
                        for a in arm_names(sims.programme)})  # fmt: skip
        return out
    Path(store).mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for arm in chosen:  # one store per arm (the arms' designs differ)
        out.update(study.simulate(n, seed, arms=[arm], progress=progress,
                                  checkpoint_dir=checkpoint, held_fixed=held,
                                  store=Path(store) / f"{arm}.zarr"))  # fmt: skip
    return out


def _as_source(study: Any, outcomes: Any) -> dict[str, Any]:
    """``{source arm: outcomes}`` for every arm a design of the study borrows from."""
    return {a: outcomes for a in study.source_arms}


def save_simulations(sims: Mapping[str, Any], path: Path) -> Path:
    """All arms' simulations in one NetCDF file, one group per arm."""
    from .sim_io import write_netcdf_groups

    return write_netcdf_groups(dict(sims), path)  # atomic; a full disk is one clear error


@contextlib.contextmanager
def atomic_folder(out: Path, label: str = "--out") -> Iterator[Path]:
    """A temporary folder beside ``out`` whose files move into ``out`` only on success.

    On an error the temporary folder is removed and ``out`` is left as it was (no empty
    or half-written output folder).  The parent must be writable: checked before any
    work starts.  ``label`` names ``out`` in the error messages.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{label} {str(out)!r} is a file; give a folder")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise ValueError(f"{label} {str(out)!r}: cannot write in {str(parent)!r} "
                         f"({exc.strerror or exc})") from None  # fmt: skip
    try:
        yield tmp
        if not out.exists():
            os.replace(tmp, out)
        else:
            for f in sorted(tmp.iterdir()):
                os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_memo(
    spec: Any,
    outcomes: Any,
    out: Path,
    seed: int,
    n_trials: int | None = None,
    inputs: dict[str, Any] | None = None,
    notes: tuple[str, ...] = (),
    overdose_cut: float | None = None,
    data_cutoff: str | None = None,
    steps: StepsLike | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Compare, simulate and write the memo with the data behind it into folder ``out``.

    The study of the spec and data (:meth:`bayes_dose.Study.from_spec`) writes it: see
    :meth:`bayes_dose.Study.report`.  The files are written into a temporary folder beside
    ``out`` and moved into ``out`` only when all are written: a failure leaves no empty
    or partial folder.  ``steps`` reports each step (default: silently); ``progress``
    shows the simulation's progress bar.
    """
    from .study import Study

    study = Study.from_spec(spec, outcomes, seed=seed)
    return study.report(
        out, n_trials=spec_n_trials(spec, n_trials), inputs=inputs, notes=notes,
        overdose_cut=overdose_cut, data_cutoff=data_cutoff, steps=steps, progress=progress,
    )  # fmt: skip


def response_tables(
    listing: Path | None = None, by: Sequence[str] = ("arm", "dose_mg"), confirm_days: int = 28,
    sd_min_days: int = 35, model: str = "exnex",
) -> tuple[dict[str, Any], Any, Any]:  # fmt: skip
    """BOR rule, ORR by ``by``, ORR by expansion cohort, hierarchical model, excluded and flagged rows."""
    from . import response

    visits = response.read_response_listing(listing)
    bor = response.best_overall_response(visits, confirm_days=confirm_days, sd_min_days=sd_min_days)
    tables: dict[str, Any] = {"rule": bor.rule, f"orr by {', '.join(by)}": response.orr(bor, by=by)}
    exp = bor.table[bor.table.cohort != "escalation"]
    fit = None
    if exp.cohort.nunique() >= 2:
        tables["orr by expansion cohort"] = response.orr(exp, by=["arm", "dose_mg", "cohort"])
        fit = response.hierarchical_orr(response.orr(exp, by=["cohort"]), model=model)
        tables[f"hierarchical ({model}, grid): raw vs posterior ORR"] = fit.table()
    tables["best overall response"] = bor.table.drop(columns=["reason"])
    tables["excluded records"] = bor.excluded
    tables["flagged records"] = bor.flags
    return tables, bor, fit
