"""Computed process states in the store.

The state after slot ``n`` is written as any message (hyperbeam.cache) and
linked at ``computed/<process ID>/slot/<n>`` and at
``computed/<process ID>/<state ID>``. States that carry a ``snapshot`` key can
be restored without recomputing the slots before them.

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
    with a ``snapshot`` is also linked at ``computed/<process>/snapshot/<n>``
    (the slot's own link keeps its first state: a snapshot taken later, at
    shutdown, is found there). Upstream: dev_process_cache:write/4."""
    root = cache.write(state, store)
    slot_path = path(process_id, slot)
    cache.link(root, slot_path, store)
    cache.link(root, path(process_id, human_id(commit.id(state))), store)
    if "snapshot" in state:
        cache.link(root, join(COMPUTED, human_id(process_id), SNAPSHOTS, str(slot)), store)
    return slot_path


def latest_snapshot(
    process_id: str | bytes, store: Store, limit: int | None = None
) -> tuple[int, Message] | None:
    """The state with a snapshot of the highest slot (at most ``limit``)."""
    found = latest(process_id, store, "snapshot", limit)
    indexed = cache.list_numbered(join(COMPUTED, human_id(process_id), SNAPSHOTS), store)
    best = max((s for s in indexed if limit is None or s <= limit), default=None)
    if best is not None and (found is None or best > found[0]):
        state = cache.read(join(COMPUTED, human_id(process_id), SNAPSHOTS, str(best)), store)
        if isinstance(state, dict):
            return best, state
    return found


def read(process_id: str | bytes, ref: int | str, store: Store) -> Message | None:
    """The state after slot ``ref`` (or with ID ``ref``), or ``None``.
    Upstream: dev_process_cache:read/3."""
    found = cache.read(path(process_id, ref), store)
    return found if isinstance(found, dict) else None


def slots(process_id: str | bytes, store: Store) -> list[int]:
    """The computed slots of a process, ascending."""
    return cache.list_numbered(join(COMPUTED, human_id(process_id), "slot"), store)


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
        if suffix and store.type(store.resolve(path(process_id, slot, *suffix))) is None:
            continue
        state = read(process_id, slot, store)
        if state is not None:
            return slot, state
    return None
