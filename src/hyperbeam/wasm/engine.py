"""The WebAssembly engine: wasmtime with memory64, compiled modules cached.

One :class:`Runtime` serves a node. It owns the wasmtime ``Engine`` (memory64,
exception handling and epoch interruption on), a thread that advances the
engine's epoch (so a call that runs past its time limit traps instead of
hanging a worker), and the compiled modules, kept by the SHA-256 of the
image they came from: in memory (a small LRU) and, when the runtime has a
cache directory, serialized on disk so a restart does not compile again.

Images in the legacy exception-handling encoding (``try``/``catch``, as AOS
builds made by older emscripten use) do not validate in wasmtime. They are
translated once to the standard encoding with binaryen's ``wasm-opt
--translate-to-exnref``, and the translation is cached under the original
image's hash: the module keeps the original image's ID.

Upstream: hb_beamr (start/2, the WAMR driver's module loading). Upstream runs
WAMR, which accepts the legacy encoding directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import wasmtime

from hyperbeam.errors import HyperbeamError

log = logging.getLogger("hyperbeam.wasm")

#: How often the engine's epoch advances (seconds): the granularity of time limits.
EPOCH_TICK = 0.01
#: Compiled modules kept in memory.
MODULE_CACHE_SIZE = 32
#: The binaryen features AOS images use; ``--all-features`` would make
#: wasm-opt write imports in an encoding wasmtime does not read.
_WASM_OPT_FEATURES = (
    "--enable-memory64",
    "--enable-exception-handling",
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
)
_LEGACY_MARKER = "legacy_exceptions"


class WasmError(HyperbeamError):
    """A WebAssembly image could not be loaded or run."""

    status = 422


def image_hash(image: bytes) -> str:
    """The key of an image's compiled module (hex SHA-256)."""
    return hashlib.sha256(image).hexdigest()


