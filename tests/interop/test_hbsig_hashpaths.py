"""Hashpaths of resolved results against hbsig's hashpath chaining.

The resolver links every result to the two messages that made it
(hb_path:hashpath/4): the first step's hashpath is ``id(base)/id(request)``,
each later one ``b64url(sha256(prev1 || prev2))/id(request)``. tests/js/hashpaths.mjs
computes the same chains with hbsig, an independent JavaScript implementation.
Requests carry keys besides ``path`` so that their full ID is used (a bare
``{path}`` request contributes its key instead, which hbsig does not model).
"""

from __future__ import annotations

from typing import Any

import pytest

from hyperbeam.ao.resolve import resolve_many
from hyperbeam.message.private import private_of
from tests.interop.js import run_script

# Every chain ends in a message (scalars carry no hashpath). Left out, because
# hbsig encodes them differently from upstream (see test_hbsig_ids.DISCREPANCIES):
# floats, and nested parts with a key that sorts before `content-disposition`.
CHAINS: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
    ({"a": {"v": "1"}}, [{"path": "a", "note": "x"}]),
    ({"a": {"b": {"v": "d"}}}, [{"path": "a", "n": 1}, {"path": "b", "n": 2}]),
    (
        {"a": {"b": {"c": {"d": "deep"}}}, "other": [1, 2]},
        [{"path": "a", "k": "v"}, {"path": "b", "i": 15}, {"path": "c", "t": "u"}],
    ),
    ({"x": {"y": "z"}, "n": 5}, [{"path": "set", "x": {"y": "w"}}, {"path": "x", "m": "1"}]),
]


def _hbsig_hashpaths() -> list[dict[str, str]]:
    chains = [{"base": base, "requests": requests} for base, requests in CHAINS]
    results: list[dict[str, str]] = run_script("hashpaths.mjs", chains, package="hbsig")
    return results


@pytest.fixture(scope="module")
def theirs() -> list[dict[str, str]]:
    return _hbsig_hashpaths()


@pytest.mark.parametrize("index", range(len(CHAINS)))
def test_hashpaths_agree_with_hbsig(index: int, theirs: list[dict[str, str]]) -> None:
    base, requests = CHAINS[index]
    status, result = resolve_many([base, *requests], {})
    assert status == "ok", result
    assert "hashpath" in theirs[index], theirs[index]
    assert private_of(result)["hashpath"] == theirs[index]["hashpath"]
