"""Cache control (hyperbeam.cache_control, upstream hb_cache_control): the
eunit tests of hb_cache_control.erl, the precedence rules of node.md §5.8,
and maybe_lookup / maybe_store as the resolver calls them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hyperbeam import cache, cache_control
from hyperbeam.ao.resolve import resolve
from hyperbeam.cache_control import (
    CacheSettings,
    Directives,
    derive_cache_settings,
    directive_names,
    lookup_settings,
    maybe_lookup,
    maybe_store,
    message_directives,
    opts_directives,
    parse_directives,
    scoped_store,
    store_settings,
)
from hyperbeam.message import commit
from hyperbeam.store.base import StoreChain
from hyperbeam.store.memory import MemoryStore


def msg_with_cc(cc: Any) -> dict[str, Any]:
    """Upstream: msg_with_cc/1."""
    return {"cache-control": cc}


def opts_with_cc(cc: Any) -> dict[str, Any]:
    """Upstream: opts_with_cc/1."""
    return {"cache_control": cc}


# --- upstream: derive_cache_settings and its sources ----------------------------------


def test_opts_override_message_settings() -> None:
    """hb_cache_control.erl: opts_override_message_settings_test."""
    msg2 = msg_with_cc(["no-store"])
    msg3 = msg_with_cc(["no-cache"])
    result = derive_cache_settings([msg3, msg2], opts_with_cc(["always"]))
    assert result == CacheSettings(store=True, lookup=True)


def test_msg_precedence_overrides() -> None:
    """hb_cache_control.erl: msg_precidence_overrides_test."""
    msg2 = msg_with_cc(["always"])
    msg3 = msg_with_cc(["no-store"])
    result = derive_cache_settings([msg3, msg2], opts_with_cc([]))
    assert result == CacheSettings(store=False, lookup=True)


def test_no_store_directive() -> None:
    """hb_cache_control.erl: no_store_directive_test."""
    result = derive_cache_settings([msg_with_cc(["no-store"])], opts_with_cc([]))
    assert result == CacheSettings(store=False, lookup=False)


def test_no_cache_directive() -> None:
    """hb_cache_control.erl: no_cache_directive_test."""
    result = derive_cache_settings([msg_with_cc(["no-cache"])], opts_with_cc([]))
    assert result == CacheSettings(store=False, lookup=False)


def test_only_if_cached_directive() -> None:
    """hb_cache_control.erl: only_if_cached_directive_test. Deviation: here
    ``only-if-cached`` also turns lookups on (upstream leaves lookup false, so
    the directive alone never looked anything up)."""
    result = derive_cache_settings([msg_with_cc(["only-if-cached"])], opts_with_cc([]))
    assert result == CacheSettings(store=False, lookup=True, only_if_cached=True)


def test_hashpath_ignore_prevents_storage() -> None:
    """hb_cache_control.erl: hashpath_ignore_prevents_storage_test."""
    result = derive_cache_settings([], {**opts_with_cc([]), "hashpath": "ignore"})
    assert result == CacheSettings(store=False, lookup=False)
    forced = derive_cache_settings([], {"cache_control": ["always"], "hashpath": "ignore"})
    assert forced == CacheSettings(store=False, lookup=True)


def test_multiple_directives() -> None:
    """hb_cache_control.erl: multiple_directives_test."""
    msg = msg_with_cc(["no-store", "no-cache", "only-if-cached"])
    result = derive_cache_settings([msg], opts_with_cc([]))
    assert result == CacheSettings(store=False, lookup=False, only_if_cached=True)


def test_empty_message_list() -> None:
    """hb_cache_control.erl: empty_message_list_test."""
    assert derive_cache_settings([], opts_with_cc([])) == CacheSettings()


def test_message_without_cache_control() -> None:
    """hb_cache_control.erl: message_without_cache_control_test."""
    assert derive_cache_settings([{}], opts_with_cc([])) == CacheSettings()


def test_opts_source_cache_control() -> None:
    """hb_cache_control.erl: opts_source_cache_control_test."""
    assert opts_directives(opts_with_cc(["no-store"])) == Directives(store=False)


def test_message_source_cache_control() -> None:
    """hb_cache_control.erl: message_source_cache_control_test."""
    assert message_directives(msg_with_cc(["no-cache"])) == Directives(lookup=False)


# --- directives --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("always", Directives(True, True, None)),
        ("no-store", Directives(False, None, None)),
        ("store", Directives(True, None, None)),
        ("no-cache", Directives(None, False, None)),
        ("cache", Directives(None, True, None)),
        ("only-if-cached", Directives(None, True, True)),
        ("No-Store, NO-CACHE", Directives(False, False, None)),
        (b"store,cache", Directives(True, True, None)),
        (["no-store", "cache"], Directives(False, True, None)),
        ({"1": "store", "2": "no-cache"}, Directives(True, False, None)),
        ("max-age=0, store", Directives(True, None, None)),
        ("private", Directives()),
        ([], Directives()),
        (None, Directives()),
    ],
)
def test_parse_directives(value: Any, expected: Directives) -> None:
    assert parse_directives(value) == expected


def test_always_beats_negatives_in_one_source() -> None:
    assert parse_directives("no-store, no-cache, always") == Directives(True, True, None)


def test_directive_names() -> None:
    assert directive_names(" A , b,,c ") == ["a", "b", "c"]


def test_message_key_is_case_insensitive() -> None:
    assert message_directives({"Cache-Control": "store"}) == Directives(store=True)
    assert message_directives("not a message") == Directives()


def test_lookup_precedence_msg1_over_msg2() -> None:
    """node.md §5.8: lookup is decided by defaults < msg2 < msg1 < options."""
    msg1, msg2 = msg_with_cc("no-cache"), msg_with_cc("cache")
    assert lookup_settings(msg1, msg2, {}).lookup is False
    assert lookup_settings(msg2, msg1, {}).lookup is True
    assert lookup_settings(msg1, msg2, opts_with_cc("cache")).lookup is True


def test_store_precedence_msg3_over_msg2() -> None:
    """node.md §5.8: store is decided by defaults < msg2 < msg3 < options;
    msg1 has no say."""
    msg2, msg3 = msg_with_cc("store"), msg_with_cc("no-store")
    assert store_settings(msg2, msg3, {}).store is False
    assert store_settings(msg3, msg2, {}).store is True
    assert store_settings(msg2, msg3, opts_with_cc("store")).store is True
    assert store_settings({}, {}, {}).store is False


def test_sources_that_are_not_messages_are_skipped() -> None:
    assert derive_cache_settings(["always", None, b"x"], {}) == CacheSettings()


# --- maybe_lookup / maybe_store ----------------------------------------------------------


def _resolve_cached(msg1: Any, msg2: Any, opts: dict[str, Any]) -> tuple[str, Any]:
    """The resolver's stages 2 and 8/9 around one step, as the lead will wire them."""
    status, value = maybe_lookup(msg1, msg2, opts)
    if status != "continue":
        return status, value
    status, result = resolve(value, msg2, opts)
    if status == "ok":
        maybe_store(value, msg2, result, opts)
    return status, result


