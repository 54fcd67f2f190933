"""``wasi@1.0``: the WASI preview 1 calls AOS makes, over a virtual file system.

``init`` puts the device at ``wasm/stdlib/wasi_snapshot_preview1`` (so the
WASM device answers ``wasi_snapshot_preview1.*`` imports with it), and adds
``file-descriptors`` (0, 1 and 2: ``/dev/stdin``, ``/dev/stdout``,
``/dev/stderr``) and ``vfs``, the file system as a message: each directory a
map, each file a binary. Everything stays in the state, so it is stored,
hashed and browsable like any key.

Pointers and sizes are 64-bit (memory64 builds: an iovec is ``{u64 ptr, u64
len}``); wasmtime's own WASI is 32-bit only. Calls:

``fd_write`` / ``fd_read``   write to / read from a file at its descriptor's offset
``fd_seek``                  move a descriptor's offset
``fd_close``                 forget a descriptor (not the standard streams)
``path_open``                open a file of the vfs (created with ``O_CREAT``)
``environ_sizes_get`` / ``environ_get`` / ``args_sizes_get`` / ``args_get``
                             an empty environment and argument list
``clock_time_get``           0 (computations must be deterministic)
``proc_exit``                stops the call with the exit code as the reason

Upstream: dev_wasi.erl (which has init, fd_write, fd_read, path_open and
clock_time_get; the rest went to its stub, which answers 0 without writing).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from hyperbeam.ao.device import Device, Result, key
from hyperbeam.codecs.structured import to_bytes
from hyperbeam.message.model import Message, as_text
from hyperbeam.wasm import state as ws
from hyperbeam.wasm.engine import WasmError
from hyperbeam.wasm.instance import WasmInstance

Opts = Mapping[str, Any]

STDLIB_PATH = ["wasm", "stdlib", "wasi_snapshot_preview1"]
ESUCCESS, EBADF, EINVAL, ENOENT = 0, 8, 28, 44
O_CREAT = 1
_SEEK_SET, _SEEK_CUR, _SEEK_END = 0, 1, 2


def initial_fds() -> Message:
    return {
        "0": {"filename": "/dev/stdin", "offset": 0},
        "1": {"filename": "/dev/stdout", "offset": 0},
        "2": {"filename": "/dev/stderr", "offset": 0},
    }


def initial_vfs() -> Message:
    return {"dev": {"stdin": b"", "stdout": b"", "stderr": b""}}


def stdout(state: Message) -> bytes:
    """What the module wrote to standard output. Upstream: dev_wasi:stdout/1."""
    found = ws.walk(state, ["vfs", "dev", "stdout"])
    return to_bytes(found) if isinstance(found, bytes | str) else b""


class WasiDevice(Device):
    name = "wasi@1.0"

    @key("init")
    def init(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """Upstream: init/3."""
        out = ws.put(msg1, STDLIB_PATH, {"device": self.name})
        out = {**out, "file-descriptors": initial_fds(), "vfs": initial_vfs()}
        return "ok", out

    @key("compute")
    def compute(self, msg1: Message) -> Result:
        return "ok", msg1

    @key("stdout")
    def stdout_(self, msg1: Message) -> Result:
        return "ok", stdout(msg1)

    # -- imports: each gets the state (msg1["state"]) and the call (msg2["args"]) ----

    @key("fd_write")
    def fd_write(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        state, inst, args = _call_of(msg1, msg2)
        fd, iovs, count, written_ptr = (int(a) for a in args[:4])
        entry = _fd(state, fd)
        if entry is None:
            return _done(state, EBADF)
        data = b"".join(inst.read(ptr, length) for ptr, length in _iovecs(inst, iovs, count))
        state = _write_file(state, fd, entry, data)
        inst.write(written_ptr, struct.pack("<Q", len(data)))
        return _done(state, ESUCCESS)

    @key("fd_read")
    def fd_read(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        state, inst, args = _call_of(msg1, msg2)
        fd, iovs, count, read_ptr = (int(a) for a in args[:4])
        entry = _fd(state, fd)
        if entry is None:
            return _done(state, EBADF)
        content = _file(state, as_text(entry.get("filename", "")))
        offset = int(entry.get("offset", 0))
        total = 0
        for ptr, length in _iovecs(inst, iovs, count):
            chunk = content[offset : offset + length]
            inst.write(ptr, chunk)
            offset += len(chunk)
            total += len(chunk)
            if len(chunk) < length:
                break
        state = ws.put(state, ["file-descriptors", str(fd), "offset"], offset)
        inst.write(read_ptr, struct.pack("<Q", total))
        return _done(state, ESUCCESS)

    @key("fd_seek")
    def fd_seek(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        state, inst, args = _call_of(msg1, msg2)
        fd, delta, whence, result_ptr = int(args[0]), int(args[1]), int(args[2]), int(args[3])
        entry = _fd(state, fd)
        if entry is None:
            return _done(state, EBADF)
        size = len(_file(state, as_text(entry.get("filename", ""))))
        start = {_SEEK_SET: 0, _SEEK_CUR: int(entry.get("offset", 0)), _SEEK_END: size}.get(whence)
        if start is None or start + delta < 0:
            return _done(state, EINVAL)
        state = ws.put(state, ["file-descriptors", str(fd), "offset"], start + delta)
        inst.write(result_ptr, struct.pack("<Q", start + delta))
        return _done(state, ESUCCESS)

    @key("fd_close")
    def fd_close(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        state, _, args = _call_of(msg1, msg2, need_instance=False)
        fd = int(args[0])
        fds = state.get("file-descriptors")
        if not isinstance(fds, dict) or str(fd) not in fds:
            return _done(state, EBADF)
        if fd > 2:
            state = {**state, "file-descriptors": {k: v for k, v in fds.items() if k != str(fd)}}
        return _done(state, ESUCCESS)

    @key("path_open")
    def path_open(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        """``(dirfd, dirflags, path, path_len, oflags, rights, rights_inh,
        fdflags, fd_out)``. Upstream: path_open/3."""
        state, inst, args = _call_of(msg1, msg2)
        path = inst.read(int(args[2]), int(args[3])).decode("utf-8", "replace")
        oflags, fd_out = int(args[4]), int(args[8])
        name = "/" + path.lstrip("/")
        if ws.walk(state, ["vfs", *ws.parts(name)]) == ws.NOT_FOUND:
            if not oflags & O_CREAT:
                return _done(state, ENOENT)
            state = ws.put(state, ["vfs", *ws.parts(name)], b"")
        fds = state.get("file-descriptors")
        fds = dict(fds) if isinstance(fds, dict) else initial_fds()
        number = max((int(k) for k in fds if str(k).isdigit()), default=2) + 1
        fds[str(number)] = {"filename": name, "offset": 0}
        state = {**state, "file-descriptors": fds}
        inst.write(fd_out, struct.pack("<I", number))
        return _done(state, ESUCCESS)

    @key("environ_sizes_get")
    def environ_sizes_get(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        return _empty_sizes(msg1, msg2)

    @key("args_sizes_get")
    def args_sizes_get(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        return _empty_sizes(msg1, msg2)

    @key("environ_get")
    def environ_get(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        state, _, _ = _call_of(msg1, msg2, need_instance=False)
        return _done(state, ESUCCESS)

    @key("args_get")
    def args_get(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        state, _, _ = _call_of(msg1, msg2, need_instance=False)
        return _done(state, ESUCCESS)

    @key("clock_time_get")
    def clock_time_get(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        """Time is 0: every node must compute the same state.
        Upstream: clock_time_get/3 (answers 1 and writes nothing)."""
        state, inst, args = _call_of(msg1, msg2)
        inst.write(int(args[2]), struct.pack("<Q", 0))
        return _done(state, ESUCCESS)

    @key("proc_exit")
    def proc_exit(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        _, _, args = _call_of(msg1, msg2, need_instance=False)
        raise WasmError(f"the module exited with code {int(args[0]) if args else 0}", status=500)


# -- helpers -----------------------------------------------------------------------------


def _call_of(
    msg1: Message, msg2: Message, *, need_instance: bool = True
) -> tuple[Message, WasmInstance, list[int]]:
    state = msg1.get("state")
    if not isinstance(state, dict):
        raise WasmError("wasi@1.0 was called without the state of a WASM instance")
    inst = ws.private_get(state, "wasm", "instance")
    if not isinstance(inst, WasmInstance):
        inst = ws.private_get(state, "", "instance")
    if need_instance and not isinstance(inst, WasmInstance):
        raise WasmError("wasi@1.0 found no WASM instance in the state")
    args = msg2.get("args", [])
    return state, inst, [int(a) for a in args] if isinstance(args, list) else []


def _done(state: Message, errno: int) -> Result:
    return "ok", {"state": state, "results": [errno]}


def _empty_sizes(msg1: Message, msg2: Message) -> Result:
    """No variables (or arguments): a count of 0 and a size of 0 (two u64s)."""
    state, inst, args = _call_of(msg1, msg2)
    inst.write(int(args[0]), struct.pack("<Q", 0))
    inst.write(int(args[1]), struct.pack("<Q", 0))
    return _done(state, ESUCCESS)


def _iovecs(inst: WasmInstance, ptr: int, count: int) -> list[tuple[int, int]]:
    """Parse ``count`` 64-bit iovecs. Upstream: parse_iovec/2."""
    raw = inst.read(ptr, 16 * count)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]


def _fd(state: Message, fd: int) -> Message | None:
    found = ws.walk(state, ["file-descriptors", str(fd)])
    return found if isinstance(found, dict) else None


def _file(state: Message, filename: str) -> bytes:
    found = ws.walk(state, ["vfs", *ws.parts(filename)])
    return to_bytes(found) if isinstance(found, bytes | str) else b""


def _write_file(state: Message, fd: int, entry: Message, data: bytes) -> Message:
    filename = as_text(entry.get("filename", ""))
    offset = int(entry.get("offset", 0))
    content = _file(state, filename)
    updated = content[:offset] + data + content[offset + len(data) :]
    state = ws.put(state, ["vfs", *ws.parts(filename)], updated)
    return ws.put(state, ["file-descriptors", str(fd), "offset"], offset + len(data))
