"""WebAssembly instances: the eunit tests of hb_beamr.erl and hb_beamr_io.erl,
with our own modules (tests/wasm_modules.py) in place of upstream's test
binaries, plus the node's limits (time, memory), load errors, the legacy
exception translation and emscripten's longjmp as AOS uses it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hyperbeam.errors import HyperbeamError
from hyperbeam.wasm import emscripten
from hyperbeam.wasm.engine import Runtime, WasmError, image_hash
from hyperbeam.wasm.instance import PAGE, Value, WasmInstance, WasmTimeout, WasmTrap
from tests import wasm_modules as wm
from tests.processes import aos_image


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


def multiply(module: str, name: str, args: list[Value], sig: str) -> Sequence[Value]:
    """An import handler answering ``my_lib.mul``, as upstream's test does."""
    assert (module, name) == ("my_lib", "mul")
    return [int(args[0]) * int(args[1])]


# --- hb_beamr.erl -----------------------------------------------------------------


def test_simple_wasm(runtime: Runtime) -> None:
    """Upstream: hb_beamr.erl simple_wasm_test."""
    inst = WasmInstance(runtime, wm.fac32())
    assert inst.call("fac", [5.0]) == [120.0]


def test_wasm64(runtime: Runtime) -> None:
    """Upstream: hb_beamr.erl wasm64_test."""
    inst = WasmInstance(runtime, wm.fac64())
    assert inst.call("fac", [5.0]) == [120.0]
    assert inst.call("fac", [6]) == [720.0]  # an int is converted to the f64 parameter


def test_imported_function(runtime: Runtime) -> None:
    """Upstream: hb_beamr.erl imported_function_test."""
    seen: list[tuple[str, str, list[Value], str]] = []

    def handler(module: str, name: str, args: list[Value], sig: str) -> Sequence[Value]:
        seen.append((module, name, list(args), sig))
        return multiply(module, name, args, sig)

    inst = WasmInstance(runtime, wm.pow_module())
    assert inst.call("pow", [2, 5], handler) == [32]
    assert len(seen) == 5
    assert seen[0] == ("my_lib", "mul", [1, 2], "(ii)i")


def test_import_without_a_handler_is_a_clear_trap(runtime: Runtime) -> None:
    inst = WasmInstance(runtime, wm.mystery_module())
    with pytest.raises(WasmTrap, match=r"mystery\.f"):
        inst.call("call_mystery", [1])


def test_import_failing_unexpectedly_is_a_trap(runtime: Runtime) -> None:
    """``call``'s contract: an import that fails with an unexpected
    exception is a :class:`WasmTrap` (a HyperbeamError passes through)."""

    def broken(module: str, name: str, args: list[Value], sig: str) -> Sequence[Value]:
        raise ValueError("the handler broke")

    inst = WasmInstance(runtime, wm.mystery_module())
    with pytest.raises(WasmTrap, match="the handler broke"):
        inst.call("call_mystery", [1], broken)


def test_import_raising_a_hyperbeam_error_passes_through(runtime: Runtime) -> None:
    def refuse(module: str, name: str, args: list[Value], sig: str) -> Sequence[Value]:
        raise HyperbeamError("not today", status=418)

    inst = WasmInstance(runtime, wm.mystery_module())
    with pytest.raises(HyperbeamError, match="not today") as raised:
        inst.call("call_mystery", [1], refuse)
    assert raised.value.status == 418
    assert inst.call("call_mystery", [1], lambda *_: [5]) == [5]


def test_import_results_are_converted(runtime: Runtime) -> None:
    """Missing results are zeros; integers wrap to the result's type."""
    inst = WasmInstance(runtime, wm.mystery_module())
    assert inst.call("call_mystery", [1], lambda *_: []) == [0]
    assert inst.call("call_mystery", [1], lambda *_: [2**32 + 7]) == [7]
    assert inst.call("call_mystery", [1], lambda *_: [-1]) == [-1]


