"""Assignments in the store, at upstream's layout.

An assignment is written as any message (hyperbeam.cache) and linked at
``assignments/<process ID>/<slot>``. Upstream: dev_scheduler_cache
(write/2, read/3, list/2, latest/2).
"""

from __future__ import annotations

from hyperbeam import cache
from hyperbeam.codecs.structured import Tabm
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.model import Message
from hyperbeam.scheduler.formats import aos2_normalize_types
from hyperbeam.store.base import Store, Unit, join

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


def plan(assignment: Message, *, tabm: Tabm | None = None) -> list[Unit]:
    """The writes of :func:`write`, for ``Store.apply`` (see
    :func:`hyperbeam.cache.plan`); the slot's link comes last."""
    root, units = cache.plan(assignment, tabm=tabm)
    where = slot_path(assignment["process"], int(assignment["slot"]))
    return [*units, (where, [("link", where, root.encode())])]


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


#: The store prefix of scheduler location records, by scheduler address.
LOCATIONS = "scheduler-locations"


def read_location(address: str | bytes, store: Store) -> Message | None:
    """The known location record of the scheduler ``address`` with the
    highest nonce. Upstream: dev_scheduler_cache:read_location/2."""
    base = join(LOCATIONS, _address(address))
    nonces = cache.list_numbered(base, store)
    if not nonces:
        return None
    found = cache.read(join(base, str(nonces[-1])), store)
    return found if isinstance(found, dict) else None


def write_location(record: Message, store: Store) -> bool:
    """Keep a signed location record under each of its signers; ``False``
    (and nothing written) when it has no signers or does not verify.

    **Deviation:** upstream links the record at
    ``scheduler-locations/<address>``, and since a link keeps its first
    target a newer record never replaces an older one. Here each record is
    kept under ``scheduler-locations/<address>/<nonce>`` and the highest
    nonce wins. Upstream: dev_scheduler_cache:write_location/2."""
    signers = commit.signers(record)
    if not signers or not commit.verify(record):
        return False
    nonce = location_nonce(record)
    root = cache.write(record, store)
    for signer in signers:
        cache.link(root, join(LOCATIONS, _address(signer), str(nonce)), store)
    return True


def location_nonce(record: Message) -> int:
    """A location record's ``nonce`` (0 when it has none or it is not a number)."""
    try:
        return max(0, int(record.get("nonce", 0)))
    except (TypeError, ValueError):
        return 0


def _address(address: str | bytes) -> str:
    return (
        address.decode() if isinstance(address, bytes) and len(address) != 32 else human_id(address)
    )
