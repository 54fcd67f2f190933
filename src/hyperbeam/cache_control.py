"""Cache control for the resolver: when to look results up, when to store them.

Settings come from ``cache-control`` directives (case-insensitive, given as
text ``"no-store, no-cache"`` or as a list):

================  =======  ========  ====================================
directive         store    lookup    other
================  =======  ========  ====================================
``always``        true     true
``no-store``      false
``store``         true
``no-cache``               false
``cache``                  true
``only-if-cached``         true      a miss answers 504, ``cache-status: miss``
================  =======  ========  ====================================

A source that says nothing about a setting leaves it to the sources below
it. From lowest to highest precedence (node.md §5.8):

- store: defaults (false) < the request ``msg2`` < the result ``msg3`` <
  the node options (``opts["cache_control"]``);
- lookup: defaults (false) < the request ``msg2`` < the base ``msg1`` <
  the node options.

A message's setting must be its own literal ``cache-control`` key. Options
with ``hashpath: "ignore"`` never store (the result's hashpath would be
wrong). The HTTP edge puts a node's HTTP-only settings
(``http_extra_opts.cache_control`` upstream) into ``opts["cache_control"]``.

How the resolver calls this module::

    # stage 2, before validation (msg1 may still be an ID):
    status, value = cache_control.maybe_lookup(msg1, msg2, opts)
    #   ("ok", result)     -> a cached result: return ("ok", result)
    #   ("error", reason)  -> return ("error", reason); reason is a message
    #                         with a numeric "status" (504 or 404) and "body"
    #   ("continue", base) -> resolve on; ``base`` is msg1, or the message an
    #                         ID msg1 names when the lookup loaded it
    # stages 8/9, after the result's hashpath is set, for ("ok", msg3):
    cache_control.maybe_store(msg1, msg2, msg3, opts)   # -> bool, never raises

Options read: ``store`` (a :class:`~hyperbeam.store.base.Store`; without one
nothing is looked up or stored), ``cache_control``, ``hashpath``,
``store_scope_resolved`` (``"local"``: the stores results are looked up in),
``cache_lookup_hueristics`` (sic, upstream's spelling; default true) and
``async_cache`` (store from a background thread).

Differences from upstream:

- ``only-if-cached`` also turns lookups on (as ``cache`` does). Upstream it
  only changes what a miss answers, so alone it never looked anything up
  and the request was computed instead of answering 504.
- Directives given as one text are split at commas (upstream reads
  ``"no-store, no-cache"`` as one unknown directive).
- Message results are linked under their hashpath too (see
  :mod:`hyperbeam.cache`), so both kinds of result are found again.
- A broken cache entry met during a lookup is logged and read as a miss.

Upstream: hb_cache_control (maybe_store/4, maybe_lookup/3, lookup/3,
dispatch_cache_write/4, exec_likely_faster_heuristic/3,
derive_cache_settings/2, cache_source_to_cache_settings/1,
specifiers_to_cache_settings/1).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hyperbeam import cache, metrics
from hyperbeam.errors import HyperbeamError
from hyperbeam.message.ids import human_id, is_id
from hyperbeam.message.model import normalize_key
from hyperbeam.message.private import private_of, with_private
from hyperbeam.store.base import Store, StoreChain

log = logging.getLogger("hyperbeam.cache_control")

Opts: TypeAlias = Mapping[str, Any]
LookupResult: TypeAlias = tuple[Literal["ok", "error", "continue"], Any]

#: Settings when no source says anything. Upstream: ?DEFAULT_STORE_OPT, ?DEFAULT_LOOKUP_OPT.
DEFAULT_STORE = False
DEFAULT_LOOKUP = False

MISS_BODY = "Computed result not available in cache."
NOT_FOUND_BODY = "Necessary messages not found in cache."


@dataclass(frozen=True, slots=True)
class Directives:
    """What one source says; ``None`` where it says nothing."""

    store: bool | None = None
    lookup: bool | None = None
    only_if_cached: bool | None = None


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """The settings that apply, all sources folded."""

    store: bool = DEFAULT_STORE
    lookup: bool = DEFAULT_LOOKUP
    only_if_cached: bool = False


# --- directives ------------------------------------------------------------------


def directive_names(value: Any) -> list[str]:
    """The normalized directive names in a ``cache-control`` value: text
    (split at commas), bytes, a list of them, or a numbered message."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        try:
            value = [v for _, v in sorted(value.items(), key=lambda kv: int(kv[0]))]
        except ValueError:
            value = list(value.values())
    items: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if not isinstance(item, str):
            try:
                item = normalize_key(item)
            except TypeError:
                continue
        for part in item.split(","):
            # `max-age=0` and the like: only the name matters here.
            name = part.split("=", 1)[0].strip().lower()
            if name:
                names.append(name)
    return names


