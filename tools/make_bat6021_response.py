"""Make the bundled SYNTHETIC tumour-response listing src/bayes_dose/data/bat6021_response.csv.

Not trial data.  Subjects, arms and doses of the escalation part are those of
src/bayes_dose/data/bat6021_example.csv; four combination expansion cohorts (tumour types,
20 subjects each) are added at 100 mg BAT6021 + tislelizumab 200 mg (the combination 3+3
MTD of the example).  Each subject gets a baseline sum of target-lesion diameters and a
smooth trajectory of % change; every overall response is derived from it with the RECIST
1.1 thresholds (CR: all target lesions gone; PR: <= -30 % from baseline; PD: >= +20 % and
>= 5 mm above the nadir), so the listing is internally consistent.  A few visits are
not evaluable (NE, no measurement).  Imaging every 6 weeks (day 43, 85, ...) to week 48,
then every 9 weeks, +/- 3 days, until progression or the end of follow-up; one further
scan after progression is kept for some subjects (the reader lists it as excluded).

Run:  python tools/make_bat6021_response.py [out.csv]   (seeded: the output is reproducible)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 6021
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src/bayes_dose/data/bat6021_example.csv"
OUT = ROOT / "src/bayes_dose/data/bat6021_response.csv"

# true response probabilities (made up): monotherapy rises to 300 mg then plateaus
MONO_ORR = {1: 0.0, 3: 0.0, 10: 0.0, 30: 0.05, 100: 0.15, 300: 0.25, 600: 0.25}
COMBO_ORR = {30: 0.15, 100: 0.30, 300: 0.30}
EXPANSION = {"NSCLC": 0.40, "HNSCC": 0.30, "HCC": 0.20, "gastric": 0.10}
N_EXPANSION = 20
EXPANSION_DOSE = 100.0


def visit_days(n: int, rng: np.random.Generator) -> list[int]:
    nominal = [1 + 42 * k for k in range(1, 9)]  # every 6 weeks to week 48
    nominal += [nominal[-1] + 63 * k for k in range(1, 8)]  # then every 9 weeks
    return [d + int(rng.integers(-3, 4)) for d in nominal[:n]]


def trajectory(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """% change from baseline at each scan for a responder / stable / progressor."""
    t = np.arange(1, n + 1)
    if kind == "cr":
        depth = -100.0
        path = np.minimum(depth * (1 - np.exp(-t / 1.2)) * 1.15, 0)
        path = np.maximum(path, -100.0)
        path[t >= 3] = -100.0
    elif kind == "pr":
        depth = rng.uniform(-70, -35)
        path = depth * (1 - np.exp(-t / 1.0))
        lose = int(rng.integers(4, 9))  # response lost after a while
        path = np.where(t > lose, path + 30.0 * (t - lose), path)
    elif kind == "pr_unconfirmed":
        path = np.array([rng.uniform(-45, -32)] + [rng.uniform(-5, 10)] * (n - 1))
        path[1:] = path[0] + 45.0  # regrowth: PD at the second scan
    elif kind == "sd":
        base = rng.uniform(-25, 10)
        grow = int(rng.integers(2, 7))
        path = base + np.where(t > grow, 12.0 * (t - grow), 0.0)
    else:  # early progression
        path = rng.uniform(22, 45) + 10.0 * (t - 1)
    return path


def recist(pct: np.ndarray, base: float) -> tuple[list[str], list[float]]:
    """Overall response per scan from % change (target lesions only), up to and after PD."""
    sods = base * (1 + pct / 100.0)
    sods = np.round(np.maximum(sods, 0.0), 0)
    out, nadir = [], base
    for s in sods:
        if s >= 1.2 * nadir and s - nadir >= 5:
            out.append("PD")
        elif s == 0:
            out.append("CR")
        elif s <= 0.7 * base:
            out.append("PR")
        else:
            out.append("SD")
        nadir = min(nadir, s)
    return out, list(sods)


def subject_rows(sid, arm, dose, cohort, p_resp, n_scans, rng, extra_after_pd):
    base = float(rng.integers(30, 121))
    u = rng.random()
    if u < p_resp:
        kind = "cr" if rng.random() < 0.15 else "pr"
    elif u < p_resp + 0.04:
        kind = "pr_unconfirmed"
    elif u < p_resp + 0.04 + 0.45:
        kind = "sd"
    else:
        kind = "pd"
    days = visit_days(n_scans, rng)
    resp, sods = recist(trajectory(kind, n_scans, rng), base)
    rows = [(sid, arm, dose, cohort, int(rng.integers(-14, 1)), "", base)]
    seen_pd = False
    for d, r, s in zip(days, resp, sods, strict=True):
        if seen_pd:
            if extra_after_pd:  # one more scan after progression, then stop
                rows.append((sid, arm, dose, cohort, d, r, s))
            break
        if r != "PD" and rng.random() < 0.04:
            rows.append((sid, arm, dose, cohort, d, "NE", np.nan))
            continue
        rows.append((sid, arm, dose, cohort, d, r, s))
        seen_pd = r == "PD"
    return rows


def main(out: Path = OUT) -> None:
    rng = np.random.default_rng(SEED)
    ex = pd.read_csv(EXAMPLE)
    rows = []
    for r in ex.itertuples():
        p = (MONO_ORR if r.arm == "mono" else COMBO_ORR)[float(r.dose_mg)]
        n_scans = int(rng.integers(2, 13))
        rows += subject_rows(r.patient_id, r.arm, float(r.dose_mg), "escalation", p, n_scans,
                             rng, extra_after_pd=rng.random() < 0.3)  # fmt: skip
    k = 0
    for cohort, p in EXPANSION.items():
        for _ in range(N_EXPANSION):
            k += 1
            n_scans = int(rng.integers(2, 9))
            rows += subject_rows(f"E{k:03d}", "combo", EXPANSION_DOSE, cohort, p, n_scans, rng,
                                 extra_after_pd=rng.random() < 0.2)  # fmt: skip
    # two deliberate edge cases (documented in tests/test_response.py):
    # E081 (HCC): SD on day 29 only (too early for SD), then lost -> NE
    # E082 (gastric): no post-baseline assessment -> NE
    rows += [("E081", "combo", EXPANSION_DOSE, "HCC", -3, "", 64.0),
             ("E081", "combo", EXPANSION_DOSE, "HCC", 29, "SD", 60.0),
             ("E082", "combo", EXPANSION_DOSE, "gastric", -5, "", 88.0)]  # fmt: skip
    df = pd.DataFrame(rows, columns=["USUBJID", "ARM", "DOSE", "COHORT", "ADY", "OVRLRESP", "SUMDIAM"])
    df.insert(0, "STUDYID", "SYNTHETIC-BAT6021")
    df["DOSE"] = df["DOSE"].map(lambda v: f"{v:g}")
    df["SUMDIAM"] = df["SUMDIAM"].map(lambda v: "" if np.isnan(v) else f"{v:g}")
    df.to_csv(out, index=False)
    print(f"wrote {out} ({len(df)} rows, {df.USUBJID.nunique()} subjects)")


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
