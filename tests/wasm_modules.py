"""Small WebAssembly modules for the WASM tests, written here in WAT.

They stand in for upstream's test binaries (test/test.wasm, test-64.wasm,
pow_calculator.wasm, test-print.wasm, test-calling.wasm), which are not
copied: each module here does what the upstream tests need of its
counterpart, and a few more exercise the node's limits and error paths.
Each function returns the binary (compiled once by ``wasmtime.wat2wasm``).
"""

from __future__ import annotations

from functools import cache

import wasmtime

#: Where the malloc module keeps a known string (upstream's test-print
#: module has ``Hello, World!`` at offset 66).
HELLO_OFFSET = 66
HELLO = b"Hello, World!"


def _fac(memory: str) -> str:
    return f"""
(module
  (memory (export "memory") {memory})
  (func $fac (export "fac") (param $n f64) (result f64)
    (if (result f64) (f64.lt (local.get $n) (f64.const 1))
      (then (f64.const 1))
      (else
        (f64.mul (local.get $n)
                 (call $fac (f64.sub (local.get $n) (f64.const 1))))))))
"""


@cache
def fac32() -> bytes:
    """``fac(f64) -> f64``, factorial, with a 32-bit memory (upstream: test.wasm)."""
    return bytes(wasmtime.wat2wasm(_fac("1")))


@cache
def fac64() -> bytes:
    """``fac(f64) -> f64`` with a memory64 memory (upstream: test-64.wasm)."""
    return bytes(wasmtime.wat2wasm(_fac("i64 1")))


@cache
def pow_module() -> bytes:
    """``pow(i32 base, i32 exp) -> i32`` computed by calling the import
    ``my_lib.mul(i32, i32) -> i32`` ``exp`` times (upstream:
    pow_calculator.wasm). Every call of ``pow`` also counts itself in memory
    (i32 at offset 16), readable through ``calls()``, so a snapshot of the
    memory carries state."""
    return bytes(
        wasmtime.wat2wasm(
            """
(module
  (import "my_lib" "mul" (func $mul (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "pow") (param $base i32) (param $exp i32) (result i32)
    (local $acc i32)
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (local.set $acc (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $exp)))
        (local.set $acc (call $mul (local.get $acc) (local.get $base)))
        (local.set $exp (i32.sub (local.get $exp) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "calls") (result i32) (i32.load (i32.const 16))))
"""
        )
    )


@cache
def malloc_module() -> bytes:
    """A 32-bit module with a bump allocator: ``malloc(i32) -> i32`` (0 when
    the memory, at most 4 pages, cannot hold it), ``HELLO`` at
    ``HELLO_OFFSET``, the allocator's next address exported as the mutable
    global ``next``, and a ``strlen(i32) -> i32`` (upstream:
    test-print.wasm and test-calling.wasm)."""
    return bytes(
        wasmtime.wat2wasm(
            f"""
(module
  (memory (export "memory") 1 4)
  (data (i32.const {HELLO_OFFSET}) "{HELLO.decode()}")
  (global $next (export "next") (mut i32) (i32.const 1024))
  (func (export "malloc") (param $size i32) (result i32)
    (local $ptr i32)
    (local $end i32)
    (local.set $ptr (global.get $next))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then (return (i32.const 0))))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow
                (i32.sub
                  (i32.div_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 65536))
                  (memory.size)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $next (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
    (local.get $ptr))
  (func (export "strlen") (param $p i32) (result i32)
    (local $n i32)
    (block $end
      (loop $more
        (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (local.get $n)))
"""
        )
    )


@cache
def trap_module() -> bytes:
    """``boom()`` executes ``unreachable``; ``ok() -> i32`` answers 1."""
    return bytes(
        wasmtime.wat2wasm(
            """
(module
  (memory (export "memory") 1)
  (func (export "boom") unreachable)
  (func (export "ok") (result i32) (i32.const 1)))
"""
        )
    )


@cache
def loop_module() -> bytes:
    """``spin()`` never returns; ``ok() -> i32`` answers 1."""
    return bytes(
        wasmtime.wat2wasm(
            """
(module
  (memory (export "memory") 1)
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "ok") (result i32) (i32.const 1)))
"""
        )
    )


@cache
def mystery_module() -> bytes:
    """``call_mystery(i32) -> i32`` calls the import ``mystery.f(i32) -> i32``,
    which no device answers."""
    return bytes(
        wasmtime.wat2wasm(
            """
(module
  (import "mystery" "f" (func $f (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "call_mystery") (param i32) (result i32) (call $f (local.get 0))))
"""
        )
    )


@cache
def memory_import_module() -> bytes:
    """A module that imports its memory (``env.memory``): refused at load."""
    return bytes(
        wasmtime.wat2wasm(
            """
(module
  (import "env" "memory" (memory 1))
  (func (export "size") (result i32) (memory.size)))
"""
        )
    )


