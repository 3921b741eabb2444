"""Command line: ``bayes-dose <command>``.

Each command is a function ``_cmd_<name>(args)`` registered in :data:`COMMANDS` with
the function that adds its arguments.  Heavy modules (pandas, scipy, PyMC, xarray) are
imported inside the commands, so ``bayes-dose --help`` starts in well under a second.
Bad input never gives a traceback: :func:`main` prints one ``bayes-dose <cmd>: error:``
line and returns a non-zero code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .cli_pk import PK_COMMANDS
from .cli_util import (
    Steps,
    check_data_file,
    json_manifest,
    nonnegative_int,
    out_format,
    positive_int,
    write_tables,
)
from .workflows import bundled_spec as _bundled_spec

# The library workflows the commands call (importable from here as before).
from .workflows import (
    decision_trail,
    patient_notes,
    response_tables,
    save_simulations,
    simulate_spec,
    write_memo,
)

__all__ = ["main"]


def bat6021() -> Any:
    """The bundled BAT6021 protocol (imported on use: keeps start-up fast)."""
    from .protocols import bat6021 as protocol

    return protocol()


# -- demo ------------------------------------------------------------------------------
def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", type=Path, default=Path("bayes_dose_demo"),
        help="folder for the report and the data behind it (default: ./bayes_dose_demo)",
    )  # fmt: skip
    p.add_argument("--seed", type=nonnegative_int, default=None, help="seed (default: the spec's)")
    p.add_argument("--n-trials", type=positive_int, default=None,
                   help="simulated trials per scenario")  # fmt: skip


def _cmd_demo(args: argparse.Namespace) -> int:
    steps = Steps("demo")
    with steps("loading the BAT6021 protocol and the example data"):
        from .designs.three_plus_three import ThreePlusThree
        from .examples import SYNTHETIC_NOTE, bat6021_outcomes

        proto = bat6021()
        data = bat6021_outcomes()
    print(proto.summary())
    print(f"\nData: {SYNTHETIC_NOTE}; {data}")
    for arm_name in proto.arm_names:
        arm = proto.arm(arm_name)
        out = data.arm(arm_name)
        titration = proto.titration_levels if arm_name == "mono" else 0
        design = ThreePlusThree(
            arm.n_doses, titration_levels=titration, variant=proto.escalation_variant,
            doses_mg=arm.doses_mg,
        )  # fmt: skip
        fit = design.fit(out)
        print(f"\n== arm {arm_name!r}: {arm.label}")
        for a in arm.assumptions:
            print(f"   assumption: {a}")
        print(fit.summary().to_string(float_format=lambda x: f"{x:.3f}"))
        print("Decision trail (3+3" + (" with accelerated titration" if titration else "") + "):")
        print("\n".join(decision_trail(design, out)))
        sel = (
            f"{fit.mtd_label} = level {fit.mtd} ({arm.doses_mg[fit.mtd - 1]:g} mg)"
            if fit.mtd
            else "no MTD (all doses too toxic)"
        )
        print(f"Result: {sel}")
    from .io import load_spec

    spec_path = _bundled_spec()
    with steps(f"loading the designs of {spec_path.name}"):
        spec = load_spec(spec_path)
    seed = args.seed if args.seed is not None else (spec.seed or 0)
    print(f"\n== All designs of {spec_path.name} on both arms (seed {seed})")
    files = write_memo(
        spec, data, args.out, seed, args.n_trials, inputs={"spec": spec_path},
        notes=(f"Data: {SYNTHETIC_NOTE}.",), steps=steps,
    )  # fmt: skip
    import pandas as pd

    cmp = pd.read_csv(files["agreement"])
    for line in cmp["summary"]:
        print(f"  {line}")
    print(f"\nWrote the report to {files['html']}")
    for k, f in files.items():
        if k != "html":
            print(f"  {k}: {f}")
    return 0


# -- shared helpers of the analysis commands ----------------------------------------------
def _add_spec_args(p: argparse.ArgumentParser, data: bool = True) -> None:
    p.add_argument(
        "--spec", type=Path, default=None,
        help="TOML design/protocol spec (default: the bundled BAT6021 spec)",
    )  # fmt: skip
    if data:
        p.add_argument(
            "--data", type=Path, default=None,
            help="CSV cohort data, one row per patient (default: the bundled synthetic example)",
        )  # fmt: skip
    p.add_argument("--seed", type=nonnegative_int, default=None,
                   help="seed (default: the spec's, else 0)")  # fmt: skip
    p.add_argument(
        "--borrowing", choices=BORROWING_CHOICES, default=None,
        help="borrowing model of every design that borrows from another arm (the combination "
             "BLRM), replacing the spec's: full or no pooling, exchangeable (default tau "
             "prior) or exnex (prior EX weight 0.5); default: the spec's",
    )  # fmt: skip
    p.add_argument("--format", choices=("table", "json"), default=None,
                   help="output format (default: from --out's extension, else table)")  # fmt: skip


BORROWING_CHOICES = ("full", "none", "exchangeable", "exnex")


def _with_borrowing(spec: Any, choice: str) -> None:
    """Give every design of ``spec`` with a ``borrowing`` parameter the model ``choice``
    (``--borrowing``); a ValueError when no design has one (nothing silent)."""
    from .inference.borrowing import EXNEX, Exchangeable

    model = {"full": "full", "none": "none", "exchangeable": Exchangeable(),
             "exnex": EXNEX(p_exch=0.5)}[choice]  # fmt: skip
    found = 0
    for designs in spec.designs.values():
        for name, d in list(designs.items()):
            params = d.get_params() if hasattr(d, "get_params") else {}
            if "borrowing" in params:
                designs[name] = d.replace(borrowing=model, **({"borrow": None}
                                                               if "borrow" in params else {}))
                found += 1
    if not found:
        raise ValueError(f"--borrowing {choice}: no design of the spec borrows from another arm "
                         "(only the combination BLRM has a borrowing model)")  # fmt: skip


def _load(args: argparse.Namespace, data: bool = True) -> tuple[Any, Any, Path]:
    from .examples import bat6021_outcomes
    from .io import load_spec, read_outcomes

    spec_path = args.spec if args.spec is not None else _bundled_spec()
    spec = load_spec(spec_path)
    if getattr(args, "borrowing", None) is not None:
        _with_borrowing(spec, args.borrowing)
    out = None
    if data:
        if args.data is None:
            out = bat6021_outcomes()
        else:
            check_data_file(args.data)
            try:
                out = read_outcomes(args.data, protocol=spec.protocol)
            except ValueError as exc:  # name the file when the reader did not
                name = args.data.name
                raise ValueError(str(exc) if name in str(exc) else f"--data {name!r}: {exc}") from exc
    return spec, out, spec_path


def _seed(args: argparse.Namespace, spec: Any) -> int:
    if args.seed is not None:
        return int(args.seed)
    return int(spec.seed) if spec.seed is not None else 0


def _emit(
    tables: dict[str, Any], fmt: str | None, out: Path | None, manifest: dict | None = None
) -> None:
    """Print (or write to ``out``) named DataFrames as text tables, CSV or one JSON object.

    The format follows ``--format``, else ``out``'s extension (``.json``, ``.csv``,
    ``.txt``/``.md``/none); a clash or an unknown extension is an error.  JSON carries
    the ``manifest`` (versions, seed, input hashes, designs).
    """
    for path in write_tables(tables, out_format(fmt, out, "--out"), out, manifest):
        print(f"Wrote {path}")


def _arms(spec: Any, arm: str | None) -> list[str]:
    if arm is None:
        return list(spec.designs)
    if arm not in spec.designs:
        raise ValueError(f"--arm {arm!r}: the spec has designs for arms {list(spec.designs)}")
    return [arm]


# -- recommend -------------------------------------------------------------------------
def _args_recommend(p: argparse.ArgumentParser) -> None:
    _add_spec_args(p)
    p.add_argument("--arm", default=None, help="only this arm")
    p.add_argument(
        "--missing", choices=("assume_dlt", "assume_not"), default=None,
        help="count patients with unknown DLT status as DLTs / non-DLTs (default: hold)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="write the output to this file")


def _cmd_recommend(args: argparse.Namespace) -> int:
    import pandas as pd

    from .study import Study

    spec, out, spec_path = _load(args)
    arms = _arms(spec, args.arm)
    # a design borrowing from another arm (Design.borrows_from) is given that arm's data
    study = Study(spec.protocol, {a: spec.designs[a] for a in arms}, data=out)
    cmp = study.compare(missing=args.missing)
    cols = ["arm", "design", "next_dose", "stop", "hold", "mtd_label", "mtd", "rp2d",
            "rp2d_mg", "prob_tox_rp2d", "p_overdose_rp2d", "pending", "unknown",
            "grade2_unknown", "reason"]  # fmt: skip
    ag = cmp.agreement()
    tables: dict[str, Any] = {"recommendations": cmp.table()[cols], "agreement": ag}
    left = {a: f"--arm {args.arm} left out the spec's designs for this arm"
            for a in spec.designs if a not in arms}  # fmt: skip
    notes = patient_notes(cmp, left)
    if notes:
        tables["patients not counted in full"] = pd.DataFrame({"note": notes})
    man = json_manifest(spec, spec_path, None, data=args.data, designs=cmp.designs)
    _emit(tables, args.format, args.out, man)
    return 0


# -- simulate ----------------------------------------------------------------------------
def _args_simulate(p: argparse.ArgumentParser) -> None:
    _add_spec_args(p, data=False)
    p.add_argument("--arm", default=None, help="only this arm")
    p.add_argument("--n-trials", type=positive_int, default=None,
                   help="trials per design and scenario (default: the spec's)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="NetCDF file of the simulation (.nc)")
    p.add_argument(
        "--checkpoint", type=Path, default=None, metavar="DIR",
        help="keep finished chunks in DIR (verified on reload; a rerun resumes)",
    )  # fmt: skip
    p.add_argument(
        "--store", type=Path, default=None, metavar="DIR",
        help="write each arm's trials chunk by chunk to the Zarr store DIR/<arm>.zarr "
        "(bounded memory; bayes_dose.open_store reads it)",
    )  # fmt: skip
    p.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True,
        help="progress bar on stderr (default: on)",
    )  # fmt: skip


def _check_nc(path: Path | None) -> None:
    if path is not None and path.suffix.lower() not in (".nc", ".nc4", ".h5", ".hdf5"):
        raise ValueError(
            f"--out {str(path)!r}: simulate writes NetCDF (HDF5); name the file *.nc "
            "(the operating characteristics go to stdout, --format json for JSON)"
        )


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .oc_tables import oc_summary

    _check_nc(args.out)
    spec, _, spec_path = _load(args, data=False)
    seed = _seed(args, spec)
    from .sim_io import check_writable_dir

    if args.checkpoint is not None:  # fail before the work if a folder is unusable
        check_writable_dir(args.checkpoint, "checkpoint folder")
    if args.out is not None:
        check_writable_dir(args.out.parent, "output folder")
    store = getattr(args, "store", None)
    if store is not None:
        if store.exists() and not store.is_dir():
            raise ValueError(f"--store {str(store)!r} is a file; give a folder")
        check_writable_dir(store.parent if str(store.parent) else Path("."), "folder of --store")
    import warnings

    def one_line(message, category, *_args, **_kwargs) -> None:  # no source-line echo
        print(f"bayes-dose simulate: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = one_line
        sims = simulate_spec(spec, seed, args.n_trials, _arms(spec, args.arm),
                             progress=args.progress, checkpoint=args.checkpoint,
                             store=store)  # fmt: skip
    if not sims:
        raise ValueError("the spec has no [simulation.scenarios.ARM] for the chosen arms")
    for arm in _arms(spec, args.arm):
        done = set(sims[arm]["design"].values.tolist()) if arm in sims else set()
        joint = f"{arm} (programme)"
        for name in spec.designs[arm]:
            if joint in sims and name in sims[joint]["design"].values.tolist():
                if name not in done:
                    print(f"bayes-dose simulate: note: {name} (arm {arm}) simulated with the "
                          "arm it borrows from as one programme (Part II after Part I, "
                          f"{sims[joint].sizes['trial']} trials): see arm "
                          f"{joint!r}", file=sys.stderr)  # fmt: skip
                continue
            if name not in done:
                why = (
                    "it borrows from another arm's data and the spec holds none (simulate it "
                    "with `bayes-dose report --data`, which borrows from the observed "
                    "monotherapy data, or give the design mono_data=)"
                    if spec.scenarios(arm) else "the spec gives no scenarios for this arm"
                )
                print(f"bayes-dose simulate: note: {name} (arm {arm}) not simulated: {why}",
                      file=sys.stderr)  # fmt: skip
    summary, selection, _ = oc_summary(sims, target=spec.simulation.get("target"))
    if args.out is not None:
        save_simulations(sims, args.out)
        print(f"Wrote {args.out}")
    for arm in sims if store is not None else ():
        print(f"Wrote {store / f'{arm}.zarr'}", file=sys.stderr)
    man = json_manifest(spec, spec_path, seed, simulations=sims)
    _emit({"operating characteristics": summary, "selection": selection}, args.format, None, man)
    return 0


# -- paths -------------------------------------------------------------------------------
def _args_paths(p: argparse.ArgumentParser) -> None:
    _add_spec_args(p)
    p.add_argument("--arm", default="mono", help="arm of the design (default: mono)")
    p.add_argument("--design", required=True, help="design name in the spec")
    p.add_argument(
        "--cohorts", default="3,3",
        help="cohort sizes of the horizon, e.g. 3,3 ('d' = the design's own size; "
        "'full' = until every path stops)",
    )  # fmt: skip
    p.add_argument("--start", action="store_true", help="continue from the arm's data (--data)")
    p.add_argument("--true-tox", default=None, help="true DLT probabilities p1,p2,...: exact OCs")
    p.add_argument(
        "--out", type=Path, default=None,
        help="write the output (the full tree) to this file (.txt, .csv or .json)",
    )  # fmt: skip
    p.add_argument("--plot", type=Path, default=None, help="PNG of the tree")
    p.add_argument(
        "--max-rows", type=positive_int, default=MAX_PRINTED_PATHS,
        help=f"largest tree printed on the terminal (default {MAX_PRINTED_PATHS}; "
        "a larger one is summarised: give --out for all of it)",
    )  # fmt: skip
    p.add_argument(
        "--max-nodes", type=positive_int, default=MAX_TREE_NODES,
        help=f"refuse trees larger than this (default {MAX_TREE_NODES:,})",
    )  # fmt: skip


#: Trees with more nodes are summarised on the terminal (the full tree goes to --out).
MAX_PRINTED_PATHS = 500
#: Largest tree ``paths`` builds (about 1 GiB of memory).
MAX_TREE_NODES = 5_000_000


def _parse_cohorts(text: str) -> list[int | None] | None:
    if text.strip() == "full":
        return None
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "d":
            out.append(None)
        elif part.isdigit() and int(part) > 0:
            out.append(int(part))
        else:
            raise ValueError(f"--cohorts: {part!r} is not a positive size, 'd' or 'full'")
    return out


def _cmd_paths(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from .paths import dose_paths

    spec, out, spec_path = _load(args)
    designs = spec.designs.get(args.arm, {})
    if args.design not in designs:
        raise ValueError(f"--design {args.design!r}: arm {args.arm!r} has designs {list(designs)}")
    design = designs[args.design]
    start = out.arm(args.arm) if args.start else None
    if args.out is not None:
        out_format(args.format, args.out)  # a bad --out fails before the work
    cohorts = _parse_cohorts(args.cohorts)
    steps = Steps("paths")
    with steps(f"enumerating the paths of {args.design!r} ({args.cohorts} cohorts)", bar=True):
        try:
            tree = dose_paths(design, cohorts, start=start, progress=True,
                              max_nodes=args.max_nodes)  # fmt: skip
        except RuntimeError as exc:  # the full horizon of a design that never stops
            raise ValueError(f"--cohorts {args.cohorts}: {exc}") from None
    leaves = tree.is_leaf
    summary = pd.DataFrame([{
        "nodes": tree.n_nodes, "paths (leaves)": int(leaves.sum()),
        "stopped paths": int((leaves & tree.stop).sum()), "cohorts (max)": int(tree.depth.max()),
        "distinct states": tree.n_states,
    }])  # fmt: skip
    tables: dict[str, Any] = {"tree summary": summary}
    if args.out is None and tree.n_nodes > args.max_rows:
        print(f"paths: the tree has {tree.n_nodes:,} nodes; printing its summary only "
              f"(give --out FILE.txt, .csv or .json for the full tree)", file=sys.stderr)  # fmt: skip
    else:
        with steps(f"tabulating {tree.n_nodes:,} nodes"):
            tables["paths"] = tree.to_frame()
    if args.true_tox is not None:
        try:
            p = np.array([float(x) for x in args.true_tox.split(",")])
        except ValueError:
            raise ValueError(f"--true-tox: {args.true_tox!r} is not a list of numbers") from None
        with steps("exact operating characteristics"):
            oc = tree.probabilities(p)
        tables["exact OCs"] = oc.to_frame().reset_index()
        tables["summary"] = pd.DataFrame(
            [{"p_no_mtd": oc.p_no_mtd, "expected_n": oc.expected_n,
              "expected_dlts": oc.expected_dlts}]
        )  # fmt: skip
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        ax = tree.plot()
        ax.figure.savefig(args.plot, dpi=90, bbox_inches="tight")
        print(f"Wrote {args.plot}")
    man = json_manifest(spec, spec_path, None, data=args.data,
                        designs={args.arm: {args.design: design}})  # fmt: skip
    if args.out is not None:  # the summary on the terminal, the whole tree (first) to the file
        _emit({k: v for k, v in tables.items() if k != "paths"}, args.format, None)
        tables = {"paths": tables.pop("paths"), **tables}
    _emit(tables, args.format, args.out, man)
    return 0


# -- boundaries ----------------------------------------------------------------------------
def _args_boundaries(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", type=float, default=None, help="BOIN target DLT rate")
    p.add_argument(
        "--up-to-n", "--n-max", type=int, default=None, dest="up_to_n",
        help="largest number of patients at a dose (default: 30 for BOIN, 9 for --spec; "
        "--n-max is the old name)",
    )  # fmt: skip
    p.add_argument("--cohort-size", type=int, default=None,
                   help="step in n of the --spec decision tables (default: the cohort size of the "
                   "spec's designs; required when they differ)")  # fmt: skip
    p.add_argument(
        "--spec", type=Path, default=None,
        help="instead of --target: the decision table of every design of the spec's --arm",
    )  # fmt: skip
    p.add_argument("--arm", default="mono")
    p.add_argument("--format", choices=("table", "json"), default=None)
    p.add_argument("--out", type=Path, default=None, help="write the output to this file")


def _cmd_boundaries(args: argparse.Namespace) -> int:
    from .designs.boin import BOIN, boin_boundaries
    from .io import load_spec
    from .paths import decision_table

    if args.target is None and args.spec is None:
        raise ValueError("give --target (BOIN boundaries) or --spec (decision tables)")
    if args.cohort_size is not None and args.spec is None:
        raise ValueError("--cohort-size is the step in n of the --spec decision tables; the BOIN "
                         "boundaries of --target go patient by patient, so it would be ignored")  # fmt: skip
    import pandas as pd

    from .protocol_text import boin_boundary_text, design_rules

    tables: dict[str, Any] = {}
    if args.target is not None:
        up_to_n = 30 if args.up_to_n is None else args.up_to_n
        df = boin_boundaries(target=args.target, up_to_n=up_to_n)
        tables[f"BOIN boundaries (target {args.target:g})"] = df.reset_index()
        a = df.attrs
        tables["lambda cut-offs (escalate if observed DLT rate <= lambda_e, de-escalate if "
               ">= lambda_d)"] = pd.DataFrame([{
                   "target": args.target, "p_saf": a.get("p_saf"), "p_tox": a.get("p_tox"),
                   "lambda_e": round(a["lambda_e"], 4), "lambda_d": round(a["lambda_d"], 4)}])  # fmt: skip
        boin = BOIN(target=args.target, n_doses=1)
        tables["protocol text"] = "\n".join(boin_boundary_text(boin))
    if args.spec is not None:
        spec = load_spec(args.spec)
        arm = _arms(spec, args.arm)[0]
        designs = {k: d for k, d in spec.designs[arm].items() if not d.requires_other_arms}
        left_out = [k for k in spec.designs[arm] if k not in designs]
        if not designs:
            raise ValueError(f"--spec: every design of arm {arm} ({', '.join(left_out)}) reads "
                             "the other arms' data; no decision table without them")  # fmt: skip
        up_to_n = 9 if args.up_to_n is None else args.up_to_n
        if args.cohort_size is None:
            sizes = {k: getattr(d, "cohort_size", None) for k, d in designs.items()}
            if len(set(sizes.values())) != 1 or None in sizes.values():
                raise ValueError(
                    f"--spec: the cohort sizes differ ({', '.join(f'{k}: {v}' for k, v in sizes.items())}) "
                    f"between the designs of arm {arm}: give --cohort-size for the step in n"
                )  # fmt: skip
            step = int(next(iter(sizes.values())))
            step_src = f"the cohort size of every design of arm {arm} in the spec"
        else:
            step, step_src = args.cohort_size, "--cohort-size"
        t = decision_table(designs, up_to_n=up_to_n, cohort_size=step)
        tables[f"history behind the decision table (arm {arm})"] = "\n".join([
            f"cohort size {step}: {step_src}", *t.attrs["setting"],
            *([f"not in the table: {', '.join(left_out)} "
               f"({'its' if len(left_out) == 1 else 'their'} decisions read the other arms' data)"]
              if left_out else []),
        ])  # fmt: skip
        flat = t.xs("action", axis=1, level="field").reset_index()
        tables[f"decision table (arm {arm}; E/S/D/X = escalate/stay/de-escalate/stop)"] = flat
        tables[f"protocol text (arm {arm})"] = "\n\n".join(
            f"{k}: " + " ".join(design_rules(d)) for k, d in spec.designs[arm].items()
        )
    _emit(tables, args.format, args.out)
    return 0


# -- report -------------------------------------------------------------------------------
def _args_report(p: argparse.ArgumentParser) -> None:
    _add_spec_args(p)
    p.add_argument("--out", type=Path, required=True, help="folder for report.html and data")
    p.add_argument("--n-trials", type=positive_int, default=None,
                   help="simulated trials per scenario")  # fmt: skip
    p.add_argument(
        "--overdose-cut", type=float, default=None,
        help="DLT rate above which a dose is an overdose, one cut for every design's "
        "P(overdose) column (default 0.33)",
    )  # fmt: skip
    p.add_argument("--data-cutoff", default=None, help="data cut-off shown in the memo")


def _cmd_report(args: argparse.Namespace) -> int:
    spec, out, spec_path = _load(args)
    inputs = {"spec": spec_path}
    if args.data is not None:
        inputs["data"] = args.data
    files = write_memo(spec, out, args.out, _seed(args, spec), args.n_trials, inputs,
                       overdose_cut=args.overdose_cut, data_cutoff=args.data_cutoff,
                       steps=Steps("report"))  # fmt: skip
    for f in files.values():
        print(f"Wrote {f}")
    return 0


# -- dlt -------------------------------------------------------------------------------
def _args_dlt(p: argparse.ArgumentParser) -> None:
    p.add_argument("ae", type=Path, help="adverse-event listing (ADAE-like .csv or .xpt)")
    p.add_argument("--subjects", type=Path, required=True, help="subject table (ADSL-like)")
    p.add_argument("--protocol", type=Path, default=None, help="protocol TOML (default BAT6021)")
    p.add_argument("--cutoff-day", type=int, default=None,
                   help="study day of the data cut-off (the same for every subject)")
    p.add_argument("--cutoff-calendar-day", type=int, default=None,
                   help="trial-calendar day of the data cut-off (the calendar of ENRLDY)")
    p.add_argument("--out", type=Path, default=None, help="write the cohort data (CSV)")
    p.add_argument("--audit", type=Path, default=None, help="write the audit table (CSV)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.epilog = (
        "Exit codes: 0 adjudicated; 2 bad input; 3 outputs written but some events are "
        "queries (a blank fact decides whether they are DLTs): those patients' DLT is "
        "'unknown' until the facts are filled in.  A grade >= 2 event with blank causality "
        "or onset makes the patient's grade2 'unknown' (noted on stderr; not a DLT query, so "
        "the exit code does not change)."
    )


def _cmd_dlt(args: argparse.Namespace) -> int:
    """Adjudicate; exit 0, or 3 when queries (blank facts) leave patients' DLT unknown."""
    import json

    from .dlt import adjudicate_dlt
    from .protocol import Protocol

    if args.protocol is not None and not args.protocol.is_file():
        raise ValueError(f"protocol file {str(args.protocol)!r} not found")
    proto = Protocol.from_toml(args.protocol) if args.protocol is not None else bat6021()
    outcomes, audit = adjudicate_dlt(args.ae, args.subjects, proto, cutoff_day=args.cutoff_day,
                                     cutoff_calendar_day=args.cutoff_calendar_day)
    frame = outcomes.to_frame()
    written = outcomes.to_csv_frame()  # unknown DLT status written as "unknown"
    if args.out is not None:
        written.to_csv(args.out, index=False)
    if args.audit is not None:
        audit.to_csv(args.audit, index=False)
    queries = audit[audit["outcome"] == "query"]
    unknown = frame.loc[frame["dlt"].isna(), "patient_id"].tolist()
    grade2_unknown = list(outcomes.grade2_unknown())
    if args.format == "json":
        doc = {
            "protocol": proto.name,
            "outcomes": json.loads(written.to_json(orient="records")),
            "audit": json.loads(audit.to_json(orient="records")),
            "queries": json.loads(queries[["USUBJID", "row", "query", "rule"]].to_json(
                orient="records")),
            "unknown": unknown,
            "grade2_unknown": grade2_unknown,
        }  # fmt: skip
        print(json.dumps(doc, indent=1))
    else:
        cols = ["USUBJID", "ARM", "AEDECOD", "ATOXGR", "ASTDY", "duration_days", "rule"]
        inside = audit["in_window"].fillna(True).astype(bool)
        query = audit["outcome"] == "query"
        sections = [
            ("DLTs", audit[audit["is_dlt"]]),
            ("Queries: a blank fact decides whether the event is a DLT", audit[query]),
            ("Events in the DLT window that are not DLTs", audit[~audit["is_dlt"] & inside & ~query]),
            ("Events outside the DLT window (inform the RP2D, not escalation)", audit[~inside]),
        ]  # fmt: skip
        print(f"{proto.name}: {len(audit)} adverse events, {len(outcomes)} subjects")
        for title, part in sections:
            print(f"\n{title} ({len(part)}):")
            if len(part):
                print(part[cols].to_string(index=False))
        for arm in outcomes.arms:
            sub = frame[frame["arm"] == arm]
            counts = sub.groupby("dose_level").agg(
                dose_mg=("dose_mg", "first"), n=("dlt", "size"),
                dlt=("dlt", lambda d: int(d.sum())), unknown=("dlt", lambda d: int(d.isna().sum())),
            )  # fmt: skip
            if not counts["unknown"].any():
                counts = counts.drop(columns="unknown")
            print(f"\nArm {arm!r}: patients and DLTs per dose level")
            print(counts.to_string(float_format=lambda x: f"{x:g}"))
        for path in (args.out, args.audit):
            if path is not None:
                print(f"Wrote {path}")
    if grade2_unknown:  # not a DLT query (exit code unchanged), but never silent
        print(
            f"bayes-dose dlt: grade-2 toxicity status unknown for {', '.join(grade2_unknown)} "
            "(an event of grade >= 2 with blank AREL or ASTDY, or of blank ATOXGR; written as "
            "grade2 'unknown'): accelerated titration with titration_grade2 holds when it "
            "decides; fill the blank facts",
            file=sys.stderr,
        )
    if len(queries):
        print(
            f"bayes-dose dlt: {len(queries)} quer{'y' if len(queries) == 1 else 'ies'}; DLT "
            f"status unknown for {', '.join(map(str, unknown)) or 'no patient'} "
            "(fill the blank facts, or decide with missing='assume_dlt'/'assume_not'):",
            file=sys.stderr,
        )
        lines: tuple[int, ...] | None = None
        if args.ae.suffix.lower() == ".csv":
            from .csv_text import read_text_csv

            lines = read_text_csv(args.ae, "AE listing").lines
        for r in queries.itertuples():
            at = f"{args.ae.name} line {lines[r.row]}, " if lines is not None else ""
            print(f"  patient {r.USUBJID}: AE row {r.row} ({at}{r.AEDECOD}): missing {r.query}",
                  file=sys.stderr)  # fmt: skip
        return 3
    return 0


