"""One running WebAssembly instance: calls, imports, memory, snapshots.

A :class:`WasmInstance` is an image instantiated in its own wasmtime store,
with the node's limits: a memory ceiling (``max_memory`` bytes) and a time
limit per call (``time_limit`` seconds; a call past it traps with
:class:`WasmTimeout`). Every function import is answered by the ``on_import``
callable given to :meth:`WasmInstance.call`, except the emscripten runtime
calls of :mod:`hyperbeam.wasm.emscripten`. Imports of memories, tables or
globals are refused when the image loads.

The instance is not thread-safe: callers serialize their calls (the process
device holds a lock per process).

Upstream: hb_beamr (start/2, call/6, serialize/1, deserialize/2, stop/1) and
hb_beamr_io (read/3, write/3, read_string/2, write_string/2, malloc/2).
"""

from __future__ import annotations

import ctypes
import logging
import struct
from collections.abc import Callable, Sequence
from typing import Any

import wasmtime

from hyperbeam.errors import HyperbeamError
from hyperbeam.wasm import emscripten
from hyperbeam.wasm.engine import Runtime, WasmError, _first_line

log = logging.getLogger("hyperbeam.wasm")

Value = int | float
#: ``on_import(module, name, args, signature)`` returns the import's results.
ImportHandler = Callable[[str, str, list[Value], str], Sequence[Value]]

PAGE = 65536
_ZERO_PAGE = bytes(PAGE)
#: Default memory ceiling of an instance (bytes).
DEFAULT_MAX_MEMORY = 4 * 1024**3
#: Default time limit of one call (seconds).
DEFAULT_TIME_LIMIT = 60.0

_SIG_LETTERS = {"i32": "i", "i64": "I", "f32": "f", "f64": "F"}


class WasmTrap(WasmError):
    """The code trapped (``unreachable``, a bad memory access, a stack
    overflow, ...) or an import failed."""

    status = 500


class WasmTimeout(WasmTrap):
    """A call ran past the time limit."""

    status = 504


def signature(func_type: wasmtime.FuncType) -> str:
    """A function type as upstream's drivers print it: ``(iI)F``.
    Upstream: hb_helpers.c get_function_sig."""
    params = "".join(_SIG_LETTERS.get(str(t), "?") for t in func_type.params)
    results = "".join(_SIG_LETTERS.get(str(t), "?") for t in func_type.results)
    return f"({params}){results}"


def _no_imports(module: str, name: str, args: list[Value], sig: str) -> Sequence[Value]:
    raise WasmTrap(f"the module called the import {module}.{name}, and nothing answers it")


