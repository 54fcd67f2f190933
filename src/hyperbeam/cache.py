"""The message cache: AO-Core messages and computed results in a store.

Everything here works over a :class:`~hyperbeam.store.base.Store` passed in;
the module keeps no state. The layout (node.md §5.6, §5.7) is upstream's:

``data/<b64url sha256>``
    every binary, once, at the hash of its content;
``<ID>`` (a group) with one link per key ``<ID>/<key>``
    a message, converted to a TABM first (so typed values carry their
    ``ao-types``). ``<ID>`` is the message's ID counting all its
    commitments, which upstream calls its *uncommitted* ID
    (``dev_message:id(Msg, #{committers => none})``): for an unsigned
    message the hmac of its content, for a signed one the ID its
    commitments give. Each ``<ID>/<key>`` links to ``data/...`` for a binary
    or to the ``<ID>`` of a nested message;
``<commitment ID>`` -> ``<ID>``
    every commitment of a message (signatures and hmac alike), so that a
    message is found by each of its IDs;
``<hashpath base>/<request ID or key>`` -> result
    computed results, found again with :func:`read_resolved`.

Two kinds of one-record messages differ from upstream's layout:

- a signed message the node still holds as it arrived, or as it signed it
  (:func:`hyperbeam.message.wire.exact_wire`), is one value at ``<ID>``:
  the bytes its signatures cover (:meth:`~hyperbeam.codecs.received.Wire.to_record`),
  read back with that wire; the signed messages inside it get records of
  their own, so that each is found by its IDs;
- :func:`write_packed` keeps an unsigned message as one value at a path
  of the caller's choosing, without taking its ID (process states).

Paths inside either (``<ID>/key``) read as they do in groups.

Reads follow links, list a group's children and convert the TABM back to a
rich message, so a message read by any of its IDs is the one written, with
its types, and its commitments still verify. Links are first-writer-wins,
so one alias is worth knowing: a signed message's hmac commitment has the
ID of its content, which is also the ID of the same content unsigned.
Whichever of the two is written first owns that ID (as upstream).

A message's keys become path segments: a key that is empty or contains
``/`` cannot be written (:class:`CacheError`).

**Results under hashpaths differ from upstream.** Upstream links only
*binary* results under their hashpath (``hb_cache_control`` calls
``write_binary/3``; map results are written by ID only, node.md Open
question 3). :func:`write_resolved` links results of both kinds, so
repeated requests hit the cache for messages too. And results are linked
under ``resolved/<hashpath>``, not the bare hashpath: for a first step from
a base without a hashpath, the bare hashpath ``<ID1>/<key>`` lies inside
the stored base message's own group (``<ID1>``) and would add a key to it.

Upstream: hb_cache (write/2, do_write_message/4, calculate_all_ids/2,
write_hashpath/2,3, write_binary/3, read/2, store_read/4, do_read/4,
read_resolved/3, link/3, list/2, list_numbered/2).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
from collections.abc import Iterable
from typing import Any, TypeAlias

from hyperbeam import metrics
from hyperbeam.ao import path as hb_path
from hyperbeam.codecs import packed, received
from hyperbeam.codecs.received import Wire
from hyperbeam.codecs.structured import Tabm, binary_out, to_bytes
from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.id import message_id
from hyperbeam.message.ids import b64url_encode, human_id, is_id, sha256
from hyperbeam.message.model import Message
from hyperbeam.message.private import is_private, strip_private
from hyperbeam.message.wire import exact_wire, to_rich
from hyperbeam.store.base import Op, Store, Unit, join

log = logging.getLogger("hyperbeam.cache")

#: Where binaries live: ``data/<b64url sha256 of the binary>``.
DATA_PREFIX = "data"

#: A path: ``a/b/c`` text, or a list of parts joined with ``/``.
PathLike: TypeAlias = str | bytes | Iterable[str | bytes]


class CacheError(HyperbeamError):
    """The cache could not do what was asked. Upstream: ``{error, no_viable_store}``."""

    status = 500


class DeviceMapError(CacheError):
    """A message whose ``device`` key holds a message cannot be written.
    Upstream throws ``{device_map_cannot_be_written, Map}``."""

    status = 400


class CircularLinks(CacheError):
    """Reading a message met one of its own ancestors again.
    Upstream throws ``{circular_links_detected, ...}``."""


class SubpathNotFound(CacheError):
    """A group lists a child that cannot be read (a dangling link).
    Upstream throws ``{subpath_not_found, ...}``."""


# --- writing ------------------------------------------------------------------------


def data_path(value: bytes | str) -> str:
    """Where a binary lives: ``data/<b64url sha256>``. Upstream: hb_path:hashpath/2
    of a binary, under ``data/``."""
    return f"{DATA_PREFIX}/{b64url_encode(sha256(to_bytes(value)))}"


def write(msg: Message | bytes | str, store: Store) -> str:
    """Write a message (or a bare binary) and return where it is.

    A message is reduced to its committed keys when it has commitments,
    converted to a TABM and written as a group named by its ID (all
    commitments counted), with every commitment ID linked to that group;
    the ID is returned. A binary is written at ``data/<hash>`` and that path
    is returned. Identical values are stored once.

    Raises :class:`DeviceMapError` for a message whose ``device`` is a
    message, and :class:`CacheError` when the store refuses the write.
    Upstream: hb_cache:write/2.
    """
    target = store.writer()
    known = None
    if isinstance(msg, dict) and target.atomic_writes:
        # Stored whole already (content-addressed): nothing to plan or write.
        # Dropping uncommitted keys does not change a signed message's ID.
        try:
            known = message_id(strip_private(msg))
        except (HyperbeamError, ValueError, TypeError):
            known = None  # planning says what is wrong with it
        if known is not None and target.type(known) in ("composite", "simple"):
            return known
    # An uncommitted message's ID is the same in its TABM form: not computed twice.
    uncommitted = isinstance(msg, dict) and "commitments" not in msg
    root, units = plan(msg, root_id=known if uncommitted else None)
    try:
        # Dropping keys reset an hmac commitment: the ID is a new one.
        if known is not None and root != known and target.type(root) in ("composite", "simple"):
            return root
        target.atomically(lambda: target.apply(units))
        metrics.STORE_WRITES.inc()
        return root
    except CacheError:
        raise
    except Exception as exc:
        raise CacheError(f"could not write the message: {type(exc).__name__}: {exc}") from exc


def plan(
    msg: Message | bytes | str, *, tabm: Tabm | None = None, root_id: str | None = None
) -> tuple[str, builtins.list[Unit]]:
    """Where :func:`write` puts ``msg``, and the writes that put it there
    (for :meth:`hyperbeam.store.base.Store.apply`). Planning reads no store,
    so it can run on any thread, ahead of the write. A caller that holds the
    message as a TABM of its committed keys only (one it has just signed)
    passes it as ``tabm``, which saves finding them and converting; one
    that knows the message's ID passes it as ``root_id``."""
    if isinstance(msg, str | bytes | bytearray):
        units: builtins.list[Unit] = []
        return _plan_value(to_bytes(msg), [], units), units
    if not isinstance(msg, dict):
        raise CacheError(f"cannot write a {type(msg).__name__} to the cache")
    _refuse_device_maps(msg)
    wire = exact_wire(msg)
    if wire is not None:
        units = []
        return _plan_record(msg, wire, units), units
    if tabm is None:
        tabm = commit.convert(commit.with_only_committed(strip_private(msg)), "tabm")
    units = []
    try:
        root = _plan_value(strip_private(tabm), _commitment_ids(tabm), units, name=root_id)
    except CacheError:
        raise
    except Exception as exc:
        raise CacheError(f"could not write the message: {type(exc).__name__}: {exc}") from exc
    return root, units


