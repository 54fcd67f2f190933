"""The message cache (hyperbeam.cache, upstream hb_cache): the eunit tests of
hb_cache.erl (its ``cache_suite_test_``, run here against every store
backend), the on-store layout of node.md §5.6-5.7, results under hashpaths,
and a Hypothesis property: whatever is written reads back the same, and
signed messages still verify, by every one of their IDs."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperbeam import cache
from hyperbeam.ao import path as hb_path
from hyperbeam.ao.resolve import resolve
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http.render import request_message
from hyperbeam.message import commit
from hyperbeam.message.id import message_id
from hyperbeam.message.ids import b64url_encode, native_id, sha256
from hyperbeam.message.model import Atom
from hyperbeam.store.base import Store
from hyperbeam.store.fs import FsStore
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.memory import MemoryStore

BACKENDS: dict[str, Callable[[Path], Store]] = {
    "memory": lambda _: MemoryStore(),
    "lmdb": lambda d: LmdbStore(d / "lmdb", map_size=8 << 20),
    "fs": lambda d: FsStore(d / "fs", fsync=False),
}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = BACKENDS[request.param](tmp_path)
    opened.start()
    opened.reset()
    yield opened
    opened.stop()


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


def unsigned(data: Any) -> dict[str, Any]:
    """Upstream: hb_cache:test_unsigned/1."""
    return {"base-test-key": "base-test-value", "other-test-key": data}


def signed(data: Any, wallet: Wallet) -> dict[str, Any]:
    """Upstream: hb_cache:test_signed/2."""
    return commit.commit(unsigned(data), wallet)


# --- upstream: hb_cache cache_suite_test_ ---------------------------------------------


def test_store_unsigned_empty_message(store: Store) -> None:
    """hb_cache.erl: test_store_unsigned_empty_message (also run_test)."""
    path = cache.write({}, store)
    assert commit.match({}, cache.read(path, store))


def test_store_binary(store: Store) -> None:
    """hb_cache.erl: test_store_binary."""
    data = b"Simple unsigned data item"
    path = cache.write(data, store)
    assert cache.read(path, store) == data


def test_store_simple_unsigned_message(store: Store) -> None:
    """hb_cache.erl: test_store_simple_unsigned_message."""
    item = unsigned("Simple unsigned data item")
    cache.write(item, store)
    found = cache.read(commit.id(item), store)
    assert isinstance(found, dict)
    assert commit.match(item, found)


def test_store_ans104_message(store: Store, wallet: Wallet) -> None:
    """hb_cache.erl: test_store_ans104_message."""
    item = {"type": "ANS104", "content": "Hello, world!"}
    committed = commit.commit(item, wallet)
    cache.write(committed, store)
    committed_id = commit.id(committed, "all")
    uncommitted_id = commit.id(committed, "uncommitted")
    for found in (cache.read(committed_id, store), cache.read(uncommitted_id, store)):
        assert isinstance(found, dict)
        assert commit.match(committed, found)


def test_store_ans104_committed_message(store: Store, wallet: Wallet) -> None:
    """As test_store_ans104_message, signed with the ans104@1.0 device itself."""
    item = {"type": "ANS104", "content": "Hello, world!"}
    committed = commit.commit(item, wallet, "ans104@1.0")
    cache.write(committed, store)
    for cid in [commit.id(committed), *committed["commitments"]]:
        found = cache.read(cid, store)
        assert isinstance(found, dict)
        assert commit.match(committed, found)
        assert commit.verify(found)


def test_store_simple_signed_message(store: Store, wallet: Wallet) -> None:
    """hb_cache.erl: test_store_simple_signed_message."""
    item = signed({"l2-test-key": "l2-test-value"}, wallet)
    cache.write(item, store)
    uid = message_id(item, "none")
    found_u = cache.read(uid, store)
    assert isinstance(found_u, dict)
    assert commit.match(item, found_u)
    committed_id = message_id(item, [wallet.address])
    found_s = cache.read(committed_id, store)
    assert isinstance(found_s, dict)
    assert commit.match(item, found_s)
    assert commit.verify(found_s)


def test_deeply_nested_complex_message(store: Store, wallet: Wallet) -> None:
    """hb_cache.erl: test_deeply_nested_complex_message."""
    level3 = signed([1, 2, 3], wallet)
    outer = commit.commit(
        {
            "level1": commit.commit(
                {
                    "level2": {"level3": level3, "e": "f", "z": [1, 2, 3]},
                    "c": "d",
                    "g": ["h", "i"],
                    "j": 1337,
                },
                Wallet.generate(),
            ),
            "a": "b",
        },
        wallet,
    )
    uid = message_id(outer, "none")
    committed_id = message_id(outer, [wallet.address])
    cache.write(outer, store)
    deep = cache.read([uid, "level1", "level2", "level3"], store)
    assert isinstance(deep, dict)
    assert deep["other-test-key"] == [1, 2, 3]
    assert commit.match(level3, deep)
    assert commit.verify(deep)
    outer_found = cache.read(uid, store)
    assert commit.match(outer, outer_found)
    committed_found = cache.read(committed_id, store)
    assert isinstance(committed_found, dict)
    assert commit.match(outer, committed_found)
    assert commit.verify(committed_found)
    assert commit.verify(committed_found["level1"])


def test_message_with_message(store: Store) -> None:
    """hb_cache.erl: test_message_with_message."""
    msg = unsigned(["a", "b", "c"])
    path = cache.write(msg, store)
    assert commit.match(msg, cache.read(path, store))


def test_device_map_cannot_be_written(store: Store) -> None:
    """hb_cache.erl: test_device_map_cannot_be_written_test."""
    with pytest.raises(cache.DeviceMapError):
        cache.write({"device": {}}, store)
    with pytest.raises(cache.DeviceMapError):
        cache.write({"device": {"name": "x"}}, store)
    with pytest.raises(cache.DeviceMapError):
        cache.write({"inner": {"device": {"name": "x"}}}, store)


# --- the layout of node.md §5.6-5.7 -----------------------------------------------------


def test_binary_lives_at_its_hash(store: Store) -> None:
    path = cache.write("hello", store)
    assert path == "data/" + b64url_encode(sha256(b"hello"))
    assert store.read(path) == b"hello"


def test_message_is_a_group_of_links(store: Store) -> None:
    msg = {"a": "1", "n": {"b": "2"}, "count": 3}
    mid = cache.write(msg, store)
    assert mid == commit.id(msg)
    assert store.type(mid) == "composite"
    assert store.list(mid) == sorted(["a", "n", "count", "ao-types"])
    assert store.resolve(f"{mid}/a") == cache.data_path("1")
    assert store.resolve(f"{mid}/n") == commit.id({"b": "2"})
    assert store.read(f"{mid}/n/b") == b"2"
    assert store.read(f"{mid}/count") == b"3"


def test_identical_values_are_stored_once(store: Store) -> None:
    first = cache.write({"a": "same", "b": "same"}, store)
    second = cache.write({"c": "same"}, store)
    assert store.resolve(f"{first}/a") == store.resolve(f"{first}/b")
    assert store.resolve(f"{first}/b") == store.resolve(f"{second}/c")
    assert cache.list("data", store) == sorted(
        {cache.data_path("same").split("/")[1], *_data_names(store, first, second)}
    )
    # Writing again changes nothing.
    before = _snapshot(store)
    assert cache.write({"a": "same", "b": "same"}, store) == first
    assert _snapshot(store) == before


def _data_names(store: Store, *groups: str) -> set[str]:
    names: set[str] = set()
    for group in groups:
        for key in store.list(group) or []:
            names.add(store.resolve(f"{group}/{key}").split("/")[1])
    return names


def _snapshot(store: Store) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(path: str) -> None:
        for name in store.list(path) or []:
            child = f"{path}/{name}" if path else name
            out[child] = store.resolve(child)
            if store.type(child) == "composite" and store.resolve(child) == child:
                walk(child)

    walk("")
    return out


def test_every_commitment_id_links_to_the_message(store: Store, wallet: Wallet) -> None:
    msg = commit.commit({"a": "1"}, wallet)
    mid = cache.write(msg, store)
    assert mid == commit.id(msg)
    assert len(msg["commitments"]) == 2  # the signature and the hmac
    for cid in msg["commitments"]:
        assert store.resolve(cid) == mid
        assert cache.read(cid, store) == msg


def test_uncommitted_keys_of_signed_messages_are_not_written(store: Store, wallet: Wallet) -> None:
    msg = commit.commit({"a": "1"}, wallet)
    mid = cache.write({**msg, "extra": "not signed", "priv": {"secret": "x"}}, store)
    found = cache.read(mid, store)
    assert found == msg
    assert commit.verify(found)


def test_signed_http_request_reads_back_by_its_signature(store: Store, wallet: Wallet) -> None:
    """The key property: a signed message POSTed to the node (decoded as the
    HTTP edge does) is found by its signature's ID and still verifies."""
    msg = {
        "path": "/~message@1.0/x",
        "action": "Eval",
        "n": 5,
        "nested": {"a": "b", "big": "x" * 5000},
        "body": "hello",
    }
    signed_msg = commit.commit(msg, wallet)
    http = commit.convert(signed_msg, "httpsig@1.0")
    body = http.pop("body", b"")
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in http.items()}
    req = request_message("POST", "/~message@1.0/x", "", headers, body)
    assert commit.verify(req)
    mid = cache.write(req, store)
    (signature_id,) = (cid for cid, c in signed_msg["commitments"].items() if "committer" in c)
    found = cache.read(signature_id, store)
    assert isinstance(found, dict)
    assert commit.verify(found)
    assert commit.signers(found) == [wallet.address]
    assert commit.id(found) == mid
    assert found["nested"] == {"a": "b", "big": "x" * 5000}
    assert "method" not in found  # added by the edge, not signed


