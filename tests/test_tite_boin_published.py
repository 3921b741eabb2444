"""TITE-BOIN against its published decision tables (issue 12, item 3).

Source of the rules and of every number below: Yuan Y, Lin R, Li D, Nie L, Warren KE (2018)
"Time-to-event Bayesian optimal interval design to accelerate phase I trials", Clin Cancer
Res 24(20):4921-4930 -- Table 1 (target 0.2, cohort size 3, up to 15 patients at a dose)
and Table S1 of its supplementary appendix (target 0.3).  The paper itself was not
available to this check; the entries were taken from two independent reproductions of the
published tables:

* Table 1 of PMC9260438 (Contemp Clin Trials Commun, 2022), which reprints the TITE-BOIN
  table for target 0.2 and n = 3, 6, 9 citing Yuan et al. (2018) [its ref. 22], with the
  footnote "Suspend accrual ... when more than 50% of the patients' DLT outcomes are
  pending at the current dose";
* the transcription of Table 1 and Table S1 (n = 3..15) kept as a test fixture of the R
  package simFastBOIN (gosukehommaEX/simFastBOIN, tests/testthat/fixtures/
  yuan2018-tables.csv).  Its rows for n <= 9 of Table 1 agree entry by entry with
  PMC9260438.

Only the published numbers were taken (re-keyed by hand into the layout below); no code.

How a table row reads.  ``n`` patients at the current dose, ``y`` DLTs seen, ``c`` of the
``n - y`` others still pending, STFT = their follow-up over the window, summed.  E / S / D:
escalate / stay / de-escalate whatever the STFT; DE: de-escalate and eliminate the dose;
SUS: suspend accrual; ES with boundary ``b``: escalate if STFT >= b, else stay; SD with
boundary ``b``: de-escalate if STFT <= b, else stay.  Boundaries are published to two
decimals.

What the tables pin down beyond the imputation formula (and what the original
bayes_dose rule got wrong): with patients pending, the dose is de-escalated on the imputed
rate only when the DLTs *seen* reach the target (y / n >= target); below it the decision
is stay however short the follow-up (Table 1: 6 patients, 1 DLT, up to 3 pending -> stay;
12 patients, 2 DLTs, up to 6 pending -> stay; Table S1: 12 patients, 3 DLTs -> stay; 15
patients, 4 DLTs -> stay).  Escalation needs y / n < target as well, which the imputed
rate implies (p^ >= y / n and lambda_e < target).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.designs import tite_boin

# (n, y_lo, y_hi, c_lo, c_hi, decision, STFT boundary); None = no upper limit ("y >= y_lo")
TABLE_1 = [  # target 0.2
    (3, 0, 0, 0, 1, "E", None), (3, 0, 0, 2, None, "SUS", None),
    (3, 1, 1, 0, 2, "D", None), (3, 2, None, 0, 1, "DE", None),
    (6, 0, 0, 0, 3, "E", None), (6, 0, 0, 4, None, "SUS", None),
    (6, 1, 1, 0, 3, "S", None), (6, 1, 1, 4, None, "SUS", None),
    (6, 2, 2, 0, 4, "D", None), (6, 3, None, 0, 3, "DE", None),
    (9, 0, 0, 0, 4, "E", None), (9, 0, 0, 5, None, "SUS", None),
    (9, 1, 1, 0, 2, "E", None), (9, 1, 1, 3, 3, "ES", 0.77), (9, 1, 1, 4, 4, "ES", 2.15),
    (9, 1, 1, 5, None, "SUS", None),
    (9, 2, 2, 0, 0, "S", None), (9, 2, 2, 1, 1, "SD", 0.52), (9, 2, 2, 2, 2, "SD", 1.59),
    (9, 2, 2, 3, 3, "SD", 2.66), (9, 2, 2, 4, 4, "SD", 3.73), (9, 2, 2, 5, None, "SUS", None),
    (9, 3, 3, 0, 6, "D", None), (9, 4, None, 0, 5, "DE", None),
    (12, 0, 0, 0, 6, "E", None), (12, 0, 0, 7, None, "SUS", None),
    (12, 1, 1, 0, 5, "E", None), (12, 1, 1, 6, 6, "ES", 1.24),
    (12, 1, 1, 7, None, "SUS", None),
    (12, 2, 2, 0, 6, "S", None), (12, 2, 2, 7, None, "SUS", None),
    (12, 3, 4, 0, 9, "D", None), (12, 5, None, 0, 7, "DE", None),
    (15, 0, 0, 0, 7, "E", None), (15, 0, 0, 8, None, "SUS", None),
    (15, 1, 1, 0, 7, "E", None), (15, 1, 1, 8, None, "SUS", None),
    (15, 2, 2, 0, 2, "E", None), (15, 2, 2, 3, 3, "ES", 1.14), (15, 2, 2, 4, 4, "ES", 2.31),
    (15, 2, 2, 5, 5, "ES", 3.48), (15, 2, 2, 6, 6, "ES", 4.65), (15, 2, 2, 7, 7, "ES", 5.82),
    (15, 2, 2, 8, None, "SUS", None),
    (15, 3, 3, 0, 2, "S", None), (15, 3, 3, 3, 3, "SD", 1.16), (15, 3, 3, 4, 4, "SD", 2.34),
    (15, 3, 3, 5, 5, "SD", 3.53), (15, 3, 3, 6, 6, "SD", 4.72), (15, 3, 3, 7, 7, "SD", 5.90),
    (15, 3, 3, 8, None, "SUS", None),
    (15, 4, 5, 0, 11, "D", None), (15, 6, None, 0, 9, "DE", None),
]  # fmt: skip

TABLE_S1 = [  # target 0.3
    (3, 0, 0, 0, 1, "E", None), (3, 0, 0, 2, None, "SUS", None),
    (3, 1, 1, 0, 0, "S", None), (3, 1, 1, 1, 1, "SD", 0.88), (3, 1, 1, 2, None, "SUS", None),
    (3, 2, 2, 0, 1, "D", None), (3, 3, 3, 0, 0, "DE", None),
    (6, 0, 0, 0, 3, "E", None), (6, 0, 0, 4, None, "SUS", None),
    (6, 1, 1, 0, 1, "E", None), (6, 1, 1, 2, 2, "ES", 0.60), (6, 1, 1, 3, 3, "ES", 1.96),
    (6, 1, 1, 4, None, "SUS", None),
    (6, 2, 2, 0, 0, "S", None), (6, 2, 2, 1, 1, "SD", 0.73), (6, 2, 2, 2, 2, "SD", 1.80),
    (6, 2, 2, 3, 3, "SD", 2.87), (6, 2, 2, 4, None, "SUS", None),
    (6, 3, 3, 0, 3, "D", None), (6, 4, None, 0, 2, "DE", None),
    (9, 0, 0, 0, 4, "E", None), (9, 0, 0, 5, None, "SUS", None),
    (9, 1, 1, 0, 4, "E", None), (9, 1, 1, 5, None, "SUS", None),
    (9, 2, 2, 0, 0, "E", None), (9, 2, 2, 1, 1, "ES", 0.59), (9, 2, 2, 2, 2, "ES", 1.65),
    (9, 2, 2, 3, 3, "ES", 2.71), (9, 2, 2, 4, 4, "ES", 3.77), (9, 2, 2, 5, None, "SUS", None),
    (9, 3, 3, 0, 0, "S", None), (9, 3, 3, 1, 1, "SD", 0.58), (9, 3, 3, 2, 2, "SD", 1.65),
    (9, 3, 3, 3, 3, "SD", 2.72), (9, 3, 3, 4, 4, "SD", 3.79), (9, 3, 3, 5, None, "SUS", None),
    (9, 4, 4, 0, 5, "D", None), (9, 5, None, 0, 4, "DE", None),
    (12, 0, 0, 0, 6, "E", None), (12, 0, 0, 7, None, "SUS", None),
    (12, 1, 1, 0, 6, "E", None), (12, 1, 1, 7, None, "SUS", None),
    (12, 2, 2, 0, 3, "E", None), (12, 2, 2, 4, 4, "ES", 1.33), (12, 2, 2, 5, 5, "ES", 2.72),
    (12, 2, 2, 6, 6, "ES", 4.11), (12, 2, 2, 7, None, "SUS", None),
    (12, 3, 3, 0, 6, "S", None), (12, 3, 3, 7, None, "SUS", None),
    (12, 4, 4, 0, 0, "S", None), (12, 4, 4, 1, 1, "SD", 0.43), (12, 4, 4, 2, 2, "SD", 1.50),
    (12, 4, 4, 3, 3, "SD", 2.57), (12, 4, 4, 4, 4, "SD", 3.65), (12, 4, 4, 5, 5, "SD", 4.72),
    (12, 4, 4, 6, 6, "SD", 5.79), (12, 4, 4, 7, None, "SUS", None),
    (12, 5, 6, 0, 7, "D", None), (12, 7, None, 0, 5, "DE", None),
    (15, 0, 0, 0, 7, "E", None), (15, 0, 0, 8, None, "SUS", None),
    (15, 1, 1, 0, 7, "E", None), (15, 1, 1, 8, None, "SUS", None),
    (15, 2, 2, 0, 5, "E", None), (15, 2, 2, 6, 6, "ES", 0.35), (15, 2, 2, 7, 7, "ES", 2.07),
    (15, 2, 2, 8, None, "SUS", None),
    (15, 3, 3, 0, 1, "E", None), (15, 3, 3, 2, 2, "ES", 0.11), (15, 3, 3, 3, 3, "ES", 1.29),
    (15, 3, 3, 4, 4, "ES", 2.46), (15, 3, 3, 5, 5, "ES", 3.64), (15, 3, 3, 6, 6, "ES", 4.81),
    (15, 3, 3, 7, 7, "ES", 5.98), (15, 3, 3, 8, None, "SUS", None),
    (15, 4, 4, 0, 7, "S", None), (15, 4, 4, 8, None, "SUS", None),
    (15, 5, 5, 0, 0, "S", None), (15, 5, 5, 1, 1, "SD", 0.28), (15, 5, 5, 2, 2, "SD", 1.35),
    (15, 5, 5, 3, 3, "SD", 2.42), (15, 5, 5, 4, 4, "SD", 3.50), (15, 5, 5, 5, 5, "SD", 4.57),
    (15, 5, 5, 6, 6, "SD", 5.64), (15, 5, 5, 7, 7, "SD", 6.72), (15, 5, 5, 8, None, "SUS", None),
    (15, 6, 7, 0, 9, "D", None), (15, 8, None, 0, 7, "DE", None),
]  # fmt: skip

TABLES = {0.2: TABLE_1, 0.3: TABLE_S1}
D = 5  # level 1 (index 0): 3 complete patients without DLT; the current dose is level 2


def _cells(table) -> list[tuple[int, int, int, str, float | None]]:
    """Every attainable (n, y, c) state a table row covers, with its decision."""
    out = []
    for n, y_lo, y_hi, c_lo, c_hi, dec, b in table:
        for y in range(y_lo, (n if y_hi is None else y_hi) + 1):
            for c in range(c_lo, (n - y if c_hi is None else c_hi) + 1):
                if y + c <= n:
                    out.append((n, y, c, dec, b))
    return out


def _states(cells: list[tuple[int, int, int, float]]) -> bd.DoseData:
    """One trial per ``(n, y, c, stft)``: 3 complete DLT-free patients at level 1, then at
    level 2 ``y`` DLTs, ``n - y - c`` complete without DLT and ``c`` pending patients with
    equal follow-up fractions summing to ``stft``."""
    T, P = len(cells), 3 + max(c[0] for c in cells)
    dose = np.full((T, P), -1, dtype=np.int64)
    dlt = np.zeros((T, P), dtype=np.int64)
    w = np.ones((T, P))
    for t, (n, y, c, stft) in enumerate(cells):
        dose[t, : 3 + n] = [0] * 3 + [1] * n
        dlt[t, 3 : 3 + y] = 1
        if c:
            w[t, 3 + n - c : 3 + n] = stft / c
    cnt = np.zeros((T, D), dtype=np.int64)
    cnt[:, 0] = 3
    cnt[:, 1] = [c[0] for c in cells]
    y = np.zeros((T, D), dtype=np.int64)
    y[:, 1] = [c[1] for c in cells]
    z = np.zeros(T, dtype=np.int64)
    return bd.DoseData(cnt, y, np.ones(T, dtype=np.int64), z, z, z, dose, dlt, w)


def _move(design: bd.BOIN, data: bd.DoseData) -> list[str]:
    dec = design.decide(data)
    elim = design.eliminated(data)[:, 1]
    sus = design.suspends_accrual(data)
    out = []
    for t in range(data.n_trials):
        nxt = int(dec.next_dose[t])
        m = {2: "E", 1: "S", 0: "D"}[nxt]
        if m == "D" and elim[t]:
            m = "DE"
        if sus[t]:
            m = "SUS"  # the calendar driver doses nobody while suspended
        out.append(m)
    return out


def _lambdas(phi: float) -> tuple[float, float]:  # Liu & Yuan (2015), independently
    p1, p2 = 0.6 * phi, 1.4 * phi
    le = math.log((1 - p1) / (1 - phi)) / math.log(phi * (1 - p1) / (p1 * (1 - phi)))
    ld = math.log((1 - phi) / (1 - p2)) / math.log(p2 * (1 - phi) / (phi * (1 - p2)))
    return le, ld


def _boundary(phi: float, n: int, y: int, c: int, kind: str) -> float:
    """The STFT at which the single-mean-imputation estimate (Yuan et al. 2018, appendix:
    p~ = (y + phi/2) / (n - c + 1), p^ = (y + p~/(1-p~) (c - STFT)) / n) meets lambda_e
    (kind "ES") or lambda_d ("SD"), computed here independently of bayes_dose."""
    le, ld = _lambdas(phi)
    lam = le if kind == "ES" else ld
    pt = (y + phi / 2) / (n - c + 1)
    return c - (lam * n - y) * (1 - pt) / pt


def test_tables_cover_every_state() -> None:
    """The transcription covers each attainable (n, y, c) at n = 3..15 exactly once."""
    for table in TABLES.values():
        cells = _cells(table)
        keys = [(n, y, c) for n, y, c, _, _ in cells]
        assert len(keys) == len(set(keys))
        assert set(keys) == {(n, y, c) for n in (3, 6, 9, 12, 15) for y in range(n + 1)
                             for c in range(n - y + 1)}  # fmt: skip


@pytest.mark.parametrize("phi", [0.2, 0.3], ids=["Table1_target0.2", "TableS1_target0.3"])
def test_published_stft_boundaries(phi) -> None:
    """Every STFT boundary of the tables is the imputation formula's, to the 2 published
    decimals."""
    for n, y, c, dec, b in _cells(TABLES[phi]):
        if b is not None:
            assert round(_boundary(phi, n, y, c, dec), 2) == pytest.approx(b, abs=1e-9), (n, y, c)


@pytest.mark.parametrize("phi", [0.2, 0.3], ids=["Table1_target0.2", "TableS1_target0.3"])
def test_published_decision_table(phi) -> None:
    """bd.BOIN(phi, tite_window=21) decides every entry of the published table: constant
    entries at STFT 0, c/2 and just below c; boundary entries 0.01 either side of the
    published boundary (the exact one lies within 0.005 of it)."""
    design = bd.BOIN(phi, D, max_n=60, tite_window=21)
    cells, want = [], []
    for n, y, c, dec, b in _cells(TABLES[phi]):
        if b is None:
            for s in sorted({0.0, c / 2, c * 0.999}) if c else [0.0]:
                cells.append((n, y, c, s))
                want.append(dec)
        else:
            lo, hi = ("S", "E") if dec == "ES" else ("D", "S")
            for s, m in ((b - 0.01, lo), (b + 0.01, hi)):
                if 0 <= s < c:
                    cells.append((n, y, c, s))
                    want.append(m)
    got = _move(design, _states(cells))
    bad = [(cell, w, g) for cell, w, g in zip(cells, want, got, strict=True) if w != g]
    assert not bad, f"{len(bad)} of {len(cells)} entries differ, e.g. {bad[:6]}"


def test_seen_dlts_below_target_never_deescalate_on_imputation() -> None:
    """Table 1, 6 patients with 1 DLT and 3 pending just dosed (STFT 0): the imputed rate
    (1 + 0.379 * 3) / 6 = 0.356 exceeds lambda_d = 0.238, yet the table says stay, because
    1/6 is below the target 0.2."""
    phi = 0.2
    _, ld = _lambdas(phi)
    pt = (1 + phi / 2) / (6 - 3 + 1)
    assert (1 + pt / (1 - pt) * 3) / 6 > ld
    data = _states([(6, 1, 3, 0.0)])
    design = bd.BOIN(phi, D, tite_window=21)
    assert int(design.decide(data).next_dose[0]) == 1
    assert not design.suspends_accrual(data)[0]  # 3 of 6 pending is not more than half
    c, stft = tite_boin.pending_at_current(data)
    assert (int(c[0]), float(stft[0])) == (3, 0.0)


@pytest.mark.parametrize("phi", [0.2, 0.3])
def test_no_pending_is_the_boin_table(phi) -> None:
    """The c = 0 entries are plain BOIN's (get.boundary) decisions, and bd.BOIN without a
    window decides them identically."""
    cells = [(n, y, 0, 0.0) for n, y, c, _, _ in _cells(TABLES[phi]) if c == 0]
    data = _states(cells)
    plain, tite = bd.BOIN(phi, D, max_n=60), bd.BOIN(phi, D, max_n=60, tite_window=21)
    for f in ("next_dose", "cohort_size", "stop", "reason"):
        np.testing.assert_array_equal(getattr(plain.decide(data), f),
                                      getattr(tite.decide(data), f))  # fmt: skip


def test_fit_holds_while_accrual_is_suspended() -> None:
    """Real data in the table's "Suspend accrual" cell (Table 1: 3 treated at level 2, no
    DLT, 2 pending -- more than half): fit() gives no next cohort and says why; one pending
    patient (E in the table) escalates."""
    import pandas as pd

    def frame(fu):
        return pd.DataFrame({"patient_id": [f"P{i}" for i in range(6)], "arm": "mono",
                             "dose_level": [1] * 3 + [2] * 3, "dlt": [0] * 6,
                             "cohort": [1, 1, 1, 2, 2, 2], "followup_days": fu})  # fmt: skip

    design = bd.BOIN(0.2, D, tite_window=21)
    fit = design.fit(bd.Outcomes.from_frame(frame([21] * 4 + [6, 3])))
    assert fit.hold and fit.next_dose is None and fit.cohort_size is None and not fit.stop
    assert fit.pending == ("P4", "P5")
    assert "suspend" in fit.reason and "2 of 3 patients at level 2 pending" in fit.reason
    ok = design.fit(bd.Outcomes.from_frame(frame([21] * 5 + [3])))
    assert not ok.hold and ok.next_dose == 3 and ok.pending == ("P5",)
