"""The reference numbers the tests use are those of shared/refs."""

from __future__ import annotations

import json

import pytest

from conftest import REFS, shared_refs


def test_reference_copy_matches_shared():
    shared = shared_refs()
    if shared is None:
        pytest.skip("shared/refs not beside this checkout")
    assert json.loads(REFS.read_text()) == json.loads(shared.read_text())