def test_multiclient(runtime: Runtime) -> None:
    """Upstream: hb_beamr.erl multiclient_test: an instance started on one
    thread is called from another."""
    made: list[WasmInstance] = []
    results: list[list[Value]] = []
    starter = threading.Thread(target=lambda: made.append(WasmInstance(runtime, wm.fac32())))
    starter.start()
    starter.join()
    caller = threading.Thread(target=lambda: results.append(made[0].call("fac", [5.0])))
    caller.start()
    caller.join()
    assert results == [[120.0]]


def test_many_calls_are_fast(runtime: Runtime) -> None:
    """Upstream: hb_beamr.erl benchmark_test (more than 1000 calls a second)."""
    inst = WasmInstance(runtime, wm.fac64())
    deadline = time.perf_counter() + 0.3
    calls = 0
    while time.perf_counter() < deadline:
        assert inst.call("fac", [5.0]) == [120.0]
        calls += 1
    assert calls > 300


def test_wrong_parameter_count_is_refused(runtime: Runtime) -> None:
    inst = WasmInstance(runtime, wm.fac32())
    with pytest.raises(WasmError, match="takes 1 parameter") as raised:
        inst.call("fac", [1.0, 2.0])
    assert raised.value.status == 400
    with pytest.raises(WasmError, match="no function 'nope'") as missing:
        inst.call("nope")
    assert missing.value.status == 404


# --- hb_beamr_io.erl --------------------------------------------------------------


def test_size(runtime: Runtime) -> None:
    """Upstream: hb_beamr_io.erl size_test (one page; AOS starts larger)."""
    assert WasmInstance(runtime, wm.malloc_module()).size() == PAGE
    assert WasmInstance(runtime, wm.fac64()).size() == PAGE


def test_write(runtime: Runtime) -> None:
    """Upstream: hb_beamr_io.erl write_test."""
    inst = WasmInstance(runtime, wm.malloc_module())
    inst.write(0, b"Hello, World!")
    assert inst.read(0, 13) == b"Hello, World!"
    with pytest.raises(WasmError, match="out of bounds"):
        inst.write(1_000_000, b"Bad hello world!")
    with pytest.raises(WasmError, match="out of bounds"):
        inst.write(PAGE - 2, b"abc")  # straddles the end


def test_read(runtime: Runtime) -> None:
    """Upstream: hb_beamr_io.erl read_test (the module's known string)."""
    inst = WasmInstance(runtime, wm.malloc_module())
    assert inst.read(wm.HELLO_OFFSET, len(wm.HELLO)) == wm.HELLO
    with pytest.raises(WasmError, match="out of bounds"):
        inst.read(1_000_000, 13)
    with pytest.raises(WasmError, match="out of bounds"):
        inst.read(-1, 1)


def test_read_write_memory64(runtime: Runtime) -> None:
    inst = WasmInstance(runtime, wm.fac64())
    inst.write(PAGE - 5, b"tail!")
    assert inst.read(PAGE - 5, 5) == b"tail!"


def test_malloc(runtime: Runtime) -> None:
    """Upstream: hb_beamr_io.erl malloc_test: an allocation that fits, and
    one larger than the module's memory can grow to, which fails."""
    inst = WasmInstance(runtime, wm.malloc_module())
    first = inst.malloc(100)
    second = inst.malloc(100)
    assert first > 0 and second >= first + 100
    with pytest.raises(WasmError, match="malloc"):
        inst.malloc(128 * 1024 * 1024)
    # Growing within the module's maximum (4 pages) works.
    big = inst.malloc(2 * PAGE)
    assert inst.size() >= big + 2 * PAGE


def test_string_write_and_read(runtime: Runtime) -> None:
    """Upstream: hb_beamr_io.erl string_write_and_read_test."""
    inst = WasmInstance(runtime, wm.malloc_module())
    ptr = inst.write_string(b"Hello, World!")
    assert inst.read_string(ptr) == b"Hello, World!"
    assert inst.call("strlen", [ptr]) == [13]  # the module sees the NUL
    assert inst.read_string(wm.HELLO_OFFSET) == wm.HELLO
    with pytest.raises(WasmError, match="outside memory"):
        inst.read_string(10 * PAGE)