def test_read_missing_is_none(store: Store) -> None:
    assert cache.read("A" * 43, store) is None
    assert cache.read("data/nothing", store) is None


def test_read_by_subpath(store: Store) -> None:
    mid = cache.write({"a": {"b": {"c": "deep"}}}, store)
    assert cache.read(f"{mid}/a/b", store) == {"c": "deep"}
    assert cache.read([mid, "a", "b", "c"], store) == b"deep"
    assert cache.read([mid.encode(), b"a"], store) == {"b": {"c": "deep"}}


def test_circular_links_are_an_error(store: Store) -> None:
    store.make_group("loop")
    store.write("loop/value", b"x")
    store.make_link("loop", "loop/self")
    with pytest.raises(cache.CircularLinks):
        cache.read("loop", store)


def test_unreadable_child_is_an_error(store: Store) -> None:
    store.make_group("broken")
    store.write("broken/ok", b"x")
    store.make_link("data/missing", "broken/dangling")
    with pytest.raises(cache.SubpathNotFound):
        cache.read("broken", store)


def test_keys_that_are_not_path_segments_are_refused(store: Store) -> None:
    with pytest.raises(cache.CacheError):
        cache.write({"a/b": "x"}, store)


def test_link(store: Store) -> None:
    path = cache.write(b"linked", store)
    cache.link(path, "names/mine", store)
    assert cache.read("names/mine", store) == b"linked"
    # First writer wins.
    cache.link(cache.write(b"other", store), "names/mine", store)
    assert cache.read("names/mine", store) == b"linked"


