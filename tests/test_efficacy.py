"""Efficacy in the data (Outcomes ``response``) and in simulation (Gaussian copula).

Monte Carlo checks state their tolerance: 4 standard errors of a proportion.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.crn import latent_uniforms
from bayes_dose.efficacy import (
    check_correlation,
    joint_probabilities,
    marginals_from_joint,
    response_uniforms,
)

CURVE = [0.05, 0.15, 0.3, 0.45, 0.6]
EFF = [0.1, 0.3, 0.5, 0.6, 0.6]


# -- data ---------------------------------------------------------------------------------------
def test_parse_letters():
    out = bd.Outcomes.parse("1NEN 2BTE 2?")
    f = out.to_frame()
    assert f["dlt"].tolist()[:6] == [0, 0, 0, 1, 1, 0]
    assert f["response"].tolist()[:6] == [0, 1, 0, 1, 0, 1]
    assert f["response"].isna().tolist()[-1] and f["dlt"].isna().tolist()[-1]
    c = out.counts()
    assert c["resp"].tolist() == [1, 2] and c["resp_unassessed"].tolist() == [0, 1]
    assert not bd.Outcomes.parse("1NNT").has_response
    assert "response" not in bd.Outcomes.parse("1NNT").to_frame().columns
    with pytest.raises(ValueError, match="T/N/E/B/"):
        bd.Outcomes.parse("1NX")


def test_csv_round_trip_and_bad_cells(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("patient_id,arm,dose_level,dlt,response\n01,mono,1,0,1\n02,mono,1,1,\n"
                 "03,mono,2,0,0\n")  # fmt: skip
    out = bd.Outcomes.read_csv(p)
    assert out.to_frame()["response"].tolist()[:1] == [1]
    assert out.unassessed() == ("02",)
    q = tmp_path / "e.csv"
    out.to_csv_frame().to_csv(q, index=False)
    assert bd.Outcomes.read_csv(q) == out
    for bad in ("2", "yes", "NA", "1.5"):
        p.write_text(f"patient_id,arm,dose_level,dlt,response\n01,mono,1,0,1\n02,mono,1,0,{bad}\n")
        with pytest.raises(ValueError, match=r"line 3 \(patient_id='02'\) field 'response'"):
            bd.Outcomes.read_csv(p)


def test_from_frame_and_from_counts():
    df = pd.DataFrame({"patient_id": ["a", "b", "c"], "arm": "mono", "dose_level": [1, 1, 2],
                       "dlt": [0, 1, 0], "response": [True, 0, np.nan]})  # fmt: skip
    out = bd.Outcomes.from_frame(df)
    assert out.counts()["resp"].tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"row 1 \(patient_id='b'\) field 'response': 3"):
        bd.Outcomes.from_frame(df.assign(response=[1, 3, 0]))
    c = bd.Outcomes.from_counts([3, 3], [0, 1], resp=[2, 3]).counts()
    assert c["resp"].tolist() == [2, 3]
    with pytest.raises(ValueError, match=r"level 2 field 'resp': 4 is not in 0\.\.3"):
        bd.Outcomes.from_counts([3, 3], [0, 1], resp=[2, 4])


def test_response_of_a_patient_not_yet_evaluable_is_an_error():
    proto = bd.examples.bat6021()
    arm = proto.arms[0]
    df = pd.DataFrame({"patient_id": ["a", "b"], "arm": arm.name, "dose_level": 1,
                       "dlt": [0, 0], "followup_days": [proto.dlt_window_days, 3],
                       "response": [1, 0]})  # fmt: skip
    with pytest.raises(ValueError, match=r"row 1 \(patient_id='b'\) field 'response'.*not yet "
                                         "evaluable"):  # fmt: skip
        bd.Outcomes.from_frame(df, protocol=proto)
    ok = bd.Outcomes.from_frame(df.assign(response=[1, None]), protocol=proto)
    assert ok.unassessed() == ("b",)


def test_dosedata_and_memo_table_carry_responses():
    out = bd.Outcomes.parse("1NEN 2BTE")
    data = bd.DoseData.from_outcomes(out, 3)
    assert data.resp.tolist() == [[1, 2, 0]] and data.resp_dlt.tolist() == [[0, 1, 0]]
    assert bd.DoseData.from_outcomes(bd.Outcomes.parse("1NNN"), 2).resp is None
    from bayes_dose.report import _counts_table

    t = _counts_table(out, "mono", 3)
    assert t["Responses"].tolist() == [1, 2, 0]


# -- the copula ---------------------------------------------------------------------------------
def test_joint_probabilities_margins_and_independence():
    j = joint_probabilities(CURVE, EFF, 0.4)
    assert np.allclose(j.sum(axis=1), 1)
    pt, pe = marginals_from_joint(j)
    assert np.allclose(pt, CURVE) and np.allclose(pe, EFF)
    j0 = joint_probabilities(CURVE, EFF, 0.0)
    assert np.allclose(j0[:, 2], np.multiply(CURVE, EFF))
    # positive correlation: more "both" than under independence, less under negative
    assert (j[:, 2] > j0[:, 2]).all() and (joint_probabilities(CURVE, EFF, -0.4)[:, 2]
                                          < j0[:, 2]).all()  # fmt: skip


@pytest.mark.parametrize("rho", [1, -1, 1.5, float("nan"), "0.3", True, None])
def test_bad_correlation(rho):
    with pytest.raises(ValueError, match="correlation"):
        check_correlation(rho)
    with pytest.raises(ValueError, match="correlation"):
        bd.simulate({"b": bd.BOIN(0.3, 5, max_n=9)}, CURVE, efficacy={"true_tox": EFF},
                    correlation=rho, n_trials=2, progress=False)  # fmt: skip


@pytest.mark.parametrize("eff, match", [
    ({"true_tox": [0.1, 0.2]}, "2 response probabilities for 5 dose levels"),
    ({"true_tox": [0.1, 0.2, 1.2, 0.3, 0.3]}, r"dose 3: response probability 1.2"),
    ({"true_tox": [0.1, 0.2, float("nan"), 0.3, 0.3]}, "dose 3"),
    ({"other": EFF}, "unknown scenario"),
    ({}, "no response curve"),
    ([0.1] * 5, "must be a dict"),
])  # fmt: skip
def test_bad_efficacy(eff, match):
    with pytest.raises(ValueError, match=match):
        bd.simulate({"b": bd.BOIN(0.3, 5, max_n=9)}, CURVE, efficacy=eff, n_trials=2,
                    progress=False)  # fmt: skip


def test_impossible_joint_table():
    with pytest.raises(ValueError, match=r"dose 2: cells sum to 1\.1"):
        marginals_from_joint([[0.4, 0.4, 0.1, 0.1], [0.5, 0.4, 0.1, 0.1]])
    with pytest.raises(ValueError, match="dose 1"):
        marginals_from_joint([[1.2, -0.2, 0.0, 0.0]])


def test_correlation_without_efficacy():
    with pytest.raises(ValueError, match="without efficacy"):
        bd.simulate({"b": bd.BOIN(0.3, 5, max_n=9)}, CURVE, correlation=0.3, n_trials=2,
                    progress=False)  # fmt: skip


def test_store_keeps_responses(tmp_path):
    kw = dict(n_trials=90, seed=5, progress=False, efficacy={"true_tox": EFF}, correlation=0.4,
              chunk_size=40)  # fmt: skip
    mem = bd.simulate(_designs(), CURVE, **kw)
    lazy = bd.simulate(_designs(), CURVE, store=tmp_path / "s.zarr", **kw).load()
    for v in ("resp", "patient_resp", "true_resp", "selected", "patient_dlt"):
        assert np.array_equal(mem[v].values, lazy[v].values), v
    oc = bd.operating_characteristics(lazy, target=0.3)
    ref = bd.operating_characteristics(mem, target=0.3)
    assert np.array_equal(oc.p_select_obd.values, ref.p_select_obd.values)


# -- simulation ---------------------------------------------------------------------------------
def _designs():
    return {"BOIN": bd.BOIN(0.3, 5, max_n=30), "3+3": bd.ThreePlusThree(5)}


def test_toxicity_unchanged_by_efficacy():
    base = bd.simulate(_designs(), CURVE, n_trials=400, seed=7, progress=False)
    eff = bd.simulate(_designs(), CURVE, n_trials=400, seed=7, progress=False,
                      efficacy={"true_tox": EFF}, correlation=0.5)  # fmt: skip
    for v in ("patient_dose", "patient_dlt", "n", "dlt", "selected", "stop_reason"):
        assert (base[v].values == eff[v].values).all(), v
    assert "resp" not in base and "resp" in eff
    # responses only for treated patients, and they add up per dose
    treated = eff.patient_dose.values > 0
    assert not (eff.patient_resp.values.astype(bool) & ~treated).any()
    pr, pd_ = eff.patient_resp.values, eff.patient_dose.values
    for j in range(5):
        assert ((pr * (pd_ == j + 1)).sum(axis=-1) == eff.resp.values[..., j]).all()


def test_response_is_independent_stream():
    v = response_uniforms(3, np.arange(5), 6)
    assert v.shape == (5, 6) and ((v >= 0) & (v < 1)).all()
    assert not np.isclose(v, latent_uniforms(3, np.arange(5), 6)).any()


@pytest.mark.parametrize("rho", [0.0, 0.6, -0.6])
def test_joint_frequencies_match_copula(rho):
    """Per dose, the frequencies of response and of (DLT and response) among treated
    patients are within 4 SE of the copula's probabilities."""
    p_tox, p_eff = [0.25], [0.4]
    sims = bd.simulate({"b": bd.BOIN(0.3, 1, max_n=30)}, p_tox, efficacy={"true_tox": p_eff},
                       correlation=rho, n_trials=800, seed=2, progress=False)  # fmt: skip
    treated = sims.patient_dose.values[0, 0] > 0
    r = sims.patient_resp.values[0, 0][treated]
    t = sims.patient_dlt.values[0, 0][treated]
    N = r.size
    assert N > 5000
    both = joint_probabilities(p_tox, p_eff, rho)[0, 2]
    for obs, p in ((r.mean(), p_eff[0]), ((r & t).mean(), both), (t.mean(), p_tox[0])):
        assert abs(obs - p) < 4 * np.sqrt(p * (1 - p) / N), (obs, p)