def test_read_string_without_nul(runtime: Runtime) -> None:
    inst = WasmInstance(runtime, wm.malloc_module())
    inst.write(PAGE - 4, b"abcd")  # no NUL before the end of memory
    with pytest.raises(WasmError, match="no terminating NUL"):
        inst.read_string(PAGE - 4)


def test_long_string(runtime: Runtime) -> None:
    """A string longer than read_string's first chunk."""
    inst = WasmInstance(runtime, wm.malloc_module())
    text = bytes(range(1, 256)) * 40  # 10,200 bytes, no NUL
    ptr = inst.write_string(text)
    assert inst.read_string(ptr) == text


# --- snapshots --------------------------------------------------------------------


def test_serialize_and_deserialize(runtime: Runtime) -> None:
    """Upstream: hb_beamr serialize/1 and deserialize/2: the memory and the
    exported mutable globals carry the instance's state to a new one."""
    inst = WasmInstance(runtime, wm.malloc_module())
    ptr = inst.write_string(b"kept across instances")
    memory, global_values = inst.serialize(), inst.globals()
    assert len(memory) == inst.size()
    assert global_values == {"next": ptr + 24}
    after_snapshot = inst.malloc(8)
    inst.write_string(b"written after the snapshot")

    fresh = WasmInstance(runtime, wm.malloc_module())
    assert fresh.read_string(ptr) != b"kept across instances"
    fresh.deserialize(memory, global_values)
    assert fresh.read_string(ptr) == b"kept across instances"
    assert fresh.globals() == global_values
    assert fresh.malloc(8) == after_snapshot  # the allocator resumes where it was


def test_snapshot_pages_skip_zeros_and_restore_exactly(runtime: Runtime) -> None:
    """``serialize_pages`` keeps only non-zero 64 KiB pages; restoring it
    zeroes what the snapshot did not have, even where a fresh instance's
    data segment wrote something (here "Hello, World!" at offset 66)."""
    inst = WasmInstance(runtime, wm.grow_module())
    assert inst.call("grow", [3]) == [1]
    inst.write(2 * PAGE + 10, b"third page")
    packed = inst.serialize_pages()
    assert len(packed) == 8 + PAGE  # only page 2 is not all zeros
    fresh = WasmInstance(runtime, wm.grow_module())
    fresh.deserialize_pages(packed, inst.size())
    assert fresh.size() == inst.size() and fresh.serialize() == inst.serialize()

    hello = WasmInstance(runtime, wm.malloc_module())
    hello.write(wm.HELLO_OFFSET, bytes(len(wm.HELLO)))
    zeroed = hello.serialize_pages()
    assert zeroed == b""  # all zeros now
    other = WasmInstance(runtime, wm.malloc_module())
    assert other.read(wm.HELLO_OFFSET, len(wm.HELLO)) == wm.HELLO
    other.deserialize_pages(zeroed, hello.size())
    assert other.read(wm.HELLO_OFFSET, len(wm.HELLO)) == bytes(len(wm.HELLO))
    with pytest.raises(WasmError, match="cut short"):
        other.deserialize_pages(packed[:-1], inst.size())


def test_deserialize_grows_memory(runtime: Runtime) -> None:
    inst = WasmInstance(runtime, wm.grow_module())
    assert inst.call("grow", [2]) == [1]
    inst.write(2 * PAGE + 10, b"third page")
    memory = inst.serialize()
    fresh = WasmInstance(runtime, wm.grow_module())
    fresh.deserialize(memory)
    assert fresh.size() == 3 * PAGE
    assert fresh.call("pages") == [3]
    assert fresh.read(2 * PAGE + 10, 10) == b"third page"


def test_state_survives_in_pow_memory(runtime: Runtime) -> None:
    inst = WasmInstance(runtime, wm.pow_module())
    inst.call("pow", [3, 2], multiply)
    inst.call("pow", [3, 3], multiply)
    fresh = WasmInstance(runtime, wm.pow_module())
    fresh.deserialize(inst.serialize())
    assert fresh.call("calls") == [2]
    assert fresh.call("pow", [3, 3], multiply) == [27]
    assert fresh.call("calls") == [3]


