"""A Lua 5.3 state (lupa's bundled C Lua) as the ``lua@5.3a`` device uses it.

Each state runs the node's prelude (``prelude.lua``) first, which:

- keeps the instruction hook away from scripts (``debug.sethook``) and
  calls every function under an instruction budget (a script past it gets a
  clear error at every further instruction, so catching it does not help);
- removes what would reach the machine whatever the ``sandbox`` option
  (``io``, ``os.execute``/``getenv``/``remove``..., ``loadfile``,
  ``dofile``, C modules, files found by ``require``) and makes ``load``
  read source only (precompiled chunks can corrupt a Lua state);
- installs the ``ao`` library over Python callables whose attributes are
  closed (lupa's attribute handlers refuse every access): scripts can call
  them and nothing else.

The state has a memory cap (lupa's allocator): past it an allocation fails
with ``not enough memory`` and the call fails; the state stays usable.

One state is used by one caller at a time (its lock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

import lupa.lua53 as lua

from hyperbeam.errors import HyperbeamError
from hyperbeam.lua.convert import from_lua, to_lua

#: Instructions one call may run (about a second of Lua on this machine).
DEFAULT_BUDGET = 200_000_000
#: Bytes one Lua state may allocate.
DEFAULT_MAX_MEMORY = 512 * 1024 * 1024

HostFunction = Callable[[list[Any]], Any]


class LuaError(HyperbeamError):
    """A Lua script failed: its message, and where."""

    status = 500

    def __init__(self, reason: str, trace: str = "", *, status: int | None = None) -> None:
        super().__init__(reason, status=status)
        self.trace = trace


def _closed(obj: Any, name: Any, *value: Any) -> Any:
    raise AttributeError("Python objects are closed to Lua scripts")


_PRELUDE = resources.files("hyperbeam.lua").joinpath("prelude.lua").read_bytes()
_HEAP = resources.files("hyperbeam.lua").joinpath("heap.lua").read_bytes()


class LuaVM:
    """One Lua state: its modules, globals and limits."""

    def __init__(
        self,
        host: Mapping[str, HostFunction],
        *,
        max_memory: int = DEFAULT_MAX_MEMORY,
        budget: int = DEFAULT_BUDGET,
    ) -> None:
        self.runtime = lua.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_handlers=(_closed, _closed),
            max_memory=max_memory,
        )
        self.budget = budget
        self.lock = threading.RLock()
        callables = self.runtime.table_from(
            {b"resolve": host["resolve"], b"set": host["set"], b"event": host["event"]}
        )
        self._host = self.runtime.execute(_PRELUDE, callables, name=b"=prelude", mode="t")
        self._heap = self.runtime.execute(_HEAP, self._host, name=b"=heap", mode="t")
        #: What the node provides, by name (for snapshots), before any module ran.
        self._known = self._heap[b"known"]()
        #: Names of the modules loaded, in order.
        self.modules: list[str] = []
        #: The resolution options of the call under way (for the host library).
        self.opts: Mapping[str, Any] = {}

    # -- loading -----------------------------------------------------------------

    def load(self, code: bytes, name: str) -> None:
        """Run a module's source (never a precompiled chunk) in the state."""
        with self.lock:
            loaded = self._host[b"load"](code, b"=" + name.encode("utf-8"), b"t")
            chunk = loaded[0] if isinstance(loaded, tuple) else loaded
            if lua.lua_type(chunk) != "function":
                reason = _text(loaded[1]) if isinstance(loaded, tuple) else "not Lua source"
                raise LuaError(f"module {name} does not compile: {reason}", status=400)
            self._call_function(chunk, (), f"loading module {name}")
            self.modules.append(name)

    def install(self, sandbox: Mapping[str, Any] | None) -> None:
        """Add the ``ao`` library (after the modules, keeping their ``ao``
        table), then apply upstream's ``sandbox`` replacements."""
        with self.lock:
            closures = self._host[b"install"]()
            for name, closure in closures.items():
                self._heap[b"add"](self._known, name, closure)
            if sandbox:
                self._host[b"sandbox"](self.runtime.table_from(
                    {k.encode(): to_lua(self.runtime, v) for k, v in sandbox.items()}
                ))  # fmt: skip

    # -- calling -----------------------------------------------------------------

    def has_function(self, name: str) -> bool:
        with self.lock:
            found: str | None = lua.lua_type(self._host[b"global"](name.encode("utf-8")))
            return found == "function"

    def functions(self) -> list[str]:
        with self.lock:
            listed = from_lua(self._host[b"functions"]())
        return [str(n) for n in listed] if isinstance(listed, list) else []

    def call(
        self, name: str, args: Sequence[Any], opts: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """Call the global function ``name`` with ``args`` (messages and
        values, converted to Lua): its results, converted back. ``opts`` are
        the resolution options the host library uses during the call."""
        with self.lock:
            if opts is not None:
                self.opts = opts
            func = self._host[b"global"](name.encode("utf-8"))
            if lua.lua_type(func) != "function":
                raise LuaError(f"no Lua function {name!r}", status=404)
            lua_args = tuple(to_lua(self.runtime, a) for a in args)
            results = self._call_function(func, lua_args, f"calling {name}")
            return tuple(from_lua(r) for r in results)

    def _call_function(self, func: Any, args: tuple[Any, ...], what: str) -> tuple[Any, ...]:
        try:
            outcome = self._host[b"call"](self.budget, func, *args)
        except lua.LuaMemoryError:
            raise LuaError(f"{what}: the Lua state ran out of memory") from None
        except lua.LuaError as exc:
            raise LuaError(f"{what}: {_text(exc)}") from None
        outcome = outcome if isinstance(outcome, tuple) else (outcome,)
        if outcome[0] is True:
            return outcome[1:]
        message = _text(outcome[1]) if len(outcome) > 1 else "unknown error"
        trace = _text(outcome[2]) if len(outcome) > 2 and outcome[2] is not None else ""
        if "not enough memory" in message:
            self.runtime.gccollect()
            raise LuaError(f"{what}: the Lua state ran out of memory", _own_frames(trace))
        raise LuaError(message, _own_frames(trace))

    # -- snapshots ---------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The state's heap as bytes (:func:`restore` reads them). Raises
        :class:`LuaError` for a state holding what cannot be written down
        (a coroutine, userdata, a C function the node does not provide)."""
        with self.lock:
            done = self._host[b"call"](0, self._heap[b"save"], self._known)
        if done[0] is not True or not isinstance(done[1], bytes):
            raise LuaError(f"no snapshot of this Lua state: {_text(done[1])}", status=422)
        return done[1]

    def restore(self, data: bytes) -> None:
        """Replace the state's globals with a snapshot's (the ``ao`` library
        installed first, so the snapshot's references to it hold)."""
        with self.lock:
            done = self._host[b"call"](0, self._heap[b"restore"], data, self._known)
        if done[0] is not True:
            raise LuaError(f"the Lua snapshot does not restore: {_text(done[1])}", status=422)

    @property
    def memory_used(self) -> int:
        used = self.runtime.get_memory_used()
        return int(used) if used is not None else 0


def _own_frames(trace: str) -> str:
    """A traceback without the node's own frames (the call wrapper)."""
    lines = trace.splitlines()
    return "\n".join(
        line for line in lines if "prelude:" not in line and "in function 'xpcall'" not in line
    )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
