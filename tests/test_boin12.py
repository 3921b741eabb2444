"""BOIN12 (Lin, Zhou, Yan, Li & Yuan 2020, JCO Precision Oncology 4:1393-1402).

Published numbers: the rank-based desirability scores of the paper's Table 3 (phi_T = 0.35,
phi_E = 0.25, u = 100/40/60/0, n in {0, 3, 6, 9}; the values the R package escalation's
tests quote for that table).  Closed forms: the benchmark utility u_b and desirabilities
at integer quasi-events.  Hand-worked decisions for every rule.  An independent
patient-by-patient implementation of the rules, written from the paper's description,
replays simulated trials on the same random numbers and must agree trial by trial.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta as beta_dist

import bayes_dose as bd
from bayes_dose.crn import latent_uniforms
from bayes_dose.designs.boin12 import desirability_table
from bayes_dose.efficacy import response_latent, response_uniforms


def _design(**kw):
    return bd.BOIN12(target=0.35, n_doses=5, phi_e=0.25, **kw)


# -- published: Table 3 of Lin et al. (2020) -------------------------------------------------
TABLE3 = {  # (patients, DLTs, responses) -> RDS; None = eliminated ("E")
    (0, 0, 0): 60, (3, 0, 3): 91, (6, 1, 5): 87, (6, 5, 1): None, (9, 0, 8): 99,
    (9, 2, 3): 32.5, (9, 5, 5): 32.5, (9, 3, 1): 7, (9, 4, 0): None, (9, 6, 9): None,
}  # fmt: skip


def test_rds_table3_published_values():
    t = desirability_table([0, 3, 6, 9], phi_t=0.35, phi_e=0.25, utility=(100, 40, 60, 0))
    t = t.set_index(["n", "dlt", "resp"])
    for key, rds in TABLE3.items():
        got = t.rds.loc[key]
        if rds is None:
            assert np.isnan(got) and not t.admissible.loc[key], key
        else:
            assert got == rds, (key, got, rds)
    # ranks run over the admissible rows only: the best is their count
    assert t.rds.max() == t.admissible.sum()


def test_rds_table_needs_additive_utility():
    with pytest.raises(ValueError, match="additive"):
        desirability_table([3], 0.35, 0.25, utility=(100, 50, 30, 0))


def test_benchmark_and_desirability_closed_forms():
    d = _design()
    # u_bar = 100*.25*.65 + 40*.65*.75 + 60*.35*.25 = 41; u_b = 41 + 59/2
    assert d.benchmark == pytest.approx(70.5, abs=1e-12)
    data = bd.DoseData.from_counts([[0, 3, 3, 0, 0]], [[0, 0, 3, 0, 0]], [1])
    data = bd.DoseData(data.n, data.dlt, data.current, data.last_n, data.last_dlt, data.grade2,
                       resp=np.array([[0, 3, 0, 0, 0]]), resp_dlt=np.array([[0, 0, 0, 0, 0]]))
    des = d.desirability(data)[0]
    assert des[0] == pytest.approx(1 - 0.705)  # no data: Beta(1, 1)
    assert des[1] == pytest.approx(1 - 0.705**4)  # 3 responses, no DLT: x = 3, Beta(4, 1)
    # 3 DLTs without response: x = 0, Beta(1, 4): P(U > .705) = (1 - .705)^4
    assert des[2] == pytest.approx((1 - 0.705) ** 4)
    adm, tox = d.admissible(data)
    # 3/3 DLTs: P(p > .35 | Beta(4, 1)) = 1 - .35^4 = 0.985 >= 0.95: level 3 and above out
    assert tox[0].tolist() == [False, False, True, True, True]
    assert adm[0].tolist() == [True, True, False, False, False]


def test_futility_elimination_closed_form():
    d = _design()
    # 9 non-responders: P(p_E < .25 | Beta(1, 10)) = 1 - .75^10 = 0.944 >= 0.9
    fit = d.fit(bd.Outcomes.parse("1NNN 1NNN 1NNN 2E"))
    assert fit.admissible[0] is False and fit.admissible[1] is True
    assert 1 - 0.75**10 >= 0.9 > 1 - 0.75**7  # 6 non-responders are still admissible
    assert d.fit(bd.Outcomes.parse("1NNN 1NNN 2E")).admissible[0] is True


# -- hand-worked decisions ----------------------------------------------------------------------
def test_triple_rule_picks_most_desirable():
    # level 2: 1 response in 3, x = 1.8: Beta(2.8, 2.2); untried level 3: 0.295; level 1
    # 3 patients without response: x = 1.2: Beta(2.2, 2.8)
    fit = _design().fit(bd.Outcomes.parse("1NNN 2ENN"))
    p2 = beta_dist.sf(0.705, 2.8, 2.2)
    p1 = beta_dist.sf(0.705, 2.2, 2.8)
    assert fit.desirability[:3] == pytest.approx((p1, p2, 0.295))
    assert p1 < p2 < 0.295
    assert fit.next_dose == 3 and "most desirable admissible level of 1-3" in fit.reason


def test_deescalate_at_lambda_d():
    _, lam_d = _design().lambdas
    assert 1 / 3 < lam_d < 2 / 3
    fit = _design().fit(bd.Outcomes.parse("1ENN 2TTN"))
    assert fit.next_dose == 1 and "de-escalate" in fit.reason


def test_pair_rule_between_boundaries_with_n_star():
    lam_e, lam_d = _design().lambdas
    assert lam_e < 2 / 6 < lam_d
    # 2/6 DLTs at level 2, no response there; level 1 has one response: pick level 1
    fit = _design().fit(bd.Outcomes.parse("1ENN 2NNN 2NTT"))
    assert fit.next_dose == 1 and "the more desirable of levels 1-2" in fit.reason
    # with n_star = 9 the pair rule does not apply yet: the triple rule may go up
    fit = _design(n_star=9).fit(bd.Outcomes.parse("1ENN 2NNN 2NTT"))
    assert "most desirable admissible level of 1-3" in fit.reason


def test_exploration_rule():
    # 9 patients at level 2, no DLT: level 2 is very desirable (1 - .705^10 = 0.97) but
    # the untried level 3 is explored first
    fit = _design().fit(bd.Outcomes.parse("2EEE 2EEE 2EEE"))
    assert fit.desirability[1] == pytest.approx(1 - 0.705**10)
    assert fit.next_dose == 3 and "explore level 3" in fit.reason
    assert _design(n_explore=12).fit(bd.Outcomes.parse("2EEE 2EEE 2EEE")).next_dose == 2


def test_stop_when_lowest_dose_too_toxic():
    fit = _design().fit(bd.Outcomes.parse("1TTB"))
    assert fit.stop and fit.mtd is None and "lowest level is too toxic" in fit.reason


def test_stop_when_no_admissible_candidate():
    # two levels, both futile (9 and 12 non-responders: P(p_E < .25) = 0.944, 0.976 >= 0.9)
    d = bd.BOIN12(target=0.35, n_doses=2, phi_e=0.25)
    fit = d.fit(bd.Outcomes.from_counts(n=[9, 12], dlt=[0, 0], resp=[0, 0]))
    assert fit.admissible == (False, False)
    assert fit.stop and "no admissible level among 1-2" in fit.reason and fit.mtd is None


def test_obd_selection_below_isotonic_mtd():
    # DLTs 0/3, 0/6, 2/6, 5/6 (monotone): MTD = level 3 ((2 + .05)/(6 + .1) closest to .35).
    # Posterior mean utility 100 (1 + x)/(2 + n), u = 100/40/60/0, x = sum(u)/100:
    # level 1 NNN: x = 1.2 -> 44; level 2 ENN EEN: x = 4.2 -> 65; level 3 EBT EEN:
    # x = (100 + 60 + 0 + 100 + 100 + 40)/100 = 4 -> 62.5.  OBD: level 2.
    out = bd.Outcomes.parse("1NNN 2ENN 2EEN 3EBT 3EEN 4TTB 4BTN")
    fit = _design().fit(out)
    assert fit.tox_mtd == 3
    assert fit.utility[:3] == pytest.approx((44.0, 65.0, 62.5))
    assert fit.obd == 2 and fit.mtd_label == "OBD"
    # the same data without level 2's responses: level 3 wins
    fit = _design().fit(bd.Outcomes.parse("1NNN 2NNN 2NNN 3EBT 3EEN 4TTB 4BTN"))
    assert fit.obd == 3


def test_fit_needs_response_and_holds_on_unassessed():
    with pytest.raises(ValueError, match="no 'response' column"):
        _design().fit(bd.Outcomes.parse("1NNN"))
    import pandas as pd

    out = bd.Outcomes.from_frame(pd.DataFrame({
        "patient_id": ["a", "b", "c"], "arm": "mono", "dose_level": 1, "dlt": [0, 0, 0],
        "response": [1, 0, None]}))  # fmt: skip
    fit = _design().fit(out)
    assert fit.hold and fit.next_dose is None and "response not assessed yet for c" in fit.reason


def test_simulate_needs_efficacy():
    with pytest.raises(ValueError, match="decide on response"):
        bd.simulate({"b12": _design(max_n=12)}, [0.1] * 5, n_trials=5, progress=False)


# -- an independent implementation, patient by patient ------------------------------------------
def _reference_trial(u, w, p_tox, p_eff, phi_t=0.35, phi_e=0.25, n_max=24, cs=3):
    """BOIN12 written from the paper's rules, one trial, plain Python."""
    D = len(p_tox)
    lam_e, lam_d = np.log((1 - 0.21) / 0.65) / np.log(0.35 * 0.79 / (0.21 * 0.65)), \
        np.log(0.65 / (1 - 0.49)) / np.log(0.49 * 0.65 / (0.35 * 0.51))  # fmt: skip
    ub = (100 * phi_e * (1 - phi_t) + 40 * (1 - phi_t) * (1 - phi_e) + 60 * phi_t * phi_e)
    ub = (ub + (100 - ub) / 2) / 100
    n, t, e, b = [0] * D, [0] * D, [0] * D, [0] * D
    k, d = 0, 0

    def tox_out(j):
        return any(beta_dist.sf(phi_t, 1 + t[i], 1 + n[i] - t[i]) >= 0.95 for i in range(j + 1))

    def ok(j):
        fut = beta_dist.cdf(phi_e, 1 + e[j], 1 + n[j] - e[j]) >= 0.9
        return not tox_out(j) and not fut

    def desir(j):
        x = (100 * (e[j] - b[j]) + 40 * (n[j] - e[j] - t[j] + b[j]) + 60 * b[j]) / 100
        return beta_dist.sf(ub, 1 + x, 1 + n[j] - x)

    while k < n_max:
        for _ in range(cs):
            tox, eff = u[k] < p_tox[d], w[k] < p_eff[d]
            n[d] += 1
            t[d] += tox
            e[d] += eff
            b[d] += tox and eff
            k += 1
        if tox_out(0):
            return None, n, e
        if k >= n_max:
            break
        rate = t[d] / n[d]
        if n[d] >= 9 and rate < lam_d and d < D - 1 and n[d + 1] == 0 and ok(d + 1):
            d += 1
        elif rate >= lam_d:
            d = max(d - 1, 0)
        elif lam_e < rate < lam_d and n[d] >= 6:
            cands = [j for j in (d - 1, d) if j >= 0 and ok(j)]
            d = max(cands, key=lambda j: (desir(j), -j)) if cands else 0
        else:
            cands = [j for j in (d - 1, d, d + 1) if 0 <= j < D and ok(j)]
            if not cands:  # stop; the OBD is still selected from all the data
                break
            d = max(cands, key=lambda j: (desir(j), j))
    # OBD: MTD as BOIN's select.mtd over treated doses, then the highest posterior mean
    # utility (1 + x)/(2 + n) among admissible treated doses at or below it
    tried = [j for j in range(D) if n[j] > 0]
    from scipy.optimize import isotonic_regression

    ph = [(t[j] + 0.05) / (n[j] + 0.1) for j in tried]
    var = [(t[j] + 0.05) * (n[j] - t[j] + 0.05) / ((n[j] + 0.1) ** 2 * (n[j] + 1.1))
           for j in tried]  # fmt: skip
    iso = isotonic_regression(ph, weights=[1 / v for v in var]).x
    dist = [abs(v + (r + 1) * 1e-10 - phi_t) for r, v in enumerate(iso)]
    mtd = tried[int(np.argmin(dist))]
    cands = [j for j in tried if j <= mtd and ok(j)]
    if not cands:
        return None, n, e

    def util(j):
        x = (100 * (e[j] - b[j]) + 40 * (n[j] - e[j] - t[j] + b[j]) + 60 * b[j]) / 100
        return (1 + x) / (2 + n[j])

    return max(cands, key=lambda j: (util(j), -j)) + 1, n, e


