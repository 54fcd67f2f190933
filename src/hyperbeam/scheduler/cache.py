"""Assignments in the store, at upstream's layout.

An assignment is written as any message (hyperbeam.cache) and linked at
``assignments/<process ID>/<slot>``. Upstream: dev_scheduler_cache
(write/2, read/3, list/2, latest/2).
"""

from __future__ import annotations

from hyperbeam import cache
from hyperbeam.message.ids import human_id
from hyperbeam.message.model import Message
from hyperbeam.scheduler.formats import aos2_normalize_types
from hyperbeam.store.base import Store, join

#: The store prefix of schedules.
ASSIGNMENTS = "assignments"


def slot_path(process_id: str | bytes, slot: int | str) -> str:
    """``assignments/<process ID>/<slot>``."""
    return join(ASSIGNMENTS, human_id(process_id), str(slot))


def write(assignment: Message, store: Store) -> str:
    """Write ``assignment`` and link it under its process and slot; the
    message's cache path is returned. Upstream: dev_scheduler_cache:write/2."""
    proc = assignment["process"]
    slot = int(assignment["slot"])
    root = cache.write(assignment, store)
    cache.link(root, slot_path(proc, slot), store)
    return root


def read(process_id: str | bytes, slot: int | str, store: Store) -> Message | None:
    """The assignment at ``slot`` of ``process_id``, or ``None``. One without
    a ``slot`` key (aos-2 style) is normalised.
    Upstream: dev_scheduler_cache:read/3."""
    found = cache.read(slot_path(process_id, slot), store)
    if not isinstance(found, dict):
        return None
    if "slot" not in found:
        return aos2_normalize_types(found)
    return found


def list_slots(process_id: str | bytes, store: Store) -> list[int]:
    """The slots stored for ``process_id``, ascending.
    Upstream: dev_scheduler_cache:list/2."""
    return cache.list_numbered(join(ASSIGNMENTS, human_id(process_id)), store)


def latest(process_id: str | bytes, store: Store) -> tuple[int, Message] | None:
    """The highest stored slot and its assignment, or ``None``. (Upstream
    returns the slot and the assignment's ``hash-chain``; read it from the
    assignment.) Upstream: dev_scheduler_cache:latest/2."""
    slots = list_slots(process_id, store)
    if not slots:
        return None
    slot = slots[-1]
    assignment = read(process_id, slot, store)
    if assignment is None:
        return None
    return slot, assignment
