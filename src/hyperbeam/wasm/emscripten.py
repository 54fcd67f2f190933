"""The emscripten runtime calls that an instance answers itself.

Emscripten builds (AOS among them) implement ``setjmp``/``longjmp`` (Lua's
error handling) with two kinds of import: ``invoke_<sig>(index, args...)``
calls a function of the module's table, and ``_emscripten_throw_longjmp()``
unwinds to the nearest ``invoke_*``, which restores the stack pointer and
calls ``setThrew(1, 0)``. Emscripten's JavaScript does this with a JS
exception. Here a small companion module, written for each image, does it in
WebAssembly with a tag: the unwinding never leaves wasm, which is several
times faster than a Python exception through a trap. The companion calls
the image's ``dynCall_<sig>`` and stack exports through a table filled in
after the image is instantiated (the two would otherwise import each other).

``_emscripten_memcpy_js`` (a plain ``memmove``) and ``emscripten_resize_heap``
(grow the memory, within the node's limit) are answered in Python.

Upstream answers ``invoke_*`` natively in its WAMR driver (hb_wasm.c) and
routes every other import to AO-Core.
"""

from __future__ import annotations

from dataclasses import dataclass

import wasmtime

#: Imports answered here rather than through AO-Core.
THROW_LONGJMP = "_emscripten_throw_longjmp"
MEMCPY = "_emscripten_memcpy_js"
RESIZE_HEAP = "emscripten_resize_heap"
INVOKE_PREFIX = "invoke_"

#: The image's exports the companion calls (first found wins).
STACK_SAVE = ("emscripten_stack_get_current", "stackSave")
STACK_RESTORE = ("_emscripten_stack_restore", "stackRestore")
SET_THREW = ("setThrew",)

_WAT_TYPES = frozenset({"i32", "i64", "f32", "f64"})


@dataclass(frozen=True, slots=True)
class Companion:
    """How the companion of one image is built and wired."""

    wat: str
    #: Export names of the image, in the order of the companion's table.
    table: tuple[str, ...]


def _names(module: wasmtime.Module) -> dict[str, wasmtime.FuncType]:
    return {exp.name: exp.type for exp in module.exports if isinstance(exp.type, wasmtime.FuncType)}


def _first(exports: dict[str, wasmtime.FuncType], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in exports), None)


def _wat(types: list[wasmtime.ValType]) -> list[str]:
    names = [str(t) for t in types]
    unknown = [name for name in names if name not in _WAT_TYPES]
    if unknown:
        raise ValueError(f"unsupported value type {unknown[0]}")
    return names


def companion_for(module: wasmtime.Module) -> Companion | None:
    """The companion of ``module``, or ``None`` when it imports no
    ``invoke_*`` or lacks an export the companion needs (it then runs with
    the Python fallback, :class:`LongJmp`)."""
    invokes = [
        imp
        for imp in module.imports
        if imp.module == "env"
        and imp.name is not None
        and imp.name.startswith(INVOKE_PREFIX)
        and isinstance(imp.type, wasmtime.FuncType)
    ]
    if not invokes:
        return None
    exports = _names(module)
    save, restore, threw = (
        _first(exports, names) for names in (STACK_SAVE, STACK_RESTORE, SET_THREW)
    )
    if save is None or restore is None or threw is None:
        return None
    table: list[str] = [save, restore, threw]
    types = [
        f"(type $save (func (result {_wat(exports[save].results)[0]})))",
        f"(type $restore (func (param {' '.join(_wat(exports[restore].params))})))",
        f"(type $threw (func (param {' '.join(_wat(exports[threw].params))})))",
    ]
    funcs: list[str] = []
    for number, imp in enumerate(invokes):
        assert isinstance(imp.type, wasmtime.FuncType) and imp.name is not None
        dyn = "dynCall_" + imp.name[len(INVOKE_PREFIX) :]
        if dyn not in exports:
            return None
        dyn_type = exports[dyn]
        params, results = _wat(imp.type.params), _wat(imp.type.results)
        if _wat(dyn_type.params)[1:] != params[1:] or _wat(dyn_type.results) != results:
            return None
        slot = len(table)
        table.append(dyn)
        index_type = _wat(dyn_type.params)[0]
        index = "(local.get 0)"
        if params[0] == "i64" and index_type == "i32":
            index = "(i32.wrap_i64 (local.get 0))"
        elif params[0] == "i32" and index_type == "i64":
            index = "(i64.extend_i32_u (local.get 0))"
        args = " ".join(f"(local.get {i})" for i in range(1, len(params)))
        dyn_sig = f"(param {' '.join(_wat(dyn_type.params))})" + (
            f" (result {' '.join(results)})" if results else ""
        )
        types.append(f"(type $dyn{number} (func {dyn_sig}))")
        result_decl = f"(result {' '.join(results)})" if results else ""
        sp_type = _wat(exports[save].results)[0]
        zero = " ".join(f"({r}.const 0)" for r in results)
        funcs.append(
            f"""(func (export "{imp.name}") (param {" ".join(params)}) {result_decl}
  (local $sp {sp_type})
  (local.set $sp (call_indirect $fns (type $save) (i32.const 0)))
  (block $caught
    (try_table (catch $longjmp $caught)
      (return (call_indirect $fns (type $dyn{number}) {index} {args} (i32.const {slot})))))
  (call_indirect $fns (type $restore) (local.get $sp) (i32.const 1))
  (call_indirect $fns (type $threw) {_threw_args(exports[threw])} (i32.const 2))
  {zero})"""
        )
    wat = "\n".join(
        [
            "(module",
            *types,
            "(tag $longjmp)",
            f'(table $fns (export "fns") {len(table)} funcref)',
            f'(func (export "{THROW_LONGJMP}") (throw $longjmp))',
            *funcs,
            ")",
        ]
    )
    return Companion(wat=wat, table=tuple(table))


def _threw_args(threw: wasmtime.FuncType) -> str:
    """``setThrew(1, 0)`` with the argument types of this build."""
    first, second = _wat(threw.params)
    return f"({first}.const 1) ({second}.const 0)"


class LongJmp(Exception):
    """``_emscripten_throw_longjmp`` when the companion cannot be used."""