def _chained(msg: dict[str, Any]) -> dict[str, Any]:
    status, out = resolve(msg, {"path": "set", "marker": "1"}, {})
    assert status == "ok"
    return dict(out)


def test_cache_binary_result() -> None:
    """hb_cache_control.erl: cache_binary_result_test."""
    store = MemoryStore()
    msg1 = _chained({"test-key": "test-message"})
    msg2 = {"path": "test-key"}
    res = _resolve_cached(msg1, msg2, {"store": store, "cache_control": ["always"]})
    assert res == ("ok", "test-message")
    only = {"store": store, "cache_control": ["only-if-cached"]}
    res2 = maybe_lookup(msg1, msg2, only)
    res3 = maybe_lookup(msg1, msg2, only)
    assert res2 == ("ok", "test-message")
    assert res2 == res3


def test_cache_message_result() -> None:
    """hb_cache_control.erl: cache_message_result_test. Map results are found
    again by hashpath here (upstream: binary results only)."""
    store = MemoryStore()
    cached = {
        "purpose": "Test-Message",
        "aux": {"aux-message": "Aux-Message-Value"},
        "test-key": 424242,
    }
    msg1 = _chained({"test-key": cached, "local": "Binary"})
    msg2 = {"path": "test-key"}
    status, res = _resolve_cached(msg1, msg2, {"store": store, "cache_control": ["always"]})
    assert status == "ok"
    assert commit.match(res, cached)
    only = {"store": store, "cache_control": ["only-if-cached"]}
    status2, res2 = maybe_lookup(msg1, msg2, only)
    status3, res3 = maybe_lookup(msg1, msg2, only)
    assert status2 == status3 == "ok"
    assert res2 == res3
    assert commit.match(res2, cached)


