"""The Lua state under ``lua@5.3a`` (hyperbeam.lua): conversion, limits,
hardening and heap snapshots."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hyperbeam.lua.convert import from_lua, to_lua
from hyperbeam.lua.vm import LuaError, LuaVM

HOST = {
    "resolve": lambda args: (b"ok", args[1]),
    "set": lambda args: args[1],
    "event": lambda args: None,
}


def vm_with(code: bytes, **limits: Any) -> LuaVM:
    vm = LuaVM(HOST, **limits)
    vm.load(code, "test")
    vm.install(None)
    return vm


def test_messages_go_to_lua_and_back_as_upstream_converts_them() -> None:
    vm = vm_with(b"function echo(m) return m end function kinds(m) "
                 b"return math.type(m.i), math.type(m.f), type(m.b), #m.l, m.n[2] end")  # fmt: skip
    msg = {"s": "text", "i": 7, "f": 1.5, "b": True, "l": [1, "two", {"x": 3}], "bin": b"\xff\x00"}
    assert vm.call("echo", [msg]) == (msg,)
    assert vm.call(
        "kinds", [{"i": 1, "f": 1.0, "b": False, "l": [1, 2], "n": {"1": "a", "2": "b"}}]
    ) == (
        "integer",
        "float",
        "boolean",
        2,
        "b",
    )
    # Tables numbered 1..n (by integers or their text) and the empty table are
    # lists; keys are normalized; private keys never reach Lua.
    vm.load(b'function shapes() return {["1"]="a", ["2"]="b"}, {}, {Target="x", [5]="y"} end', "s")
    assert vm.call("shapes", []) == (["a", "b"], [], {"target": "x", "5": "y"})
    assert vm.call("echo", [{"a": 1, "priv": {"secret": 1}}]) == ({"a": 1},)


def test_integers_past_lua_range_travel_as_text() -> None:
    vm = vm_with(b"function echo(m) return m end")
    assert vm.call("echo", [2**70]) == (str(2**70),)


def test_an_endless_loop_stops_at_the_instruction_budget() -> None:
    vm = vm_with(
        b"function loop() while true do end end "
        b"function stubborn() while true do pcall(function() while true do end end) end end "
        b"function fine() return 1 end",
        budget=1_000_000,
    )
    for name in ("loop", "stubborn"):
        started = time.monotonic()
        with pytest.raises(LuaError, match="instruction budget"):
            vm.call(name, [])
        assert time.monotonic() - started < 5
    assert vm.call("fine", []) == (1,)  # the state still works


def test_a_greedy_script_hits_the_memory_cap() -> None:
    vm = vm_with(
        b"function greedy() local t = {} "
        b'for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end end '
        b"function fine() return 2 end",
        max_memory=32 * 1024 * 1024,
    )
    with pytest.raises(LuaError, match="out of memory"):
        vm.call("greedy", [])
    assert vm.call("fine", []) == (2,)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (b"return io", None),
        (b'return require("io")', "module 'io' not found"),
        (b"return python", None),
        (b'return require("python")', "module 'python' not found"),
        (b"return os.execute, os.getenv, os.remove", None),
        (b"return loadfile, dofile", None),
        (b"return debug.sethook", None),
        (b"return load(string.dump(function() end))", "attempt to load a binary chunk"),
    ],
)
def test_scripts_never_reach_the_machine(code: bytes, expected: str | None) -> None:
    vm = vm_with(b"function probe() " + code + b" end")
    try:
        result = vm.call("probe", [])
    except LuaError as exc:
        assert expected is not None and expected in exc.reason
        return
    if expected is None:
        assert all(value is None for value in result)
    else:
        assert any(expected in str(value) for value in result), result


def test_python_objects_stay_closed() -> None:
    """The host functions are Python callables: scripts can reach them (an
    upvalue) but read nothing from them."""
    vm = vm_with(
        b"function peek() local _, f = debug.getupvalue(ao.resolve, 1) "
        b"return type(f), pcall(function() return f.__class__ end) end"
    )
    kind, ok, *_ = vm.call("peek", [])
    assert kind == "userdata"
    assert ok is False


def test_a_heap_snapshot_restores_closures_upvalues_and_metatables() -> None:
    vm = vm_with(
        b"local n = 0 function inc() n = n + 1 return n end function get() return n end "
        b"Handlers = {list = {}} "
        b"function add(f) Handlers.list[#Handlers.list + 1] = f end "
        b"function run(x) local out = {} "
        b"for i, f in ipairs(Handlers.list) do out[i] = f(x) end return out end "
        b'setmetatable(Handlers, {__index = function(t, k) return "meta:" .. k end}) '
        b'function who() return ao.resolve({path = "x"}) end'
    )
    vm.call("inc", [])
    vm.call("inc", [])
    vm.load(b'add(function(x) return x * 2 end) add(function(x) return ("%d!"):format(x) end)', "e")
    heap = vm.snapshot()
    restored = LuaVM(HOST)
    restored.install(None)
    restored.restore(heap)
    # inc and get share the upvalue n, which was 2.
    assert restored.call("inc", []) == (3,)
    assert restored.call("get", []) == (3,)
    assert restored.call("run", [21]) == ([42, "21!"],)
    restored.load(b"function missing() return Handlers.zzz end", "m")
    assert restored.call("missing", []) == ("meta:zzz",)
    assert restored.call("who", []) == ("ok", {"path": "x"})  # ao is the new state's


def test_a_state_with_a_coroutine_has_no_snapshot() -> None:
    vm = vm_with(b"Co = coroutine.create(function() coroutine.yield(1) end)")
    with pytest.raises(LuaError, match="thread cannot be in a snapshot"):
        vm.snapshot()


def test_a_damaged_snapshot_is_refused() -> None:
    vm = LuaVM(HOST)
    vm.install(None)
    with pytest.raises(LuaError, match="snapshot"):
        vm.restore(b"HBLUA1garbage")


def test_conversion_without_a_state() -> None:
    assert from_lua(b"\xff") == b"\xff"
    assert from_lua(b"text") == "text"
    import lupa.lua53 as lua

    runtime = lua.LuaRuntime(encoding=None)
    table = to_lua(runtime, {"1": "a", "2": "b"})
    assert list(table.values()) == [b"a", b"b"]
