"""Scheduler servers: one per process this node schedules for.

A :class:`SchedulerServer` hands out a process's slots. Four steps make an
assignment durable, and only the first and third are one at a time:

1. **allocate** (under a lock, a few microseconds): the next slot and the
   next link of the hash chain (which depends on the message's ID only);
2. **sign** the assignment (RSA, about 1.5 ms; OpenSSL releases the GIL, so
   callers sign in parallel on their own threads) and prepare its store
   writes, on the caller's thread too;
3. **write** (group commit): whichever caller finds the next slots signed
   and no write running writes every contiguous signed assignment in one
   store transaction;
4. **flush** the store to disk (``Store.flush``), which covers every batch
   written before it; it runs while the next batch is written.

A caller returns when its slot is durable (``local_confirmation``, the
default) or as soon as it is signed (``aggressive``). Slots are written in
order, so the stored schedule never has a gap: after a crash (even ``kill
-9``) a restarted server continues after the highest stored slot, and no
acknowledged assignment is lost. Two callers never get the same slot.

If signing, writing or flushing fails, the server goes back to what the
store holds and every caller whose slot was not yet durable gets a
:class:`SchedulerError`; later callers go on from there.

The :class:`SchedulerRegistry` finds or starts the server of a process (it
starts with the node, and servers start on demand, each reading its
position back from the store).

Upstream: dev_scheduler_server (start/2, schedule/2, do_assign/3),
dev_scheduler_registry (find/3, get_processes/0). Upstream signs and writes
one assignment at a time inside the server process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hyperbeam import metrics
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import HyperbeamError
from hyperbeam.message.ids import human_id, native_id
from hyperbeam.message.model import Message, as_text
from hyperbeam.scheduler import cache as schedule_cache
from hyperbeam.scheduler.assignment import next_hash_chain, sign_assignment
from hyperbeam.store.base import Store

log = logging.getLogger("hyperbeam.scheduler")

Mode = Literal["local_confirmation", "aggressive", "disabled"]
#: Written assignments a server keeps in memory for the computations that follow.
RECENT_ASSIGNMENTS = 1024
MODES: tuple[str, ...] = ("local_confirmation", "aggressive", "disabled")


class SchedulerError(HyperbeamError):
    """An assignment could not be made or made durable."""

    status = 503


@dataclass(slots=True)
class _Slot:
    generation: int
    assignment: Message | None = None
    #: Its writes, planned and prepared by the thread that signed it.
    units: list[Any] | None = None


class SchedulerServer:
    """Assigns the slots of one process. Upstream: dev_scheduler_server."""

    def __init__(
        self,
        process_id: str,
        store: Store,
        wallet: Wallet,
        *,
        mode: Mode = "local_confirmation",
        clock: Callable[[], int] | None = None,
    ) -> None:
        if mode == "disabled":
            raise SchedulerError(f"scheduling is disabled on this node (asked for {process_id})")
        self.process_id = human_id(process_id)
        self.store = store
        self.wallet = wallet
        self.mode = mode
        self.clock = clock or (lambda: int(time.time() * 1000))
        self._cond = threading.Condition()  # guards everything below
        self._pending: dict[int, _Slot] = {}
        #: The latest assignments written, by slot (the process computing
        #: them next reads them here rather than from the store).
        self._recent: OrderedDict[int, Message] = OrderedDict()
        self._committing = False
        self._generation = 0
        self._load()

    def _load(self) -> None:
        """Continue after the highest stored slot. Upstream: start/2."""
        latest = schedule_cache.latest(self.process_id, self.store)
        if latest is None:
            self._current, self._chain = -1, b""
        else:
            slot, assignment = latest
            self._current = slot
            self._chain = native_id(as_text(assignment["hash-chain"]))
        self._durable = self._written = self._current
        self._durable_chain = self._chain

    # -- public ----------------------------------------------------------------

    @property
    def current(self) -> int:
        """The highest acknowledged slot (-1 before the first assignment)."""
        with self._cond:
            return self._durable

    def schedule(self, message: Message) -> Message:
        """Assign ``message`` the next slot; the signed assignment is returned
        once it is durable (or signed, in ``aggressive`` mode)."""
        with self._cond:
            generation = self._generation
            slot = self._current + 1
            chain = next_hash_chain(self._chain, message)
            self._current, self._chain = slot, chain
            self._pending[slot] = _Slot(generation)
        try:
            assignment, tabm = sign_assignment(
                self.process_id, slot, message, None, self.wallet,
                timestamp=self.clock(), hash_chain=chain,
            )  # fmt: skip
            # The writes, made ready here: the commit (one thread at a time)
            # is then a few calls into the store.
            plan = schedule_cache.plan(assignment, tabm=tabm)
            units = self.store.prepare(plan)
        except Exception as exc:
            self._deliver(slot, generation, None, None, exc)
            raise SchedulerError(f"could not sign the assignment of slot {slot}: {exc}") from exc
        self._deliver(slot, generation, assignment, units, None)
        metrics.SLOTS_ASSIGNED.inc()
        if self.mode == "aggressive":
            threading.Thread(
                target=self._commit_until, args=(slot, generation), daemon=True
            ).start()
            return assignment
        self._commit_until(slot, generation)
        return assignment

    def recent(self, slot: int) -> Message | None:
        """The assignment of ``slot`` if it is durable and among the latest
        written (``None`` otherwise: read the store)."""
        with self._cond:
            if slot > self._durable:
                return None
            return self._recent.get(slot)

    def info(self) -> dict[str, object]:
        return {"process": self.process_id, "current": self.current, "address": self.wallet.address}

    # -- commit ------------------------------------------------------------------

    def _deliver(
        self,
        slot: int,
        generation: int,
        assignment: Message | None,
        units: list[Any] | None,
        error: BaseException | None,
    ) -> None:
        """Hand a signed assignment (and its planned writes) to the
        committers; a failed one resets the server, since every later slot
        was chained to it."""
        with self._cond:
            entry = self._pending.get(slot)
            if entry is not None and entry.generation == generation:
                entry.assignment, entry.units = assignment, units
                if error is not None:
                    self._reset()
            self._cond.notify_all()

    def _commit_until(self, slot: int, generation: int) -> None:
        """Return once ``slot`` is durable, committing batches as needed.

        A batch is written in one transaction by one thread at a time; the
        disk flush that makes it durable runs after, while the next batch is
        written (a flush covers every transaction committed before it)."""
        while True:
            with self._cond:
                while True:
                    if self._generation != generation:
                        raise SchedulerError(
                            f"slot {slot} of {self.process_id} was not stored: an earlier "
                            "assignment failed; please send the message again"
                        )
                    if self._durable >= slot:
                        return
                    batch = self._ready_batch()
                    if not self._committing and batch is not None:
                        break
                    self._cond.wait()
                self._committing = True
            failure = self._write(batch)
            with self._cond:
                self._committing = False
                if failure is not None:
                    self._fail(failure)
                    continue
                last = batch[-1].assignment
                assert last is not None
                first_slot, last_slot = self._written + 1, int(last["slot"])
                self._written = last_slot
                for slot_done in range(first_slot, last_slot + 1):
                    written = self._pending.pop(slot_done).assignment
                    if written is not None:
                        self._recent[slot_done] = written
                while len(self._recent) > RECENT_ASSIGNMENTS:
                    self._recent.popitem(last=False)
                self._cond.notify_all()
            try:
                self.store.flush()
            except Exception as exc:
                with self._cond:
                    self._fail(exc)
                continue
            with self._cond:
                if self._generation == generation and last_slot > self._durable:
                    self._durable = last_slot
                    self._durable_chain = native_id(as_text(last["hash-chain"]))
                self._cond.notify_all()

    def _fail(self, failure: BaseException) -> None:
        """A write or flush failed (``_cond`` held)."""
        log.error("scheduler for %s failed: %s", self.process_id, failure)
        self._reset()
        self._cond.notify_all()

    def _ready_batch(self) -> list[_Slot] | None:
        """The signed assignments that follow the written slot without a gap;
        ``None`` when the next one is not signed yet (``_cond`` held)."""
        batch: list[_Slot] = []
        slot = self._written + 1
        while (entry := self._pending.get(slot)) is not None:
            if entry.assignment is None:
                break
            batch.append(entry)
            slot += 1
        return batch or None

    def _write(self, batch: list[_Slot]) -> BaseException | None:
        units = [unit for entry in batch for unit in entry.units or ()]
        try:
            # All of the batch, or none of it, in slot order.
            self.store.atomically(lambda: self.store.apply_prepared(units))
        except Exception as exc:
            return exc
        return None

    def _reset(self) -> None:
        """Forget every assignment that is not durable (``_cond`` held) and
        go on from the highest stored slot."""
        self._generation += 1
        self._pending.clear()
        self._recent.clear()
        try:
            self._load()
        except Exception as exc:  # the store is failing: keep the last known position
            log.error("scheduler for %s could not re-read its schedule: %s", self.process_id, exc)
            self._current, self._chain = self._durable, self._durable_chain


class SchedulerRegistry:
    """The scheduler servers of a node, by process ID.
    Upstream: dev_scheduler_registry."""

    def __init__(self, store: Store, wallet: Wallet, *, mode: Mode = "local_confirmation") -> None:
        self.store = store
        self.wallet = wallet
        self.mode = mode
        self._servers: dict[str, SchedulerServer] = {}
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.wallet.address

    def find(self, process_id: str | bytes, start: bool = False) -> SchedulerServer | None:
        """The server of ``process_id``; started (from what the store holds)
        when ``start`` is true and it is not running."""
        pid = human_id(process_id)
        server = self._servers.get(pid)
        if server is not None or not start:
            return server
        with self._lock:
            server = self._servers.get(pid)
            if server is None:
                server = SchedulerServer(pid, self.store, self.wallet, mode=self.mode)
                self._servers[pid] = server
                log.info("scheduler started for %s at slot %d", pid, server.current)
            return server

    def processes(self) -> list[str]:
        """The processes with a running server. Upstream: get_processes/0."""
        return sorted(self._servers)
