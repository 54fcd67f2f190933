"""What the contract leaves to each backend: the fs store's on-disk layout
(upstream's ``hb_store_fs``) and key safety, and the LMDB store's map growth,
long keys and shared environments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyperbeam.store.base import StoreError
from hyperbeam.store.fs import TMP_PREFIX, FsStore
from hyperbeam.store.lmdb import LmdbStore

ROOT = Path(__file__).resolve().parents[2]

# -- fs: upstream layout ---------------------------------------------------------


def test_fs_layout_is_files_directories_and_prefixed_symlinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = FsStore(Path("cache-mainnet"))
    store.start()
    store.write("data/Xyz", b"leaf")
    store.make_group("msg")
    store.make_link("data/Xyz", "msg/key")
    root = tmp_path / "cache-mainnet"
    assert (root / "data" / "Xyz").read_bytes() == b"leaf"
    assert (root / "msg").is_dir()
    # upstream hb_store_fs:make_link/3: the text is add_prefix(Existing)
    assert os.readlink(root / "msg" / "key") == "cache-mainnet/data/Xyz"

    absolute = FsStore(tmp_path / "abs")
    absolute.start()
    absolute.write("a", b"1")
    absolute.make_link("a", "b")
    assert os.readlink(tmp_path / "abs" / "b") == f"{tmp_path}/abs/a"


def test_fs_reads_an_upstream_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As upstream leaves it after hb_cache:write with prefix "cache-mainnet",
    # run from the node's working directory (node.md section 5.2 and 5.6).
    root = tmp_path / "node" / "cache-mainnet"
    (root / "data").mkdir(parents=True)
    (root / "data" / "h1").write_bytes(b"hello")
    (root / "data" / "h2").write_bytes(b"world")
    (root / "UNSIGNED").mkdir()
    os.symlink("cache-mainnet/data/h1", root / "UNSIGNED" / "greeting")
    os.symlink("cache-mainnet/data/h2", root / "UNSIGNED" / "target")
    os.symlink("cache-mainnet/UNSIGNED", root / "SIGNED")
    # Opened by absolute path, from another working directory.
    monkeypatch.chdir(tmp_path)
    store = FsStore(root)
    assert store.read("SIGNED/greeting") == b"hello"
    assert store.resolve("SIGNED/target") == "data/h2"
    assert store.list("SIGNED") == ["greeting", "target"]
    assert store.type("SIGNED") == "composite"
    # And by the relative prefix upstream used.
    monkeypatch.chdir(tmp_path / "node")
    assert FsStore(Path("cache-mainnet")).read("SIGNED/target") == b"world"


def test_fs_refuses_links_that_leave_the_store(tmp_path: Path) -> None:
    store = FsStore(tmp_path / "store")
    store.start()
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink(str(tmp_path / "secret"), tmp_path / "store" / "out")
    os.symlink(f"{tmp_path}/store/../secret", tmp_path / "store" / "dots")
    for key in ("out", "dots"):
        with pytest.raises(StoreError):
            store.read(key)


@pytest.mark.parametrize("key", ["..", "a/../../x", "./a", "a/./b", "a\x00b", "x/" + TMP_PREFIX])
def test_fs_refuses_keys_that_could_escape(tmp_path: Path, key: str) -> None:
    store = FsStore(tmp_path / "store")
    store.start()
    with pytest.raises(StoreError):
        store.write(key, b"x")
    with pytest.raises(StoreError):
        store.read(key)
    with pytest.raises(StoreError):
        store.make_link("target", key)
    with pytest.raises(StoreError):
        store.make_link(key, "name")
    with pytest.raises(StoreError):
        store.make_group(key)
    assert sorted(os.listdir(tmp_path)) == ["store"]


def test_fs_absolute_keys_stay_inside(tmp_path: Path) -> None:
    store = FsStore(tmp_path / "store")
    store.start()
    store.write(f"{tmp_path}/escape", b"x")
    assert store.read(f"{tmp_path}/escape") == b"x"
    assert (tmp_path / "store" / str(tmp_path).lstrip("/") / "escape").exists()
    assert not (tmp_path / "escape").exists()


def test_fs_hides_leftover_temporary_files(tmp_path: Path) -> None:
    store = FsStore(tmp_path / "store")
    store.start()
    store.write("g/a", b"1")
    (tmp_path / "store" / "g" / f"{TMP_PREFIX}dead").write_bytes(b"partial")
    assert store.list("g") == ["a"]


def test_fs_writes_replace_whole_files(tmp_path: Path) -> None:
    store = FsStore(tmp_path / "store")  # fsync on, as a node runs it
    store.start()
    store.write("k", b"first")
    inode = os.stat(tmp_path / "store" / "k").st_ino
    store.write("k", b"second")
    assert os.stat(tmp_path / "store" / "k").st_ino != inode
    assert store.read("k") == b"second"
    assert os.listdir(tmp_path / "store") == ["k"]


# -- lmdb -------------------------------------------------------------------------


def test_lmdb_grows_a_full_map(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "db", map_size=64 << 10)
    big = os.urandom(4 << 20)
    for n in range(3):
        store.write(f"big/{n}", big)
    for n in range(2000):
        store.write(f"small/{n}", b"v" * 100)
    assert store.read("big/2") == big
    assert store.list("small") is not None and len(store.list("small") or []) == 2000
    store.stop()
    reopened = LmdbStore(tmp_path / "db", map_size=64 << 10)
    assert reopened.read("big/0") == big
    reopened.stop()


def test_lmdb_long_keys_and_names(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "db")
    long_name = "n" * 480  # too long for a children entry beside its group
    long_group = "/".join(["g" * 100] * 5)  # 504 bytes
    store.write(f"{long_group}/{long_name}", b"1")
    store.write(f"{long_group}/short", b"2")
    store.write(f"top/{long_name}", b"3")
    store.make_link(f"{long_group}/{long_name}", f"{long_name}/alias")
    assert store.list(long_group) == sorted([long_name, "short"])
    assert store.list("top") == [long_name]
    assert store.read(f"{long_name}/alias") == b"1"
    assert store.resolve(f"{long_name}/alias") == f"{long_group}/{long_name}"
    assert store.list("") == sorted(["g" * 100, "top", long_name])
    store.stop()


def test_lmdb_refuses_nul_and_surrogates(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "db")
    for key in ("a\x00b", "bad\udc80"):
        with pytest.raises(StoreError):
            store.write(key, b"x")
        with pytest.raises(StoreError):
            store.read(key)
    store.stop()


def test_lmdb_stores_on_one_directory_share_the_environment(tmp_path: Path) -> None:
    first = LmdbStore(tmp_path / "db")
    second = LmdbStore(tmp_path / "db")
    first.write("a", b"1")
    assert second.read("a") == b"1"
    first.stop()
    second.write("b", b"2")  # still open
    assert second.list("") == ["a", "b"]
    second.stop()
    third = LmdbStore(tmp_path / "db")
    assert third.read("b") == b"2"
    third.stop()


def test_lmdb_reopens_after_stop(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "db")
    store.write("a", b"1")
    store.stop()
    store.stop()  # twice is fine
    assert store.read("a") == b"1"  # reopened on demand
    store.flush()
    store.stop()


def test_lmdb_reports_an_unusable_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"not a directory")
    with pytest.raises(StoreError):
        LmdbStore(tmp_path / "file").read("x")


def _python(code: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_lmdb_adopts_a_map_grown_by_another_process(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "db", map_size=64 << 10)
    store.write("mine", b"1")
    _python(
        "from hyperbeam.store.lmdb import LmdbStore\n"
        f"s = LmdbStore({str(tmp_path / 'db')!r}, map_size=64 << 10)\n"
        "s.write('theirs', b'x' * (8 << 20))\n"
        "s.stop()\n"
    )
    assert store.read("mine") == b"1"
    assert store.read("theirs") == b"x" * (8 << 20)
    store.write("more", b"y" * (1 << 20))
    assert store.list("") == ["mine", "more", "theirs"]
    store.stop()


def test_lmdb_is_not_used_by_a_forked_child(tmp_path: Path) -> None:
    # LMDB forbids using an environment after fork: the child gets a clear
    # StoreError, and the parent's store is unharmed. In a separate process, so
    # that forking does not copy pytest's threads.
    _python(
        "import os\n"
        "from hyperbeam.store.base import StoreError\n"
        "from hyperbeam.store.lmdb import LmdbStore\n"
        f"s = LmdbStore({str(tmp_path / 'db')!r})\n"
        "s.write('parent', b'p')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        s.read('parent')\n"
        "    except StoreError:\n"
        "        os._exit(0)\n"
        "    os._exit(1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "assert status == 0, status\n"
        "s.write('after', b'a')\n"
        "assert s.list('') == ['after', 'parent']\n"
    )
