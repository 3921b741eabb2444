"""The memo shows backfill patients per dose (simulations with backfill=) and the
randomised dose-optimisation stage (a section): issue 14 items 5 and 6."""

import numpy as np

import bayes_dose as bd


def test_memo_has_backfill_table_with_the_simulated_means():
    bf = bd.BOIN(target=0.25, n_doses=4, max_n=12, stay_one_in_three=True,
                 backfill=bd.Backfill(max_total=6))  # fmt: skip
    sims = bd.simulate({"BF-BOIN": bf, "BOIN": bd.BOIN(target=0.25, n_doses=4, max_n=12)},
                       scenarios={"mid": [0.05, 0.1, 0.25, 0.5]}, n_trials=40, seed=5,
                       progress=False)  # fmt: skip
    cmp = bd.compare({"BOIN": bd.BOIN(target=0.25, n_doses=4)},
                     {"mono": bd.Outcomes.parse("1NNN 2NNT")})  # fmt: skip
    md = bd.report(cmp, simulation={"mono": sims}, target=0.25).markdown
    assert "Backfill patients (mean per trial" in md
    want = sims["backfill_n"].sel(design="BF-BOIN", scenario="mid").mean("trial").to_numpy()
    nall = sims["n"].sel(design="BF-BOIN", scenario="mid").mean("trial").to_numpy()
    assert want.sum() > 0
    row = next(line for line in md.splitlines() if line.startswith("| BF-BOIN |")
               and " of " in line)  # fmt: skip
    for b, n in zip(want, nall, strict=True):
        assert f"{b:.2f} of {n:.2f}" in row
    tot = sims["n_backfill"].sel(design="BF-BOIN", scenario="mid").mean().item()
    assert row.rstrip(" |").endswith(f"{tot:.2f}")


def test_dose_optimisation_section_in_the_memo_matches_the_exact_probabilities():
    st = bd.RandomisedStage([300, 600], 25, bd.ROSE(margin=0.15, boundary=0.05))
    sec = bd.DoseOptimisationSection(st, {"plateau": [0.35, 0.35], "rising": [0.2, 0.35]})
    cmp = bd.compare({"3+3": bd.ThreePlusThree(4)}, {"mono": bd.Outcomes.parse("1NNN 2NTT")})
    rep = bd.report(cmp, sections=[sec])
    assert "Randomised dose-optimisation stage" in rep.markdown
    assert "Randomised dose-optimisation stage" in rep.html
    exact = st.probability_correct([0.2, 0.35]).p_correct
    n80 = st.sample_size(0.8, [0.2, 0.35]).n_per_arm
    row = next(line for line in rep.markdown.splitlines() if line.startswith("| rising |"))
    assert f"| {exact:.3g} |" in row and row.rstrip(" |").endswith(str(n80))
    assert np.isclose(exact, sec.table().set_index("scenario").loc["rising", "p_correct"])