def test_lookup_disabled_by_default() -> None:
    store = MemoryStore()
    msg1 = _chained({"a": "1"})
    cache.write_resolved(msg1, {"path": "b"}, "cached", store)
    assert maybe_lookup(msg1, {"path": "b"}, {"store": store}) == ("continue", msg1)
    assert maybe_lookup(msg1, {"path": "b"}, {"store": store, "cache_control": "cache"}) == (
        "ok",
        "cached",
    )
    # The request may ask for the lookup too.
    req = {"path": "b", "cache-control": "cache"}
    cache.write_resolved(msg1, req, "cached-too", store)
    assert maybe_lookup(msg1, req, {"store": store}) == ("ok", "cached-too")


def test_only_if_cached_miss_is_504() -> None:
    store = MemoryStore()
    status, reason = maybe_lookup(
        _chained({"a": "1"}), {"path": "b"}, {"store": store, "cache_control": "only-if-cached"}
    )
    assert status == "error"
    assert reason["status"] == 504
    assert reason["cache-status"] == "miss"
    # ...also from the request itself, and without any store.
    status, reason = maybe_lookup({"a": "1"}, {"path": "b", "cache-control": "only-if-cached"}, {})
    assert (status, reason["status"]) == ("error", 504)


def test_missing_base_id_is_404() -> None:
    store = MemoryStore()
    status, reason = maybe_lookup(
        "A" * 43, {"path": "b"}, {"store": store, "cache_control": "cache"}
    )
    assert status == "error"
    assert reason["status"] == 404
    assert reason["body"] == "Necessary messages not found in cache."


def test_base_id_is_loaded() -> None:
    store = MemoryStore()
    base = {"a": "1", "n": 5}
    base_id = cache.write(base, store)
    opts = {"store": store, "cache_control": "cache"}
    assert maybe_lookup(base_id, {"path": "a"}, opts) == ("continue", base)
    # Without a lookup the ID is left for the resolver to load.
    assert maybe_lookup(base_id, {"path": "a"}, {"store": store}) == ("continue", base_id)


def test_lookup_by_ids() -> None:
    store = MemoryStore()
    base_id = cache.write({"a": "1"}, store)
    req = {"path": "x", "q": "1"}
    cache.link(cache.write(b"by-ids", store), cache.resolved_path(base_id, req) or "", store)
    assert maybe_lookup(base_id, req, {"store": store, "cache_control": "cache"}) == (
        "ok",
        "by-ids",
    )


def test_explicit_keys_skip_the_lookup() -> None:
    """Upstream: exec_likely_faster_heuristic/3 -- a key the base holds is
    read from it, unless the node asks for only-if-cached."""
    store = MemoryStore()
    msg1 = _chained({"a": "literal"})
    cache.link(cache.write(b"stale", store), cache.resolved_path(msg1, {"path": "a"}) or "", store)
    opts: dict[str, Any] = {"store": store, "cache_control": "cache"}
    assert maybe_lookup(msg1, {"path": "a"}, opts) == ("continue", msg1)
    off = {**opts, "cache_lookup_hueristics": False}
    assert maybe_lookup(msg1, {"path": "a"}, off) == ("ok", "stale")
    only = {"store": store, "cache_control": ["only-if-cached"]}
    assert maybe_lookup(msg1, {"path": "a"}, only) == ("ok", "stale")


