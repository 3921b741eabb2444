"""EWOC's blocked branch (issue 10 item 6): every dose within the escalation limit has
P(overdose) >= ewoc while a higher dose does not.  The rule used to assign the highest
allowed dose and claim it was chosen "among levels with P(overdose) < 0.25"; it now
stops with a reason that says what happened, in numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

import bayes_dose as bd
from bayes_dose.designs.blrm import EWOC_BLOCKED, EWOCDesign
from bayes_dose.designs.state import DoseData
from bayes_dose.inference.estimate import Estimate


def crafted() -> tuple[DoseData, Estimate]:
    """1/3 at level 1 (no skipping: levels 1-2 allowed); P(overdose) 0.40, 0.30 there,
    0.10 at level 3."""
    data = DoseData.from_counts([[3, 0, 0, 0]], [[1, 0, 0, 0]], current=[0], last_n=[3],
                                last_dlt=[1])  # fmt: skip
    p_over = np.array([[0.40, 0.30, 0.10, 0.50]])
    p_target = np.array([[0.30, 0.40, 0.30, 0.20]])
    est = Estimate(
        prob_mean=np.array([[0.30, 0.28, 0.15, 0.40]]),
        stats={"p_over": p_over, "p_target": p_target, "p_under": 1 - p_over - p_target},
    )
    return data, est


def test_crafted_estimate_stops_with_a_true_reason():
    design = EWOCDesign(4, ewoc=0.25)
    data, est = crafted()
    dec = design.decide(data, est)
    assert bool(dec.stop[0]) and int(dec.next_dose[0]) == -1 and int(dec.cohort_size[0]) == 0
    assert int(dec.reason[0]) == design._code(EWOC_BLOCKED)
    text = design.explain(data, dec)
    assert "every level within the escalation limit" in text and ">= 0.25" in text
    assert "among levels with P(overdose) < 0.25" not in text
    # vectorised: a second trial with level 2 eligible is unaffected
    data2 = DoseData.from_counts(np.repeat(data.n, 2, 0), np.repeat(data.dlt, 2, 0),
                                 current=[0, 0], last_n=[3, 3], last_dlt=[1, 1])  # fmt: skip
    p_over = np.array([[0.40, 0.30, 0.10, 0.50], [0.40, 0.20, 0.10, 0.50]])
    est2 = Estimate(prob_mean=np.repeat(est.prob_mean, 2, 0),
                    stats={"p_over": p_over, "p_target": np.repeat(est.stats["p_target"], 2, 0)})  # fmt: skip
    dec2 = design.decide(data2, est2)
    assert dec2.stop.tolist() == [True, False] and dec2.next_dose.tolist() == [-1, 1]


def test_max_increment_limit_blocks_too():
    """The limit can be the dose increment: at 10 mg with max_increment 2 only 1-20 mg are
    allowed; 20 mg and below overdose, 40 mg does not."""
    design = EWOCDesign(4, ewoc=0.25, max_increment=2.0, doses_mg=(5.0, 10.0, 20.0, 40.0))
    data = DoseData.from_counts([[3, 3, 0, 0]], [[0, 1, 0, 0]], current=[1], last_n=[3],
                                last_dlt=[1])  # fmt: skip
    est = Estimate(prob_mean=np.full((1, 4), 0.2),
                   stats={"p_over": np.array([[0.3, 0.35, 0.3, 0.1]]),
                          "p_target": np.full((1, 4), 0.4)})  # fmt: skip
    dec = design.decide(data, est)
    assert bool(dec.stop[0]) and int(dec.reason[0]) == design._code(EWOC_BLOCKED)


@pytest.fixture(scope="module")
def negative_interaction_fit():
    """A real case: the combination model with a strongly negative interaction prior
    (eta ~ N(-2, 0.3^2): the partner's toxicity is offset more and more as the BAT6021
    dose grows) and a toxic partner (logit p2 ~ N(logit 0.5, 0.3^2)).  After 0/3 at 30 mg
    the posterior P(overdose) falls with dose between levels 1 and 3."""
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    combo = bd.CombinationBLRM(
        mono=mono,
        partner_prior=bd.NormalPrior(float(logit(0.5)), 0.3),
        interaction_prior=bd.NormalPrior(-2.0, 0.3),
        grid=(13, 13, 25, 41),
    )
    data = {"mono": bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN", arm="mono"),
            "combo": bd.Outcomes.parse("1NNN", arm="combo")}  # fmt: skip
    return combo, combo.fit(data)


def test_negative_interaction_blocks_ewoc_and_the_design_stops(negative_interaction_fit):
    _, fit = negative_interaction_fit
    p_over = fit.interval_probs.sel(category="over").to_numpy()
    # the situation: levels 1-2 (no skipping past level 2) overdose, level 3 does not
    assert p_over[0] >= 0.25 and p_over[1] >= 0.25 and p_over[2] < 0.25
    assert p_over[0] > p_over[1] > p_over[2]  # decreasing in dose
    assert fit.stop and fit.next_dose is None and fit.cohort_size is None and not fit.hold
    # the reason is true and carries the numbers
    assert fit.reason.startswith("EWOC: every level within the escalation limit (levels 1-2)")
    assert f"1: {p_over[0]:.3f}, 2: {p_over[1]:.3f}" in fit.reason
    assert f"3: {p_over[2]:.3f}" in fit.reason
    assert "among levels with P(overdose) < 0.25" not in fit.reason
    assert fit.mtd is None  # level 1, the only level tried, overdoses


def test_the_old_rule_would_have_assigned_an_overdosing_level(negative_interaction_fit):
    """What the old branch did, recomputed: the lowest eligible level (3) capped at the
    highest allowed (2) -- a level with P(overdose) >= ewoc."""
    combo, fit = negative_interaction_fit
    p_over = fit.interval_probs.sel(category="over").to_numpy()
    ok = p_over < combo.ewoc
    lowest_ok = int(np.argmax(ok))
    highest_allowed = int(combo.skip_cap(fit.data)[0])
    old = min(lowest_ok, highest_allowed)
    assert old == 1 and p_over[old] >= combo.ewoc