class WasmInstance:
    """An instantiated image. Upstream: a hb_beamr worker."""

    def __init__(
        self,
        runtime: Runtime,
        image: bytes,
        *,
        max_memory: int = DEFAULT_MAX_MEMORY,
        time_limit: float = DEFAULT_TIME_LIMIT,
    ) -> None:
        self.runtime = runtime
        self.module = runtime.module(image)
        self.max_memory = max_memory
        self.time_limit = time_limit
        self.store = wasmtime.Store(runtime.engine)
        self.store.set_limits(memory_size=max_memory)
        self._on_import: ImportHandler = _no_imports
        self._pending: BaseException | None = None
        companion = emscripten.companion_for(self.module)
        helper: dict[str, Any] = {}
        if companion is not None:
            helper_module = wasmtime.Module(runtime.engine, bytes(wasmtime.wat2wasm(companion.wat)))
            helper = dict(self._instantiate(helper_module, []).exports(self.store).items())
        imports = [self._import(imp, helper) for imp in self.module.imports]
        self.instance = self._instantiate(self.module, imports)
        self.exports = self.instance.exports(self.store)
        memory = next(
            (ext for ext in self.exports.values() if isinstance(ext, wasmtime.Memory)), None
        )
        self.memory: wasmtime.Memory | None = memory
        if companion is not None:
            table = helper["fns"]
            for slot, name in enumerate(companion.table):
                table.set(self.store, slot, self.exports[name])
        self._funcs: dict[str, wasmtime.Func] = {}

    def _instantiate(self, module: wasmtime.Module, imports: list[Any]) -> wasmtime.Instance:
        self.store.set_epoch_deadline(self.runtime.deadline_ticks(self.time_limit))
        try:
            return wasmtime.Instance(self.store, module, imports)
        except wasmtime.Trap as exc:
            raise self._trap(exc, "instantiating the module") from exc
        except wasmtime.WasmtimeError as exc:
            raise WasmError(
                f"the WASM module could not be instantiated: {_first_line(exc)}"
            ) from exc

    # -- imports -------------------------------------------------------------------

    def _import(self, imp: wasmtime.ImportType, helper: dict[str, Any]) -> Any:
        module, name = imp.module, imp.name or ""
        kind = imp.type
        if not isinstance(kind, wasmtime.FuncType):
            what = type(kind).__name__.removesuffix("Type").lower()
            raise WasmError(
                f"the module imports a {what} ({module}.{name}); only function imports "
                "are supported"
            )
        if module == "env" and name in helper:
            return helper[name]
        if module == "env" and name == emscripten.MEMCPY:
            return wasmtime.Func(self.store, kind, self._memcpy)
        if module == "env" and name == emscripten.RESIZE_HEAP:
            return wasmtime.Func(self.store, kind, self._resize_heap)
        if module == "env" and name == emscripten.THROW_LONGJMP:
            return wasmtime.Func(self.store, kind, self._throw_longjmp)
        if module == "env" and name.startswith(emscripten.INVOKE_PREFIX):
            return wasmtime.Func(self.store, kind, self._invoke_in_python(kind))
        sig = signature(kind)
        results = [str(t) for t in kind.results]

        def answer(*args: Value) -> Any:
            out = list(self._on_import(module, name, list(args), sig))
            return _coerce_results(out, results, f"{module}.{name}")

        return wasmtime.Func(self.store, kind, answer)

    def _memcpy(self, dest: int, src: int, size: int) -> None:
        self._check_range(dest, size)
        self._check_range(src, size)
        base = self._base()
        ctypes.memmove(base + dest, base + src, size)

    def _resize_heap(self, requested: int) -> int:
        memory = self._memory()
        current = memory.data_len(self.store)
        if requested <= current:
            return 1
        if requested > self.max_memory:
            log.warning(
                "a WASM instance asked for %d bytes of memory (limit %d)",
                requested,
                self.max_memory,
            )
            return 0
        pages = -(-(requested - current) // PAGE)
        try:
            memory.grow(self.store, pages)
        except wasmtime.WasmtimeError:
            return 0
        return 1

    def _throw_longjmp(self) -> None:
        raise emscripten.LongJmp()

    def _invoke_in_python(self, kind: wasmtime.FuncType) -> Callable[..., Any]:
        """``invoke_<sig>`` without the companion module (see emscripten.py)."""
        results = [str(t) for t in kind.results]

        def invoke(index: int, *args: Value) -> Any:
            save = self._export(emscripten.STACK_SAVE)
            stack = save(self.store) if save is not None else None
            table = self.exports["__indirect_function_table"]
            assert isinstance(table, wasmtime.Table)
            func = table.get(self.store, index)
            if not isinstance(func, wasmtime.Func):
                raise WasmTrap(f"invoke: no function at table index {index}")
            try:
                return func(self.store, *args)
            except emscripten.LongJmp:
                restore = self._export(emscripten.STACK_RESTORE)
                threw = self._export(emscripten.SET_THREW)
                if restore is None or threw is None:
                    raise
                restore(self.store, stack)
                threw(self.store, 1, 0)
                return _coerce_results([], results, "invoke")

        return invoke

    def _export(self, names: tuple[str, ...]) -> wasmtime.Func | None:
        for name in names:
            found = self.exports.get(name)
            if isinstance(found, wasmtime.Func):
                return found
        return None

    # -- calls -------------------------------------------------------------------------

    def function(self, name: str) -> wasmtime.Func:
        found = self._funcs.get(name)
        if found is None:
            candidate = self.exports.get(name)
            if not isinstance(candidate, wasmtime.Func):
                raise WasmError(f"the module exports no function {name!r}", status=404)
            found = self._funcs[name] = candidate
        return found

    def has_function(self, name: str) -> bool:
        return isinstance(self.exports.get(name), wasmtime.Func)

    def call(
        self,
        name: str,
        params: Sequence[Any] = (),
        on_import: ImportHandler | None = None,
    ) -> list[Value]:
        """Call the exported function ``name``; its results as a list.

        Integer and float parameters are converted to the function's types.
        Raises :class:`WasmTrap` when the code traps (or an import fails with
        an unexpected exception), :class:`WasmTimeout` past the time limit, and
        lets a :class:`hyperbeam.errors.HyperbeamError` from an import through.
        """
        func = self.function(name)
        func_type = func.type(self.store)
        kinds = [str(t) for t in func_type.params]
        if len(params) != len(kinds):
            raise WasmError(
                f"{name} takes {len(kinds)} parameter(s) {signature(func_type)}, not {len(params)}",
                status=400,
            )
        args = [_to_wasm(value, kind, name) for value, kind in zip(params, kinds, strict=True)]
        previous = self._on_import
        self._on_import = on_import or _no_imports
        self.store.set_epoch_deadline(self.runtime.deadline_ticks(self.time_limit))
        try:
            result = func(self.store, *args)
        except wasmtime.Trap as exc:
            raise self._trap(exc, f"calling {name}") from exc
        except emscripten.LongJmp as exc:
            raise WasmTrap(f"calling {name}: longjmp with no setjmp to land on") from exc
        except wasmtime.WasmtimeError as exc:
            raise WasmTrap(f"calling {name}: {_first_line(exc)}") from exc
        except HyperbeamError:
            raise
        except Exception as exc:  # an import failed unexpectedly
            raise WasmTrap(
                f"calling {name}: an import failed: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            self._on_import = previous
        if result is None:
            return []
        if isinstance(result, list | tuple):
            return list(result)
        return [result]

    def _trap(self, exc: wasmtime.Trap, doing: str) -> WasmTrap:
        text = str(exc)
        if "interrupt" in text:
            return WasmTimeout(
                f"{doing}: the module ran past the time limit of {self.time_limit:g} s"
            )
        reason = next(
            (line.strip() for line in text.splitlines() if "wasm trap" in line),
            _first_line(exc),
        )
        return WasmTrap(f"{doing}: {reason}")

    # -- memory ------------------------------------------------------------------------

    def _memory(self) -> wasmtime.Memory:
        if self.memory is None:
            raise WasmError("the module exports no memory")
        return self.memory

    def _base(self) -> int:
        return ctypes.addressof(self._memory().data_ptr(self.store).contents)

    def size(self) -> int:
        """The memory's size in bytes. Upstream: hb_beamr_io:size/1."""
        return self._memory().data_len(self.store)

    def live_bytes(self) -> int:
        """Memory held (for the process workers' limit)."""
        return self.size() if self.memory is not None else 0

    def _check_range(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size():
            raise WasmTrap(
                f"memory access out of bounds: {length} bytes at {offset} "
                f"(memory is {self.size()} bytes)"
            )

    def read(self, offset: int, length: int) -> bytes:
        """Upstream: hb_beamr_io:read/3."""
        self._check_range(offset, length)
        return ctypes.string_at(self._base() + offset, length)

    def write(self, offset: int, data: bytes) -> None:
        """Upstream: hb_beamr_io:write/3."""
        self._check_range(offset, len(data))
        ctypes.memmove(self._base() + offset, data, len(data))

    def read_string(self, offset: int) -> bytes:
        """The NUL-terminated string at ``offset``. Upstream: read_string/2."""
        size = self.size()
        if offset < 0 or offset >= size:
            raise WasmTrap(f"string pointer {offset} is outside memory ({size} bytes)")
        base = self._base()
        chunk, start = 4096, offset
        while True:
            length = min(chunk, size - start)
            data = ctypes.string_at(base + start, length)
            end = data.find(b"\0")
            if end >= 0:
                return ctypes.string_at(base + offset, start - offset + end)
            start += length
            if start >= size:
                raise WasmTrap(f"the string at {offset} has no terminating NUL")
            chunk *= 2

    def malloc(self, length: int) -> int:
        """Upstream: hb_beamr_io:malloc/2."""
        (ptr,) = self.call("malloc", [length])
        if not ptr:
            raise WasmTrap(f"malloc({length}) failed inside the module")
        return int(ptr)

    def write_string(self, data: bytes) -> int:
        """Copy ``data`` and a NUL into memory the module allocates; the pointer.
        Upstream: hb_beamr_io:write_string/2."""
        ptr = self.malloc(len(data) + 1)
        self.write(ptr, data + b"\0")
        return ptr

    # -- snapshots ---------------------------------------------------------------------

    def serialize(self) -> bytes:
        """The whole linear memory. Upstream: hb_beamr:serialize/1."""
        return self.read(0, self.size())

    def serialize_pages(self) -> bytes:
        """The memory without its all-zero 64 KiB pages: each other page as
        its index (8 bytes, little-endian) and its bytes. AOS's 70 MB memory
        is about 2 MB this way. :meth:`deserialize_pages` reverses it."""
        size, base = self.size(), self._base()
        out: list[bytes] = []
        for index in range(size // PAGE):
            page = ctypes.string_at(base + index * PAGE, PAGE)
            if page != _ZERO_PAGE:
                out.append(struct.pack("<Q", index))
                out.append(page)
        return b"".join(out)

    def deserialize_pages(self, packed: bytes, size: int) -> None:
        """Put back a memory of ``size`` bytes from :meth:`serialize_pages`."""
        if len(packed) % (PAGE + 8):
            raise WasmError("the snapshot's pages are cut short")
        self._grow_to(size)
        base = self._base()
        ctypes.memset(base, 0, size)
        view = memoryview(packed)
        for offset in range(0, len(packed), PAGE + 8):
            (index,) = struct.unpack_from("<Q", view, offset)
            if (index + 1) * PAGE > size:
                raise WasmError(f"the snapshot has page {index}, past its memory size {size}")
            ctypes.memmove(base + index * PAGE, bytes(view[offset + 8 : offset + 8 + PAGE]), PAGE)

    def _grow_to(self, size: int) -> None:
        current = self.size()
        if size > current:
            if size > self.max_memory:
                raise WasmError(f"the snapshot ({size} bytes) is larger than the memory limit")
            self._memory().grow(self.store, -(-(size - current) // PAGE))

    def globals(self) -> dict[str, Value]:
        """The exported mutable globals, by name."""
        out: dict[str, Value] = {}
        for name, ext in self.exports.items():
            if isinstance(ext, wasmtime.Global) and ext.type(self.store).mutable:
                value = ext.value(self.store)
                if isinstance(value, int | float):
                    out[name] = value
        return out

    def deserialize(self, memory: bytes, global_values: dict[str, Value] | None = None) -> None:
        """Put back a memory (and globals) from :meth:`serialize`; the memory
        grows to fit. Upstream: hb_beamr:deserialize/2."""
        self._grow_to(len(memory))
        self.write(0, memory)
        for name, value in (global_values or {}).items():
            ext = self.exports.get(name)
            if isinstance(ext, wasmtime.Global):
                ext.set_value(self.store, value)

    def close(self) -> None:
        """Drop the store (and its memory). Upstream: hb_beamr:stop/1."""
        self.memory = None
        self._funcs.clear()


def _to_wasm(value: Any, kind: str, name: str) -> Value:
    try:
        if kind in ("i32", "i64"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{value} is not an integer")
            number = int(value)
            bits = 32 if kind == "i32" else 64
            number &= (1 << bits) - 1
            return number - (1 << bits) if number >= 1 << (bits - 1) else number
        if kind in ("f32", "f64"):
            return float(value)
    except (TypeError, ValueError) as exc:
        raise WasmError(f"bad parameter for {name} ({kind}): {value!r}: {exc}", status=400) from exc
    raise WasmError(f"{name} takes a {kind} parameter, which cannot be passed", status=400)


def _coerce_results(out: list[Value], kinds: list[str], name: str) -> Any:
    """An import's answer as wasmtime wants it (missing results are zeros)."""
    values = [_to_wasm(out[i] if i < len(out) else 0, kind, name) for i, kind in enumerate(kinds)]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def pack_u64(value: int) -> bytes:
    return struct.pack("<Q", value)
