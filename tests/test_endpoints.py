"""RP2D synthesis (safety, exposure, response, ADA), its memo section and the CLI commands."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose import endpoints, response
from bayes_dose.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOSES = [10.0, 30.0, 100.0, 300.0]


def _cmp(text: str = "1NNN 2NNN 3NNN 3NNN 4NTT") -> bd.Comparison:
    # 3+3: 0/6 at level 3, 2/3 at level 4 -> MTD level 3 (100 mg)
    return bd.compare({"3+3": bd.ThreePlusThree(4, doses_mg=DOSES)}, {"mono": bd.Outcomes.parse(text)})


def _bor(counts: dict[float, tuple[int, int]]) -> pd.DataFrame:
    rows = []
    for dose, (resp, n) in counts.items():
        rows += [{"arm": "mono", "dose_mg": dose, "bor": "PR" if i < resp else "SD"} for i in range(n)]
    return pd.DataFrame(rows)


def test_plateau_within_ceiling_gives_the_lowest_dose_at_the_plateau():
    s = endpoints.rp2d_synthesis(_cmp(), plateau={"mono": 30.0}, plateau_source="pk")
    assert s.rp2d["mono"] == (2, 30.0)
    why = s.reasons["mono"]
    assert "safety ceiling 100 mg (level 3" in why and "3+3 level 3 (100 mg)" in why
    assert "exposure plateau from 30 mg (pk)" in why
    t = s.tables["mono"]
    assert t["rp2d"].tolist() == [False, True, False, False]
    assert t["3+3"].tolist() == ["", "", "MTD/RP2D", ""]
    assert t["n"].tolist() == [3, 3, 6, 3] and t["dlt"].tolist() == [0, 0, 0, 2]
    assert "no response data" in s.flags["mono"] and "no ADA data" in s.flags["mono"]


def test_plateau_above_ceiling_or_missing_keeps_the_ceiling_and_flags_it():
    s = endpoints.rp2d_synthesis(_cmp(), plateau={"mono": 300.0})
    assert s.rp2d["mono"] == (3, 100.0)
    assert "exposure plateau above the safety ceiling" in s.flags["mono"]
    s = endpoints.rp2d_synthesis(_cmp())
    assert s.rp2d["mono"] == (3, 100.0) and "no exposure plateau" in s.flags["mono"]


def test_clearly_higher_orr_moves_up_within_the_ceiling_only():
    # 0/10 at 30 mg (CP upper 0.308) vs 9/10 at 100 mg (CP lower 0.555): clearly higher
    bor = _bor({10.0: (0, 3), 30.0: (0, 10), 100.0: (9, 10), 300.0: (3, 3)})
    s = endpoints.rp2d_synthesis(_cmp(), response=bor, plateau={"mono": 30.0})
    assert s.rp2d["mono"] == (3, 100.0)
    assert "ORR at 100 mg 9/10 (90%" in s.reasons["mono"] and "moved up" in s.reasons["mono"]
    # 300 mg (3/3) is above the ceiling: never chosen
    assert not s.tables["mono"]["rp2d"].iloc[3]
    # not clearly higher (2/10 vs 1/10): stays
    bor = _bor({30.0: (1, 10), 100.0: (2, 10)})
    s = endpoints.rp2d_synthesis(_cmp(), response=bor, plateau={"mono": 30.0})
    assert s.rp2d["mono"] == (2, 30.0)
    assert "ORR at 30 mg 1/10 (10%, 95% CI 0%-45%)" in s.reasons["mono"]
    t = s.tables["mono"]
    assert t["orr_n"].tolist() == [0, 10, 10, 0] and t["responders"].tolist() == [0, 1, 2, 0]


def test_ada_incidence_cited_and_flagged():
    ada = pd.DataFrame({"arm": "mono", "dose_mg": [30.0] * 4 + [100.0] * 4,
                        "positive": [1, 1, 0, 0, 0, 0, 0, 1]})  # fmt: skip
    s = endpoints.rp2d_synthesis(_cmp(), ada=ada, plateau={"mono": 30.0})
    assert "ADA incidence at 30 mg 2/4 (50%" in s.reasons["mono"]
    assert "ADA incidence 50% > 30% at the RP2D" in s.flags["mono"]
    assert s.tables["mono"]["ada_incidence"].tolist()[1:3] == [0.5, 0.25]
    s = endpoints.rp2d_synthesis(_cmp(), ada=ada, plateau={"mono": 30.0}, ada_threshold=0.6)
    assert not any("ADA incidence" in f for f in s.flags["mono"])


def test_no_design_with_an_rp2d():
    s = endpoints.rp2d_synthesis(_cmp("1TTN"))
    assert s.rp2d["mono"] == (None, None)
    assert s.reasons["mono"].startswith("no RP2D") and "no design has an RP2D" in s.flags["mono"]
    assert not s.tables["mono"]["rp2d"].any()


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown arm"):
        endpoints.rp2d_synthesis(_cmp(), plateau={"combo": 30.0})
    with pytest.raises(ValueError, match="positive dose"):
        endpoints.rp2d_synthesis(_cmp(), plateau={"mono": -1.0})
    with pytest.raises(ValueError, match=r"doses \[50.0\] mg not in"):
        endpoints.rp2d_synthesis(_cmp(), response=_bor({50.0: (1, 3)}))
    with pytest.raises(ValueError, match="blank 'positive'"):
        endpoints.ada_by_dose(pd.DataFrame({"arm": ["mono"], "dose_mg": [30.0], "positive": [None]}))
    with pytest.raises(ValueError, match="missing column"):
        endpoints.rp2d_synthesis(_cmp(), response=pd.DataFrame({"arm": ["mono"], "bor": ["PR"]}))


def _bundled_synthesis():
    from bayes_dose.cli import _bundled_spec
    from bayes_dose.io import load_spec

    spec = load_spec(_bundled_spec())
    out = bd.examples.bat6021_outcomes()
    cmp = bd.compare(spec.designs, {a: out.arm(a) for a in spec.designs})
    bor = response.best_overall_response(response.bundled_response_listing())
    return cmp, endpoints.rp2d_synthesis(cmp, response=bor, plateau={"mono": 300.0, "combo": 100.0})


def test_bundled_data_synthesis_and_section():
    _, s = _bundled_synthesis()
    assert s.rp2d == {"mono": (6, 300.0), "combo": (2, 100.0)}
    # the combination ceiling is the most cautious designs' (3+3 and combo BLRM: 100 mg)
    assert "the lowest RP2D: 3+3, combo BLRM" in s.reasons["combo"]
    assert "ORR at 100 mg 18/88" in s.reasons["combo"]
    sec = endpoints.EndpointsSection(s, extra={"ORR by cohort": pd.DataFrame({"a": ["<b>"]})},
                                     notes=("synthetic data",))  # fmt: skip
    md, html = sec.to_markdown(), sec.to_html()
    assert "### Arm mono" in md and s.reasons["combo"] in md and "*synthetic data*" in md
    assert "<h3>Arm combo</h3>" in html and "&lt;b&gt;" in html and "<b>" not in html
    assert s.summary()["rp2d_mg"].tolist() == [300.0, 100.0]


def test_memo_renders_the_section(tmp_path):
    if "sections" not in inspect.signature(bd.report).parameters:
        pytest.skip("bd.report(sections=...) not merged yet (interface B, owner h3)")
    cmp, s = _bundled_synthesis()
    rep = bd.report(cmp, tmp_path, sections=[endpoints.EndpointsSection(s)])
    md = (tmp_path / "report.md").read_text()
    assert "Secondary endpoints and RP2D synthesis" in md and s.reasons["mono"] in md
    assert rep is not None


def test_cli_response(tmp_path, capsys):
    out = tmp_path / "resp.json"
    assert main(["response", "--format", "json", "--out", str(out), "--figures", str(tmp_path)]) == 0
    obj = json.loads(out.read_text())
    assert "RECIST 1.1 with confirmation" in obj["rule"]
    by_dose = pd.DataFrame(obj["orr by arm, dose_mg"])
    ref = response.orr(response.bundled_response_listing(), by=["arm", "dose_mg"])
    assert by_dose["responders"].tolist() == ref["responders"].tolist()
    assert len(obj["hierarchical (exnex, grid): raw vs posterior ORR"]) == 4
    assert all((tmp_path / f"{n}.png").exists() for n in ("waterfall", "swimmer", "shrinkage"))
    # an unknown category: one clear error line, exit code 2
    raw = pd.read_csv(ROOT / "src/bayes_dose/data/bat6021_response.csv", dtype=str,
                      keep_default_na=False)  # fmt: skip
    raw.loc[1, "OVRLRESP"] = "MR"
    bad = tmp_path / "bad.csv"
    raw.to_csv(bad, index=False)
    capsys.readouterr()
    assert main(["response", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "OVRLRESP" in err and "'MR'" in err


def test_secondary_endpoints_on_the_bundled_listings():
    cmp, _ = _bundled_synthesis()
    se = endpoints.secondary_endpoints(cmp, plateau={"mono": 300.0, "combo": None})
    assert se.synthesis.rp2d == {"mono": (6, 300.0), "combo": (2, 100.0)}
    # ADA from bayes_dose.ada.incidence: treatment-emergent / evaluable per dose
    inc = bd.ada.incidence()
    te = inc[(inc.category == "treatment-emergent") & (inc.arm == "mono") & (inc.dose == "300")]
    mono = se.synthesis.tables["mono"].set_index("dose_mg")
    assert mono.loc[300.0, "ada_positive"] == te["n"].iat[0]
    assert mono.loc[300.0, "ada_n"] == te["N"].iat[0]
    why = se.synthesis.reasons["combo"]
    assert "no exposure plateau within the doses studied" in why and "ADA incidence at 100 mg" in why
    assert "exposure still rising: no plateau" in se.synthesis.flags["combo"]
    assert set(se.dose_proportionality["arm"]) == {"mono", "combo"}
    sec = se.section()
    md = sec.to_markdown()
    for heading in ("Exposure plateau (PK)", "Dose proportionality", "ADA incidence",
                    "ORR by expansion cohort", "Borrowing across cohorts (exnex)"):  # fmt: skip
        assert f"### {heading}" in md
    assert se.bor.rule in md


def test_ada_by_dose_reads_the_ada_incidence_table():
    t = endpoints.ada_by_dose(bd.ada.incidence())
    assert list(t.columns) == ["arm", "dose_mg", "n", "positive"]
    assert (t.positive <= t.n).all() and "all" not in t.dose_mg.astype(str).tolist()


def test_cli_endpoints(tmp_path, capsys):
    out = tmp_path / "ep"
    assert main(["endpoints", "--plateau", "mono=300,combo=none", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "RP2D 300 mg (level 6)" in text and "RP2D 100 mg (level 2)" in text
    for f in ("endpoints.md", "endpoints.html", "rp2d_mono.csv", "rp2d_combo.csv", "nca.csv",
              "ada_incidence.csv", "best_overall_response.csv", "response_excluded.csv"):  # fmt: skip
        assert (out / f).exists(), f
    assert pd.read_csv(out / "rp2d_combo.csv")["rp2d"].tolist() == [False, True, False, False, False]
    assert main(["endpoints", "--plateau", "mono:300"]) == 2
    assert "not ARM=DOSE" in capsys.readouterr().err
    assert main(["endpoints", "--plateau", "mono=high"]) == 2
    assert main(["endpoints", "--plateau", "arm3=30"]) == 2
    assert "unknown arm" in capsys.readouterr().err


def test_cli_endpoints_memo(tmp_path):
    if "sections" not in inspect.signature(bd.report).parameters:
        pytest.skip("bd.report(sections=...) not merged yet (interface B, owner h3)")
    assert main(["endpoints", "--plateau", "mono=300,combo=none", "--memo", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text()
    assert "## Secondary endpoints and RP2D synthesis" in md and "RP2D 100 mg (level 2)" in md


def test_unchecked_prs_are_flagged_in_the_synthesis_and_its_section():
    """PRs that could not be checked against the sum of diameters (BOR.flags) are a flag of
    their arm's RP2D (count and subjects), shown on the section's 'Flags:' line."""
    def v(subject, dose, days, resps, sods):
        return pd.DataFrame({"subject": subject, "arm": "mono", "dose_mg": dose, "cohort": "x",
                             "day": days, "response": resps, "sum_diameters": sods})  # fmt: skip

    frames = [
        v("A", 100.0, [43, 85], ["PR", "PR"], [30.0, 30.0]),  # no baseline row
        v("C", 30.0, [-2, 43, 85], [None, "SD", "PR"], [50.0, 40.0, float("nan")]),  # blank sum
        v("D", 100.0, [-2, 43, 85], [None, "PR", "PR"], [50.0, 30.0, 30.0]),  # checked
    ]
    bor = response.best_overall_response(pd.concat(frames, ignore_index=True))
    s = endpoints.rp2d_synthesis(_cmp(), response=bor, plateau={"mono": 30.0})
    want = "3 PRs not checked against the sum of diameters (subjects A, C): used as recorded"
    assert want in s.flags["mono"]
    assert want in s.summary().set_index("arm").loc["mono", "flags"]
    sec = endpoints.EndpointsSection(s)
    assert "Flags: " in sec.to_markdown() and want in sec.to_markdown()
    assert want in sec.to_html()
    # the same synthesis from the BOR table alone (no flags to read) has no such flag
    t = endpoints.rp2d_synthesis(_cmp(), response=bor.table, plateau={"mono": 30.0})
    assert not any("not checked" in f for f in t.flags["mono"])


def test_cli_endpoints_shows_unchecked_prs_in_markdown_and_html(tmp_path):
    raw = pd.read_csv(ROOT / "src/bayes_dose/data/bat6021_response.csv", dtype=str,
                      keep_default_na=False)  # fmt: skip
    i = int(((raw.USUBJID == "M14") & (raw.ADY == "44")).to_numpy().nonzero()[0][0])
    assert raw.OVRLRESP[i] == "PR"
    raw.loc[i, "SUMDIAM"] = ""  # the PR visit's sum blank: used as recorded, flagged
    p = tmp_path / "resp.csv"
    raw.to_csv(p, index=False)
    out = tmp_path / "ep"
    assert main(["endpoints", "--response", str(p), "--plateau", "mono=300,combo=none",
                 "--out", str(out)]) == 0  # fmt: skip
    md, html = (out / "endpoints.md").read_text(), (out / "endpoints.html").read_text()
    flag = "1 PR not checked against the sum of diameters (subject M14): used as recorded"
    head = "PRs not checked against the sum of diameters (used as recorded)"
    mono = md.split("### Arm mono")[1].split("### Arm combo")[0]
    assert "Flags: " in mono and flag in mono and flag not in md.split("### Arm combo")[1]
    assert f"### {head}" in md
    table = md.split(f"### {head}")[1]
    assert f"line {i + 2}" in table and "M14" in table and "sum of diameters blank at this visit" in table
    assert flag in html and f"<h3>{head}</h3>" in html and f"line {i + 2}" in html
    assert pd.read_csv(out / "response_flagged.csv")["subject"].tolist() == ["M14"]
