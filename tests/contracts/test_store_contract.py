"""The store contract, run against every backend in ``backends.BACKENDS``.

Upstream cases are cited by name:

- ``hb_store.erl``, ``store_suite_test_`` (``generate_test_suite``, run there
  over every test store): *simple path resolution*, *resursive path
  resolution* [sic], *hierarchical path resolution*;
- ``hb_store_rocksdb.erl``, ``write_read_test_`` and ``api_test_``: the
  quoted descriptions below;
- ``hb_store_fs.erl``, ``resolve/2``'s documented ``a/b/c`` example.

The semantics beyond upstream (conflicts, parent resolution on writes) are
those of :mod:`hyperbeam.store.memory`; the model-based test at the end checks
that every backend gives MemoryStore's answers for random operation
sequences.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperbeam.store.base import Store, StoreError
from hyperbeam.store.memory import MemoryStore
from tests.contracts.backends import Backend

needs = pytest.mark.needs


# -- values ---------------------------------------------------------------


def test_can_read_and_write_data(store: Store, w: Store) -> None:
    # rocksdb: "can read/write data"
    w.write("test_key", b"test_value")
    assert store.read("test_key") == b"test_value"
    assert store.type("test_key") == "simple"


def test_missing_keys_are_not_found(store: Store) -> None:
    # rocksdb: "returns not_found for non existing keys",
    # "type/2 returns not_found for non existing keys"
    assert store.read("non_existing") is None
    assert store.type("random_key") is None
    assert store.list("non_existing") is None
    assert store.read("non/existing/deep") is None


@needs("write")
def test_a_value_can_be_overwritten(store: Store) -> None:
    store.write("k", b"one")
    store.write("k", b"two")
    assert store.read("k") == b"two"
    assert store.list("") == ["k"]


def test_values_are_binary_safe(store: Store, w: Store) -> None:
    every_byte = bytes(range(256)) * 4
    w.write("bin", every_byte)
    w.write("nul", b"\x00")
    w.write("text", "ключ ✓ 🔑".encode())
    assert store.read("bin") == every_byte
    assert store.read("nul") == b"\x00"
    assert store.read("text") == "ключ ✓ 🔑".encode()


def test_empty_values_exist(store: Store, w: Store) -> None:
    w.write("empty", b"")
    assert store.read("empty") == b""
    assert store.type("empty") == "simple"


def test_large_values(store: Store, w: Store) -> None:
    big = os.urandom(8 << 20)
    w.write("big/value", big)
    assert store.read("big/value") == big
    w.write("big/value", big[::-1])
    assert store.read("big/value") == big[::-1]


@needs("write")
def test_bytes_like_values_are_accepted(store: Store) -> None:
    store.write("ba", bytearray(b"array"))
    store.write("mv", memoryview(b"xxviewxx")[2:6])
    assert store.read("ba") == b"array"
    assert store.read("mv") == b"view"


def test_unicode_keys(store: Store, w: Store) -> None:
    w.write("ключ/値/🔑", b"v")
    assert store.read("ключ/値/🔑") == b"v"
    assert store.list("ключ") == ["値"]
    assert store.list("ключ/値") == ["🔑"]


def test_keys_with_many_segments(store: Store, w: Store) -> None:
    # 40 segments of 43 characters (message-ID sized): 1.7 KB, beyond LMDB's
    # 511-byte key limit.
    parts = [hashlib.sha256(str(i).encode()).hexdigest()[:43] for i in range(40)]
    key = "/".join(parts)
    w.write(key, b"deep")
    assert store.read(key) == b"deep"
    for depth in range(1, len(parts)):
        assert store.list("/".join(parts[:depth])) == [parts[depth]]
        assert store.type("/".join(parts[:depth])) == "composite"
    w.make_link(key, "shortcut")
    assert store.read("shortcut") == b"deep"
    assert store.resolve("shortcut") == key


def test_keys_are_joined(store: Store, w: Store) -> None:
    w.write("/a//b/", b"v")
    assert store.read("a/b") == b"v"
    assert store.read("/a/b") == b"v"
    assert store.list("a/") == ["b"]
    assert store.resolve("//a/b") == "a/b"


@needs("write")
def test_writing_at_the_root_fails(store: Store) -> None:
    with pytest.raises(StoreError):
        store.write("", b"x")
    with pytest.raises(StoreError):
        store.write("/", b"x")


# -- groups -----------------------------------------------------------------


def test_write_creates_parent_groups(store: Store, w: Store) -> None:
    # rocksdb: "write/3 can automatically create folders"
    w.write("messages/key1", b"val1")
    w.write("messages/key2", b"val2")
    assert store.list("messages") == ["key1", "key2"]
    assert store.read("messages/key1") == b"val1"
    assert store.type("messages") == "composite"


def test_write_creates_deep_groups(store: Store, w: Store) -> None:
    # rocksdb: "write/3 automatically does deep groups"
    w.write("messages/ids/item1", b"1")
    w.write("messages/ids/item2", b"2")
    assert store.list("messages") == ["ids"]
    assert store.list("messages/ids") == ["item1", "item2"]
    assert store.read("messages/ids/item1") == b"1"
    assert store.read("messages/ids/item2") == b"2"


def test_list_shows_only_direct_children(store: Store, w: Store) -> None:
    # rocksdb: "list/2 lists keys under given path"
    w.write("messages/key1", b"val1")
    w.write("messages/key2", b"val2")
    w.write("other_path/key3", b"val3")
    w.write("messages/sub/key4", b"val4")
    assert store.list("messages") == ["key1", "key2", "sub"]
    assert store.list("") == ["messages", "other_path"]


def test_list_of_a_missing_group(store: Store) -> None:
    # rocksdb: "list/2 when database is empty"
    assert store.list("process/slot") is None


def test_list_of_a_value_is_not_found(store: Store, w: Store) -> None:
    w.write("v", b"x")
    assert store.list("v") is None


def test_the_root_is_a_group(store: Store, w: Store) -> None:
    assert store.type("") == "composite"
    assert store.list("") == []
    w.write("a", b"1")
    w.make_group("g")
    w.make_link("a", "l")
    assert store.list("") == ["a", "g", "l"]


def test_make_group_creates_an_empty_group(store: Store, w: Store) -> None:
    # rocksdb: "make_group/2 creates a folder", "type/2 treats groups as composite items"
    w.make_group("messages")
    assert store.list("messages") == []
    assert store.type("messages") == "composite"
    assert store.read("messages") is None


def test_make_group_keeps_contents(store: Store, w: Store) -> None:
    # rocksdb: "make_group/2 does not override folder contents"
    w.write("messages/id", b"1")
    w.write("messages/commitments", b"2")
    w.make_group("messages")
    assert store.list("messages") == ["commitments", "id"]


def test_make_group_nests(store: Store, w: Store) -> None:
    # rocksdb: "make_group/2 making deep nested groups"
    w.make_group("messages/ids/items")
    assert store.list("messages") == ["ids"]
    assert store.list("messages/ids") == ["items"]
    assert store.list("messages/ids/items") == []


@needs("write")
def test_make_group_is_idempotent(store: Store) -> None:
    store.make_group("g")
    store.make_group("g")
    store.make_group("")
    assert store.list("") == ["g"]
    assert store.list("g") == []


@needs("write")
def test_a_key_is_a_value_or_a_group_never_both(store: Store) -> None:
    store.write("v", b"value")
    store.write("g/child", b"c")
    with pytest.raises(StoreError):
        store.write("v/below", b"x")  # beneath a value
    with pytest.raises(StoreError):
        store.write("g", b"x")  # over a group
    with pytest.raises(StoreError):
        store.make_group("v")  # group over a value
    with pytest.raises(StoreError):
        store.make_group("v/deeper/still")
    with pytest.raises(StoreError):
        store.make_link("v", "v/link")
    # Nothing changed.
    assert store.read("v") == b"value"
    assert store.type("v") == "simple"
    assert store.list("g") == ["child"]
    assert store.list("") == ["g", "v"]
    assert store.read("v/below") is None


@needs("write")
def test_a_value_is_not_written_over_a_link(store: Store) -> None:
    store.write("target", b"t")
    store.make_link("target", "link")
    with pytest.raises(StoreError):
        store.write("link", b"x")
    assert store.read("target") == b"t"
    assert store.read("link") == b"t"


# -- links ------------------------------------------------------------------


def test_simple_path_resolution(store: Store, w: Store) -> None:
    # hb_store: simple_path_resolution_test; rocksdb: "follows links",
    # "make_link/3 creates a link to actual data"
    w.write("test-file", b"test-data")
    w.make_link("test-file", "test-link")
    assert store.read("test-link") == b"test-data"
    assert store.type("test-link") == "simple"
    assert store.resolve("test-link") == "test-file"


def test_recursive_path_resolution(store: Store, w: Store) -> None:
    # hb_store: resursive_path_resolution_test
    w.write("test-file", b"test-data")
    w.make_link("test-file", "test-link")
    w.make_link("test-link", "test-link2")
    assert store.read("test-link2") == b"test-data"
    assert store.resolve("test-link2") == "test-file"


def test_hierarchical_path_resolution(store: Store, w: Store) -> None:
    # hb_store: hierarchical_path_resolution_test
    w.make_group("test-dir1")
    w.write("test-dir1/test-file", b"test-data")
    w.make_link("test-dir1", "test-link")
    assert store.read("test-link/test-file") == b"test-data"
    assert store.resolve("test-link/test-file") == "test-dir1/test-file"


def test_type_follows_links(store: Store, w: Store) -> None:
    # rocksdb: "type/2 resolves links before checking real type of the following item"
    w.write("messages/key1", b"val1")
    w.write("messages/key2", b"val2")
    w.make_link("messages", "CompositeKey")
    w.make_link("messages/key2", "SimpleKey")
    assert store.type("CompositeKey") == "composite"
    assert store.type("SimpleKey") == "simple"
    assert store.list("CompositeKey") == ["key1", "key2"]


def test_resolve_without_links_is_identity(store: Store, w: Store) -> None:
    # rocksdb: "resolve/2 resolves raw/groups items"
    for n in (1, 2, 3):
        w.write(f"top_level/level1/item{n}", b"1")
    assert store.resolve("top_level/level1/item3") == "top_level/level1/item3"
    assert store.resolve("not/there") == "not/there"
    assert store.resolve("") == ""


def test_resolve_follows_links(store: Store, w: Store) -> None:
    # rocksdb: "resolve/2 follows links"
    w.write("data/the_data_item", b"the_data")
    w.make_link("data/the_data_item", "top_level/level1/item")
    assert store.resolve("top_level/level1/item") == "data/the_data_item"
    assert store.list("top_level/level1") == ["item"]


def test_a_linked_prefix_is_replaced(store: Store, w: Store) -> None:
    # hb_store_fs resolve/2 doc: a/b/c is shadowed once a/b links to a/alt-b.
    w.write("a/alt-b/c", b"Correct data")
    w.make_link("a/alt-b", "a/b")
    assert store.read("a/b/c") == b"Correct data"
    assert store.resolve("a/b/c") == "a/alt-b/c"


def test_paths_cross_linked_sub_messages(store: Store, w: Store) -> None:
    # The hb_cache layout (node.md section 5.6): message groups whose keys are
    # links to data/<hash> or to other messages, plus commitment-ID aliases.
    w.write("data/h1", b"leaf")
    w.make_group("inner")
    w.make_link("data/h1", "inner/x")
    w.make_group("outer")
    w.make_link("inner", "outer/sub")
    w.make_link("outer", "signed-id")
    assert store.read("signed-id/sub/x") == b"leaf"
    assert store.resolve("signed-id/sub/x") == "data/h1"
    assert store.list("signed-id/sub") == ["x"]
    assert store.type("signed-id/sub") == "composite"


def test_long_link_chains(store: Store, w: Store) -> None:
    w.write("link0", b"end")
    for n in range(1, 21):
        w.make_link(f"link{n - 1}", f"link{n}")
    assert store.read("link20") == b"end"
    assert store.resolve("link20") == "link0"


def test_a_link_to_a_missing_key_dangles_until_written(store: Store, w: Store) -> None:
    w.make_link("later", "early")
    assert store.read("early") is None
    assert store.type("early") is None
    assert store.list("early") is None
    assert store.resolve("early") == "later"
    assert store.list("") == ["early"]
    w.write("later", b"now")
    assert store.read("early") == b"now"


@needs("write")
def test_self_links_do_nothing(store: Store) -> None:
    # rocksdb: "make_link/3 does not create links if keys are same"
    store.make_link("key1", "key1")
    store.make_link("key1/", "/key1")
    assert store.read("key1") is None
    assert store.type("key1") is None
    assert store.list("") == []
    # A link that would land on its own target once its parent is resolved.
    store.make_group("dir")
    store.make_link("dir", "alias")
    store.make_link("dir/x", "alias/x")
    assert store.type("dir/x") is None
    assert store.list("dir") == []


@needs("write")
def test_links_are_first_writer_wins(store: Store) -> None:
    store.write("one", b"1")
    store.write("two", b"2")
    store.make_link("one", "name")
    store.make_link("two", "name")
    assert store.read("name") == b"1"
    # Nor do links replace values or groups.
    store.make_link("one", "two")
    assert store.read("two") == b"2"
    store.write("grp/child", b"c")
    store.make_link("one", "grp")
    assert store.list("grp") == ["child"]


@needs("write")
def test_links_to_the_root_are_refused(store: Store) -> None:
    with pytest.raises(StoreError):
        store.make_link("", "x")
    with pytest.raises(StoreError):
        store.make_link("x", "")


@needs("write")
def test_circular_links_fail_clearly(store: Store) -> None:
    store.make_link("b", "a")
    store.make_link("a", "b")
    store.make_link("self/child", "self")
    for key in ("a", "b/c", "self"):
        with pytest.raises(StoreError):
            store.read(key)
        with pytest.raises(StoreError):
            store.type(key)
        with pytest.raises(StoreError):
            store.resolve(key)
        with pytest.raises(StoreError):
            store.list(key)
    with pytest.raises(StoreError):
        store.write("a/x", b"x")
    assert store.list("") == ["a", "b", "self"]


@needs("write")
def test_writes_go_through_linked_parents(store: Store) -> None:
    store.make_group("dir")
    store.make_link("dir", "alias")
    store.write("alias/file", b"v")
    store.make_link("dir/file", "alias/file-link")
    store.make_group("alias/sub")
    assert store.list("dir") == ["file", "file-link", "sub"]
    assert store.read("dir/file") == b"v"
    assert store.read("alias/file") == b"v"
    assert store.read("dir/file-link") == b"v"
    assert store.resolve("alias/file") == "dir/file"
    assert store.list("") == ["alias", "dir"]


@needs("write")
def test_make_group_through_a_dangling_link(store: Store) -> None:
    store.make_link("target", "alias")
    store.make_group("alias")
    assert store.type("target") == "composite"
    assert store.type("alias") == "composite"
    store.write("alias/x", b"1")
    assert store.list("target") == ["x"]


# -- reset and restart -------------------------------------------------------


@needs("write")
def test_reset_clears_everything(store: Store) -> None:
    # rocksdb: "reset cleans up the database"
    store.write("test_key", b"test_value")
    store.write("g/deep/v", b"x")
    store.make_group("empty")
    store.make_link("test_key", "link")
    store.reset()
    for key in ("test_key", "g/deep/v", "link"):
        assert store.read(key) is None
    assert store.list("") == []
    assert store.list("g") is None
    assert store.type("empty") is None
    store.write("test_key", b"again")
    assert store.read("test_key") == b"again"
    assert store.list("") == ["test_key"]


@needs("write", "persist")
def test_data_survives_a_restart(backend: Backend, store: Store, tmp_path: Path) -> None:
    big = os.urandom(1 << 20)
    store.write("data/big", big)
    store.write("data/empty", b"")
    store.make_group("msg")
    store.make_link("data/big", "msg/body")
    store.make_link("msg", "alias")
    store.make_group("empty-group")
    store.stop()
    for _ in range(2):
        reopened = backend.open(tmp_path)
        reopened.start()
        try:
            assert reopened.read("alias/body") == big
            assert reopened.read("data/empty") == b""
            assert reopened.list("") == ["alias", "data", "empty-group", "msg"]
            assert reopened.list("empty-group") == []
            assert reopened.resolve("alias/body") == "data/big"
            reopened.write("data/more", b"m")  # and it is writable again
        finally:
            reopened.stop()
    store.start()  # the fixture stops it again


# -- concurrency ---------------------------------------------------------------


def _run_threads(count: int, work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@needs("write", "threads")
def test_threads_writing_different_keys(store: Store) -> None:
    per_thread = 100

    def work(n: int) -> None:
        for i in range(per_thread):
            key = f"shared/t{n}-{i}"
            store.write(key, f"{n}:{i}".encode() * (i + 1))
            store.write(f"own{n}/{i}", b"x")
            assert store.read(key) == f"{n}:{i}".encode() * (i + 1)

    _run_threads(8, work)
    names = store.list("shared")
    assert names is not None and len(names) == 8 * per_thread
    for n in range(8):
        assert store.list(f"own{n}") == sorted(str(i) for i in range(per_thread))
        assert store.read(f"shared/t{n}-{per_thread - 1}") == f"{n}:99".encode() * 100


@needs("write", "threads")
def test_threads_writing_and_reading_one_key(store: Store) -> None:
    values = [bytes([n]) * (64 << 10) for n in range(1, 7)]

    def work(n: int) -> None:
        if n < len(values):
            for _ in range(15):
                store.write("hot/key", values[n])
        else:
            for _ in range(150):
                got = store.read("hot/key")
                assert got is None or got in values, "a torn or mixed value was read"

    _run_threads(len(values) + 2, work)
    assert store.read("hot/key") in values
    assert store.list("hot") == ["key"]


@needs("write", "threads")
def test_threads_racing_for_one_link(store: Store) -> None:
    for n in range(8):
        store.write(f"target{n}", str(n).encode())
    results: list[bytes | None] = []

    def work(n: int) -> None:
        store.make_link(f"target{n}", "contested/name")
        results.append(store.read("contested/name"))

    _run_threads(8, work)
    final = store.read("contested/name")
    assert final is not None and final.isdigit()
    assert results == [final] * 8
    assert store.resolve("contested/name") == f"target{final.decode()}"


@needs("write", "threads")
def test_threads_making_groups_and_writing_beneath(store: Store) -> None:
    def work(n: int) -> None:
        for i in range(30):
            store.make_group(f"tree/branch{i % 5}/leaf{i % 3}")
            store.write(f"tree/branch{i % 5}/leaf{i % 3}/t{n}", b"v")

    _run_threads(6, work)
    assert store.list("tree") == [f"branch{i}" for i in range(5)]
    for i in range(5):
        assert store.list(f"tree/branch{i}") == ["leaf0", "leaf1", "leaf2"]
        assert store.list(f"tree/branch{i}/leaf0") == [f"t{n}" for n in range(6)]


# -- model-based: every backend answers like MemoryStore ------------------------

_SEGMENTS = ["a", "b", "ü"]
_ALL_KEYS = [""]
for _first in _SEGMENTS:
    _ALL_KEYS.append(_first)
    for _second in _SEGMENTS:
        _ALL_KEYS.append(f"{_first}/{_second}")
        for _third in _SEGMENTS:
            _ALL_KEYS.append(f"{_first}/{_second}/{_third}")

_key = st.sampled_from(_ALL_KEYS[1:])
_operation = st.one_of(
    st.tuples(st.just("write"), _key, st.binary(max_size=8)),
    st.tuples(st.just("link"), _key, _key),
    st.tuples(st.just("group"), _key),
)


def _apply(store: Store, op: tuple[object, ...]) -> str:
    """Run one operation; ``ok`` or the name of the error it raised."""
    try:
        if op[0] == "write":
            store.write(str(op[1]), bytes(op[2]))  # type: ignore[arg-type]
        elif op[0] == "link":
            store.make_link(str(op[1]), str(op[2]))
        else:
            store.make_group(str(op[1]))
    except StoreError:
        return "error"
    return "ok"


def _observe(store: Store) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key in _ALL_KEYS:
        for name in ("read", "type", "list", "resolve"):
            try:
                seen[f"{name}({key})"] = getattr(store, name)(key)
            except StoreError:
                seen[f"{name}({key})"] = "error"
    return seen


@needs("write")
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(_operation, max_size=16))
def test_backends_answer_like_the_memory_model(store: Store, ops: list[tuple[object, ...]]) -> None:
    store.reset()
    model = MemoryStore()
    for op in ops:
        assert _apply(store, op) == _apply(model, op), op
    assert _observe(store) == _observe(model)