def parse_directives(value: Any) -> Directives:
    """What a ``cache-control`` value asks for.
    Upstream: hb_cache_control:specifiers_to_cache_settings/1."""
    names = set(directive_names(value))
    store: bool | None = None
    if "always" in names:
        store = True
    elif "no-store" in names:
        store = False
    elif "store" in names:
        store = True
    lookup: bool | None = None
    if "always" in names:
        lookup = True
    elif "no-cache" in names:
        lookup = False
    elif "cache" in names or "only-if-cached" in names:
        lookup = True
    only_if_cached = True if "only-if-cached" in names else None
    return Directives(store, lookup, only_if_cached)


def message_directives(msg: Any) -> Directives:
    """The directives of a message's own ``cache-control`` key.
    Upstream: cache_source_to_cache_settings/1 for a message."""
    if not isinstance(msg, Mapping):
        return Directives()
    if "cache-control" in msg:
        return parse_directives(msg["cache-control"])
    for key, value in msg.items():
        if isinstance(key, str) and len(key) == 13 and key.lower() == "cache-control":
            return parse_directives(value)
    return Directives()


def is_volatile(msg: Any) -> bool:
    """Whether a result says it must not be stored: ``no-store`` in its
    ``cache-control`` key, or in its private ``cache-control`` (for results,
    such as a process's latest state, that cannot carry the key themselves).

    **Deviation:** upstream lets the node's ``always`` policy override a
    result's ``no-store``, so a repeated ``/slot`` or ``/now`` is answered
    from the store with a stale value. Here such results (and the steps of
    a path resolved from them) are never stored or looked up.
    """
    if not isinstance(msg, Mapping):
        return False
    if message_directives(msg).store is False:
        return True
    return parse_directives(private_of(msg).get("cache-control", [])).store is False


#: Options for resolving anything derived from a volatile result.
UNCACHED = ["no-store", "no-cache"]


def volatile(result: tuple[str, Any]) -> tuple[str, Any]:
    """Mark a handler's result as one never to store or answer from the
    store (a schedule's current slot, a process's latest state, ...)."""
    status, value = result
    if isinstance(value, dict):
        value = with_private(value, {**private_of(value), "cache-control": ["no-store"]})
    return status, value


def opts_directives(opts: Opts) -> Directives:
    """The directives of the node options. Upstream:
    cache_source_to_cache_settings/1 for ``{opts, Opts}``."""
    found = parse_directives(opts.get("cache_control", []))
    if _is_ignore(opts.get("hashpath", "update")):
        return Directives(False, found.lookup, found.only_if_cached)
    return found


def _is_ignore(value: Any) -> bool:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value) == "ignore"


def derive_cache_settings(sources: Sequence[Any], opts: Opts) -> CacheSettings:
    """Fold ``sources`` (highest precedence first; entries that are not
    messages are skipped) under the node options, which override them all.
    Upstream: hb_cache_control:derive_cache_settings/2."""
    layers = [opts_directives(opts), *(message_directives(s) for s in sources if _is_msg(s))]
    store, lookup, only_if_cached = DEFAULT_STORE, DEFAULT_LOOKUP, False
    for layer in reversed(layers):
        if layer.store is not None:
            store = layer.store
        if layer.lookup is not None:
            lookup = layer.lookup
        if layer.only_if_cached is not None:
            only_if_cached = layer.only_if_cached
    return CacheSettings(store, lookup, only_if_cached)


