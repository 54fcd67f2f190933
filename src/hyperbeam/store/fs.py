"""A store of plain files and directories, readable by upstream and by people.

Layout, as upstream's ``hb_store_fs``: a value is a regular file, a group is a
directory, and a link is a symbolic link whose target *text* is the
store-relative key with the prefix in front (``cache-mainnet/data/Xyz``), the
prefix spelled as it was given. Like upstream, the store follows links itself
(it reads the text and strips the prefix) rather than letting the OS do it, so
an upstream cache directory can be read, and our links work wherever the
process runs. A link text that starts with this store's prefix (as given or
absolute), or whose leading parts are the last parts of the prefix (an
upstream store opened through another path), is understood; anything else is
a broken link (:class:`StoreError`).

Writes go to a temporary file in the target directory (named ``.~hbtmp.*``,
hidden from ``list``), which is flushed, fsynced (unless ``fsync=False``) and
renamed over the key, so a reader or a crash sees the old value or the new
one, never a part. Links are created with ``symlink``, which fails if the
name exists: first writer wins, across threads and processes.

Keys never leave the prefix: segments ``.`` and ``..``, NUL and the temporary
file prefix are refused, and leading ``/`` are dropped by
:func:`~hyperbeam.store.base.join` like any empty segment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from hyperbeam.store.base import Kind, Store, StoreError, join

#: Links followed before a path is declared circular (as in MemoryStore).
MAX_LINK_DEPTH = 64
#: Temporary files start with this; keys whose segments do are refused.
TMP_PREFIX = ".~hbtmp."


def check_key(key: str) -> str:
    """``key`` joined, if it stays inside the store; else :class:`StoreError`."""
    if not key or key[0] == "/" or key[-1] == "/" or "//" in key:
        key = join(key)
    if "\x00" in key:
        raise StoreError(f"a store key cannot contain NUL: {key!r}")
    for segment in key.split("/") if key else []:
        if segment in (".", "..") or segment.startswith(TMP_PREFIX):
            raise StoreError(f"a store key cannot have the segment {segment!r}: {key!r}")
    try:
        key.encode()
    except UnicodeEncodeError as exc:
        raise StoreError(f"a store key must be valid Unicode: {key!r}") from exc
    return key


class FsStore(Store):
    def __init__(self, prefix: Path | str, *, fsync: bool = True) -> None:
        self.prefix = Path(prefix)
        #: The prefix as written into link texts (upstream's ``add_prefix``).
        self._text = str(self.prefix)
        self._abs = os.path.abspath(self.prefix)
        self._fsync = fsync

    def _fs(self, key: str) -> str:
        return f"{self._abs}/{key}" if key else self._abs

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        try:
            os.makedirs(self._abs, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store directory {self._abs}: {exc}") from exc

    def reset(self) -> None:
        try:
            shutil.rmtree(self._abs)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot reset {self._abs}: {exc}") from exc
        self.start()

    # -- links -------------------------------------------------------------

    def _link_text(self, key: str) -> str:
        return f"{self._text}/{key}"

    def _link_target(self, text: str) -> str:
        """The store key a link text names."""
        for prefix in (self._text, self._abs):
            if text == prefix:
                return ""
            if text.startswith(prefix + "/"):
                return check_key(text[len(prefix) + 1 :])
        if not os.path.isabs(text):
            parts = text.split("/")
            mine = self._abs.split("/")
            for count in range(min(len(parts) - 1, len(mine)), 0, -1):
                if parts[:count] == mine[-count:]:
                    return check_key("/".join(parts[count:]))
        raise StoreError(f"the link {text!r} points outside the store at {self._text!r}")

    def resolve(self, path: str) -> str:
        return self._resolve(check_key(path), 0)

    def _resolve(self, path: str, depth: int) -> str:
        if depth > MAX_LINK_DEPTH:
            raise StoreError(f"circular links at {path!r}")
        acc = ""
        for segment in path.split("/") if path else []:
            acc = f"{acc}/{segment}" if acc else segment
            try:
                text = os.readlink(self._fs(acc))
            except OSError:
                continue  # not a link, or not there
            acc = self._resolve(self._link_target(text), depth + 1)
        return acc

    def _place(self, key: str) -> str:
        """``key`` with its parent resolved through links."""
        parent, _, name = key.rpartition("/")
        return f"{self._resolve(parent, 0)}/{name}" if parent else name

    def _make_parent(self, key: str) -> None:
        parent = key.rpartition("/")[0]
        try:
            os.makedirs(self._fs(parent), exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise StoreError(f"a parent of {key!r} is not a group") from exc
        except OSError as exc:
            raise StoreError(f"cannot create the groups of {key!r}: {exc}") from exc

    # -- reads -------------------------------------------------------------

    def read(self, key: str) -> bytes | None:
        path = self._fs(self.resolve(key))
        try:
            with open(path, "rb") as file:
                return file.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {key!r}: {exc}") from exc

    def type(self, key: str) -> Kind | None:
        try:
            mode = os.lstat(self._fs(self.resolve(key))).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"cannot inspect {key!r}: {exc}") from exc
        if stat.S_ISDIR(mode):
            return "composite"
        if stat.S_ISREG(mode):
            return "simple"
        return None

    def list(self, path: str) -> list[str] | None:
        try:
            names = os.listdir(self._fs(self.resolve(path)))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"cannot list {path!r}: {exc}") from exc
        return sorted(name for name in names if not name.startswith(TMP_PREFIX))

    # -- writes --------------------------------------------------------------

    def write(self, key: str, value: bytes) -> None:
        key = check_key(key)
        if not key:
            raise StoreError("cannot write at the root of a store")
        target = self._place(key)
        path = self._fs(target)
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as exc:
            raise StoreError(f"cannot write {key!r}: {exc}") from exc
        else:
            if stat.S_ISDIR(mode):
                raise StoreError(f"cannot write a value over the group {target!r}")
            if stat.S_ISLNK(mode):
                raise StoreError(f"cannot write a value over the link {target!r}")
        tmp = f"{path.rpartition('/')[0]}/{TMP_PREFIX}{os.urandom(8).hex()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            try:
                fd = os.open(tmp, flags, 0o644)
            except FileNotFoundError:  # the first key of a new group
                self._make_parent(target)
                fd = os.open(tmp, flags, 0o644)
            try:
                view = memoryview(value)
                while view:
                    view = view[os.write(fd, view) :]
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, NotADirectoryError):
                raise StoreError(f"a parent of {target!r} is not a group") from exc
            if isinstance(exc, IsADirectoryError):
                raise StoreError(f"cannot write a value over the group {target!r}") from exc
            raise StoreError(f"cannot write {key!r}: {exc}") from exc

    def make_group(self, path: str) -> None:
        resolved = self.resolve(path)
        try:
            os.makedirs(self._fs(resolved), exist_ok=True)
        except OSError as exc:  # FileExistsError: a value (or a parent value) is there
            raise StoreError(f"cannot make the group {resolved!r}: {exc}") from exc

    def make_link(self, existing: str, new: str) -> None:
        existing, new = check_key(existing), check_key(new)
        if not existing or not new:
            raise StoreError("a link cannot start or end at the root of a store")
        if existing == new:
            return
        target = self._place(new)
        if target == existing or os.path.lexists(self._fs(target)):
            return
        self._make_parent(target)
        try:
            os.symlink(self._link_text(existing), self._fs(target))
        except FileExistsError:
            return  # someone else was first
        except OSError as exc:
            raise StoreError(f"cannot link {new!r} to {existing!r}: {exc}") from exc