def test_list_and_list_numbered(store: Store) -> None:
    for slot in (0, 2, 10, 1):
        cache.link(cache.write(f"slot {slot}", store), f"assignments/p/{slot}", store)
    cache.link(cache.write(b"x", store), "assignments/p/latest", store)
    assert sorted(cache.list("assignments/p", store)) == ["0", "1", "10", "2", "latest"]
    assert cache.list_numbered("assignments/p", store) == [0, 1, 2, 10]
    assert cache.list("assignments/none", store) == []
    assert cache.list_numbered("assignments/none", store) == []
    # Listing follows links.
    cache.link("assignments/p", "alias", store)
    assert cache.list_numbered("alias", store) == [0, 1, 2, 10]


def test_write_binary_links_the_hashpath(store: Store) -> None:
    path = cache.write_binary("base/key", "value", store)
    assert path == cache.data_path("value")
    assert cache.read("base/key", store) == b"value"


def test_write_hashpath(store: Store) -> None:
    msg = {"a": "1", "priv": {"hashpath": "hp-base/hp-req"}}
    mid = cache.write_hashpath(msg, store)
    assert mid == commit.id({"a": "1"})
    assert cache.read("hp-base/hp-req", store) == {"a": "1"}
    other = cache.write_hashpath({"b": "2"}, store, "x/y")
    assert cache.read("x/y", store) == {"b": "2"}
    assert other == commit.id({"b": "2"})
    assert cache.write_hashpath({"c": "3"}, store) == commit.id({"c": "3"})