def _plan_record(msg: Message, wire: Wire, units: builtins.list[Unit]) -> str:
    """A signed message as it arrived (or was signed): one record at its ID,
    linked from each of its commitment IDs, and the same for each signed
    message inside it, so that each is found by its own IDs."""
    root = message_id(msg)
    ops: builtins.list[Op] = [("value", root, wire.to_record())]
    ops += [("link", cid, root.encode()) for cid in wire.ids if cid != root]
    for value in msg.values():
        if isinstance(value, dict) and (inner := exact_wire(value)) is not None:
            _plan_record(value, inner, units)
    units.append((root, ops))
    return root


def _refuse_device_maps(msg: Message) -> None:
    """Upstream refuses a ``device`` that is a message while writing its TABM;
    an empty one is only a type there, so the rich message is checked first."""
    for key, value in msg.items():
        if isinstance(value, dict):
            if isinstance(key, str) and key.lower() == "device":
                raise DeviceMapError("a message whose device is a message cannot be written")
            _refuse_device_maps(value)
        elif isinstance(value, builtins.list | tuple):
            for item in value:
                if isinstance(item, dict):
                    _refuse_device_maps(item)


def _commitment_ids(value: Any) -> builtins.list[str]:
    """Upstream: hb_cache:calculate_all_ids/2."""
    if not isinstance(value, dict):
        return []
    found = value.get("commitments", {})
    if not isinstance(found, dict):
        return []
    return [cid for cid in found if not is_private(cid)]