# --- limits -----------------------------------------------------------------------


def test_time_limit(runtime: Runtime) -> None:
    """An endless loop is stopped at the time limit, with a clear reason,
    and the instance (and runtime) keep working."""
    inst = WasmInstance(runtime, wm.loop_module(), time_limit=0.3)
    started = time.perf_counter()
    with pytest.raises(WasmTimeout, match=r"time limit of 0\.3 s") as raised:
        inst.call("spin")
    elapsed = time.perf_counter() - started
    assert 0.2 <= elapsed < 3
    assert raised.value.status == 504
    assert isinstance(raised.value, WasmTrap)
    assert inst.call("ok") == [1]
    assert WasmInstance(runtime, wm.fac32()).call("fac", [4.0]) == [24.0]


def test_time_limit_is_per_call(runtime: Runtime) -> None:
    """Calls that together run longer than the limit are each within it."""
    inst = WasmInstance(runtime, wm.fac64(), time_limit=0.2)
    deadline = time.perf_counter() + 0.5
    while time.perf_counter() < deadline:
        assert inst.call("fac", [10.0]) == [3628800.0]


def test_trap(runtime: Runtime) -> None:
    inst = WasmInstance(runtime, wm.trap_module())
    with pytest.raises(WasmTrap, match=r"calling boom: .*unreachable") as raised:
        inst.call("boom")
    assert not isinstance(raised.value, WasmTimeout)
    assert raised.value.status == 500
    assert "\n" not in raised.value.reason  # one line, not wasmtime's backtrace
    assert inst.call("ok") == [1]


def test_memory_growth_limit(runtime: Runtime) -> None:
    """``memory.grow`` past ``max_memory`` is refused (-1), not granted."""
    inst = WasmInstance(runtime, wm.grow_module(), max_memory=4 * PAGE)
    assert inst.call("grow", [2]) == [1]
    assert inst.call("grow", [5]) == [-1]
    assert inst.call("pages") == [3]
    assert inst.call("grow", [1]) == [3]
    assert inst.call("grow", [1]) == [-1]
    assert inst.size() == 4 * PAGE


def test_memory_limit_below_the_initial_memory(runtime: Runtime) -> None:
    with pytest.raises(WasmError, match="could not be instantiated"):
        WasmInstance(runtime, wm.fac32(), max_memory=PAGE // 2)


def test_snapshot_larger_than_the_limit_is_refused(runtime: Runtime) -> None:
    big = WasmInstance(runtime, wm.grow_module())
    big.call("grow", [7])
    small = WasmInstance(runtime, wm.grow_module(), max_memory=2 * PAGE)
    with pytest.raises(WasmError, match="larger than the memory limit"):
        small.deserialize(big.serialize())
    assert small.size() == PAGE


# --- loading ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (b"", "empty"),
        (b"not wasm at all", "not WebAssembly"),
        (b"\0asm\x01\0\0\0garbage", "does not load"),
    ],
)
def test_bad_images(runtime: Runtime, image: bytes, reason: str) -> None:
    with pytest.raises(WasmError, match=reason) as raised:
        WasmInstance(runtime, image)
    assert not isinstance(raised.value, WasmTrap)


def test_memory_import_is_refused(runtime: Runtime) -> None:
    with pytest.raises(WasmError, match=r"imports a memory \(env\.memory\)"):
        WasmInstance(runtime, wm.memory_import_module())


def test_modules_are_compiled_once(runtime: Runtime) -> None:
    assert runtime.module(wm.fac32()) is runtime.module(bytes(wm.fac32()))


def test_compiled_modules_are_cached_on_disk(tmp_path: Path) -> None:
    first = Runtime(tmp_path)
    assert WasmInstance(first, wm.fac64()).call("fac", [3.0]) == [6.0]
    cached = tmp_path / f"{image_hash(wm.fac64())}.cwasm"
    assert cached.exists()
    second = Runtime(tmp_path)
    assert WasmInstance(second, wm.fac64()).call("fac", [3.0]) == [6.0]