# --- results under hashpaths --------------------------------------------------------------


def _chained(msg: dict[str, Any]) -> dict[str, Any]:
    """``msg`` as a resolution result: carrying a two-part hashpath."""
    status, out = resolve(msg, {"path": "set", "marker": "1"}, {})
    assert status == "ok"
    assert len(out["priv"]["hashpath"].split("/")) == 2
    return dict(out)


def test_read_resolved_of_ids(store: Store) -> None:
    cache.link(cache.write(b"result", store), f"resolved/{'A' * 43}/{'B' * 43}", store)
    assert cache.read_resolved("A" * 43, "B" * 43, store) == "result"
    # Native (32-byte) IDs are read in their human form.
    assert cache.read_resolved(native_id("A" * 43), "B" * 43, store) == "result"
    req = {"path": "x", "k": "v"}
    cache.link(cache.write(b"other", store), f"resolved/{'A' * 43}/{message_id(req, 'all')}", store)
    assert cache.read_resolved("A" * 43, req, store) == "other"
    assert cache.read_resolved(1, 2, store) is None


def test_binary_results_are_found_by_hashpath(store: Store) -> None:
    base = _chained({"test-key": "test-message"})
    req = {"path": "test-key"}
    assert cache.read_resolved(base, req, store) is None
    assert cache.write_resolved(base, req, "test-message", store) == cache.data_path("test-message")
    assert cache.read_resolved(base, req, store) == "test-message"
    assert cache.read_resolved(base, "test-key", store) == "test-message"
    hp = hb_path.hashpath(base, req, message_id)
    assert store.resolve(f"resolved/{hp}") == cache.data_path("test-message")


def test_message_results_are_found_by_hashpath(store: Store, wallet: Wallet) -> None:
    """Unlike upstream, which links binary results only (node.md Open question 3)."""
    base = _chained({"device": "message@1.0", "n": 1})
    req = {"path": "compute", "slot": 1}
    result = commit.commit({"purpose": "Test-Message", "aux": {"x": "y"}, "n": 2}, wallet)
    written = cache.write_resolved(base, req, result, store)
    assert written == commit.id(result)
    found = cache.read_resolved(base, req, store)
    assert found == result
    assert commit.verify(found)


def test_first_step_results_do_not_change_the_base_message(store: Store) -> None:
    """A base without a hashpath has its ID as hashpath base (``<ID>/<key>``);
    results live under ``resolved/``, so the stored base is unchanged and the
    first step's results are found too."""
    base = {"device": "message@1.0", "a": "1"}
    base_id = cache.write(base, store)
    cache.write_resolved(base, {"path": "computed"}, "value", store)
    cache.write_resolved(base, {"path": "other"}, {"x": "1"}, store)
    assert cache.read(base_id, store) == base
    assert cache.read_resolved(base, {"path": "computed"}, store) == "value"
    assert cache.read_resolved(base, {"path": "other"}, store) == {"x": "1"}


def test_results_that_are_not_values_are_skipped(store: Store) -> None:
    assert cache.write_resolved(_chained({"a": 1}), {"path": "a"}, 1, store) is None


# --- Hypothesis: whatever is written reads back the same ---------------------------------

_KEY_START = string.ascii_lowercase
_KEY_REST = string.ascii_lowercase + string.digits + "-_"
#: Keys with a meaning in the codecs, or dropped as defaults of transaction fields.
_RESERVED = {
    "commitments", "ao-types", "device", "path", "hashpath", "signature", "signature-input",
    "content-digest", "content-type", "body-keys", "inline-body-key", "unsigned_id", "id",
    "owner", "last_tx", "target", "data", "data_root", "tags", "data_tree", "quantity",
    "data_size", "reward", "denomination", "format", "manifest",
}  # fmt: skip

