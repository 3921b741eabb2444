"""Stored count states of the combination BLRM: engine input and errors (tests only)."""

from __future__ import annotations

import numpy as np

KEYS = ("p_under", "p_target", "p_over")


def counts(states):
    """Engine counts ``{"mono": (n, y), "combo": (n, y)}`` of stored states."""
    arr = {k: np.array([s[k] for s in states]) for k in ("mono_n", "mono_dlt", "combo_n", "combo_dlt")}
    return {"mono": (arr["mono_n"], arr["mono_dlt"]), "combo": (arr["combo_n"], arr["combo_dlt"])}


def errors(est, states):
    """Per state the largest absolute error of any interval probability of any dose."""
    return np.array([
        max(np.abs(np.asarray(est.stats[k][i]) - np.asarray(s[k])).max() for k in KEYS)
        for i, s in enumerate(states)
    ])  # fmt: skip


def programme_design():
    """The Part II design of benchmarks/bench_programme.py (Part I BLRM on the BAT6021
    levels, reference 300 mg; combination BLRM, full borrowing, N <= 30), prior grid."""
    import bayes_dose as bd

    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300, max_n=30)
    return bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, max_n=30,
                              method="grid")  # fmt: skip
