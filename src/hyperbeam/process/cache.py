"""Computed process states in the store.

The state after slot ``n`` is written as one record at
``computed/<process ID>/slot/<n>`` (:func:`hyperbeam.cache.write_packed`).
States that carry a ``snapshot`` key are also linked at
``computed/<process ID>/snapshot/<n>``, and can be restored without
recomputing the slots before them.

**Deviation:** upstream writes each state as any message, key by key under
its ID, and links ``computed/<process ID>/<state ID>`` too. Taking an
unsigned state's ID means encoding all of it (on every slot, the largest
cost of a slot here), and states are read by slot: so a signed state is
linked by its ID as it is written (its ID costs nothing), and an unsigned
one when it is first looked for by ID. States written the old way are
still read.

Upstream: dev_process_cache (read/3, write/4, latest/4, path/4).
"""

from __future__ import annotations

from typing import Any

from hyperbeam import cache
from hyperbeam.ao.path import term_to_path_parts
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.model import Message
from hyperbeam.store.base import Store, join

COMPUTED = "computed"
#: Where states with a snapshot are indexed, by slot.
SNAPSHOTS = "snapshot"


def path(process_id: str | bytes, ref: int | str, *suffix: str) -> str:
    """``computed/<process>/slot/<n>`` for a slot, ``computed/<process>/<ref>``
    otherwise. Upstream: dev_process_cache:path/4."""
    base = [COMPUTED, human_id(process_id)]
    parts = ["slot", str(ref)] if isinstance(ref, int) else [str(ref)]
    return join(*base, *parts, *suffix)


def write(process_id: str | bytes, slot: int, state: Message, store: Store) -> str:
    """Store the state after ``slot``; its slot path is returned. A state
    with a ``snapshot`` is kept at ``computed/<process>/snapshot/<n>``, its
    slot path linked to it (unless the slot was stored before: a snapshot
    taken later, at shutdown, is found at its snapshot path). Stored paths
    keep what was first written there. Upstream: dev_process_cache:write/4."""
    slot_path = path(process_id, slot)
    links = []
    if "commitments" in state:  # signed: its ID is its commitments'
        links.append(path(process_id, human_id(commit.id(state))))
    if "snapshot" in state:
        cache.write_packed(snapshot_path(process_id, slot), state, store, links=[slot_path, *links])
        return slot_path
    return cache.write_packed(slot_path, state, store, links=links)


def snapshot_path(process_id: str | bytes, slot: int) -> str:
    """``computed/<process>/snapshot/<n>``."""
    return join(COMPUTED, human_id(process_id), SNAPSHOTS, str(slot))


def latest_snapshot(
    process_id: str | bytes, store: Store, limit: int | None = None
) -> tuple[int, Message] | None:
    """The state with a snapshot of the highest slot (at most ``limit``)."""
    found = latest(process_id, store, "snapshot", limit)
    indexed = cache.list_numbered(join(COMPUTED, human_id(process_id), SNAPSHOTS), store)
    best = max((s for s in indexed if limit is None or s <= limit), default=None)
    if best is not None and (found is None or best >= found[0]):
        state = cache.read(snapshot_path(process_id, best), store)
        if isinstance(state, dict):
            return best, state
    return found


def read(process_id: str | bytes, ref: int | str, store: Store) -> Message | None:
    """The state after slot ``ref`` (or with ID ``ref``), or ``None``.
    Upstream: dev_process_cache:read/3."""
    found = cache.read(path(process_id, ref), store)
    if found is None and not isinstance(ref, int):
        found = _find_by_id(process_id, str(ref), store)
    return found if isinstance(found, dict) else None


def _find_by_id(process_id: str | bytes, state_id: str, store: Store) -> Message | None:
    """The stored state whose ID is ``state_id``, found by taking the IDs of
    the states not linked by ID yet (latest first), each then linked."""
    for slot in reversed(slots(process_id, store)):
        state = cache.read(path(process_id, slot), store)
        if not isinstance(state, dict):
            continue
        found_id = human_id(commit.id(state))
        cache.link(path(process_id, slot), path(process_id, found_id), store)
        if found_id == state_id:
            return state
    return None


def slots(process_id: str | bytes, store: Store) -> list[int]:
    """The computed slots of a process, ascending."""
    return cache.list_numbered(join(COMPUTED, human_id(process_id), "slot"), store)


def _has(process_id: str | bytes, slot: int, suffix: list[str], store: Store) -> bool:
    """Whether the state of ``slot`` has the path ``suffix``: a snapshot is
    indexed; anything else is looked for in the state."""
    if suffix == [SNAPSHOTS] and cache.exists(snapshot_path(process_id, slot), store):
        return True
    return cache.exists(path(process_id, slot, *suffix), store)


def latest(
    process_id: str | bytes,
    store: Store,
    required: Any = None,
    limit: int | None = None,
) -> tuple[int, Message] | None:
    """The highest computed slot (at most ``limit``) whose state has the
    ``required`` path (e.g. ``snapshot``), with that state.
    Upstream: dev_process_cache:latest/4."""
    suffix = [str(p) for p in (term_to_path_parts(required) or [])] if required else []
    for slot in reversed(slots(process_id, store)):
        if limit is not None and slot > limit:
            continue
        if suffix and not _has(process_id, slot, suffix, store):
            continue
        state = None
        if suffix == [SNAPSHOTS]:
            found = cache.read(snapshot_path(process_id, slot), store)
            state = found if isinstance(found, dict) else None
        state = state or read(process_id, slot, store)
        if state is not None:
            return slot, state
    return None