# -- response (tumour response listing: BOR, ORR / DCR, hierarchical model) ----------------
def _args_response(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "listing", type=Path, nargs="?", default=None,
        help="tumour-response listing (.csv / .xpt; default: the bundled synthetic one)",
    )  # fmt: skip
    p.add_argument("--by", default="arm,dose_mg", help="ORR grouping columns (default arm,dose_mg)")
    p.add_argument("--confirm-days", type=int, default=28, help="days to confirm a CR/PR")
    p.add_argument("--sd-min-days", type=int, default=35, help="minimum days for SD")
    p.add_argument("--model", choices=("exnex", "exchangeable"), default="exnex",
                   help="hierarchical model across expansion cohorts (grid engine)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.add_argument("--out", type=Path, default=None, help="write the tables to this file")
    p.add_argument("--figures", type=Path, default=None,
                   help="folder for waterfall.png, swimmer.png, shrinkage.png")


def _cmd_response(args: argparse.Namespace) -> int:
    from .examples import SYNTHETIC_NOTE

    by = [c.strip() for c in args.by.split(",") if c.strip()]
    tables, bor, fit = response_tables(args.listing, by, args.confirm_days, args.sd_min_days,
                                       args.model)  # fmt: skip
    if args.listing is None:
        print(f"Data: {SYNTHETIC_NOTE} (bundled tumour-response listing)")
    _emit(tables, args.format, args.out)
    if args.figures is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .plots import plot_shrinkage, plot_swimmer, plot_waterfall

        args.figures.mkdir(parents=True, exist_ok=True)
        figs = {"waterfall": lambda: plot_waterfall(bor), "swimmer": lambda: plot_swimmer(bor)}
        if fit is not None:
            figs["shrinkage"] = lambda: plot_shrinkage(fit)
        for name, draw in figs.items():
            ax = draw()
            ax.figure.savefig(args.figures / f"{name}.png", dpi=90, bbox_inches="tight")
            plt.close(ax.figure)
            print(f"Wrote {args.figures / (name + '.png')}")
    return 0


# -- endpoints (PK, ADA, response -> RP2D synthesis) ------------------------------------------
def _args_endpoints(p: argparse.ArgumentParser) -> None:
    _add_spec_args(p)
    p.add_argument("--pc", type=Path, default=None, help="concentration listing (default: bundled)")
    p.add_argument("--ada", type=Path, default=None, help="ADA listing (default: bundled)")
    p.add_argument("--response", type=Path, default=None,
                   help="tumour-response listing (default: bundled)")
    p.add_argument("--plateau", default=None,
                   help="exposure-plateau doses given by you, e.g. mono=300,combo=none "
                        "(arms left out are fitted with PyMC)")
    p.add_argument("--draws", type=int, default=1000, help="PyMC draws per chain (plateau fit)")
    p.add_argument("--tune", type=int, default=1000, help="PyMC tuning steps per chain")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for endpoints.md, endpoints.html and the tables (CSV)")
    p.add_argument("--memo", type=Path, default=None,
                   help="also write the design memo with this section into this folder")


def _parse_plateau(text: str | None) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for part in filter(None, (t.strip() for t in (text or "").split(","))):
        arm, sep, val = part.partition("=")
        if not sep or not arm.strip():
            raise ValueError(f"--plateau: {part!r} is not ARM=DOSE (e.g. mono=300 or combo=none)")
        v = val.strip().lower()
        if v == "none":
            out[arm.strip()] = None
            continue
        try:
            out[arm.strip()] = float(v)
        except ValueError:
            raise ValueError(f"--plateau: {part!r}: the dose must be a number of mg or 'none'") from None
    return out


def _cmd_endpoints(args: argparse.Namespace) -> int:
    from .endpoints import secondary_endpoints
    from .examples import SYNTHETIC_NOTE
    from .study import Study

    spec, out, _ = _load(args)
    cmp = Study(spec.protocol, spec.designs, data=out).compare()
    se = secondary_endpoints(
        cmp, pc=args.pc, ada=args.ada, responses=args.response,
        plateau=_parse_plateau(args.plateau), draws=args.draws, tune=args.tune,
        seed=_seed(args, spec),
    )  # fmt: skip
    if None in (args.pc, args.ada, args.response) or args.data is None:
        print(f"Data: {SYNTHETIC_NOTE} (bundled listings where none was given)")
    tables = {"RP2D": se.synthesis.summary()}
    for arm, t in se.synthesis.tables.items():
        tables[f"evidence per dose, arm {arm}"] = t
    tables["exposure plateau"] = se.plateau_table()
    _emit(tables, args.format, None)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        sec = se.section()
        (args.out / "endpoints.md").write_text(f"## {sec.title}\n\n{sec.to_markdown()}\n")
        (args.out / "endpoints.html").write_text(f"<h2>{sec.title}</h2>\n{sec.to_html()}\n")
        for arm, t in se.synthesis.tables.items():
            t.to_csv(args.out / f"rp2d_{arm}.csv", index=False)
        se.nca.to_csv(args.out / "nca.csv", index=False)
        se.ada_incidence.to_csv(args.out / "ada_incidence.csv", index=False)
        se.bor.table.to_csv(args.out / "best_overall_response.csv", index=False)
        se.bor.excluded.to_csv(args.out / "response_excluded.csv", index=False)
        se.bor.flags.to_csv(args.out / "response_flagged.csv", index=False)
        print(f"Wrote {args.out / 'endpoints.md'}, endpoints.html and the tables")
    if args.memo is not None:
        from .report import report

        files = report(cmp, protocol=spec.protocol, sections=[se.section()],
                       notes=(f"Data: {SYNTHETIC_NOTE}.",)).write(args.memo)  # fmt: skip
        print(f"Wrote the memo to {files['html']}")
    return 0


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "demo": ("run the designs on the bundled (synthetic) BAT6021 example", _args_demo, _cmd_demo),
    "recommend": ("each design's next dose, MTD and RP2D on cohort data", _args_recommend,
                  _cmd_recommend),
    "simulate": ("simulate the spec's designs on its scenarios (NetCDF)", _args_simulate,
                 _cmd_simulate),
    "paths": ("every cohort-outcome path and the design's decision after each", _args_paths,
              _cmd_paths),
    "boundaries": ("BOIN boundaries, or the spec's designs' decision tables", _args_boundaries,
                   _cmd_boundaries),
    "report": ("write the design memo (HTML + Markdown) and the data behind it", _args_report,
               _cmd_report),
    "dlt": (
        "adjudicate DLTs from an adverse-event listing (protocol rules, audit)",
        _args_dlt,
        _cmd_dlt,
    ),
}  # fmt: skip
COMMANDS.update(PK_COMMANDS)  # bayes-dose pk / ada (cli_pk.py)
COMMANDS.update(
    {"response": ("tumour response: best overall response, ORR/DCR, borrowing across cohorts",
                  _args_response, _cmd_response),
     "endpoints": ("PK, ADA and response on the listings, and the RP2D synthesis per arm",
                   _args_endpoints, _cmd_endpoints)}
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-dose",
        description="Phase I dose finding: 3+3 with titration, BOIN, CRM, BLRM on one data set.",
    )
    parser.add_argument("--version", action="version", version=f"bayes_dose {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(subparsers={})
    for name, (help_text, add_args, _) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        add_args(sp)
        parser.get_default("subparsers")[name] = sp
    return parser


#: Set this environment variable to 1 to see the traceback of an unexpected error.
TRACEBACK_ENV = "BAYES_DOSE_TRACEBACK"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayes-dose`` console script.

    Bad input (``ValueError``, unreadable or unwritable files) gives one line
    ``bayes-dose <cmd>: error: ...`` on stderr and exit code 2; any other error one
    line naming its type and exit code 1 (``BAYES_DOSE_TRACEBACK=1`` shows the traceback).
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the command's parser: "bayes-dose <cmd>: error: ..."
        sub = args.subparsers.get(args.command, parser)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 0
    prog = f"bayes-dose {args.command}"
    try:
        return int(COMMANDS[args.command][2](args) or 0)
    except ValueError as exc:  # bad input: one clear line, no traceback
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # missing, unreadable or unwritable file, full disk
        where = f" {str(exc.filename)!r}" if exc.filename else ""
        print(f"{prog}: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get(TRACEBACK_ENV) == "1":
            raise
        print(f"{prog}: error: unexpected {type(exc).__name__}: {_one_line(exc)} "
              f"(set {TRACEBACK_ENV}=1 to see the traceback)", file=sys.stderr)  # fmt: skip
        return 1


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