def test_oc_efficacy_quantities_and_reduction():
    kw = dict(n_trials=300, seed=4, progress=False, efficacy={"true_tox": EFF}, correlation=0.2)
    sims = bd.simulate(_designs(), CURVE, **kw)
    oc = bd.operating_characteristics(sims, target=0.3)
    # true OBD: utility 60 pE + 40 (1 - pT) (additive default) among pT <= 0.3: level 3
    assert oc.true_obd.values.tolist() == [[3], [3]]
    sel = sims.selected.values
    assert np.allclose(oc.p_select_obd.values[:, 0], (sel[:, 0] == 3).mean(axis=-1))
    assert np.allclose(oc.mean_resp.values[:, 0], sims.resp.values[:, 0].mean(axis=1))
    red = bd.simulate_oc(_designs(), CURVE, target=0.3, chunk_size=70, **kw).oc
    for v in ("p_select_obd", "mean_resp", "mean_total_resp", "p_select"):
        assert np.array_equal(red[v].values, oc[v].values), v
    plain = bd.operating_characteristics(bd.simulate(_designs(), CURVE, n_trials=50,
                                                     progress=False))  # fmt: skip
    assert "p_select_obd" not in plain and "mean_resp" not in plain


def test_chunking_and_checkpoints_keep_responses(tmp_path):
    kw = dict(n_trials=120, seed=9, progress=False, efficacy={"true_tox": EFF}, correlation=-0.3)
    a = bd.simulate(_designs(), CURVE, chunk_size=120, **kw)
    b = bd.simulate(_designs(), CURVE, chunk_size=17, checkpoint_dir=tmp_path, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = bd.simulate(_designs(), CURVE, chunk_size=17, checkpoint_dir=tmp_path, **kw)
    for v in ("resp", "patient_resp", "selected"):
        assert np.array_equal(a[v].values, b[v].values) and np.array_equal(a[v].values,
                                                                           c[v].values), v
    # another correlation is another checkpoint key
    d = bd.simulate(_designs(), CURVE, chunk_size=17, checkpoint_dir=tmp_path,
                    **{**kw, "correlation": 0.3})  # fmt: skip
    assert not np.array_equal(d.resp.values, a.resp.values)
    m = json.loads(a.attrs["manifest"])
    assert m["efficacy"]["correlation"] == -0.3 and m["efficacy"]["p_resp"]["true_tox"] == EFF
    assert "efficacy" not in json.loads(bd.simulate(_designs(), CURVE, n_trials=5,
                                                    progress=False).attrs["manifest"])


# -- tumour response (issue 15's BOR) into the cohort data --------------------------------------
def test_with_response_from_best_overall_response():
    from bayes_dose.efficacy_data import with_response
    from bayes_dose.response import best_overall_response, bundled_response_listing

    b = best_overall_response(bundled_response_listing())
    base = bd.examples.bat6021_outcomes()
    with pytest.raises(ValueError, match=r"subject\(s\) \['E001'"):
        with_response(base, b)
    out = with_response(base, b, extra="ignore")
    t = b.table.set_index("subject")
    # every escalation patient's response is 1 iff the BOR is CR or PR
    f = out.to_frame().set_index("patient_id")
    for pid, r in f["response"].items():
        assert r == int(t.loc[pid, "bor"] in ("CR", "PR")), pid
    assert out.arm("combo").counts()["resp"].tolist() == [0, 2, 4, 0, 0]
    assert out.dlt_window_days == base.dlt_window_days and out.doses_mg("mono") == base.doses_mg("mono")
    # a disagreeing dose names the subject and field; NE may be left blank
    bad = b.table[b.table.cohort == "escalation"].copy()
    bad.loc[bad.subject == "M03", "dose_mg"] = 30.0
    with pytest.raises(ValueError, match="subject 'M03' field 'dose_mg'"):
        with_response(base, bad)
    ne = b.table[b.table.cohort == "escalation"].copy()
    ne.loc[ne.subject == "M01", "bor"] = "NE"
    assert with_response(base, ne).to_frame()["response"].iat[0] == 0
    assert with_response(base, ne, not_evaluable="blank").unassessed()[0] == "M01"


# -- design specs (TOML) ----------------------------------------------------------------------
SPEC = """
protocol = "bat6021"
seed = 3
[designs.BOIN12]
type = "BOIN12"
target = 0.3
phi_e = 0.2
max_n = 24
arms = ["combo"]
[simulation]
n_trials = 30
{corr}
[simulation.scenarios.combo]
"flat" = [0.05, 0.1, 0.2, 0.3, 0.45]
{eff}
"""
EFF_TABLE = '[simulation.efficacy.combo]\n"flat" = [0.1, 0.3, 0.4, 0.4, 0.4]'


def test_spec_efficacy_simulates(tmp_path):
    from bayes_dose.cli import simulate_spec

    p = tmp_path / "s.toml"
    p.write_text(SPEC.format(corr="correlation = 0.2", eff=EFF_TABLE))
    spec = bd.io.load_spec(p)
    assert spec.efficacy("combo") == {"flat": [0.1, 0.3, 0.4, 0.4, 0.4]}
    sims = simulate_spec(spec, 3, progress=False)["combo"]
    assert sims.attrs["correlation"] == 0.2 and "resp" in sims
    direct = bd.simulate({"BOIN12": spec.designs["combo"]["BOIN12"]},
                         scenarios={"flat": [0.05, 0.1, 0.2, 0.3, 0.45]}, n_trials=30, seed=3,
                         efficacy={"flat": [0.1, 0.3, 0.4, 0.4, 0.4]}, correlation=0.2,
                         progress=False)  # fmt: skip
    assert np.array_equal(sims.selected.values, direct.selected.values)


@pytest.mark.parametrize("corr, eff, match", [
    ("correlation = 0.2", "", "correlation: given without"),
    ("correlation = 1.0", EFF_TABLE, "correlation must be in"),
    ("", EFF_TABLE.replace('"flat"', '"flta"'), "'flta': no such scenario"),
    ("", EFF_TABLE.replace("0.1, 0.3, 0.4, 0.4, 0.4", "0.1, 0.3"), "2 values for 5 dose levels"),
    ("", EFF_TABLE.replace("0.1, 0.3", "0.1, 1.3"), "response probabilities must be in"),
    ("", EFF_TABLE.replace("combo]", "comb]"), "'comb' is not an arm"),
])  # fmt: skip
def test_spec_efficacy_errors(tmp_path, corr, eff, match):
    p = tmp_path / "s.toml"
    p.write_text(SPEC.format(corr=corr, eff=eff))
    with pytest.raises(ValueError, match=match):
        bd.io.load_spec(p)


def test_memo_shows_responses_and_obd(tmp_path):
    out = bd.Outcomes.parse("1NNN 2ENN 3EEN 3ENT")
    designs = {"3+3": bd.ThreePlusThree(5), "BOIN12": bd.BOIN12(0.3, 5, 0.2, max_n=24)}
    cmp = bd.compare(designs, {"mono": out})
    sims = bd.simulate(designs, [0.05, 0.1, 0.2, 0.3, 0.45], n_trials=40, progress=False,
                       efficacy={"true_tox": [0.1, 0.3, 0.4, 0.4, 0.4]})  # fmt: skip
    files = bd.report(cmp, simulation={"mono": sims}, target=0.3).write(tmp_path / "memo")
    md = files["markdown"].read_text()
    for text in ("| Patients | DLTs | Responses |", "True response rate", "Mean responses",
                 "Correct OBD selection (%)", "True OBD (simulations with response)",
                 "OBD level 3"):  # fmt: skip
        assert text in md, text
    tox_only = bd.simulate({"3+3": designs["3+3"]}, [0.05, 0.1, 0.2, 0.3, 0.45], n_trials=20,
                           progress=False)  # fmt: skip
    plain = bd.report(cmp, simulation={"mono": tox_only}, target=0.3).write(tmp_path / "m2")
    assert "True OBD" not in plain["markdown"].read_text()