def _plan_value(
    value: bytes | Tabm,
    alt_ids: builtins.list[str],
    units: builtins.list[Unit],
    *,
    exact: bool = False,
    name: str | None = None,
) -> str:
    """Plan the writes of one TABM value and return its path (inner values
    first). Upstream: do_write_message/4.

    A map is a group named by its message ID. Under ``commitments`` (and
    below) the group is named by a hash of every field instead (``exact``):
    a message ID is an hmac over the httpsig encoding, which leaves out
    ``signature`` and ``signature-input``, so two commitments that differ
    only in their signatures would share one group and the second would read
    back with the first one's signature.
    """  # fmt: skip
    if isinstance(value, bytes | bytearray):
        path = data_path(value)
        ops: builtins.list[Op] = [("value", path, bytes(value))]
        ops += [("link", alt, path.encode()) for alt in alt_ids]
        units.append((path, ops))
        return path
    if not isinstance(value, dict):
        raise CacheError(f"a TABM holds a {type(value).__name__}, not a binary or a map")
    device = value.get("device")
    if isinstance(device, dict):
        raise DeviceMapError("a message whose device is a message cannot be written")
    group = name or (_exact_id(value) if exact else message_id(value))
    ops = [("group", group, b"")]
    for key, sub in value.items():
        if is_private(key):
            continue
        _check_key(key)
        inner_exact = exact or key == "commitments"
        sub_path = _plan_value(sub, _commitment_ids(sub), units, exact=inner_exact)
        ops.append(("link", f"{group}/{key}", sub_path.encode()))  # both checked: no "/"
    ops += [("link", alt, group.encode()) for alt in alt_ids if alt != group]
    units.append((group, ops))
    return group


def _exact_id(value: Tabm) -> str:
    """A name for a map that covers every key and value (a sha-256 of a
    canonical form), for the maps whose message ID does not."""
    digest = hashlib.sha256()
    _feed(digest, value)
    return "exact-" + b64url_encode(digest.digest())


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, dict):
        digest.update(b"{")
        for key in sorted(value):
            raw_key = str(key).encode("utf-8", "surrogateescape")
            digest.update(len(raw_key).to_bytes(8, "big") + raw_key)
            _feed(digest, value[key])
        digest.update(b"}")
    else:
        raw = (
            to_bytes(value) if isinstance(value, str | bytes | bytearray) else repr(value).encode()
        )
        digest.update(b"=" + len(raw).to_bytes(8, "big") + raw)


def _check_key(key: str) -> None:
    if not key or "/" in key:
        raise CacheError(f"the key {key!r} cannot be a path segment in the store")


def write_packed(path: PathLike, msg: Message, store: Store, *, links: Iterable[str] = ()) -> str:
    """Write ``msg`` as one record at ``path`` (not under its ID: no ID is
    taken), and link each of ``links`` to it; ``path`` is returned. For what
    the node computes and reads back by where it put it (process states).
    :func:`read` reads it, sub-paths included."""
    where = _path(path)
    if not isinstance(msg, dict):
        raise CacheError(f"cannot write a {type(msg).__name__} as a record")
    _refuse_device_maps(msg)
    try:
        record = packed.pack(commit.convert(strip_private(msg), "tabm"))
    except (HyperbeamError, ValueError, TypeError) as exc:
        raise CacheError(f"could not write the message: {exc}") from exc
    units: builtins.list[Unit] = [(where, [("value", where, record)])]
    units += [(link, [("link", link, where.encode())]) for link in links]
    target = store.writer()
    target.atomically(lambda: target.apply(units))
    return where


def write_binary(hashpath: str, value: bytes | str, store: Store) -> str:
    """Write a binary at its content address and link ``hashpath`` to it;
    returns the ``data/...`` path. Upstream: hb_cache:write_binary/3."""
    units: builtins.list[Unit] = []
    path = _plan_value(to_bytes(value), [hashpath], units)
    target = store.writer()
    target.atomically(lambda: target.apply(units))
    return path