def test_simulation_matches_independent_reference():
    p_tox = [0.05, 0.1, 0.2, 0.35, 0.5]
    p_eff = [0.1, 0.3, 0.5, 0.55, 0.55]
    rho, seed, T = 0.3, 11, 150
    sims = bd.simulate({"b12": _design(max_n=24)}, p_tox, efficacy={"true_tox": p_eff},
                       correlation=rho, n_trials=T, seed=seed, progress=False)  # fmt: skip
    u = latent_uniforms(seed, np.arange(T), 24)
    w = response_latent(u, response_uniforms(seed, np.arange(T), 24), rho)
    for i in range(T):
        sel, n, e = _reference_trial(u[i], w[i], p_tox, p_eff)
        got = int(sims.selected.values[0, 0, i])
        assert got == (0 if sel is None else sel), i
        assert sims.n.values[0, 0, i].tolist() == n, i
        assert sims.resp.values[0, 0, i].tolist() == e, i


# -- BOIN's "1 DLT in 3 patients: stay" (BF-BOIN, Zhao et al. 2024, Table 1) ------------------
def test_boin_stay_one_in_three():
    tab = bd.boin_boundaries(target=0.25, up_to_n=6)
    assert int(tab.loc[3, "deescalate"]) == 1  # plain BOIN de-escalates at 1/3 for 0.25
    plain = bd.BOIN(0.25, 5, max_n=30)
    bf = bd.BOIN(0.25, 5, max_n=30, stay_one_in_three=True)
    one = bd.Outcomes.parse("1NNN 2NTN")
    assert plain.fit(one).next_dose == 1
    fit = bf.fit(one)
    assert fit.next_dose == 2 and "1 DLT in 3 patients: stay" in fit.reason
    for text, level in (("1NNN 2NTT", 1), ("1NNN 2NTN 2NNT", 1), ("1NNN 2NNN", 3)):
        out = bd.Outcomes.parse(text)
        assert bf.fit(out).next_dose == plain.fit(out).next_dose == level, text
    assert plain.spec()["stay_one_in_three"] is False and bf.spec()["stay_one_in_three"] is True
    assert bf.replace(max_n=24).stay_one_in_three and len(bf.reasons) == len(plain.reasons) + 1
    # in simulation the rule only removes de-escalations after exactly 1/3
    kw = dict(n_trials=300, seed=3, progress=False)
    a = bd.simulate({"p": plain, "bf": bf}, [0.1, 0.25, 0.35, 0.5, 0.6], **kw)
    first = a.patient_dose.values[:, 0, :, :6]
    same_start = (first[0] == first[1]).all(axis=1)
    assert same_start.mean() > 0.3 and not (a.selected.values[0] == a.selected.values[1]).all()


def test_spec_contract():
    from bayes_dose.testing import check_design

    check_design(_design(max_n=24, utility=(100, 30, 50, 0)), only=["spec"])
    d = bd.io.design_from_spec({"type": "BOIN12", "target": 0.3, "phi_e": 0.2, "max_n": 30},
                               bd.protocols.bat6021().arm("mono"))  # fmt: skip
    assert isinstance(d, bd.BOIN12) and d.n_doses == bd.protocols.bat6021().arm("mono").n_doses