def lookup_settings(msg1: Any, msg2: Any, opts: Opts) -> CacheSettings:
    """Settings for looking up ``msg2`` on ``msg1``: options > msg1 > msg2."""
    return derive_cache_settings([msg1, msg2], opts)


def store_settings(msg2: Any, msg3: Any, opts: Opts) -> CacheSettings:
    """Settings for storing ``msg3``: options > msg3 > msg2. ``msg1`` has no
    say, so that it can carry settings about itself without affecting its
    results."""
    return derive_cache_settings([msg3, msg2], opts)


def _is_msg(value: Any) -> bool:
    return isinstance(value, Mapping)


# --- lookup ------------------------------------------------------------------------


def maybe_lookup(msg1: Any, msg2: Any, opts: Opts) -> LookupResult:
    """Look the result of ``msg2`` on ``msg1`` up when the settings ask for it.

    Returns ``("ok", result)`` on a hit; ``("error", {"status": 504,
    "cache-status": "miss", ...})`` on a miss under ``only-if-cached``;
    ``("error", {"status": 404, ...})`` when ``msg1`` is an ID the store
    does not have; else ``("continue", base)``, ``base`` being ``msg1`` or,
    when ``msg1`` is an ID and the lookup ran, the message it names.
    Upstream: hb_cache_control:maybe_lookup/3 and lookup/3.
    """
    if _exec_likely_faster(msg1, msg2, opts):
        return "continue", msg1
    settings = lookup_settings(msg1, msg2, opts)
    if not settings.lookup:
        return "continue", msg1
    store = opts.get("store")
    scoped = (
        scoped_store(store, str(opts.get("store_scope_resolved", "local")))
        if isinstance(store, Store)
        else None
    )
    found: Any = None
    if scoped is not None:
        try:
            found = cache.read_resolved(msg1, msg2, scoped)
        except (HyperbeamError, ValueError) as exc:
            log.warning("reading a cached result failed, computing it: %s", exc)
    metrics.RESOLVE_CACHE.labels(result="miss" if found is None else "hit").inc()
    if found is not None:
        return "ok", found
    if settings.only_if_cached:
        return "error", {"status": 504, "cache-status": "miss", "body": MISS_BODY}
    if isinstance(msg1, str | bytes) and is_id(msg1):
        base = None
        loader = opts.get("load_message")
        try:
            if loader is not None:
                base = loader(_text_id(msg1), opts)
            elif isinstance(store, Store):
                base = cache.read(msg1, store)
        except (HyperbeamError, ValueError) as exc:
            log.warning("loading %s failed: %s", msg1, exc)
        if base is None:
            return "error", {"status": 404, "body": NOT_FOUND_BODY}
        return "continue", base
    return "continue", msg1


def _text_id(value: str | bytes) -> str:
    """An ID as its 43-character text (native 32-byte IDs encoded)."""
    if isinstance(value, bytes):
        return human_id(value) if len(value) == 32 else value.decode("ascii", "replace")
    return value


def _exec_likely_faster(msg1: Any, msg2: Any, opts: Opts) -> bool:
    """Skip the lookup when ``msg1`` plainly holds the key asked for: reading
    it is cheaper than the store. Upstream: exec_likely_faster_heuristic/3
    and is_explicit_lookup/3."""
    if not opts.get("cache_lookup_hueristics", True):
        return False
    if not isinstance(msg1, Mapping) or not isinstance(msg2, Mapping):
        return False
    if parse_directives(opts.get("cache_control", [])).only_if_cached:
        return False
    key = msg2.get("path")
    return isinstance(key, str) and key in msg1


