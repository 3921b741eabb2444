"""bd.Study simulates a design that borrows from another arm together with that arm, as
one bd.Programme (no held-fixed data), and the memo shows both arms and the programme."""

import numpy as np

import bayes_dose as bd
from bayes_dose.arm_dataset import arm_view

GRID = (7, 7, 15, 25)
MONO = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6]
COMBO = [0.05, 0.1, 0.2, 0.35, 0.5]


def _study(**kw):
    proto = bd.protocols.bat6021()
    blrm = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300, max_n=9)
    combo = bd.CombinationBLRM(mono=blrm, doses=proto.arm("combo").doses_mg, grid=GRID, max_n=9)
    designs = {"mono": {"3+3": bd.ThreePlusThree(8), "BLRM": blrm},
               "combo": {"3+3": bd.ThreePlusThree(5), "combo BLRM": combo}}
    scen = {"mono": {"s": MONO}, "combo": {"s": COMBO}}
    return bd.Study(proto, designs, data=bd.examples.bat6021_outcomes(), scenarios=scen,
                    seed=4, target=0.25, **kw), combo, blrm  # fmt: skip


def test_study_simulates_the_borrowing_design_as_a_programme():
    study, combo, blrm = _study(programme_n_trials=3)
    sims = study.simulate(n_trials=6)
    assert sims.held_fixed == {} and sims.not_simulated == {}
    # the arms' own simulations are as before (bd.simulate per arm, the study's seed)
    ref = bd.simulate({"3+3": bd.ThreePlusThree(5)}, scenarios={"s": COMBO}, n_trials=6, seed=4,
                      progress=False)  # fmt: skip
    np.testing.assert_array_equal(sims["combo"]["selected"].to_numpy(), ref["selected"].to_numpy())
    assert sims["combo"]["design"].values.tolist() == ["3+3"]
    # the programme: both arms' designs, the combination BLRM paired with the mono BLRM
    prog = sims.programme
    assert prog.sizes["trial"] == 3 and prog["arm"].values.tolist() == ["mono", "combo"]
    assert dict(zip(prog["design"].values, prog["source_design"].values, strict=True))[
        "combo BLRM"] == "BLRM"
    direct = bd.Programme(
        arms={"mono": {"3+3": bd.ThreePlusThree(8), "BLRM": blrm},
              "combo": {"3+3": bd.ThreePlusThree(5), "combo BLRM": combo}},
        opens=bd.opens_after("mono"), source={"combo BLRM": "BLRM"},
    ).simulate({"s": {"mono": MONO, "combo": COMBO}}, n_trials=3, seed=4)  # fmt: skip
    for arm in ("mono", "combo"):
        a, b = arm_view(prog, arm), arm_view(direct, arm)
        for v in ("n", "dlt", "selected", "patient_dose"):
            np.testing.assert_array_equal(a[v].to_numpy(), b[v].to_numpy(), err_msg=f"{arm} {v}")
    assert any("one programme" in n and "3 trials" in n for n in sims.notes)
    # programme=False: the old behaviour (observed mono data held fixed)
    old = study.simulate(n_trials=2, programme=False)
    assert old.programme is None and "combo/combo BLRM" in old.held_fixed


def test_memo_shows_both_arms_and_the_programme(tmp_path):
    study, _, _ = _study(programme_n_trials=2)
    files = study.report(tmp_path / "memo", n_trials=4)
    md = files["markdown"].read_text() if "markdown" in files else (
        tmp_path / "memo" / "report.md").read_text()  # fmt: skip
    assert "Not simulated: combo BLRM" not in md and "held fixed" not in md
    assert "Programme: Part I and Part II together" in md
    assert "combo, programme (Part II" in md and "mono, programme (Part I" in md
    assert "combo BLRM: simulated with the arm it borrows from as one programme" in md
    assert "combo (programme)" in md  # concordance of the programme's Part II designs
    assert "2 trials per scenario pair" in md
    assert (tmp_path / "memo" / "simulation.nc").exists()
    import xarray as xr

    back = xr.open_dataset(tmp_path / "memo" / "simulation.nc", group="programme")
    assert int(back.sizes["arm"]) == 2


def test_calendar_time_study_simulates_the_programme_in_calendar_time():
    """A study with a timeline: the programme is in calendar time too (as the arms), equal
    to bd.Programme.simulate(timeline=, protocol=), and the programme table gives its
    duration in months."""
    from bayes_dose.report import programme_table

    tl = bd.Timeline(accrual_per_month=4.0)
    study, combo, blrm = _study(programme_n_trials=2, timeline=tl)
    sims = study.simulate(n_trials=3)
    prog = sims.programme
    assert "programme_duration_days" in prog and "duration_days" in sims["mono"]
    direct = bd.Programme(
        arms={"mono": {"3+3": bd.ThreePlusThree(8), "BLRM": blrm},
              "combo": {"3+3": bd.ThreePlusThree(5), "combo BLRM": combo}},
        opens=bd.opens_after("mono"), source={"combo BLRM": "BLRM"},
    ).simulate({"s": {"mono": MONO, "combo": COMBO}}, n_trials=2, seed=4, timeline=tl,
               protocol=study.protocol)  # fmt: skip
    np.testing.assert_array_equal(prog["programme_duration_days"].to_numpy(),
                                  direct["programme_duration_days"].to_numpy())  # fmt: skip
    assert any("in calendar time" in n for n in sims.notes)
    tab = programme_table(prog, 0.25)
    row = tab[tab["Part II design"] == "combo BLRM"].iloc[0]
    months = prog["programme_duration_days"].sel(design="combo BLRM").to_numpy() / 30.4375
    assert row["Months, Part I start to Part II end (mean ± SE)"].startswith(
        f"{months.mean():.1f} ± ")


def test_a_programme_not_simulated_because_scenarios_do_not_pair_is_said():
    """Study(..., programme_n_trials=...) whose borrowing pair's scenarios do not pair (other
    names, other counts): no programme can be simulated, so the borrowing design runs on
    the observed source data held fixed, and the notes say why no programme was run
    (before: only the held-fixed note; programme_n_trials ignored without a word)."""
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300, max_n=6)
    combo = bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, max_n=6,
                               grid=(7, 7, 15, 25))  # fmt: skip
    st = bd.Study(proto, {"mono": {"BLRM": mono}, "combo": {"cBLRM": combo}},
                  data=bd.examples.bat6021_outcomes(),
                  scenarios={"mono": {"a": [0.02, 0.04, 0.06, 0.1, 0.16, 0.25, 0.35, 0.5],
                                      "b": [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6]},
                             "combo": {"x": [0.05, 0.1, 0.2, 0.35, 0.5]}},
                  programme_n_trials=3, n_trials=3)  # fmt: skip
    sim = st.simulate()
    assert sim.programme is None
    said = [n for n in sim.notes if "no programme" in n]
    assert len(said) == 1, sim.notes
    for part in ("cBLRM", "'mono'", "'combo'", "do not pair", "programme_n_trials"):
        assert part in said[0], said[0]