def write_hashpath(msg: Message, store: Store, hashpath: str | None = None) -> str:
    """Write ``msg`` and link a hashpath to it: ``hashpath`` when given, else
    the message's private ``hashpath`` (when it has none, the message is only
    written). Returns the message's ID. Upstream: hb_cache:write_hashpath/2,3."""
    if hashpath is None:
        priv = msg.get("priv")
        found = priv.get("hashpath") if isinstance(priv, dict) else None
        hashpath = hb_path.to_binary(str(found)) if found is not None else None
    written = write(msg, store)
    if hashpath:
        store.make_link(written, hashpath)
    return written


def link(existing: PathLike, new: PathLike, store: Store) -> None:
    """Make ``new`` stand for ``existing`` (first writer wins).
    Upstream: hb_cache:link/3 (note the argument order: source first)."""
    store.make_link(_path(existing), _path(new))


def point(name: PathLike, path: str, store: Store) -> None:
    """Make ``name`` a pointer to ``path``: unlike a link, a pointer can be
    moved (the node message's latest record, a local name)."""
    store.write(_path(name), path.encode("utf-8"))


def pointed(name: PathLike, store: Store) -> Message | bytes | None:
    """What the pointer ``name`` points to, or ``None``."""
    target = store.read(_path(name))
    return None if target is None else read(target.decode("utf-8"), store)


# --- reading ------------------------------------------------------------------------


def read(path: PathLike, store: Store) -> Message | bytes | None:
    """The message or binary at ``path`` (an ID, a commitment ID, ``data/...``,
    ``ID/key/...`` or a hashpath), or ``None`` when there is nothing there.

    Messages come back rich (typed through ``ao-types``) with their
    commitments. Raises :class:`CircularLinks` when a message contains
    itself and :class:`SubpathNotFound` when a key of a stored message
    cannot be read. Upstream: hb_cache:read/2.
    """
    wires: builtins.list[tuple[received.Path, received.Wire]] = []
    where = _path(path)
    try:
        raw = _read_raw(where, store, frozenset(), (), wires)
        if raw is None:
            raw = _read_in_record(where, store)
        metrics.STORE_READS.labels(result="miss" if raw is None else "hit").inc()
        if raw is None or isinstance(raw, bytes):
            return raw
        return to_rich(raw, wires)
    except ValueError as exc:
        raise CacheError(f"the message at {where!r} cannot be decoded: {exc}") from exc


def _read_raw(
    path: str,
    store: Store,
    ancestors: frozenset[str],
    at: received.Path,
    wires: builtins.list[tuple[received.Path, received.Wire]],
) -> bytes | Tabm | None:
    """The TABM (or binary) at ``path``; the wires of the records read on the
    way are added to ``wires`` (``at`` is where ``path`` sits in the message
    being read). Upstream: store_read/4 and do_read/4."""
    resolved = store.resolve(path)
    if resolved in ancestors:
        raise CircularLinks(f"{path!r} leads back to {resolved!r}, which contains it")
    kind = store.type(resolved)
    if kind == "simple":
        value = store.read(resolved)
        if value is not None and packed.is_packed(value):
            return packed.unpack(value)
        if value is None or not received.is_record(value):
            return value
        tabm, kept = received.from_record(value)
        wires += [((*at, *where), wire) for where, wire in kept]
        return tabm
    if kind != "composite":
        return None
    names = store.list(resolved)
    if names is None:
        return None
    inner = ancestors | {resolved}
    out: Tabm = {}
    for name in names:
        child = _read_raw(join(resolved, name), store, inner, (*at, name), wires)
        if child is None:
            raise SubpathNotFound(
                f"{join(resolved, name)!r} is listed in {path!r} but cannot be read"
            )
        out[name] = child
    return out


def exists(path: PathLike, store: Store) -> bool:
    """Whether something is at ``path`` (inside a stored record too)."""
    where = _path(path)
    if store.type(store.resolve(where)) is not None:
        return True
    return _read_in_record(where, store) is not None


def _read_in_record(path: str, store: Store) -> bytes | Tabm | None:
    """A value inside a stored record (``<ID>/key/...``, where ``<ID>`` is a
    signed message kept as it arrived), or ``None``."""
    parts = path.split("/")
    for cut in range(len(parts) - 1, 0, -1):
        resolved = store.resolve("/".join(parts[:cut]))
        if store.type(resolved) != "simple":
            continue
        raw = store.read(resolved)
        if raw is not None and packed.is_packed(raw):
            value: Any = packed.unpack(raw)
        elif raw is not None and received.is_record(raw):
            value = received.from_record(raw)[0]
        else:
            return None
        for key in parts[cut:]:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, bytes | dict) else None
    return None


