"""Upstream's dev_lua.erl eunit tests, on upstream's own test/test.lua
(tests/vectors/lua/upstream, with provenance), and its lua-test harness on
scripts/meta-test.lua. Each test names the upstream test it follows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hyperbeam.ao.resolve import resolve
from hyperbeam.devices import default_registry
from hyperbeam.lua.harness import parse_spec, run_script

UPSTREAM = Path(__file__).parents[1] / "vectors" / "lua" / "upstream"
TEST_LUA = (UPSTREAM / "test.lua").read_bytes()
OPTS: dict[str, Any] = {"registry": default_registry()}


def base(**extra: Any) -> dict[str, Any]:
    return {
        "device": "lua@5.3a",
        "module": {"content-type": "application/lua", "body": TEST_LUA},
        "parameters": [],
        **extra,
    }


def test_simple_invocation() -> None:
    """simple_invocation_test: a returned table is a message, its integers integers."""
    assert resolve(base(), {"path": "assoctable/b"}, OPTS) == ("ok", 2)


def test_multiple_modules() -> None:
    """multiple_modules_test: modules load in order into one state."""
    second = b"function test_second_script()\n    return 4\nend\n"
    msg = base(
        module=[
            {"content-type": "application/lua", "body": TEST_LUA},
            {"content-type": "text/x-lua", "body": second},
        ]
    )
    assert resolve(msg, {"path": "assoctable/b"}, OPTS) == ("ok", 2)
    assert resolve(msg, {"path": "test_second_script"}, OPTS) == ("ok", 4)


def test_error_response() -> None:
    """error_response_test: ``return "error", x`` is the device's error, as it is."""
    assert resolve(base(), {"path": "error_response"}, OPTS) == (
        "error",
        "Very bad, but Lua caught it.",
    )


def test_sandboxed_failure() -> None:
    """sandboxed_failure_test: with ``sandbox: true`` os.getenv is "sandboxed"."""
    status, result = resolve(base(sandbox=True), {"path": "sandboxed_fail"}, OPTS)
    assert status == "error"
    assert result["status"] == 500
    assert "getenv" in result["body"]


def test_device_sandbox() -> None:
    """ao_core_sandbox_test: ``device-sandbox`` limits what ao.resolve reaches."""
    sandboxed = base(**{"device-sandbox": ["message@1.0"]})
    assert resolve(sandboxed, {"path": "ao_resolve"}, OPTS) == ("ok", "Hello, AO world!")
    status, _ = resolve(sandboxed, {"path": "ao_relay"}, OPTS)
    assert status == "error"
    # A device this node has, but the sandbox does not allow:
    probe = b'function build() return ao.resolve({path = "/~meta@1.0/build/node"}) end'
    both = {
        **sandboxed,
        "module": [base()["module"], {"content-type": "application/lua", "body": probe}],
    }
    status, reason = resolve(both, {"path": "build"}, OPTS)
    assert status == "error"
    assert "meta@1.0" in str(reason)


def test_ao_core_resolution_from_lua() -> None:
    """ao_core_resolution_from_lua_test."""
    assert resolve(base(), {"path": "ao_resolve"}, OPTS) == ("ok", "Hello, AO world!")


def test_invoke_non_compute_key() -> None:
    """invoke_non_compute_key_test: any key calls its Lua function with
    (base, req, opts); a base's own key is read, not called."""
    msg = {
        "device": "lua@5.3a",
        "module": {"content-type": "application/lua", "body": TEST_LUA},
        "test-value": 42,
    }
    status, result = resolve(msg, {"path": "hello"}, OPTS)
    assert status == "ok"
    assert (result["test-value"], result["hello"]) == (42, "world")
    status, result = resolve(msg, {"path": "hello", "name": "Alice"}, OPTS)
    assert result["hello"] == "Alice"
    assert resolve(msg, {"path": "test-value"}, OPTS) == ("ok", 42)


def test_direct_benchmark() -> None:
    """direct_benchmark_test: more than 10 calls in a few seconds (far more here)."""
    import time

    msg = base()
    status, msg = resolve(msg, {"path": "init"}, OPTS)
    assert status == "ok"
    calls, deadline = 0, time.monotonic() + 1
    while time.monotonic() < deadline:
        assert resolve(msg, {"path": "assoctable"}, OPTS)[0] == "ok"
        calls += 1
    assert calls > 10


def test_functions_lists_the_globals() -> None:
    status, names = resolve(base(), {"path": "functions"}, OPTS)
    assert status == "ok"
    assert {"assoctable", "compute", "hello", "pairs"} <= set(names)


def test_lua_errors_answer_500_with_a_trace() -> None:
    broken = {
        "device": "lua@5.3a",
        "module": {"content-type": "application/lua", "body": b"function f() return nil + 1 end"},
        "parameters": [],
    }
    status, result = resolve(broken, {"path": "f"}, OPTS)
    assert status == "error"
    assert result["status"] == 500
    assert "arithmetic" in result["body"]
    assert "in function 'f'" in result["trace"]
    assert "prelude" not in result["trace"]


def test_a_missing_module_is_a_clear_error() -> None:
    status, result = resolve({"device": "lua@5.3a"}, {"path": "f"}, OPTS)
    assert status == "error"
    assert "no-modules-found" in str(result)


def test_upstream_lua_test_harness_on_meta_test() -> None:
    """scripts/meta-test.lua through the lua-test harness (dev_lua_test):
    every global ending in _test, and nothing else (``meta_test_ignored``).
    (With routes, every one passes: tests/conformance/test_dev_router.py.)"""
    outcomes = {o.test: o for o in run_script(UPSTREAM / "meta-test.lua", [], OPTS)}
    assert set(outcomes) == {"basic_test", "return_message_test", "sandbox_test"}
    assert outcomes["basic_test"].passed and outcomes["return_message_test"].passed
    assert outcomes["return_message_test"].result == {"key1": "Value1", "key2": "Value2"}


def test_harness_specs() -> None:
    """LUA_TESTS: ``name:test1:test2,...``."""
    assert parse_spec("a.lua:t1:t2,b.lua") == [(Path("a.lua"), ["t1", "t2"]), (Path("b.lua"), [])]
    outcomes = run_script(UPSTREAM / "meta-test.lua", ["basic_test"], OPTS)
    assert [o.test for o in outcomes] == ["basic_test"] and outcomes[0].passed
