"""Make the SYNTHETIC BAT6021 PK and ADA listings bundled with bayes_dose (seeded).

    python tools/make_bat6021_listings.py            # rewrites src/bayes_dose/data/bat6021_{pc,ada}.csv

Subjects, arms and doses are those of ``src/bayes_dose/data/bat6021_example.csv``.
Nothing here is trial data: every row carries ``SYNTHFL = Y`` (synthetic-data flag).

Model (IV infusion every 3 weeks, tau = 504 h; concentrations in ug/mL):

* exposure saturates with dose (Emax type): the cycle-1 peak of a typical subject is
  ``EMAX * dose / (ED50 + dose)`` with EMAX = 150 ug/mL and ED50 = 30 mg, so 90 % of the
  maximal exposure is reached at 9 * ED50 = 270 mg (the 300 mg level is the plateau);
* one-compartment decline, half-life 150 h x exp(N(0, 0.2^2)) between subjects, doses
  superposed over cycles (accumulation ratio about 1.1); peak between-subject variability
  exp(N(0, 0.25^2)); 10 % proportional residual error; LLOQ 0.5 ug/mL;
* sampling: cycles 1 and 6 rich (pre-dose, 1, 2, 4, 24, 72, 168, 336, 504 h; the 504 h
  sample is drawn just before the next dose and recorded once, in the cycle it ends),
  cycles 2-5 sparse (pre-dose from cycle 3 on, and 1 h = end of infusion);
* about 1 % of post-dose samples are "not measured" (blank AVAL, BLQFL = N);
* cycles received: 2 for a subject with a DLT, otherwise 3, 4 or 6 (most 6);
* ADA: pre-existing (baseline-positive) in about 10 % of subjects; treatment-induced
  incidence falling with dose (tolerance at high doses); a treatment-induced ADA lowers
  the concentrations of the cycles from its onset by 40 %; NAb in about half of the
  ADA-positive subjects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "bayes_dose" / "data"
SEED = 20261206
EMAX, ED50 = 150.0, 30.0
TAU, HALF_LIFE, LLOQ = 504.0, 150.0, 0.5
RICH = (0.0, 1.0, 2.0, 4.0, 24.0, 72.0, 168.0, 336.0, 504.0)


def _cycles(rng: np.random.Generator, dlt: int) -> int:
    return 2 if dlt else int(rng.choice([3, 4, 6, 6, 6, 6]))


def _ada_rate(dose: float) -> float:
    return 0.45 if dose <= 10 else (0.25 if dose <= 100 else 0.1)


def make(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cohort = pd.read_csv(DATA / "bat6021_example.csv", dtype={"patient_id": str})
    pc_rows, ada_rows = [], []
    for _, s in cohort.iterrows():
        sid, arm, dose = s["patient_id"], s["arm"], float(s["dose_mg"])
        n_cyc = _cycles(rng, int(s["dlt"]))
        # -- ADA course: visits = pre-dose of cycles 1..n_cyc and end of treatment
        visits = list(range(1, n_cyc + 2))
        pre_existing = rng.random() < 0.1
        base_titre = float(rng.choice([20, 40, 80])) if pre_existing else np.nan
        induced = rng.random() < _ada_rate(dose)
        onset = int(rng.integers(2, n_cyc + 2)) if induced else None
        persistent = induced and rng.random() < 0.6
        nab = induced and rng.random() < 0.5
        boosted = pre_existing and rng.random() < 0.5
        for v in visits:
            day = (v - 1) * 21 + 1
            if v == 1:
                pos, titre = pre_existing, base_titre
            elif induced and v >= onset and (persistent or v == onset):
                pos = True
                titre = float(rng.choice([40, 80, 160, 320, 640]))
                if pre_existing:
                    titre = max(titre, base_titre * (8 if boosted else 1))
            elif pre_existing:
                pos = True
                titre = base_titre * (8 if boosted and v >= 3 else 1)
            else:
                pos, titre = False, np.nan
            ada_rows.append({
                "USUBJID": sid, "ARM": arm, "DOSE": dose, "CYCLE": v,
                "BASEFL": "Y" if v == 1 else "N", "ADY": day,
                "ADA": "POSITIVE" if pos else "NEGATIVE",
                "TITRE": titre if pos else np.nan,
                "NAB": ("POSITIVE" if (nab and v >= (onset or 99)) else "NEGATIVE") if pos else "",
                "SYNTHFL": "Y",
            })  # fmt: skip
        # -- PK: superposed one-compartment profiles
        k = np.log(2) / (HALF_LIFE * np.exp(rng.normal(0, 0.2)))
        peak = EMAX * dose / (ED50 + dose) * np.exp(rng.normal(0, 0.25))

        def conc(c: int, t: float, k=k, peak=peak, onset=onset) -> float:
            past = np.arange(c)  # doses 0..c-1 given at (j * TAU)
            x = peak * np.exp(-k * (t + (c - 1 - past) * TAU)).sum() if t >= 0 else 0.0
            if c > 1 and t < 0:  # pre-dose of cycle c: residual of the doses before it
                x = peak * np.exp(-k * (t + (c - 1 - np.arange(c - 1)) * TAU)).sum()
            if onset is not None and c >= onset:
                x *= 0.6
            return float(x)

        for c in range(1, n_cyc + 1):
            if c in (1, 6):
                times = RICH
            else:
                times = (1.0,) if c == 2 else (0.0, 1.0)
            for tn in times:
                if tn == 0.0:
                    ta = -round(float(rng.uniform(0.1, 1.0)), 2)
                elif tn == 1.0:
                    ta = round(1.0 + float(rng.uniform(0.0, 0.15)), 2)
                elif tn == TAU:
                    ta = round(TAU - float(rng.uniform(0.2, 2.0)), 2)
                else:
                    ta = round(tn * (1 + float(rng.uniform(-0.03, 0.03))), 2)
                true = conc(c, ta)
                obs = true * np.exp(rng.normal(0, 0.1)) if true > 0 else 0.0
                blq = obs < LLOQ
                missed = tn > 0 and rng.random() < 0.01  # a sample not measured (lost)
                pc_rows.append({
                    "USUBJID": sid, "ARM": arm, "DOSE": dose, "CYCLE": c,
                    "NRRLT": tn, "ARRLT": ta,
                    "AVAL": "" if (blq or missed) else f"{obs:.4g}",
                    "BLQFL": "Y" if (blq and not missed) else "N", "LLOQ": LLOQ, "AVALU": "ug/mL",
                    "TAU": TAU, "SYNTHFL": "Y",
                })  # fmt: skip
    return pd.DataFrame(pc_rows), pd.DataFrame(ada_rows)


def main() -> None:
    pc, ada = make()
    pc.to_csv(DATA / "bat6021_pc.csv", index=False)
    ada.to_csv(DATA / "bat6021_ada.csv", index=False)
    print(f"wrote {len(pc)} PK and {len(ada)} ADA rows to {DATA}")


if __name__ == "__main__":
    main()