def read_resolved(msg1: Any, msg2: Any, store: Store) -> Any | None:
    """A result computed before for ``msg2`` applied to ``msg1``, or ``None``.

    Two IDs are looked up at ``<ID1>/<ID2>``; an ID and a message at
    ``<ID1>/<ID of the message's signed commitments>``; two messages (or a
    message and a key) at their hashpath. A binary result comes back as the
    structured codec gives binaries (``str`` when it is UTF-8), as it stood
    in the message that produced it. Upstream: hb_cache:read_resolved/3.
    """
    location = resolved_path(msg1, msg2)
    if location is None:
        return None
    found = read(location, store)
    return binary_out(found) if isinstance(found, bytes) else found


#: Where results are linked under their hashpath. Upstream links them at the
#: bare hashpath, which for a first step (``<ID1>/<ID2>``) lands inside the
#: stored base message's own group and adds a key to it; a separate
#: namespace keeps stored messages as they were and finds every result.
RESOLVED = "resolved"


def resolved_path(msg1: Any, msg2: Any) -> str | None:
    """Where the result of ``msg2`` on ``msg1`` is cached (see :func:`read_resolved`)."""
    if _is_id(msg1) and _is_id(msg2):
        hashpath = f"{_id_text(msg1)}/{_id_text(msg2)}"
    elif _is_id(msg1) and isinstance(msg2, dict):
        hashpath = f"{_id_text(msg1)}/{message_id(msg2, 'all')}"
    elif isinstance(msg1, dict) and isinstance(msg2, dict | str | bytes):
        if isinstance(msg2, bytes):
            msg2 = _text(msg2)
        hashpath = hb_path.hashpath(msg1, msg2, message_id)
    else:
        return None
    return f"{RESOLVED}/{hashpath}"


def write_resolved(
    msg1: Any, msg2: Any, msg3: Any, store: Store, *, hashpath: str | None = None
) -> str | None:
    """Write the result ``msg3`` of ``msg2`` on ``msg1`` and link it where
    :func:`read_resolved` looks. Returns where the result was written (its
    ID or ``data/...`` path), or ``None`` when it was not (results that are
    neither binaries nor messages are not cached). ``hashpath``, when the
    caller already knows it, saves computing it again.

    Unlike upstream, message results are linked too, and every result is
    linked under :data:`RESOLVED` (see :func:`resolved_path`). Upstream: the
    write half of hb_cache_control:dispatch_cache_write/4.
    """
    if isinstance(msg3, bytearray):
        msg3 = bytes(msg3)
    if isinstance(msg3, str | bytes | dict):
        written = write(msg3, store)
    else:
        log.debug("not caching a result of type %s", type(msg3).__name__)
        return None
    location = f"{RESOLVED}/{hashpath}" if hashpath else resolved_path(msg1, msg2)
    if location is not None:
        store.make_link(written, location)
    return written


# --- listing ------------------------------------------------------------------------


def list(path: PathLike, store: Store) -> builtins.list[str]:
    """The names under ``path`` (links followed), or ``[]``. Upstream: hb_cache:list/2."""
    names = store.list(store.resolve(_path(path)))
    return names if names is not None else []


def list_numbered(path: PathLike, store: Store) -> builtins.list[int]:
    """The numbers under ``path``, ascending (slot directories and the like).
    Names that are not decimal integers are ignored (upstream crashes on
    them). Upstream: hb_cache:list_numbered/2."""
    numbers: builtins.list[int] = []
    for name in list(path, store):
        try:
            numbers.append(int(name, 10))
        except ValueError:
            continue
    return sorted(numbers)


# --- helpers ------------------------------------------------------------------------


def _path(path: PathLike) -> str:
    if isinstance(path, bytes):
        return join(_text(path))
    if isinstance(path, str):
        return join(path)
    return join(_text(part) if isinstance(part, bytes) else str(part) for part in path)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _id_text(value: str | bytes) -> str:
    """An ID as text: native (32-byte) IDs in their human form."""
    if isinstance(value, bytes) and len(value) == 32:
        return human_id(value)
    return _text(value)


def _is_id(value: Any) -> bool:
    return isinstance(value, str | bytes) and is_id(value) and "/" not in _text(value)


__all__ = [
    "DATA_PREFIX",
    "CacheError",
    "CircularLinks",
    "DeviceMapError",
    "SubpathNotFound",
    "data_path",
    "exists",
    "link",
    "list",
    "list_numbered",
    "read",
    "read_resolved",
    "resolved_path",
    "write",
    "write_binary",
    "write_hashpath",
    "write_packed",
    "write_resolved",
]
