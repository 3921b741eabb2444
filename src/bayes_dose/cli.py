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


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "demo": ("run the designs on the bundled (synthetic) BAT6021 example", _args_demo, _cmd_demo),
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
