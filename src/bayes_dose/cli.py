"""Command line: ``bayes-dose <command>``.

Each command is a function ``_cmd_<name>(args)`` registered in :data:`COMMANDS` with
the function that adds its arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

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
    p.add_argument("--out", type=Path, default=None, help="folder for the outputs")


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
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        data.to_frame().to_csv(args.out / "outcomes.csv", index=False)
        print(f"\nWrote {args.out / 'outcomes.csv'}")
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
    "dlt": (
        "adjudicate DLTs from an adverse-event listing (protocol rules, audit)",
        _args_dlt,
        _cmd_dlt,
    ),
}


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