def scoped_store(store: Store, scope: str) -> Store | None:
    """The part of ``store`` in ``scope`` (``local`` or ``remote``), or
    ``None``. Upstream: hb_store:scope/2."""
    if isinstance(store, StoreChain):
        if scope not in ("local", "remote"):
            return store
        return store.only("local" if scope == "local" else "remote")
    if scope in ("local", "remote") and store.scope != scope:
        return None
    return store


# --- store -------------------------------------------------------------------------


def maybe_store(msg1: Any, msg2: Any, msg3: Any, opts: Opts) -> bool:
    """Write ``msg1``, ``msg2`` and the result ``msg3`` when the settings ask
    for it: messages by ID, and the result also under the hashpath of
    ``msg2`` on ``msg1`` (see :func:`hyperbeam.cache.write_resolved`).
    Returns whether a write was started; failures are logged, never raised.
    With ``async_cache`` set the writes run in a background thread.
    Upstream: hb_cache_control:maybe_store/4 and dispatch_cache_write/4.
    """
    if is_volatile(msg3) or not store_settings(msg2, msg3, opts).store:
        return False
    # Results go to the bounded request cache when the node has one.
    store = opts.get("cache_store") or opts.get("store")
    if not isinstance(store, Store):
        return False
    # The resolver has just linked the result under its hashpath (the default
    # `update` mode): reuse it rather than take both messages' IDs again.
    hashpath = None
    if opts.get("hashpath", "update") == "update" and isinstance(msg3, dict):
        found = private_of(msg3).get("hashpath")
        hashpath = str(found) if found is not None else None
    args = (msg1, msg2, msg3, store, hashpath)
    if opts.get("async_cache", False):
        BACKGROUND.submit(args)
    else:
        _dispatch_write(*args)
    return True


class BackgroundWriter:
    """One thread that writes results to the store in order, so requests do
    not wait for (or contend over) store writes. :meth:`drain` waits until
    everything submitted is written; the node calls it when it stops."""

    def __init__(self, limit: int = 2_000) -> None:
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue(maxsize=limit)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, args: tuple[Any, ...]) -> None:
        """Write a resolution's messages and result (see :func:`maybe_store`).
        When the writer is ``limit`` writes behind, the write is dropped (a
        cached result is computed again if asked for): the requests that
        wait on nothing but a cache write must not hold memory without bound
        (the soak benchmark saw a backlog of 10,000 grow the heap by 200 MB)."""
        self._start()
        try:
            self._queue.put_nowait(lambda: _dispatch_write(*args))
        except queue.Full:
            metrics.CACHE_WRITES_DROPPED.inc()

    def run(self, write: Callable[[], None]) -> None:
        """Run ``write`` on the writer thread, after what was submitted before
        (waiting for room when it is far behind: these writes are not dropped)."""
        self._start()
        self._queue.put(write)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cache-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            write = self._queue.get()
            try:
                write()
            except Exception as exc:  # a failed write must not stop the writer
                log.warning("a background write failed: %s", exc)
            finally:
                self._queue.task_done()

    def backlog(self) -> int:
        """Writes waiting."""
        return self._queue.qsize()

    def drain(self) -> None:
        self._queue.join()


BACKGROUND = BackgroundWriter()
metrics.CACHE_WRITER_BACKLOG.set_function(BACKGROUND.backlog)


def _dispatch_write(
    msg1: Any, msg2: Any, msg3: Any, store: Store, hashpath: str | None = None
) -> None:
    for msg in (msg1, msg2):
        if isinstance(msg, dict):
            try:
                cache.write(msg, store)
            except Exception as exc:
                log.warning("caching a message failed: %s", exc)
    try:
        cache.write_resolved(msg1, msg2, msg3, store, hashpath=hashpath)
    except Exception as exc:
        log.warning("caching a result failed: %s", exc)


__all__ = [
    "CacheSettings",
    "Directives",
    "derive_cache_settings",
    "directive_names",
    "lookup_settings",
    "maybe_lookup",
    "maybe_store",
    "message_directives",
    "opts_directives",
    "parse_directives",
    "scoped_store",
    "store_settings",
]
