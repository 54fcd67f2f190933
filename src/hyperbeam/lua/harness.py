"""Upstream's ``lua-test`` harness, as ours: run a Lua script's tests.

A script's tests are its global functions whose names end in ``_test`` (or
the names given). Each runs from a state fresh from the script (no test sees
another's globals), with no arguments, through ``lua@5.3a``; status ``ok``
passes, anything else fails with what the script answered.

``hyperbeam lua-test script.lua[:test1:test2] ...`` runs them from the
command line. Upstream: dev_lua_test.erl (``rebar3 lua-test``, ``LUA_TESTS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.message.private import strip_private


@dataclass(frozen=True)
class Outcome:
    script: str
    test: str
    passed: bool
    status: str
    result: Any

    def line(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        detail = "" if self.passed else f": {self.status} {self.result!r}"
        return f"{mark} {self.script}:{self.test}{detail}"


def parse_spec(spec: str) -> list[tuple[Path, list[str]]]:
    """``a.lua:t1:t2,b.lua`` as scripts and their named tests (none: all).
    Upstream: dev_lua_test:parse_spec/1."""
    found = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, *tests = part.split(":")
        found.append((Path(name), [t for t in tests if t]))
    return found


def script_message(path: Path) -> dict[str, Any]:
    return {
        "device": "lua@5.3a",
        "module": {"content-type": "application/lua", "name": str(path), "body": path.read_bytes()},
    }


def run_script(path: Path, tests: Iterable[str], opts: Mapping[str, Any]) -> list[Outcome]:
    """Run the tests of one script (all of its ``*_test`` functions when
    ``tests`` is empty)."""
    base = script_message(path)
    names = list(tests)
    if not names:
        status, functions = ao.resolve(base, {"path": "functions"}, opts)
        if status != "ok" or not isinstance(functions, list):
            return [Outcome(str(path), "(load)", False, status, functions)]
        names = sorted(str(n) for n in functions if str(n).endswith("_test"))
    outcomes = []
    for name in names:
        fresh = script_message(path)  # each test from the script's own state
        try:
            status, result = ao.resolve(fresh, {"path": name, "parameters": []}, opts)
        except Exception as exc:  # a test that breaks the device fails, with why
            status, result = "error", f"{type(exc).__name__}: {exc}"
        if isinstance(result, dict):
            result = strip_private(result)
        outcomes.append(Outcome(str(path), name, status == "ok", status, result))
    return outcomes
