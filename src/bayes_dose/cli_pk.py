"""Command line: ``bayes-dose pk`` and ``bayes-dose ada`` (PK and immunogenicity tables).

Registered in :data:`bayes_dose.cli.COMMANDS` through :data:`PK_COMMANDS`; the defaults
read the bundled SYNTHETIC BAT6021 listings.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pandas as pd

__all__ = ["PK_COMMANDS"]

_SYNTHETIC = "note: the bundled BAT6021 listings are SYNTHETIC (SYNTHFL = Y), not trial data"


def _write(out: Path | None, tables: dict[str, pd.DataFrame]) -> None:
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        path = out / f"{name}.csv"
        df.to_csv(path, index=False)
        print(f"wrote {path}")


def _synthetic(df: pd.DataFrame) -> bool:
    return "SYNTHFL" in df and bool(df["SYNTHFL"].fillna(False).astype(bool).all())


# -- pk ---------------------------------------------------------------------------------
def _args_pk(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pc", type=Path, default=None,
                   help="concentration listing (.csv / .xpt, ADPC-like; default: bundled)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for nca.csv, nca_excluded.csv, dose_proportionality.csv")
    p.add_argument("--tau", type=float, default=None, help="dosing interval, h (default: TAU)")
    p.add_argument("--parameter", default="cmax", help="parameter for dose proportionality")
    p.add_argument("--cycle", type=int, default=1, help="cycle for dose proportionality")
    p.add_argument("--bayes", action="store_true",
                   help="also fit the Bayesian power and Emax models (PyMC) and give the "
                        "exposure-plateau dose per arm")
    p.add_argument("--fraction", type=float, default=0.9,
                   help="plateau: fraction of the maximal exposure (default 0.9)")
    p.add_argument("--draws", type=int, default=1000, help="MCMC draws per chain")
    p.add_argument("--seed", type=int, default=2026, help="MCMC seed")  # fmt: skip


def _cmd_pk(args: argparse.Namespace) -> int:
    from .listings import read_pc
    from .pk import dose_proportionality, exposure_plateau, nca

    pc = read_pc(args.pc)
    res = nca(pc, tau=args.tau)
    excluded = res.attrs["excluded"]
    if _synthetic(pc):
        print(_SYNTHETIC)
    print(f"NCA: {res[['subject', 'cycle']].drop_duplicates().shape[0]} profiles of "
          f"{res['subject'].nunique()} subjects; {len(excluded)} record(s) excluded")  # fmt: skip
    if len(excluded):
        print(excluded.to_string(index=False))
    cm = res[res["parameter"].isin(["cmax", "auctau", "half_life"]) & res["value"].notna()]
    summary = (cm.groupby(["arm", "dose", "parameter"])["value"]
               .agg(n="count", median="median").reset_index())  # fmt: skip
    print("\nCycle 1-6 medians by arm and dose:")
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    dps = []
    for arm in sorted(res["arm"].unique()):
        dp = dose_proportionality(res, args.parameter, cycle=args.cycle, arm=arm)
        dps.append(dp.to_frame())
        print(f"\n{arm}: {args.parameter} cycle {args.cycle}: slope {dp.slope:.3f} "
              f"({dp.level:.0%} CI {dp.ci[0]:.3f}-{dp.ci[1]:.3f}); Smith criterion "
              f"{dp.criterion[0]:.3f}-{dp.criterion[1]:.3f} over a {dp.ratio:g}-fold range: "
              f"{dp.verdict}")  # fmt: skip
    tables = {"nca": res, "nca_excluded": excluded, "dose_proportionality": pd.concat(dps)}
    if args.bayes:
        plateaus = []
        for arm in sorted(res["arm"].unique()):
            ep = exposure_plateau(res, args.parameter, arm=arm, fraction=args.fraction,
                                  draws=args.draws, tune=args.draws, seed=args.seed)  # fmt: skip
            plateaus.append(ep.to_frame().assign(reason=ep.reason, preferred=ep.preferred))
            shown = "none" if ep.dose is None else f"{ep.dose:g} mg"
            print(f"\n{arm}: exposure-plateau dose {shown}: {ep.reason}")
        tables["exposure_plateau"] = pd.concat(plateaus)
    _write(args.out, tables)
    return 0


# -- ada --------------------------------------------------------------------------------
def _args_ada(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ada", type=Path, default=None,
                   help="ADA listing (.csv / .xpt, ADAB-like; default: bundled)")
    p.add_argument("--pc", type=Path, default=None,
                   help="concentration listing for PK by ADA status (default: bundled)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for ada_incidence.csv, ada_subjects.csv, pk_by_ada.csv")
    p.add_argument("--boost-fold", type=float, default=4.0,
                   help="treatment-boosted: post-baseline titre >= this x baseline (4)")
    p.add_argument("--persistent-weeks", type=float, default=16.0,
                   help="persistent: first to last positive at least this apart (16)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (0.95)")  # fmt: skip


def _cmd_ada(args: argparse.Namespace) -> int:
    from .ada import incidence, pk_by_status
    from .listings import read_ada
    from .pk import nca

    ada = read_ada(args.ada)
    kw = {"boost_fold": args.boost_fold, "persistent_weeks": args.persistent_weeks}
    inc = incidence(ada, level=args.level, **kw)
    if _synthetic(ada):
        print(_SYNTHETIC)
    ne = inc.attrs["not_evaluable"]
    print(f"ADA: {inc.attrs['subjects'].shape[0]} subjects, {len(ne)} not evaluable")
    if len(ne):
        print(ne.to_string(index=False))
    show = inc.assign(result=[
        f"{r.n}/{r.N} ({r.percent:.0f}%; {r.ci_low:.0f}-{r.ci_high:.0f})" if r.N else "-"
        for r in inc.itertuples()
    ])  # fmt: skip
    wide = show.pivot_table(index=["arm", "dose"], columns="category", values="result",
                            aggfunc="first", sort=False)  # fmt: skip
    print(f"\nIncidence, n/N (%; exact {args.level:.0%} CI):")
    print(wide.to_string())
    pk = pk_by_status(nca(args.pc), ada, **kw)
    print("\nPK by treatment-emergent ADA status (geometric means):")
    print(pk.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    _write(args.out, {"ada_incidence": inc, "ada_subjects": inc.attrs["subjects"],
                      "ada_not_evaluable": ne, "pk_by_ada": pk})  # fmt: skip
    return 0


PK_COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "pk": ("NCA, dose proportionality and exposure plateau from a concentration listing",
           _args_pk, _cmd_pk),
    "ada": ("ADA / NAb incidence (Shankar 2014 terms, exact CIs) and PK by ADA status",
            _args_ada, _cmd_ada),
}  # fmt: skip
