"""Command line: ``bayes-dose <command>``.

Each command is a function ``_cmd_<name>(args)`` registered in :data:`COMMANDS` with
the function that adds its arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .examples import SYNTHETIC_NOTE, bat6021_outcomes
from .protocols import bat6021

__all__ = ["main"]


def decision_trail(design, outcomes) -> list[str]:
    """One line per cohort: the data so far and the design's decision."""
    lines = []
    for k, sub in enumerate(outcomes.cohorts(), start=1):
        f = design.fit(sub)
        last = sub.to_frame().iloc[-1]
        nxt = "stop" if f.stop else f"level {f.next_dose}"
        lines.append(f"  after cohort {k:2d} (level {int(last.dose_level)}): {nxt:9s} | {f.reason}")
    return lines


# -- demo ------------------------------------------------------------------------------
def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", type=Path, default=Path("bayes_dose_demo"),
        help="folder for the report and the data behind it (default: ./bayes_dose_demo)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=None, help="seed (default: the spec's)")
    p.add_argument("--n-trials", type=int, default=None, help="simulated trials per scenario")


def _cmd_demo(args: argparse.Namespace) -> int:
    from .designs.three_plus_three import ThreePlusThree

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
    spec = load_spec(spec_path)
    seed = args.seed if args.seed is not None else (spec.seed or 0)
    print(f"\n== All designs of {spec_path.name} on both arms (seed {seed})")
    files = write_memo(
        spec, data, args.out, seed, args.n_trials, inputs={"spec": spec_path},
        notes=(f"Data: {SYNTHETIC_NOTE}.",),
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
BUNDLED_SPEC = "data/bat6021_designs.toml"


def _bundled_spec() -> Path:
    from importlib import resources

    return Path(str(resources.files("bayes_dose").joinpath(BUNDLED_SPEC)))


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
    p.add_argument("--seed", type=int, default=None, help="seed (default: the spec's, else 0)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")


def _load(args: argparse.Namespace, data: bool = True) -> tuple[Any, Any, Path]:
    from .io import load_spec, read_outcomes

    spec_path = args.spec if args.spec is not None else _bundled_spec()
    spec = load_spec(spec_path)
    out = None
    if data:
        out = (
            bat6021_outcomes()
            if args.data is None
            else read_outcomes(args.data, protocol=spec.protocol)
        )
    return spec, out, spec_path


def _seed(args: argparse.Namespace, spec: Any) -> int:
    if args.seed is not None:
        return int(args.seed)
    return int(spec.seed) if spec.seed is not None else 0


def _emit(tables: dict[str, Any], fmt: str, out: Path | None) -> None:
    """Print (or write to ``out``) named DataFrames as text tables or one JSON object."""
    import json

    import pandas as pd

    if fmt == "json":
        obj = {
            k: json.loads(v.to_json(orient="records")) if isinstance(v, pd.DataFrame) else v
            for k, v in tables.items()
        }
        text = json.dumps(obj, indent=2, default=str)
    else:
        parts = []
        for k, v in tables.items():
            body = v.to_string(index=False) if isinstance(v, pd.DataFrame) else str(v)
            parts.append(f"== {k}\n{body}")
        text = "\n\n".join(parts)
    if out is None:
        print(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        print(f"Wrote {out}")


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
    p.add_argument("--out", type=Path, default=None, help="write the output to this file")


def _cmd_recommend(args: argparse.Namespace) -> int:
    from .compare import compare

    spec, out, _ = _load(args)
    arms = _arms(spec, args.arm)
    data = {a: out.arm(a) for a in arms}
    cmp = compare({a: spec.designs[a] for a in arms}, data)
    cols = ["arm", "design", "next_dose", "stop", "mtd_label", "mtd", "rp2d", "rp2d_mg",
            "prob_tox_rp2d", "p_overdose_rp2d", "reason"]  # fmt: skip
    ag = cmp.agreement()
    _emit({"recommendations": cmp.table()[cols], "agreement": ag}, args.format, args.out)
    return 0


# -- simulate ----------------------------------------------------------------------------
def _args_simulate(p: argparse.ArgumentParser) -> None:
    _add_spec_args(p, data=False)
    p.add_argument("--arm", default=None, help="only this arm")
    p.add_argument("--n-trials", type=int, default=None, help="trials per design and scenario")
    p.add_argument("--out", type=Path, default=None, help="NetCDF file of the simulation")
    p.add_argument(
        "--checkpoint", type=Path, default=None, metavar="DIR",
        help="keep finished chunks in DIR (verified on reload; a rerun resumes)",
    )  # fmt: skip
    p.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True,
        help="progress bar on stderr (default: on)",
    )  # fmt: skip


def simulate_spec(
    spec: Any, seed: int, n_trials: int | None = None, arms: list[str] | None = None,
    checkpoint: Path | None = None, progress: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Simulate each arm's designs on the spec's scenarios: ``{arm: xarray.Dataset}``.

    Designs that read several arms (the combination BLRM) are not simulated on one arm.
    ``checkpoint``: folder of verified chunk checkpoints (see :func:`bayes_dose.simulate`).
    """
    import bayes_dose

    from .compare import reads_all_arms

    n = int(n_trials or spec.simulation.get("n_trials", 200))
    sims = {}
    for a in arms or list(spec.designs):
        scen = spec.scenarios(a)
        designs = {k: d for k, d in spec.designs[a].items() if not reads_all_arms(d)}
        if not scen or not designs:
            continue
        sims[a] = bayes_dose.simulate(
            designs, scenarios=scen, n_trials=n, seed=seed, progress=progress,
            checkpoint_dir=checkpoint,
        )  # fmt: skip
    return sims


def save_simulations(sims: dict[str, Any], path: Path) -> Path:
    """All arms' simulations in one NetCDF file, one group per arm."""
    from .sim_io import write_netcdf_groups

    return write_netcdf_groups(sims, path)  # atomic; a full disk is one clear error


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .report import oc_summary

    spec, _, _ = _load(args, data=False)
    seed = _seed(args, spec)
    from .sim_io import check_writable_dir

    if args.checkpoint is not None:  # fail before the work if a folder is unusable
        check_writable_dir(args.checkpoint, "checkpoint folder")
    if args.out is not None:
        check_writable_dir(args.out.parent, "output folder")
    import warnings

    def one_line(message, category, *_args, **_kwargs) -> None:  # no source-line echo
        print(f"bayes-dose simulate: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = one_line
        sims = simulate_spec(spec, seed, args.n_trials, _arms(spec, args.arm), args.checkpoint,
                             args.progress)  # fmt: skip
    if not sims:
        raise ValueError("the spec has no [simulation.scenarios.ARM] for the chosen arms")
    summary, selection, _ = oc_summary(sims, target=spec.simulation.get("target"))
    if args.out is not None:
        save_simulations(sims, args.out)
        print(f"Wrote {args.out}")
    _emit({"operating characteristics": summary, "selection": selection}, args.format, None)
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
    p.add_argument("--out", type=Path, default=None, help="write the output to this file")
    p.add_argument("--plot", type=Path, default=None, help="PNG of the tree")


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

    spec, out, _ = _load(args)
    designs = spec.designs.get(args.arm, {})
    if args.design not in designs:
        raise ValueError(f"--design {args.design!r}: arm {args.arm!r} has designs {list(designs)}")
    design = designs[args.design]
    start = out.arm(args.arm) if args.start else None
    tree = dose_paths(design, _parse_cohorts(args.cohorts), start=start)
    tables: dict[str, Any] = {"paths": tree.to_frame()}
    if args.true_tox is not None:
        try:
            p = np.array([float(x) for x in args.true_tox.split(",")])
        except ValueError:
            raise ValueError(f"--true-tox: {args.true_tox!r} is not a list of numbers") from None
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
    _emit(tables, args.format, args.out)
    return 0


# -- boundaries ----------------------------------------------------------------------------
def _args_boundaries(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", type=float, default=None, help="BOIN target DLT rate")
    p.add_argument(
        "--n-max", type=int, default=None,
        help="largest number of patients at a dose (default: 30 for BOIN, 9 for --spec)",
    )  # fmt: skip
    p.add_argument("--cohort-size", type=int, default=3, help="cohort size (decision tables)")
    p.add_argument(
        "--spec", type=Path, default=None,
        help="instead of --target: the decision table of every design of the spec's --arm",
    )  # fmt: skip
    p.add_argument("--arm", default="mono")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--out", type=Path, default=None, help="write the output to this file")


def _cmd_boundaries(args: argparse.Namespace) -> int:
    import bayes_dose

    from .compare import reads_all_arms
    from .io import load_spec
    from .paths import decision_table

    if args.target is None and args.spec is None:
        raise ValueError("give --target (BOIN boundaries) or --spec (decision tables)")
    tables: dict[str, Any] = {}
    if args.target is not None:
        n_max = 30 if args.n_max is None else args.n_max
        df = bayes_dose.boin_boundaries(target=args.target, n_max=n_max)
        tables[f"BOIN boundaries (target {args.target:g})"] = df.reset_index()
    if args.spec is not None:
        spec = load_spec(args.spec)
        arm = _arms(spec, args.arm)[0]
        designs = {k: d for k, d in spec.designs[arm].items() if not reads_all_arms(d)}
        n_max = 9 if args.n_max is None else args.n_max
        t = decision_table(designs, n_max=n_max, cohort_size=args.cohort_size)
        flat = t.xs("action", axis=1, level="field").reset_index()
        tables[f"decision table (arm {arm}; E/S/D/X = escalate/stay/de-escalate/stop)"] = flat
    _emit(tables, args.format, args.out)
    return 0


# -- report -------------------------------------------------------------------------------
def _args_report(p: argparse.ArgumentParser) -> None:
    _add_spec_args(p)
    p.add_argument("--out", type=Path, required=True, help="folder for report.html and data")
    p.add_argument("--n-trials", type=int, default=None, help="simulated trials per scenario")


def write_memo(
    spec: Any,
    outcomes: Any,
    out: Path,
    seed: int,
    n_trials: int | None = None,
    inputs: dict[str, Any] | None = None,
    notes: tuple[str, ...] = (),
) -> dict[str, Path]:
    """Compare, simulate and write the memo with the data behind it into folder ``out``."""
    import json

    from .compare import compare, reads_all_arms
    from .report import report

    out.mkdir(parents=True, exist_ok=True)
    data = {a: outcomes.arm(a) for a in spec.designs}
    mcmc, mcmc_kwargs = spec.mcmc(seed)
    cmp = compare(spec.designs, data, mcmc=mcmc, mcmc_kwargs=mcmc_kwargs)
    sims = simulate_spec(spec, seed, n_trials)
    skipped = [f"{n} ({a})" for a, ds in spec.designs.items() for n, d in ds.items()
               if reads_all_arms(d) and spec.scenarios(a)]  # fmt: skip
    if sims and skipped:
        notes = (*notes, "Not simulated here (they decide from several arms' data): "
                 f"{', '.join(skipped)}. To simulate the combination arm borrowing from the "
                 "observed monotherapy data, give the design mono_data= "
                 "(CombinationBLRM(mono_data=outcomes.arm('mono'))).")  # fmt: skip
    rep = report(
        cmp, protocol=spec.protocol, simulation=sims or None, seed=seed, inputs=inputs,
        notes=notes, title=f"{spec.protocol.name}: what each design recommends",
        target=spec.simulation.get("target"),
    )  # fmt: skip
    files = rep.write(out)
    files["outcomes"] = out / "outcomes.csv"
    outcomes.to_frame().to_csv(files["outcomes"], index=False)
    files["comparison"] = out / "comparison.csv"
    cmp.table().to_csv(files["comparison"], index=False)
    files["agreement"] = out / "agreement.csv"
    cmp.agreement().to_csv(files["agreement"], index=False)
    files["shadow"] = out / "shadow.csv"
    cmp.shadow().to_csv(files["shadow"], index=False)
    if sims:
        files["simulation"] = save_simulations(sims, out / "simulation.nc")
    files["manifest"].write_text(json.dumps(rep.manifest, indent=2, default=str) + "\n")
    return files


def _cmd_report(args: argparse.Namespace) -> int:
    spec, out, spec_path = _load(args)
    inputs = {"spec": spec_path}
    if args.data is not None:
        inputs["data"] = args.data
    files = write_memo(spec, out, args.out, _seed(args, spec), args.n_trials, inputs)
    for f in files.values():
        print(f"Wrote {f}")
    return 0


# -- dlt -------------------------------------------------------------------------------
def _args_dlt(p: argparse.ArgumentParser) -> None:
    p.add_argument("ae", type=Path, help="adverse-event listing (ADAE-like .csv or .xpt)")
    p.add_argument("--subjects", type=Path, required=True, help="subject table (ADSL-like)")
    p.add_argument("--protocol", type=Path, default=None, help="protocol TOML (default BAT6021)")
    p.add_argument("--cutoff-day", type=int, default=None, help="study day of the data cut-off")
    p.add_argument("--out", type=Path, default=None, help="write the cohort data (CSV)")
    p.add_argument("--audit", type=Path, default=None, help="write the audit table (CSV)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")


def _cmd_dlt(args: argparse.Namespace) -> int:
    import json

    from .dlt import adjudicate_dlt
    from .protocol import Protocol

    if args.protocol is not None and not args.protocol.is_file():
        raise ValueError(f"protocol file {str(args.protocol)!r} not found")
    proto = Protocol.from_toml(args.protocol) if args.protocol is not None else bat6021()
    outcomes, audit = adjudicate_dlt(args.ae, args.subjects, proto, cutoff_day=args.cutoff_day)
    frame = outcomes.to_frame()
    if args.out is not None:
        frame.to_csv(args.out, index=False)
    if args.audit is not None:
        audit.to_csv(args.audit, index=False)
    if args.format == "json":
        doc = {
            "protocol": proto.name,
            "outcomes": json.loads(frame.to_json(orient="records")),
            "audit": json.loads(audit.to_json(orient="records")),
        }
        print(json.dumps(doc, indent=1))
        return 0
    cols = ["USUBJID", "ARM", "AEDECOD", "ATOXGR", "ASTDY", "duration_days", "rule"]
    inside = audit["in_window"].fillna(True).astype(bool)
    sections = [
        ("DLTs", audit[audit["is_dlt"]]),
        ("Events in the DLT window that are not DLTs", audit[~audit["is_dlt"] & inside]),
        ("Events outside the DLT window (inform the RP2D, not escalation)", audit[~inside]),
    ]
    print(f"{proto.name}: {len(audit)} adverse events, {len(outcomes)} subjects")
    for title, part in sections:
        print(f"\n{title} ({len(part)}):")
        if len(part):
            print(part[cols].to_string(index=False))
    for arm in outcomes.arms:
        counts = outcomes.counts(arm=arm)
        counts = counts[counts["n"] > 0]
        print(f"\nArm {arm!r}: patients and DLTs per dose level")
        print(counts.to_string(float_format=lambda x: f"{x:g}"))
    for path in (args.out, args.audit):
        if path is not None:
            print(f"Wrote {path}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-dose",
        description="Phase I dose finding: 3+3 with titration, BOIN, CRM, BLRM on one data set.",
    )
    parser.add_argument("--version", action="version", version=f"bayes_dose {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayes-dose`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(COMMANDS[args.command][2](args) or 0)
    except ValueError as exc:  # bad input: one clear line, no traceback
        print(f"bayes-dose {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