def test_a_broken_cache_file_is_compiled_again(tmp_path: Path) -> None:
    WasmInstance(Runtime(tmp_path), wm.fac64())
    cached = tmp_path / f"{image_hash(wm.fac64())}.cwasm"
    cached.write_bytes(b"not a compiled module" * 8)
    assert WasmInstance(Runtime(tmp_path), wm.fac64()).call("fac", [3.0]) == [6.0]
    assert cached.read_bytes()[:4] != b"not "  # rewritten


def test_legacy_exceptions_are_translated_and_cached(tmp_path: Path) -> None:
    """An image in the legacy exception encoding loads through wasm-opt;
    the translation and the compiled module are kept in the cache
    directory under the original image's hash, so another runtime with the
    same directory needs no wasm-opt at all."""
    image = wm.legacy_exceptions()
    key = image_hash(image)
    first = Runtime(tmp_path)
    inst = WasmInstance(first, image)
    assert inst.call("catch_it") == [7]
    assert inst.call("no_throw") == [3]
    translated = tmp_path / f"{key}.exnref.wasm"
    compiled = tmp_path / f"{key}.cwasm"
    assert translated.exists() and compiled.exists()
    assert translated.read_bytes()[:4] == b"\0asm" and translated.read_bytes() != image

    no_tool = Runtime(tmp_path, wasm_opt=str(tmp_path / "no-such-wasm-opt"))
    assert WasmInstance(no_tool, image).call("catch_it") == [7]

    compiled.unlink()  # the translation alone is enough too
    again = Runtime(tmp_path, wasm_opt=str(tmp_path / "no-such-wasm-opt"))
    assert WasmInstance(again, image).call("catch_it") == [7]
    assert compiled.exists()


def test_legacy_exceptions_without_wasm_opt(tmp_path: Path) -> None:
    runtime = Runtime(tmp_path, wasm_opt=str(tmp_path / "no-such-wasm-opt"))
    with pytest.raises(WasmError, match=r"legacy exception-handling encoding.*wasm-opt"):
        runtime.module(wm.legacy_exceptions())
    assert not list(tmp_path.iterdir())


def test_legacy_translation_without_a_cache_dir() -> None:
    runtime = Runtime()
    assert WasmInstance(runtime, wm.legacy_exceptions()).call("catch_it") == [7]


# --- emscripten: AOS's setjmp/longjmp -------------------------------------------

AOS_ENV = {
    "Process": {
        "Id": "AOS",
        "Owner": "FOOBAR",
        "Tags": [{"name": "Name", "value": "Thomas"}, {"name": "Authority", "value": "FOOBAR"}],
    }
}


class RawAos:
    """AOS driven through ``handle(msg, env)`` by hand, as upstream's
    dev_wasi basic_aos_exec_test does."""

    def __init__(self, runtime: Runtime, **limits: Any) -> None:
        self.imports: set[tuple[str, str]] = set()
        self.inst = WasmInstance(runtime, aos_image(), **limits)
        self.inst.call("emscripten_stack_init")
        self.inst.call("__wasm_call_ctors", [], self.on_import)
        self.count = 0
        self.mode = "companion"
        #: Longjmps seen by the Python fallback (a counter the fixture updates).
        self.longjmps = [0]
        boot = self.handle(
            {
                "Id": "AOS",
                "Tags": [
                    {"name": "Type", "value": "Process"},
                    {"name": "Name", "value": "Thomas"},
                    {"name": "Authority", "value": "FOOBAR"},
                ],
                "Data": "",
            }
        )
        assert boot["ok"] is True

    def on_import(self, module: str, name: str, args: list[Value], sig: str) -> Sequence[Value]:
        self.imports.add((module, name))
        return []

    def handle(self, fields: dict[str, Any]) -> dict[str, Any]:
        msg = {
            "From": "FOOBAR",
            "Block-Height": "1",
            "Target": "AOS",
            "Owner": "FOOBAR",
            "Module": "W",
            **fields,
        }
        ptr_msg = self.inst.write_string(json.dumps(msg).encode())
        ptr_env = self.inst.write_string(json.dumps(AOS_ENV).encode())
        (out,) = self.inst.call("handle", [ptr_msg, ptr_env], self.on_import)
        decoded: dict[str, Any] = json.loads(self.inst.read_string(int(out)))
        return decoded

    def eval(self, code: str) -> dict[str, Any]:
        self.count += 1
        response: dict[str, Any] = self.handle(
            {"Id": str(self.count), "Tags": [{"name": "Action", "value": "Eval"}], "Data": code}
        )["response"]
        return response