@cache
def grow_module() -> bytes:
    """``grow(i32 pages) -> i32``: ``memory.grow`` (the old size in pages, or
    -1 when refused); ``pages() -> i32``: the current size."""
    return bytes(
        wasmtime.wat2wasm(
            """
(module
  (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "pages") (result i32) (memory.size)))
"""
        )
    )


#: What ``wasi_hello`` writes to standard output.
WASI_HELLO = b"hello"


@cache
def wasi_hello() -> bytes:
    """A memory64 module whose ``hello(i32 fd) -> i32`` writes ``WASI_HELLO``
    to the file descriptor ``fd`` through ``wasi_snapshot_preview1.fd_write``
    (one 64-bit iovec ``{u64 ptr, u64 len}`` at offset 0) and returns the
    errno; ``fd_write`` leaves the count written at offset 64 (u64)."""
    return bytes(
        wasmtime.wat2wasm(
            f"""
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i64 i64 i64) (result i32)))
  (memory (export "memory") i64 1)
  (data (i64.const 128) "{WASI_HELLO.decode()}")
  (func (export "hello") (param $fd i32) (result i32)
    (i64.store (i64.const 0) (i64.const 128))
    (i64.store (i64.const 8) (i64.const {len(WASI_HELLO)}))
    (call $fd_write (local.get $fd) (i64.const 0) (i64.const 1) (i64.const 64))))
"""
        )
    )


#: The file ``wasi_files`` opens, and what it writes there.
WASI_FILE = "/data/out.txt"
WASI_FILE_TEXT = b"abcdef"


@cache
def wasi_files() -> bytes:
    """A memory64 module whose ``files(i32 oflags) -> i32`` opens
    ``WASI_FILE`` (``path_open`` with ``oflags``; 1 is ``O_CREAT``), writes
    ``WASI_FILE_TEXT``, seeks to offset 2, reads 3 bytes into offset 300 and
    closes the descriptor twice. The errno of each call is stored as an i32
    from offset 400 (open, write, seek, read, close, close again); it
    returns the descriptor, or the errno of ``path_open`` when that failed.
    The counts written and read and the new offset are u64s at 64, 72, 80."""
    return bytes(
        wasmtime.wat2wasm(
            f"""
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i64 i64 i32 i64 i64 i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i64 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i64 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek"
    (func $fd_seek (param i32 i64 i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") i64 1)
  (data (i64.const 100) "{WASI_FILE}")
  (data (i64.const 150) "{WASI_FILE_TEXT.decode()}")
  (func (export "files") (param $oflags i32) (result i32)
    (local $fd i32)
    (i32.store (i64.const 400)
      (call $path_open (i32.const 3) (i32.const 0) (i64.const 100) (i64.const {len(WASI_FILE)})
        (local.get $oflags) (i64.const 0) (i64.const 0) (i32.const 0) (i64.const 200)))
    (if (i32.load (i64.const 400)) (then (return (i32.load (i64.const 400)))))
    (local.set $fd (i32.load (i64.const 200)))
    (i64.store (i64.const 0) (i64.const 150))
    (i64.store (i64.const 8) (i64.const {len(WASI_FILE_TEXT)}))
    (i32.store (i64.const 404)
      (call $fd_write (local.get $fd) (i64.const 0) (i64.const 1) (i64.const 64)))
    (i32.store (i64.const 408)
      (call $fd_seek (local.get $fd) (i64.const 2) (i32.const 0) (i64.const 72)))
    (i64.store (i64.const 16) (i64.const 300))
    (i64.store (i64.const 24) (i64.const 3))
    (i32.store (i64.const 412)
      (call $fd_read (local.get $fd) (i64.const 16) (i64.const 1) (i64.const 80)))
    (i32.store (i64.const 416) (call $fd_close (local.get $fd)))
    (i32.store (i64.const 420) (call $fd_close (local.get $fd)))
    (local.get $fd)))
"""
        )
    )


@cache
def legacy_exceptions() -> bytes:
    """A module in the legacy exception encoding (``try``/``catch``), which
    wasmtime only loads translated by binaryen's ``wasm-opt``:
    ``catch_it() -> i32`` throws 7 with a tag and catches it (7);
    ``no_throw() -> i32`` answers 3 from the ``try`` body."""
    return bytes(
        wasmtime.wat2wasm(
            """
(module
  (tag $t (param i32))
  (func (export "catch_it") (result i32)
    try (result i32)
      i32.const 7
      throw $t
    catch $t
    end)
  (func (export "no_throw") (result i32)
    try (result i32)
      i32.const 3
    catch $t
      i32.const 100
      i32.add
    end))
"""
        )
    )
