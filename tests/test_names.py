"""Issue 11 item 5: names that explain themselves, and protocol rules read by code.

* deprecated aliases warn (``DeprecationWarning``) and give identical results;
* the protocol's MTD rule drives 3+3's selection; the protocol's staggering gives the
  dosing days (checked by hand against the BAT6021 rules: 2nd patient >= 7 days after the
  1st, later ones >= 1 day after the previous, next group after the previous group's
  21-day window).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.protocol import Staggering

# -- staggering --------------------------------------------------------------------------


def test_staggering_dosing_days_by_hand():
    s = bd.protocols.bat6021().staggering
    assert s == Staggering(24.0, 7.0, True)
    # one group of 3 from day 0: sentinel day 0, 2nd >= 7 days later, 3rd >= 1 day later
    assert s.dosing_days(3).tolist() == [0.0, 7.0, 8.0]
    assert s.dosing_days(6, start_day=10.0).tolist() == [10.0, 17.0, 18.0, 19.0, 20.0, 21.0]
    assert s.dosing_days(1).tolist() == [0.0]
    assert s.dosing_days(0).tolist() == []
    # an expansion of a dose group (3 dosed on days 0, 7, 8) opened on day 29: the
    # sentinel gap is behind, so only the 1-day gaps apply
    assert s.dosing_days(3, 29.0, already_dosed=[0.0, 7.0, 8.0]).tolist() == [29.0, 30.0, 31.0]
    # a second patient of a group whose sentinel was dosed 2 days before the start
    assert s.dosing_days(2, 5.0, already_dosed=[3.0]).tolist() == [10.0, 11.0]
    assert [s.gap_days(k) for k in range(4)] == [0.0, 7.0, 1.0, 1.0]


def test_staggering_next_group_after_the_window():
    proto = bd.protocols.bat6021()
    s = proto.staggering
    assert s.next_group_day([0.0, 7.0, 8.0], proto.dlt_window_days) == 29.0
    # titration (1 patient per level), then 3+3 cohorts: by hand
    groups = proto.dosing_days([1, 1, 1, 3, 3])
    assert [g.tolist() for g in groups] == [
        [0.0], [21.0], [42.0], [63.0, 70.0, 71.0], [92.0, 99.0, 100.0]
    ]
    # without waiting for the window: next group 24 hours after the last dose
    free = Staggering(24.0, 7.0, False)
    assert [g.tolist() for g in free.schedule([3, 2], 21)] == [[0.0, 7.0, 8.0], [9.0, 16.0]]
    # hours are hours: 12 hours = half a day
    assert Staggering(12.0, 7.0).dosing_days(3).tolist() == [0.0, 7.0, 7.5]


def test_staggering_every_gap_respected_random():
    rng = np.random.default_rng(3)
    for _ in range(50):
        s = Staggering(float(rng.integers(0, 72)), float(rng.integers(0, 14)), bool(rng.integers(2)))
        sizes = rng.integers(1, 7, size=4).tolist()
        groups = s.schedule(sizes, 21.0, start_day=2.0)
        for g, size in zip(groups, sizes, strict=True):
            assert len(g) == size
            gaps = np.diff(g)
            assert np.allclose(gaps[:1], s.days_after_first_patient)
            assert np.allclose(gaps[1:], s.hours_between_patients / 24)
        for a, b in itertools.pairwise(groups):
            wait = 21.0 if s.complete_window_before_next_group else s.hours_between_patients / 24
            assert b[0] == pytest.approx(a.max() + wait)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hours_between_patients": -1}, "hours_between_patients"),
        ({"days_after_first_patient": float("nan")}, "days_after_first_patient"),
        ({"days_after_first_patient": "7"}, "days_after_first_patient"),
        ({"complete_window_before_next_group": "yes"}, "complete_window"),
    ],
)
def test_staggering_refuses_bad_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Staggering(**kwargs)


def test_staggering_refuses_bad_calls():
    s = Staggering()
    with pytest.raises(ValueError, match="n_patients"):
        s.dosing_days(-1)
    with pytest.raises(ValueError, match="n_patients"):
        s.dosing_days(2.5)
    with pytest.raises(ValueError, match="window_days"):
        s.next_group_day([0.0], 0)
    with pytest.raises(ValueError, match="dosing days"):
        s.next_group_day([], 21)


def test_dose_paths_calendar_by_hand():
    proto = bd.protocols.bat6021()
    tree = bd.dose_paths(bd.ThreePlusThree(8, titration_levels=3), [None] * 5)
    cal = tree.calendar(proto)
    cal.index = tree.labels()
    rows = cal[["first_dose_day", "last_dose_day", "decision_day"]]
    # titration: one patient per level, each level after the previous one's 21 days
    assert rows.loc["1N"].tolist() == [0.0, 0.0, 21.0]
    assert rows.loc["1N 2N 3N"].tolist() == [42.0, 42.0, 63.0]
    # first 3+3 cohort at level 4: sentinel on day 63, 2nd on 70, 3rd on 71; window to 92
    assert rows.loc["1N 2N 3N 4NNN"].tolist() == [63.0, 71.0, 92.0]
    # expansion of level 4 to 6 (1 DLT in 3): same dose group, 1-day gaps from day 92
    assert rows.loc["1N 2N 3N 4NNT 4NNN"].tolist() == [92.0, 94.0, 115.0]
    # DLT at titration level 1: 2 more at level 1 (sentinel dosed on day 0) from day 21
    assert rows.loc["1T 1NN"].tolist() == [21.0, 22.0, 43.0]
    assert np.isnan(rows.iloc[0, 0]) and rows.iloc[0, 2] == 0.0
    # a later start shifts every day
    later = tree.calendar(proto, start_day=10.0)
    np.testing.assert_allclose(later["decision_day"], cal["decision_day"].to_numpy() + 10)


# -- deprecated aliases: warn, and give identical results ----------------------------------


def _warns(old):
    return pytest.warns(DeprecationWarning, match=re.escape(f"'{old}' is deprecated"))


def test_up_to_n_is_the_table_size_n_max_deprecated():
    new = bd.boin_boundaries(0.3, up_to_n=12)
    with _warns("n_max"):
        old = bd.boin_boundaries(target=0.3, n_max=12)
    assert old.equals(new) and old.attrs == new.attrs
    assert bd.boin_boundaries(0.3, 12).equals(new)
    with pytest.raises(TypeError, match="pass only 'up_to_n'"), _warns("n_max"):
        bd.boin_boundaries(0.3, up_to_n=12, n_max=12)
    boin = bd.BOIN(target=0.3, n_doses=5, max_n=24)
    with _warns("n_max"):
        assert boin.boundaries(n_max=9).equals(boin.boundaries(up_to_n=9))
    designs = {"3+3": bd.ThreePlusThree(5), "BOIN": boin}
    with _warns("n_max"):
        assert bd.decision_table(designs, n_max=9).equals(bd.decision_table(designs, up_to_n=9))
    from bayes_dose.protocol_text import boin_boundary_table

    with _warns("n_max"):
        assert boin_boundary_table(boin, n_max=12).equals(boin_boundary_table(boin, up_to_n=12))


def test_max_n_is_the_expansion_sample_size_cap():
    from bayes_dose import expansion as ex

    new = ex.predictive_probability(16, 23, max_n=40, p0=0.6, theta_t=0.9, prior=(0.6, 0.4))
    with _warns("n_max"):
        old = ex.predictive_probability(16, 23, n_max=40, p0=0.6, theta_t=0.9, prior=(0.6, 0.4))
    assert old == new == pytest.approx(0.5656, abs=5e-5)  # Lee & Liu (2008) example
    with _warns("n_max"):
        assert ex.predictive_table(16, 23, n_max=40, p0=0.6, theta_t=0.9).equals(
            ex.predictive_table(16, 23, 40, 0.6, 0.9)
        )
    with _warns("n_max"):
        assert ex.pp_boundaries([10, 20], 0.2, 0.8, 0.1, n_max=30).equals(
            ex.pp_boundaries([10, 20], 0.2, 0.8, 0.1, max_n=30)
        )
    d = ex.PPDesign(p0=0.2, max_n=20, theta_t=0.9, phi_l=0.05, looks=(10, 15))
    with _warns("n_max"):
        assert ex.PPDesign(p0=0.2, n_max=20, theta_t=0.9, phi_l=0.05, looks=(10, 15)) == d
    with _warns("n_max"):
        assert d.n_max == d.max_n == 20
    grid = {"theta_t": (0.85, 0.9), "phi_l": (0.05,)}
    with _warns("n_max"):
        old = ex.pp_design_search(0.2, 0.45, n_max=20, alpha=0.1, beta=0.2, looks=(10,), **grid)
    assert old.equals(ex.pp_design_search(0.2, 0.45, max_n=20, alpha=0.1, beta=0.2,
                                          looks=(10,), **grid))  # fmt: skip


def test_crm_link_and_credible_level():
    skel = bd.crm_skeleton(0.25, 0.05, 3, 5, link="logistic")
    with _warns("model"):
        assert bd.crm_skeleton(0.25, 0.05, 3, 5, model="logistic") == skel
    out = bd.Outcomes.parse("1NNN 2NNN 3NTN 3NNT")
    new = bd.CRM(skel, 0.25, link="logistic", credible_level=0.8)
    with _warns("model"), _warns("interval"):
        old = bd.CRM(skel, 0.25, model="logistic", interval=0.8)
    assert old == new and old.spec() == new.spec()
    assert new.get_params()["link"] == "logistic" and "model" not in new.get_params()
    assert new.get_params()["credible_level"] == 0.8 and "interval" not in new.get_params()
    f_old, f_new = old.fit(out), new.fit(out)
    assert (f_old.next_dose, f_old.mtd, f_old.beta_mean) == (f_new.next_dose, f_new.mtd, f_new.beta_mean)
    assert f_new.prob_tox_interval.attrs["mass"] == 0.8
    np.testing.assert_array_equal(f_old.prob_tox_interval, f_new.prob_tox_interval)
    with _warns("model"):
        assert new.model == "logistic"
    with _warns("interval"):
        assert new.interval == 0.8
    assert new.crm_model.link == "logistic"
    with _warns("model"):
        assert new.crm_model.model == "logistic"
    from bayes_dose.inference.crm_model import CRMModel

    with _warns("model"):
        assert CRMModel(skel, model="logistic") == CRMModel(skel, "logistic") == new.crm_model
    assert new.crm_model.spec()["link"] == "logistic"
    with pytest.raises(TypeError, match="pass only 'link'"), _warns("model"):
        bd.CRM(skel, 0.25, link="logistic", model="empiric")
    with pytest.raises(ValueError, match="link"):
        bd.CRM(skel, 0.25, link="probit")
    # replace() and repr() use the new names only (no warning)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert new.replace(link="empiric").link == "empiric"
        assert "link='logistic'" in repr(new) and "model=" not in repr(new)


def test_crm_spec_model_key_still_read(tmp_path):
    arm = bd.protocols.bat6021().arm("mono")
    base = {"type": "CRM", "target": 0.25, "max_n": 30}
    new = bd.io.design_from_spec({**base, "link": "empiric",
                                  "skeleton": {"halfwidth": 0.05, "mtd_guess": 6}}, arm)  # fmt: skip
    with _warns("model"):
        old = bd.io.design_from_spec({**base, "model": "empiric",
                                      "skeleton": {"halfwidth": 0.05, "mtd_guess": 6,
                                                   "model": "empiric"}}, arm)  # fmt: skip
    assert old == new
    with pytest.raises(ValueError, match="unknown parameter"):
        bd.io.design_from_spec({**base, "linc": "empiric"}, arm)


def test_outcomes_cohort_prefixes():
    out = bd.examples.bat6021_outcomes().arm("mono")
    new = list(out.cohort_prefixes())
    with _warns("cohorts()"):
        old = list(out.cohorts())
    assert [len(o) for o in old] == [len(o) for o in new]
    assert all(a.to_frame().equals(b.to_frame()) for a, b in zip(old, new, strict=True))
    # each item is a prefix: every earlier item's patients are in the later ones
    assert len(new[-1]) == len(out) and len(new[0]) == int((out.to_frame()["cohort"] == 1).sum())
    assert all(len(a) < len(b) for a, b in itertools.pairwise(new))


def test_cli_up_to_n_and_old_flag(capsys):
    from bayes_dose import cli

    assert cli.main(["boundaries", "--target", "0.3", "--up-to-n", "9", "--format", "json"]) == 0
    new = capsys.readouterr().out
    assert cli.main(["boundaries", "--target", "0.3", "--n-max", "9", "--format", "json"]) == 0
    assert capsys.readouterr().out == new


# -- the protocol's MTD rule is read by 3+3 ------------------------------------------------


def test_three_plus_three_from_protocol():
    proto = bd.protocols.bat6021()
    mono = bd.ThreePlusThree.from_protocol(proto, "mono")
    assert mono == bd.ThreePlusThree(8, titration_levels=3, doses_mg=proto.arm("mono").doses_mg,
                                     mtd_rule=proto.mtd_rule)  # fmt: skip
    combo = bd.ThreePlusThree.from_protocol(proto, "combo")
    assert combo.titration_levels == 0 and combo.n_doses == proto.arm("combo").n_doses
    assert bd.ThreePlusThree.from_protocol(proto, "mono", titration_levels=0).titration_levels == 0
    with pytest.raises(ValueError, match="name one"):
        bd.ThreePlusThree.from_protocol(proto)
    with pytest.raises(ValueError, match="no arm"):
        bd.ThreePlusThree.from_protocol(proto, "nope")


def test_protocol_mtd_rule_changes_selection(tmp_path):
    import dataclasses
    from fractions import Fraction

    proto = bd.protocols.bat6021()
    strict = dataclasses.replace(proto, mtd_rule=bd.MTDRule(Fraction(0), 6))
    # level 4: 1 DLT in 6; level 5: 2 DLTs in 3 -> the protocol's 1/6-of-6 rule gives MTD 4
    out = bd.Outcomes.parse("1N 2N 3N 4NNN 4NTN 5NTT")
    fit = bd.ThreePlusThree.from_protocol(proto, "mono").fit(out)
    assert (fit.stop, fit.mtd, fit.is_mad) == (True, 4, False)
    # a stricter protocol rule (no DLT in >= 6) has no acceptable level below 5: no MTD
    assert bd.ThreePlusThree.from_protocol(strict, "mono").fit(out).mtd is None
    # with 0/6 at level 3 the strict rule picks level 3
    out3 = bd.Outcomes.parse("1N 2N 3NNN 3NNN 4NNN 4NTN 5NTT")
    assert bd.ThreePlusThree.from_protocol(proto, "mono").fit(out3).mtd == 4
    assert bd.ThreePlusThree.from_protocol(strict, "mono").fit(out3).mtd == 3
    # the rule travels through the protocol file and a spec
    path = strict.to_toml(tmp_path / "strict.toml")
    again = bd.Protocol.from_toml(path)
    assert again.mtd_rule == strict.mtd_rule
    assert bd.ThreePlusThree.from_protocol(again, "mono").fit(out).mtd is None
    spec_design = bd.io.design_from_spec({"type": "3+3", "titration_levels": 3},
                                         again.arm("mono"), protocol=again)  # fmt: skip
    assert spec_design.mtd_rule == strict.mtd_rule and spec_design.fit(out).mtd is None


def test_protocol_mtd_rule_in_simulation():
    import dataclasses
    from fractions import Fraction

    proto = bd.protocols.bat6021()
    strict = dataclasses.replace(proto, mtd_rule=bd.MTDRule(Fraction(0), 6))
    true_tox = [0.02, 0.04, 0.08, 0.15, 0.3, 0.45, 0.6, 0.7]
    designs = {"protocol": bd.ThreePlusThree.from_protocol(proto, "mono"),
               "strict": bd.ThreePlusThree.from_protocol(strict, "mono")}  # fmt: skip
    ds = bd.simulate(designs, true_tox, n_trials=200, seed=11, progress=False)
    a, b = ds.sel(design="protocol", scenario="true_tox"), ds.sel(design="strict", scenario="true_tox")
    # same escalation (the rule only selects), different selections
    np.testing.assert_array_equal(a["n"], b["n"])
    np.testing.assert_array_equal(a["dlt"], b["dlt"])
    sel_a, sel_b = a["selected"].to_numpy(), b["selected"].to_numpy()
    assert (sel_a != sel_b).sum() > 10
    # each selection is the design's own on the final counts
    for name, x in (("protocol", a), ("strict", b)):
        d = designs[name]
        data = bd.DoseData.from_counts(x["n"].to_numpy(), x["dlt"].to_numpy(),
                                       np.zeros(200, dtype=np.int64))  # fmt: skip
        # simulate reports 1-based levels (0: none), select 0-based (-1: none)
        np.testing.assert_array_equal(d.select(data).dose + 1, x["selected"].to_numpy())


# -- no module binds both typing.Protocol and the trial Protocol ---------------------------


def test_no_module_shadows_typing_protocol():
    import ast
    from pathlib import Path

    root = Path(bd.__file__).parent
    bad = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_names, trial = set(), False
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("typing", "typing_extensions"):
                typing_names |= {a.asname or a.name for a in node.names if a.name == "Protocol"}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith("protocol"):
                trial |= any(a.name == "Protocol" and (a.asname or a.name) == "Protocol"
                             for a in node.names)  # fmt: skip
            elif isinstance(node, ast.ClassDef) and node.name == "Protocol":
                trial = True
        if typing_names and trial:
            bad.append(str(path.relative_to(root)))
        if path.name == "protocol.py":
            assert not typing_names, "protocol.py defines the trial Protocol: no typing.Protocol"
    assert bad == []


def test_new_names_do_not_warn():
    import warnings

    from bayes_dose import expansion as ex

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        bd.boin_boundaries(0.3, up_to_n=6)
        bd.decision_table({"3+3": bd.ThreePlusThree(5)}, up_to_n=6)
        ex.PPDesign(p0=0.2, max_n=20, theta_t=0.9, phi_l=0.05, looks=(10,)).decision_table()
        crm = bd.CRM(bd.crm_skeleton(0.25, 0.05, 3, 5), 0.25, link="empiric", credible_level=0.9)
        crm.fit(bd.Outcomes.parse("1NNN 2NNT"))
        list(bd.Outcomes.parse("1NNN 2NNT").cohort_prefixes())
        bd.ThreePlusThree.from_protocol(bd.protocols.bat6021(), "mono").spec()


def test_protocol_summary_reads_staggering():
    import dataclasses

    proto = bd.protocols.bat6021()
    text = proto.summary()
    assert "2nd patient is dosed >= 7 days after the 1st" in text
    assert "(two groups of 3: days 0, 7, 8 and 29, 36, 37)" in text
    fast = dataclasses.replace(proto, staggering=Staggering(12.0, 3.0, False))
    t2 = fast.summary()
    assert ">= 3 days after the 1st" in t2 and "12 hours apart" in t2
    # 0, 3, 3.5; next group 12 h after 3.5 -> 4, 7, 7.5
    assert "12 hours after the previous group's last dose" in t2
    assert "days 0, 3, 3.5 and 4, 7, 7.5" in t2