@pytest.fixture(params=["companion", "python"])
def aos(request: pytest.FixtureRequest, runtime: Runtime, monkeypatch: Any) -> Iterator[RawAos]:
    """AOS with ``invoke_*`` answered by the companion module, and by the
    Python fallback (used when no companion can be built), whose longjmps
    are counted in ``longjmps``."""
    longjmps = [0]
    if request.param == "python":
        monkeypatch.setattr(emscripten, "companion_for", lambda module: None)
        original = WasmInstance._throw_longjmp

        def counted(inst: WasmInstance) -> None:
            longjmps[0] += 1
            original(inst)

        monkeypatch.setattr(WasmInstance, "_throw_longjmp", counted)
    else:
        assert emscripten.companion_for(runtime.module(aos_image())) is not None
    found = RawAos(runtime)
    found.mode = request.param
    found.longjmps = longjmps
    yield found


def test_aos_eval_and_longjmp(aos: RawAos) -> None:
    """A Lua error unwinds through ``_emscripten_throw_longjmp`` to the
    nearest ``invoke_*``: the error is AOS's answer, and the next message
    is evaluated as usual."""
    assert aos.eval("return 1+1")["Output"]["data"] == "2"
    before = aos.longjmps[0]
    failed = aos.eval("error('x marks the spot')")
    assert "x marks the spot" in failed["Error"]
    assert "Output" not in failed
    if aos.mode == "python":
        assert aos.longjmps[0] > before
    else:
        assert aos.longjmps[0] == 0
    assert aos.eval("return 6*7")["Output"]["data"] == "42"
    nested = aos.eval("local ok, err = pcall(error, 'inner'); return tostring(ok) .. ':' .. err")
    assert nested["Output"]["data"] == "false:inner"
    assert aos.eval("X = 5; return X")["Output"]["data"] == "5"
    # The emscripten runtime calls never reach the import handler.
    assert not any(name.startswith("invoke_") for _, name in aos.imports)
    assert ("env", emscripten.THROW_LONGJMP) not in aos.imports


def test_aos_snapshot_round_trip(runtime: Runtime) -> None:
    aos = RawAos(runtime)
    assert aos.eval("X = 42")["Output"]["data"] == ""
    memory, global_values = aos.inst.serialize(), aos.inst.globals()
    aos.eval("X = 7")
    fresh = WasmInstance(runtime, aos_image())
    fresh.call("emscripten_stack_init")
    fresh.deserialize(memory, global_values)
    aos.inst = fresh
    assert aos.eval("return X")["Output"]["data"] == "42"
    assert aos.eval("return X + 1")["Output"]["data"] == "43"


def test_aos_memory_limit(runtime: Runtime) -> None:
    """``emscripten_resize_heap`` past ``max_memory`` fails inside Lua
    (not enough memory), and AOS keeps working."""
    aos = RawAos(runtime, max_memory=80 * 1024 * 1024)
    start = aos.inst.size()
    failed = aos.eval("local s = string.rep('x', 64 * 1024 * 1024) return #s")
    assert "not enough memory" in failed["Error"]
    assert aos.inst.size() <= 80 * 1024 * 1024
    assert aos.inst.size() >= start
    assert aos.eval("return 1+2")["Output"]["data"] == "3"