keys = (
    st.text(_KEY_START, min_size=1, max_size=1)
    .flatmap(lambda head: st.text(_KEY_REST, max_size=10).map(lambda tail: head + tail))
    .filter(lambda key: key not in _RESERVED and not key.startswith("priv"))
)
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)
scalars = st.one_of(
    texts,
    st.binary(min_size=1, max_size=40),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from([Atom("ok"), Atom("unset")]),
    st.just(""),
    st.just([]),
    st.just({}),
)
flat_lists = st.lists(
    st.one_of(
        st.text(string.ascii_letters + string.digits + " -", min_size=1, max_size=10),
        st.integers(-1000, 1000),
        st.booleans(),
    ),
    min_size=1,
    max_size=4,
)


def messages(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    values: st.SearchStrategy[Any] = st.one_of(scalars, flat_lists)
    if depth > 0:
        inner = messages(depth - 1)
        values = st.one_of(values, inner, st.lists(inner, min_size=1, max_size=3))
    return st.dictionaries(keys, values, min_size=1, max_size=5)


def _structured(msg: dict[str, Any]) -> Any:
    """The message after a structured round trip: what any store gives back."""
    return commit.convert(commit.convert(msg, "tabm"), "structured@1.0", "tabm")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages())
def test_property_unsigned_messages_read_back(msg: dict[str, Any]) -> None:
    store = MemoryStore()
    mid = cache.write(msg, store)
    assert mid == commit.id(msg)
    assert cache.read(mid, store) == _structured(msg)


_SIGNER = Wallet.generate()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages(), nested_signed=st.booleans())
def test_property_signed_messages_read_back_and_verify(
    msg: dict[str, Any], nested_signed: bool
) -> None:
    if nested_signed:
        msg = {**msg, "inner": commit.commit({"inner-key": "v", **msg}, _SIGNER)}
    signed_msg = commit.commit(msg, _SIGNER)
    assert commit.verify(signed_msg)
    store = MemoryStore()
    mid = cache.write(signed_msg, store)
    assert mid == commit.id(signed_msg)
    expected = _structured(signed_msg)
    for some_id in [mid, *signed_msg["commitments"], message_id(signed_msg, [_SIGNER.address])]:
        found = cache.read(some_id, store)
        assert found == expected
        assert isinstance(found, dict)
        assert commit.verify(found)
        assert commit.id(found) == mid
    if nested_signed:
        inner = cache.read([mid, "inner"], store)
        assert isinstance(inner, dict)
        assert commit.verify(inner)
        assert cache.read(commit.id(signed_msg["inner"]), store) == inner


def test_signed_messages_of_one_shape_keep_their_own_signatures(
    store: Store, wallet: Wallet
) -> None:
    """Commitment maps differ only in their signatures, which a message ID
    (an hmac over the httpsig form) leaves out: they must not share a group."""
    first = commit.commit({"slot": 1, "body": "x"}, wallet)
    second = commit.commit({"slot": 2, "body": "y"}, wallet)
    ids = [cache.write(msg, store) for msg in (first, second)]
    for msg_id, original in zip(ids, (first, second), strict=True):
        back = cache.read(msg_id, store)
        assert back == original
        assert isinstance(back, dict) and commit.verify(back)


@pytest.mark.parametrize("name", ["te", "connection", "upgrade", "keep-alive"])
def test_a_signed_key_named_like_a_connection_field_is_kept(name: str) -> None:
    """Found by test_property_signed_messages_read_back_and_verify: a signed
    message's key ``te`` was dropped on reading its record, as if it were the
    hop-by-hop header of a request."""
    signed_msg = commit.commit({name: "0", "other": "1"}, _SIGNER)
    store = MemoryStore()
    found = cache.read(cache.write(signed_msg, store), store)
    assert isinstance(found, dict) and found[name] == "0"
    assert commit.verify(found)
