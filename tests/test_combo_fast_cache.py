"""Combination BLRM on the prior grid: the node probability tables are computed once per
grid (issue 13 item 5, speed); results bit for bit as computing them in every call."""

import numpy as np

import bayes_dose as bd
from bayes_dose.inference import combo_blrm_model as cbm
from bayes_dose.inference.blrm_grid import grid_engine


def _combo(grid=(9, 9, 31, 45)):
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    return bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, grid=grid)


COUNTS = {
    "mono": (np.array([[1, 1, 1, 3, 3, 6, 3, 0], [0, 0, 0, 3, 3, 6, 6, 0]]),
             np.array([[0, 0, 0, 0, 0, 1, 2, 0], [0, 0, 0, 0, 0, 0, 0, 0]])),
    "combo": (np.array([[3, 6, 6, 0, 0], [9, 0, 0, 0, 0]]), np.array([[0, 0, 2, 0, 0], [5, 0, 0, 0, 0]])),
}  # fmt: skip


def test_cached_tables_give_identical_estimates(monkeypatch):
    """Two calls on the same prior grid (the second served from the table cache) and a
    call with the cache disabled agree bit for bit in every statistic."""
    model = _combo().model
    eng = grid_engine(model, (9, 9, 31, 45))
    assert eng.size >= cbm._CACHE_MIN_NODES
    cbm._PROB_CACHE.clear()
    first = eng.estimate(COUNTS, intervals=False)
    assert any(v[0] is eng.quad.params for v in cbm._PROB_CACHE.values())
    second = eng.estimate(COUNTS, intervals=False)
    monkeypatch.setattr(cbm, "_CACHE_MIN_NODES", 10**12)
    plain = eng.estimate(COUNTS, intervals=False)
    for other in (second, plain):
        np.testing.assert_array_equal(first.prob_mean, other.prob_mean)
        assert set(first.stats) == set(other.stats)
        for k in first.stats:
            np.testing.assert_array_equal(np.asarray(first.stats[k]), np.asarray(other.stats[k]), err_msg=k)


def test_cached_table_is_read_only_and_tied_to_its_node_set():
    """The cached table cannot be modified in place, and a different node set with the
    same values is computed afresh (the cache keys on the mapping itself)."""
    model = _combo().model
    eng = grid_engine(model, (9, 9, 31, 45))
    tab = model._node_prob(eng.quad.params, "combo")
    assert not tab.flags.writeable
    copy = {k: np.array(v) for k, v in eng.quad.params.items()}
    other = model._node_prob(copy, "combo")
    assert other is not tab
    np.testing.assert_array_equal(other, tab)
    assert model._node_prob(eng.quad.params, "combo") is model._node_prob(eng.quad.params, "combo")