class Runtime:
    """The engine and the compiled modules of a node."""

    def __init__(self, cache_dir: Path | None = None, wasm_opt: str = "") -> None:
        config = wasmtime.Config()
        config.wasm_memory64 = True
        config.wasm_exceptions = True
        config.epoch_interruption = True
        self.engine = wasmtime.Engine(config)
        self.cache_dir = cache_dir
        self.wasm_opt = wasm_opt
        self._modules: OrderedDict[str, wasmtime.Module] = OrderedDict()
        self._lock = threading.Lock()
        self._compiling: dict[str, threading.Lock] = {}
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()

    # -- time limits -----------------------------------------------------------------

    def deadline_ticks(self, seconds: float) -> int:
        """Epoch ticks for a time limit (starting the ticker on first use)."""
        if self._stopped.is_set():
            raise WasmError("the WASM runtime is closed", status=503)
        self._start_ticker()
        return max(1, int(seconds / EPOCH_TICK))

    def _start_ticker(self) -> None:
        if self._ticker is not None:
            return
        with self._lock:
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="wasm-epoch", daemon=True)
                self._ticker.start()

    def _tick(self) -> None:
        while not self._stopped.wait(EPOCH_TICK):
            self.engine.increment_epoch()

    def close(self) -> None:
        """Stop the epoch ticker and drop the compiled modules (the node
        calls this when it stops). Calls already running are not stopped."""
        self._stopped.set()
        if self._ticker is not None:
            self._ticker.join(1)
        with self._lock:
            self._modules.clear()

    # -- modules ---------------------------------------------------------------------

    def module(self, image: bytes) -> wasmtime.Module:
        """The compiled module of ``image`` (compiled at most once at a time)."""
        if not isinstance(image, bytes | bytearray) or not image:
            raise WasmError("the WASM image is empty or not a binary")
        if bytes(image[:4]) != b"\0asm":
            raise WasmError("the image is not WebAssembly (it does not start with \\0asm)")
        key = image_hash(bytes(image))
        with self._lock:
            found = self._modules.get(key)
            if found is not None:
                self._modules.move_to_end(key)
                return found
            gate = self._compiling.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found = self._modules.get(key)
            if found is None:
                found = self._load(key, bytes(image))
                with self._lock:
                    self._modules[key] = found
                    while len(self._modules) > MODULE_CACHE_SIZE:
                        self._modules.popitem(last=False)
            with self._lock:
                self._compiling.pop(key, None)
        return found

    def _load(self, key: str, image: bytes) -> wasmtime.Module:
        cached = self._cached_file(key, "cwasm")
        if cached is not None and cached.exists():
            try:
                return wasmtime.Module.deserialize_file(self.engine, str(cached))
            except wasmtime.WasmtimeError as exc:  # another wasmtime version wrote it
                log.info("recompiling WASM module %s: %s", key[:12], _first_line(exc))
        started = time.perf_counter()
        try:
            module = wasmtime.Module(self.engine, image)
        except wasmtime.WasmtimeError as exc:
            if _LEGACY_MARKER not in str(exc):
                raise WasmError(f"the WASM image does not load: {_first_line(exc)}") from exc
            module = self._compile_translated(key, image)
        log.info(
            "compiled WASM module %s (%d bytes) in %.2f s",
            key[:12],
            len(image),
            time.perf_counter() - started,
        )
        if cached is not None:
            _write_atomically(cached, bytes(module.serialize()))
        return module

    def _compile_translated(self, key: str, image: bytes) -> wasmtime.Module:
        """Compile an image that uses the legacy exception encoding, through
        its (cached) translation."""
        translated_file = self._cached_file(key, "exnref.wasm")
        if translated_file is not None and translated_file.exists():
            translated = translated_file.read_bytes()
        else:
            translated = self.translate(image)
            if translated_file is not None:
                _write_atomically(translated_file, translated)
        try:
            return wasmtime.Module(self.engine, translated)
        except wasmtime.WasmtimeError as exc:
            raise WasmError(
                f"the WASM image does not load, even translated to the standard "
                f"exception encoding: {_first_line(exc)}"
            ) from exc

    def translate(self, image: bytes) -> bytes:
        """``image`` with legacy exception handling rewritten to the standard
        (exnref) encoding, by binaryen's ``wasm-opt``."""
        tool = find_wasm_opt(self.wasm_opt)
        if tool is None:
            raise WasmError(
                "this WASM image uses the legacy exception-handling encoding; loading it "
                "needs binaryen's wasm-opt (version 121 or later, e.g. "
                "`npm install -g binaryen@132`), which was not found: set `wasm-opt` "
                "to its path"
            )
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="hb-wasm-") as tmp:
            source, target = Path(tmp) / "in.wasm", Path(tmp) / "out.wasm"
            source.write_bytes(image)
            command = [tool, str(source), *_WASM_OPT_FEATURES, "--translate-to-exnref"]
            try:
                done = subprocess.run(
                    [*command, "-o", str(target)],
                    capture_output=True,
                    timeout=300,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise WasmError(f"wasm-opt could not translate the image: {exc}") from exc
            if done.returncode != 0 or not target.exists():
                detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
                raise WasmError(
                    "wasm-opt could not translate the image: "
                    + (detail[-1] if detail else f"exit status {done.returncode}")
                )
            out = target.read_bytes()
        log.info(
            "translated a WASM image to the standard exception encoding in %.2f s",
            time.perf_counter() - started,
        )
        return out

    def _cached_file(self, key: str, suffix: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{key}.{suffix}"


def find_wasm_opt(configured: str = "") -> str | None:
    """binaryen's ``wasm-opt``: the configured path, else on ``PATH``, else
    in ``node_modules/.bin`` of the current directory or the test clients."""
    if configured:
        return configured if Path(configured).exists() else shutil.which(configured)
    found = shutil.which("wasm-opt")
    if found:
        return found
    for base in (Path.cwd(), Path(__file__).resolve().parents[3] / "tests" / "js"):
        candidate = base / "node_modules" / ".bin" / "wasm-opt"
        if candidate.exists():
            return str(candidate)
    return None


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:  # a cache: losing it only costs time
        log.warning("could not cache %s: %s", path.name, exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
