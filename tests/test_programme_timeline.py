"""bd.Programme in calendar time (timeline=, opens_after): both arms run in days; Part II
opens when Part I's last DLT window completes; programme duration = Part I's duration +
the wait for Part II's first dose + Part II's duration."""

import numpy as np

import bayes_dose as bd
from bayes_dose.programme import arm_seed

PROTO = bd.protocols.bat6021()
TL = bd.Timeline(accrual_per_month=4.0)
M_CURVE = [0.02, 0.04, 0.06, 0.1, 0.2, 0.3, 0.45, 0.6]
C_CURVE = [0.1, 0.2, 0.3, 0.45, 0.6]
VARS = ["n", "dlt", "selected", "stop_reason", "n_patients", "duration_days",
        "patient_dose_day"]  # fmt: skip


def _eq(a, b):
    for v in VARS:
        x, z = a[v].to_numpy(), b[v].to_numpy()
        if x.ndim and x.shape != z.shape:  # patient width
            w = min(x.shape[-1], z.shape[-1])
            x, z = x[..., :w], z[..., :w]
        np.testing.assert_array_equal(x, z, err_msg=v)


def _outcomes(n, y):
    toks = [f"{i + 1}" + "T" * int(y[i]) + "N" * int(n[i] - y[i]) for i in range(len(n)) if n[i]]
    return bd.Outcomes.parse(" ".join(toks), arm="mono")


def test_calendar_programme_equals_arms_and_duration_adds_up():
    mono_d = bd.BLRM(PROTO.arm("mono").doses_mg, reference_dose=300, max_n=12)
    combo_b = bd.CombinationBLRM(mono=mono_d, doses=PROTO.arm("combo").doses_mg,
                                 grid=(7, 7, 15, 25), max_n=9, method="grid")  # fmt: skip
    mono = {"BLRM": mono_d, "3+3": bd.ThreePlusThree(8)}
    combo = {"BLRM": combo_b, "3+3": bd.ThreePlusThree(5)}
    prog = bd.Programme(arms={"mono": mono, "combo": combo}, opens=bd.opens_after("mono"))
    ds = prog.simulate({"mono": M_CURVE, "combo": C_CURVE}, n_trials=3, seed=2, timeline=TL,
                       protocol=PROTO)  # fmt: skip
    m, c = bd.arm_view(ds, "mono"), bd.arm_view(ds, "combo")
    _eq(m, bd.simulate(mono, M_CURVE, n_trials=3, seed=2, timeline=TL, protocol=PROTO,
                       progress=False))  # fmt: skip
    ref = bd.simulate({"3+3": combo["3+3"]}, C_CURVE, n_trials=3, seed=arm_seed(2, 1),
                      timeline=TL, protocol=PROTO, progress=False)  # fmt: skip
    _eq(c.sel(design=["3+3"]), ref)
    mb = m.sel(design="BLRM", scenario="true_tox")
    for t in range(3):  # the borrowing design: trial t borrows trial t's final Part I counts
        fixed = combo_b.replace(mono_data=_outcomes(mb["n"][t].values, mb["dlt"][t].values))
        r = bd.simulate({"BLRM": fixed}, C_CURVE, n_trials=t + 1, seed=arm_seed(2, 1),
                        timeline=TL, protocol=PROTO, progress=False)  # fmt: skip
        _eq(c.sel(design=["BLRM"]).isel(trial=[t]), r.isel(trial=[t]))
    for g in combo:
        s = prog.source[g]
        first = c["patient_dose_day"].sel(design=g).min("patient").fillna(0).to_numpy()
        want = (m["duration_days"].sel(design=s).to_numpy() + first
                + c["duration_days"].sel(design=g).to_numpy())  # fmt: skip
        np.testing.assert_array_equal(ds["programme_duration_days"].sel(design=g).to_numpy(), want)
    oc = bd.operating_characteristics(ds, target=0.25)
    np.testing.assert_allclose(oc["programme_mean_duration_months"].to_numpy(),
                               ds["programme_duration_days"].mean("trial").to_numpy() / 30.4375)  # fmt: skip