def test_lookup_uses_local_stores_only() -> None:
    local, remote = MemoryStore(), MemoryStore()
    remote.scope = "remote"
    msg1 = _chained({"a": "1"})
    cache.write_resolved(msg1, {"path": "b"}, "remote-result", remote)
    chain = StoreChain([local, remote])
    opts: dict[str, Any] = {"store": chain, "cache_control": "cache"}
    assert maybe_lookup(msg1, {"path": "b"}, opts) == ("continue", msg1)
    assert maybe_lookup(msg1, {"path": "b"}, {**opts, "store_scope_resolved": "remote"}) == (
        "ok",
        "remote-result",
    )
    assert scoped_store(remote, "local") is None
    assert scoped_store(local, "local") is local


def test_broken_cache_entries_are_misses() -> None:
    store = MemoryStore()
    msg1 = _chained({"a": "1"})
    location = cache.resolved_path(msg1, {"path": "b"})
    assert location is not None
    store.make_group(location)
    store.make_link("data/missing", f"{location}/x")
    assert maybe_lookup(msg1, {"path": "b"}, {"store": store, "cache_control": "cache"}) == (
        "continue",
        msg1,
    )


def test_maybe_store_respects_settings() -> None:
    store = MemoryStore()
    msg1 = _chained({"a": "1"})
    msg2 = {"path": "a"}
    assert maybe_store(msg1, msg2, "1", {"store": store}) is False
    assert cache.read_resolved(msg1, msg2, store) is None
    assert maybe_store(msg1, msg2, "1", {"store": store, "cache_control": "no-store"}) is False
    assert maybe_store(msg1, {**msg2, "cache-control": "store"}, "1", {"store": store}) is True
    assert maybe_store(msg1, msg2, {"x": 1, "cache-control": "store"}, {"store": store}) is True
    assert maybe_store(msg1, msg2, "1", {"cache_control": "store"}) is False  # no store
    assert (
        maybe_store(
            msg1, msg2, "1", {"store": store, "cache_control": "store", "hashpath": "ignore"}
        )
        is False
    )


def test_maybe_store_writes_all_three() -> None:
    store = MemoryStore()
    msg1 = _chained({"a": "1"})
    msg2 = {"path": "compute", "slot": 3}
    msg3 = {"result": "r"}
    assert maybe_store(msg1, msg2, msg3, {"store": store, "cache_control": "always"})
    assert cache.read(commit.id(msg1), store) is not None
    assert cache.read(commit.id(msg2), store) == msg2
    assert cache.read_resolved(msg1, msg2, store) == msg3


def test_maybe_store_never_raises() -> None:
    store = MemoryStore()
    opts = {"store": store, "cache_control": "always"}
    assert maybe_store({"device": {"x": "1"}}, {"path": "k"}, {"device": {}}, opts) is True


def test_maybe_store_async() -> None:
    store = MemoryStore()
    msg1 = _chained({"a": "1"})
    opts = {"store": store, "cache_control": "always", "async_cache": True}
    assert maybe_store(msg1, {"path": "a"}, "1", opts) is True
    deadline = time.monotonic() + 5
    while cache.read_resolved(msg1, {"path": "a"}, store) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert cache.read_resolved(msg1, {"path": "a"}, store) == "1"


def test_async_cache_writes_land_by_drain() -> None:
    """With ``async_cache`` the writes go to one background writer; after
    ``drain`` every submitted result can be looked up."""
    store = MemoryStore()
    opts = {"store": store, "cache_control": ["always"], "async_cache": True}
    for n in range(20):
        base = {"n": str(n)}
        req = {"path": "double", "k": str(n)}
        assert cache_control.maybe_store(base, req, {"twice": str(2 * n)}, opts)
    cache_control.BACKGROUND.drain()
    for n in range(20):
        found = cache.read_resolved({"n": str(n)}, {"path": "double", "k": str(n)}, store)
        assert found == {"twice": str(2 * n)}
