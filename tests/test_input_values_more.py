"""Values that were silently coerced and are now refused, each naming its owner and field.

Before: ``fit(dlt_window=True)`` measured pending patients against a 1-day window and an
``Outcomes`` with ``dlt_window=0`` fell back to 21 days; ``MTDRule(False, 6)`` (also
``max_dlt_fraction = false`` in a protocol file) needed 0/6; ``boin_boundaries("0.25")``,
``elimination_cutoff="0.95"``, ``crm_skeleton("0.25", "0.05")`` and its ``intercept=True``
ran on ``float()`` of the text or the boolean; utility tables took text and booleans;
``OpensWhenCleared(min_patients=True)`` meant 1 patient; ``Exchangeable(rho=False)`` a
correlation of 0; an outcomes CSV read without a protocol with two doses (mg) at one level
kept both; a number as a protocol's ``drug`` or ``source`` was kept; ``Staggering`` refused
NumPy integers; a spec's ``max_n = 30.0`` was refused although ``max_n=30.0`` is taken in
Python.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.designs.slots.backfill import OpensWhenCleared
from bayes_dose.io import load_designs
from bayes_dose.protocol import MTDRule, Staggering

PROTO = bd.protocols.bat6021()
OUT = bd.Outcomes.parse("1NNN 2NNN")


def _outcomes_with_window(w):
    return bd.Outcomes(OUT.to_frame(), dlt_window=w)


def _proto_with(**fields):
    data = PROTO.to_dict()
    data.update(fields)
    return data


def _proto_toml(tmp_path, old, new):
    path = PROTO.to_toml(tmp_path / "p.toml")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def _csv(tmp_path, rows):
    p = tmp_path / "o.csv"
    p.write_text("patient_id,arm,dose_level,dose_mg,dlt\n" + "".join(r + "\n" for r in rows))
    return p


def _spec(tmp_path, line):
    p = tmp_path / "spec.toml"
    p.write_text(f'protocol = "bat6021"\n[designs.b]\ntype = "BOIN"\ntarget = 0.3\n{line}\n')
    return p


BAD = {
    # 1. the DLT window of a fit and of an Outcomes
    "fit_dlt_window_true": (lambda: bd.ThreePlusThree(4).fit(OUT, dlt_window=True),
                            r"ThreePlusThree\.fit: dlt_window must be a finite number > 0, got True"),
    "fit_dlt_window_text": (lambda: bd.ThreePlusThree(4).fit(OUT, dlt_window="21"),
                            r"ThreePlusThree\.fit: dlt_window must be a finite number > 0, got '21'"),
    "outcomes_dlt_window_zero": (lambda: _outcomes_with_window(0),
                                 r"Outcomes: dlt_window must be a finite number > 0, got 0"),
    "outcomes_dlt_window_true": (lambda: _outcomes_with_window(True),
                                 r"Outcomes: dlt_window must be a finite number > 0, got True"),
    "pending_window_true": (lambda: OUT.pending(True),
                            r"Outcomes\.pending: window_days must be a finite number > 0, got True"),
    # 2. the MTD rule's fraction
    "mtdrule_false": (lambda: MTDRule(False, 6),
                      r"MTDRule: field 'max_dlt_fraction' must be a fraction in \[0, 1\).*got False"),
    "mtdrule_nan": (lambda: MTDRule(float("nan"), 6),
                    r"MTDRule: field 'max_dlt_fraction' must be a fraction in \[0, 1\).*got nan"),
    "mtdrule_bad_text": (lambda: MTDRule("one sixth", 6),
                         r"MTDRule: field 'max_dlt_fraction' must be a fraction.*got 'one sixth'"),
    "protocol_max_dlt_fraction_false": (
        lambda: bd.Protocol.from_dict(_proto_with(mtd_rule={"max_dlt_fraction": False,
                                                            "min_patients": 6})),
        r"MTDRule: field 'max_dlt_fraction' must be a fraction in \[0, 1\).*got False"),
    # 3. BOIN boundaries
    "boin_boundaries_text_target": (lambda: bd.boin_boundaries("0.25", 12),
                                    r"boin_boundaries: target must be a number in \(0, 1\), got '0\.25'"),
    "boin_boundaries_text_cutoff": (
        lambda: bd.boin_boundaries(0.25, 12, elimination_cutoff="0.95"),
        r"boin_boundaries: elimination_cutoff must be a number in \(0, 1\), got '0\.95'"),
    "boin_boundaries_bool_cutoff": (
        lambda: bd.boin_boundaries(0.25, 12, elimination_cutoff=True),
        r"boin_boundaries: elimination_cutoff must be a number in \(0, 1\), got True"),
    # 4. CRM skeleton
    "crm_skeleton_text_target": (lambda: bd.crm_skeleton("0.25", 0.05, mtd_guess=3, n_doses=5),
                                 r"crm_skeleton: target must be a number in \(0, 1\), got '0\.25'"),
    "crm_skeleton_text_halfwidth": (lambda: bd.crm_skeleton(0.25, "0.05", mtd_guess=3, n_doses=5),
                                    r"crm_skeleton: halfwidth must be a finite number, got '0\.05'"),
    "crm_skeleton_bool_intercept": (
        lambda: bd.crm_skeleton(0.25, 0.05, mtd_guess=3, n_doses=5, link="logistic", intercept=True),
        r"crm_skeleton: intercept must be a finite number, got True"),
    "crm_bool_intercept": (
        lambda: bd.CRM((0.1, 0.2, 0.3), 0.25, link="logistic", intercept=True),
        r"CRM: intercept must be a finite number, got True"),
    # 5. utility tables
    "boin12_text_utility": (lambda: bd.BOIN12(0.35, 4, 0.25, utility=("100", 40, 60, 0)),
                            r"BOIN12: utility must be a finite number, got '100'"),
    "boin12_bool_utility": (lambda: bd.BOIN12(0.35, 4, 0.25, utility=(100, True, 60, 0)),
                            r"BOIN12: utility must be a finite number, got True"),
    "obd_text_utility": (lambda: bd.OBD(utility=(100, 40, "60", 0)),
                         r"OBD: utility must be a finite number, got '60'"),
    "obd_utility_text_whole": (lambda: bd.OBD(utility="100"),
                               r"OBD: utility must be 4 numbers \(u1, u2, u3, u4\), got '100'"),
    # 6. backfill opening
    "opens_when_cleared_true": (lambda: OpensWhenCleared(min_patients=True),
                                r"OpensWhenCleared: min_patients must be a whole number >= 1, got True"),
    # 7. borrowing correlation
    "exchangeable_rho_false": (lambda: bd.Exchangeable(rho=False),
                               r"Exchangeable: rho must be a number in \(-1, 1\), got False"),
    "exnex_rho_text": (lambda: bd.EXNEX(rho="0.5"),
                       r"EXNEX: rho must be 'uniform' or a number in \(-1, 1\), got '0\.5'"),
    # 9. protocol text fields
    "protocol_drug_number": (lambda: bd.Protocol.from_dict(_proto_with(drug=5)),
                             r"Protocol: field 'drug' must be a text, got 5"),
    "protocol_source_table": (lambda: bd.Protocol.from_dict(_proto_with(source={"a": 1})),
                              r"Protocol: field 'source' must be a text, got \{'a': 1\}"),
    "protocol_title_number": (lambda: bd.Protocol.from_dict(_proto_with(title=2026)),
                              r"Protocol: field 'title' must be a text, got 2026"),
    "protocol_name_number": (lambda: bd.Protocol.from_dict(_proto_with(name=6021)),
                             r"Protocol: field 'name' must be a non-empty text, got 6021"),
    # 10. staggering still refuses booleans, text and fractions
    "staggering_bool": (lambda: Staggering(True, 7.0),
                        r"Staggering: field 'hours_between_patients' must be a number >= 0, got True"),
    "staggering_text": (lambda: Staggering(24.0, "7"),
                        r"Staggering: field 'days_after_first_patient' must be a number >= 0"),
    "staggering_fraction": (lambda: Staggering(24.0, Fraction(7)),
                            r"Staggering: field 'days_after_first_patient' must be a number >= 0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_wrong_value_is_an_error_naming_owner_and_field(case):
    make, message = BAD[case]
    with pytest.raises(ValueError, match=message):
        make()


# -- 1. DLT window: correct inputs give the same results -------------------------------------
def test_dlt_window_correct_values_give_the_same_fit():
    out = bd.Outcomes.from_frame(pd.DataFrame({
        "patient_id": ["1", "2", "3", "4"], "arm": "mono", "dose_level": [1, 1, 1, 2],
        "dlt": [0, 0, 0, 0], "followup_days": [30, 30, 30, 10]}))  # fmt: skip
    design = bd.ThreePlusThree(4)
    ref = design.fit(out, dlt_window=21)
    assert ref.hold
    for w in (21.0, np.int64(21), np.float64(21.0), np.array(21), Fraction(21)):
        fit = design.fit(out, dlt_window=w)
        assert (fit.hold, fit.next_dose, fit.reason) == (ref.hold, ref.next_dose, ref.reason)
    assert not design.fit(out, dlt_window=9.5).hold  # fractional windows are allowed
    assert design.fit(out).hold  # None: the protocol's, else 21 days
    assert OUT.pending(np.float64(21)).equals(OUT.pending(21))


def test_outcomes_window_from_a_protocol_is_unchanged(tmp_path):
    p = _csv(tmp_path, ["001,mono,1,1,0"])
    out = bd.Outcomes.read_csv(p, protocol=PROTO)
    assert out.dlt_window_days == 21 and isinstance(out.dlt_window_days, int)
    assert bd.Outcomes.read_csv(p).dlt_window_days is None
    assert _outcomes_with_window(30.4375).dlt_window_days == 30.4375


# -- 2. MTD rule --------------------------------------------------------------------------
def test_mtd_rule_correct_values():
    for v in ("1/6", Fraction(1, 6)):
        assert MTDRule(v, 6).max_dlt_fraction == Fraction(1, 6)
    assert MTDRule(0.25).max_dlt_fraction == Fraction(1, 4)
    assert MTDRule(np.float64(0.25)).max_dlt_fraction == Fraction(1, 4)
    assert MTDRule(0).max_dlt_fraction == Fraction(0)
    assert MTDRule(np.int64(0)).max_dlt_fraction == Fraction(0)
    assert MTDRule("0").max_dlt_fraction == Fraction(0)
    assert bd.Protocol.from_dict(PROTO.to_dict()).mtd_rule == PROTO.mtd_rule


def test_mtd_rule_false_in_a_protocol_file(tmp_path):
    path = _proto_toml(tmp_path, 'max_dlt_fraction = "1/6"', "max_dlt_fraction = false")
    with pytest.raises(ValueError, match=r"MTDRule: field 'max_dlt_fraction'.*got False"):
        bd.Protocol.from_toml(path)


# -- 3. BOIN boundaries --------------------------------------------------------------------
def test_boin_boundaries_correct_values_give_the_same_table():
    ref = bd.boin_boundaries(0.25, 12)
    for kw in ({"target": np.float64(0.25)}, {"target": Fraction(1, 4)},
               {"target": 0.25, "elimination_cutoff": Fraction(19, 20)},
               {"target": 0.25, "elimination_cutoff": np.float64(0.95)}):  # fmt: skip
        tab = bd.boin_boundaries(up_to_n=12, **kw)
        pd.testing.assert_frame_equal(tab, ref)
        assert tab.attrs == ref.attrs


# -- 4. CRM skeleton -------------------------------------------------------------------------
def test_crm_skeleton_correct_values_give_the_same_skeleton():
    ref = bd.crm_skeleton(0.25, 0.05, mtd_guess=3, n_doses=5)
    assert bd.crm_skeleton(np.float64(0.25), Fraction(1, 20), mtd_guess=3.0, n_doses=5) == ref
    lg = bd.crm_skeleton(0.25, 0.05, mtd_guess=3, n_doses=5, link="logistic", intercept=3)
    assert bd.crm_skeleton(0.25, 0.05, mtd_guess=3, n_doses=5, link="logistic",
                           intercept=np.float64(3.0)) == lg  # fmt: skip
    assert [round(p, 4) for p in ref] == [0.084, 0.1567, 0.25, 0.3545, 0.4603]


# -- 5. utility tables -----------------------------------------------------------------------
def test_utility_correct_values_give_the_same_table():
    ref = bd.BOIN12(0.35, 4, 0.25).utility
    assert ref == (100.0, 40.0, 60.0, 0.0)
    for u in ([100, 40, 60, 0], np.array([100, 40, 60, 0]), pd.Series([100.0, 40, 60, 0]),
              (np.int64(100), 40.0, Fraction(60), 0)):  # fmt: skip
        assert bd.BOIN12(0.35, 4, 0.25, utility=u).utility == ref
        assert bd.OBD(utility=u).utility == ref
    from bayes_dose.obd import expected_utility

    assert expected_utility([0.1, 0.3], [0.2, 0.5]).round(1).tolist() == [48.0, 58.0]


# -- 6. backfill opening -------------------------------------------------------------------------
def test_opens_when_cleared_correct_values():
    assert OpensWhenCleared().min_patients is None
    for v in (3, 3.0, np.int64(3)):
        s = OpensWhenCleared(min_patients=v)
        assert s.min_patients == 3 and type(s.min_patients) is int


# -- 7. borrowing ----------------------------------------------------------------------------
def test_rho_correct_values():
    assert bd.Exchangeable().rho == "uniform"
    for v in (0.3, np.float64(0.3)):
        assert bd.Exchangeable(rho=v).rho == 0.3
    assert bd.EXNEX(rho=0).rho == 0.0 and bd.EXNEX(rho=-0.5).rho == -0.5


# -- 8. two doses at one level in a CSV read without a protocol ------------------------------
def test_two_doses_at_one_level_without_a_protocol(tmp_path):
    p = _csv(tmp_path, ["001,mono,1,10,0", "002,mono,1,20,0", "003,mono,2,30,1"])
    with pytest.raises(ValueError, match=(
            r"data file 'o\.csv' line 3 \(patient_id='002'\) field 'dose_mg': 20 mg at dose level 1 "
            r"of arm 'mono' differs from 10 mg at that level on data file 'o\.csv' line 2 "
            r"\(patient_id='001'\)")):  # fmt: skip
        bd.Outcomes.read_csv(p)
    frame = pd.DataFrame({"patient_id": ["a", "b"], "arm": "mono", "dose_level": [1, 1],
                          "dose_mg": [10.0, 10.5], "dlt": [0, 0]})  # fmt: skip
    with pytest.raises(ValueError, match=r"Outcomes\.from_frame: row 1 .*field 'dose_mg'.*row 0"):
        bd.Outcomes.from_frame(frame)


def test_one_dose_per_level_without_a_protocol_still_reads(tmp_path):
    p = _csv(tmp_path, ["001,mono,1,10,0", "002,mono,1,10,0", "003,mono,2,30,1",
                        "004,combo,1,20,0", "005,mono,2,,0"])  # fmt: skip
    out = bd.Outcomes.read_csv(p)
    f = out.to_frame()
    assert f["dose_mg"].tolist()[:4] == [10.0, 10.0, 30.0, 20.0]
    assert np.isnan(f["dose_mg"].iloc[4])
    assert f["dose_level"].tolist() == [1, 1, 2, 1, 2]


# -- 9. protocol text fields ---------------------------------------------------------------------
def test_protocol_text_field_in_a_file(tmp_path):
    path = _proto_toml(tmp_path, 'drug = "BAT6021"', "drug = 6021")
    with pytest.raises(ValueError, match=r"Protocol: field 'drug' must be a text, got 6021"):
        bd.Protocol.from_toml(path)
    assert bd.Protocol.from_dict(PROTO.to_dict()) == PROTO


# -- 10. staggering takes NumPy numbers ---------------------------------------------------------
def test_staggering_takes_numpy_numbers():
    ref = Staggering(12.0, 3.0, False)
    s = Staggering(np.int64(12), np.int32(3), False)
    assert s == ref and type(s.hours_between_patients) is float
    assert Staggering(np.float64(12.0), np.float32(3.0), False) == ref
    assert Staggering(np.int64(12), 3).dosing_days(3).tolist() == Staggering(12.0, 3.0).dosing_days(3).tolist()


# -- 11. integral floats for integer keys of a spec ----------------------------------------------
def test_spec_takes_integral_floats_for_integer_keys(tmp_path):
    ref = load_designs(_spec(tmp_path, "max_n = 30"))["mono"]["b"]
    d = load_designs(_spec(tmp_path, "max_n = 30.0"))["mono"]["b"]
    assert d.max_n == ref.max_n == 30 and type(d.max_n) is int
    assert vars(d) == vars(ref)


@pytest.mark.parametrize("line", ["max_n = 30.5", "max_n = true", 'max_n = "30"', "max_n = nan"])
def test_spec_still_refuses_non_integers_for_integer_keys(tmp_path, line):
    with pytest.raises(ValueError, match=r"field 'max_n': must be an integer"):
        load_designs(_spec(tmp_path, line))


def test_spec_seed_stays_an_integer(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('protocol = "bat6021"\nseed = 7.0\n[designs.a]\ntype = "3+3"\n')
    with pytest.raises(ValueError, match=r"field 'seed'.*integer"):
        bd.io.load_spec(p)
