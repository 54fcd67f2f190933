"""``process@1.0``: an AO process, its schedule and its state at every slot.

A process is a message (usually signed) that names the devices that do its
work:

``scheduler-device``  orders its messages (default ``scheduler@1.0``);
``execution-device``  computes each message (e.g. ``stack@1.0`` with a
                      ``device-stack``); no default here (upstream's is
                      ``genesis-wasm@1.0``, which this node does not have);
``push-device``       delivers its outbox (default ``push@1.0``).

Each key runs on the process message with its ``device`` swapped for one of
those (and ``input-prefix`` defaulting to ``process``), then swapped back:

``schedule``  (scheduler) POST a message to the schedule; GET the schedule.
``slot``      (scheduler) the current slot.
``compute``   the state after the request's ``slot``: from the store if it
              was computed before, else computed from the nearest state
              held in memory or restorable from the store (or from ``init``),
              one assignment at a time. Without a ``slot``, the latest
              computed state.
``now``       the state after every message scheduled so far.
``snapshot``  (execution, in ``map`` mode) what a restore needs.
``push``      (push) deliver the outbox of a slot to its targets.
``as``        ``as=execution``: the process as seen by its execution device,
              for a dry run: ``/as=execution/compute&<tags>`` evaluates a
              message on a copy of the latest state (``dry-run@1.0``).

The state after each slot is stored (``computed/<process>/slot/<n>``). Some
carry a ``snapshot``, from which a later computation (also after a restart)
resumes: with ``process_cache_frequency`` N > 0, the slots that are
multiples of N (upstream's rule, whose default is 1); with 0 (the default
here), the first slot a node run computes and then one every
``process_snapshot_time`` seconds, plus the last state of each process when
the node stops (:meth:`ProcessDevice.checkpoint`). A WASM process's snapshot
holds its memory (about 2 MB for AOS), so one per slot would cost more than
the computation. One computation runs per process at a time, and
the last state computed stays in memory.

Upstream: dev_process.erl.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hyperbeam import budget, gate
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.path import term_to_path_parts
from hyperbeam.cache_control import BACKGROUND, volatile
from hyperbeam.codecs import json as json_codec
from hyperbeam.devices.message import set_keys
from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.model import UNSET, Message, as_int, as_text, normalize_keys
from hyperbeam.message.private import private_of, strip_private, with_private
from hyperbeam.process import cache as process_cache
from hyperbeam.process.workers import DEFAULT_WORKERS, ProcessWorkers

log = logging.getLogger("hyperbeam.process")

Opts = Mapping[str, Any]

#: Slots between snapshots (0: by time instead). Upstream's default is 1.
DEFAULT_CACHE_FREQUENCY = 0
#: Seconds between the snapshots of a process when taken by time.
DEFAULT_SNAPSHOT_TIME = 60.0

#: Long computations log their progress every this many slots.
PROGRESS_EVERY = 100

_DEFAULT_DEVICES = {"scheduler": "scheduler@1.0", "push": "push@1.0"}
#: The device of ``as=execution``: devices/dryrun.py.
DRY_RUN_DEVICE = "dry-run@1.0"


def workers_of(opts: Opts) -> ProcessWorkers:
    found = opts.get("process_workers")
    return found if isinstance(found, ProcessWorkers) else DEFAULT_WORKERS


def ensure_process_key(msg1: Message, opts: Opts) -> Message:
    """``msg1`` with a ``process`` key holding the committed process
    definition. A message that lost its signatures is read back from the
    store by its ID. Upstream: ensure_process_key/2."""
    if isinstance(msg1.get("process"), dict):
        return msg1
    source = msg1
    if not commit.signers(msg1):
        loader = opts.get("load_message")
        try:
            found = loader(human_id(commit.id(msg1, "all")), opts) if loader else None
        except HyperbeamError:
            found = None
        if isinstance(found, dict):
            source = found
    return {**msg1, "process": commit.with_only_committed(source)}


def process_id(msg1: Message, opts: Opts) -> str:
    """The ID of the process (all commitments counted). Upstream: process_id/3."""
    with_key = ensure_process_key(msg1, opts)
    return human_id(commit.id(with_key["process"], "all"))


def as_process(msg: Message) -> Message:
    """Upstream: as_process/2."""
    return set_keys(msg, {"device": "process@1.0"})


def run_as(kind: str, msg1: Message, msg2: Any, opts: Opts) -> Result:
    """Resolve ``msg2`` on ``msg1`` with its device swapped for the process's
    ``<kind>-device``, then swap the device back. Upstream: run_as/4."""
    base_device = msg1.get("device", ao.NOT_FOUND)
    device = msg1.get(f"{kind}-device") or _DEFAULT_DEVICES.get(kind)
    if device is None:
        return "error", {
            "status": 422,
            "body": f"the process names no {kind}-device",
        }
    prefix = msg1.get("input-prefix", "process")
    updates: Message = {"device": device, "input-prefix": prefix}
    output = msg1.get(f"{kind}-output-prefixes")
    if output is not None:
        updates["output-prefixes"] = output
    prepared = set_keys(ensure_process_key(msg1, opts), updates)
    status, result = ao.resolve(prepared, msg2, opts)
    if (
        status == "ok"
        and isinstance(result, dict)
        and result.get("device") == device
        and base_device != ao.NOT_FOUND
    ):
        result = set_keys(result, {"device": base_device})
    return status, result


class ProcessDevice(Device):
    """Upstream: dev_process.erl."""

    name = "process@1.0"
    VOLATILE = frozenset({"schedule", "slot", "now", "push", "as"})

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "exports": ["compute", "schedule", "slot", "now", "push", "snapshot", "results", "as"]
        }

    # -- scheduler keys ------------------------------------------------------------

    @key("schedule")
    def schedule(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        return run_as("scheduler", msg1, msg2, opts)

    @key("slot")
    def slot(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        return run_as("scheduler", msg1, msg2, opts)

    # -- compute -------------------------------------------------------------------

    @key("compute")
    def compute(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        """The state after the request's ``slot``. Upstream: compute/3."""
        base = ensure_process_key(msg1, opts)
        pid = process_id(base, opts)
        raw = msg2.get("slot", ao.NOT_FOUND) if isinstance(msg2, dict) else ao.NOT_FOUND
        if raw == ao.NOT_FOUND:
            return self.now(msg1, msg2, {**opts, "process_now_from_cache": True})
        target = as_int(raw, "slot")
        if target < -1:
            raise HyperbeamError(
                f"slot must be -1 (the initial state) or more, not {target}", status=400
            )
        store = opts.get("store")
        if store is not None and (found := process_cache.read(pid, target, store)) is not None:
            return "ok", found
        workers = workers_of(opts)
        with workers.hold(pid, gate.of(opts)):
            if store is not None and (found := process_cache.read(pid, target, store)):
                return "ok", found
            live = workers.state(pid)
            if live is not None and as_int(live.get("at-slot", -1), "at-slot") <= target:
                state = live
            else:
                status, state = self._load(pid, base, target, opts)
                if status != "ok":
                    return status, state
            return self._compute_to(pid, state, target, workers, opts)

    def _load(self, pid: str, base: Message, target: int, opts: Opts) -> Result:
        """The latest restorable state of ``pid`` at or before ``target``,
        else the initialized process. Upstream: ensure_loaded/3."""
        if base.get("initialized") == "true":
            return "ok", base
        store = opts.get("store")
        found = process_cache.latest_snapshot(pid, store, target) if store else None
        if found is None:
            return self.init(base, opts)
        slot, snapshot = found
        log.info("restoring %s from slot %d", pid, slot)
        return _restore(snapshot, opts)

    def init(self, msg1: Message, opts: Opts) -> Result:
        """Let the execution devices set themselves up. Upstream: init/3."""
        status, initialized = run_as("execution", msg1, {"path": "init"}, opts)
        if status != "ok" or not isinstance(initialized, dict):
            return status, initialized
        return "ok", ao.set_message(initialized, {"initialized": "true", "at-slot": -1}, opts)

    def _compute_to(
        self,
        pid: str,
        state: Message,
        target: int,
        workers: ProcessWorkers,
        opts: Opts,
        *,
        keep: bool = True,
    ) -> Result:
        """Apply assignments until ``target`` (logging progress on long runs).
        With ``keep`` false, the states are neither stored nor kept as the
        live state (a private copy: :meth:`fork`). Upstream: compute_to_slot/5."""
        start = as_int(state.get("at-slot", -1), "at-slot")
        if target - start > PROGRESS_EVERY:
            log.info("computing %s from slot %d to %d", pid, start + 1, target)
        while True:
            current = as_int(state.get("at-slot", -1), "at-slot")
            if current > start and (current - start) % PROGRESS_EVERY == 0 and current < target:
                log.info("computing %s: slot %d of %d", pid, current, target)
            if current == target:
                return "ok", as_process(state)
            if current > target:
                return "error", {
                    "status": 500,
                    "body": f"slot {target} is before the state held ({current})",
                }
            status, nxt = run_as("scheduler", state, {"path": "next"}, opts)
            if status != "ok" or not isinstance(nxt, dict):
                return "error", _failure(nxt, "get-schedule", current + 1)
            assignment, state = nxt["body"], as_process(nxt["state"])
            try:
                # Each slot is a piece of work of its own: a long schedule is
                # not charged to the request that asked for its end.
                slot_opts = budget.fresh(opts)
                status, computed = self._compute_slot(pid, state, assignment, slot_opts)
                if status == "ok" and keep:
                    self._store(pid, as_int(assignment.get("slot"), "slot"), computed, slot_opts)
            except BaseException:
                if keep:
                    workers.forget(pid)
                raise
            if status != "ok":
                # The failed step may have changed live runtime state (a WASM
                # instance's memory): the next attempt starts from the store.
                if keep:
                    workers.forget(pid)
                return "error", _failure(computed, "compute", current + 1)
            state = computed
            if keep:
                workers.keep(pid, state)

    def _compute_slot(self, pid: str, state: Message, assignment: Message, opts: Opts) -> Result:
        """One state transition (stored by the caller). Upstream: compute_slot/5."""
        slot = as_int(assignment.get("slot"), "slot")
        request = assignment
        if term_to_path_parts(assignment.get("path")) is None:
            request = {**assignment, "path": "compute"}
        cleared = set_keys(state, {"results": UNSET})
        status, result = run_as("execution", cleared, request, opts)
        if status != "ok" or not isinstance(result, dict):
            return "error", result
        return "ok", as_process(ao.set_message(result, {"at-slot": slot}, opts))

    def _store(self, pid: str, slot: int, state: Message, opts: Opts) -> None:
        """Store the state, with a snapshot when it is due (see the module
        doc). Upstream: store_result/5."""
        store = opts.get("store")
        if store is None:
            return
        workers = workers_of(opts)
        frequency = int(opts.get("process_cache_frequency") or DEFAULT_CACHE_FREQUENCY)
        if frequency > 0:
            due = slot % frequency == 0
        else:
            seconds = float(opts.get("process_snapshot_time") or DEFAULT_SNAPSHOT_TIME)
            due = workers.seconds_since_snapshot(pid) >= seconds
        self._write_state(pid, slot, state, due, opts)

    def _write_state(self, pid: str, slot: int, state: Message, snapshot: bool, opts: Opts) -> None:
        """Store a state (with its snapshot, taken now); on the background
        writer when ``process_async_cache`` is true. Upstream: the ``Writer``
        of store_result/5."""
        store = opts.get("store")
        if store is None:
            return
        stored = state
        if snapshot:
            status, snap = self.snapshot(state, {}, opts)
            if status == "ok":
                stored = {**state, "snapshot": snap}
                workers_of(opts).snapshotted(pid, slot)
            else:
                log.warning("could not snapshot slot %d of %s: %s", slot, pid, snap)

        def write() -> None:
            try:
                process_cache.write(pid, slot, stored, store)
            except HyperbeamError as exc:
                log.warning("could not store slot %d of %s: %s", slot, pid, exc.reason)

        if opts.get("process_async_cache", False):
            BACKGROUND.run(write)
        else:
            write()

    def checkpoint(self, pid: str, opts: Opts) -> bool:
        """Store a snapshot of the live state of ``pid`` if its slot has
        none yet (the node calls this on every live process when it stops,
        so a restart resumes without recomputing). Whether one was written."""
        workers = workers_of(opts)
        with workers.hold(pid):
            state = workers.state(pid)
            if state is None:
                return False
            slot = as_int(state.get("at-slot", -1), "at-slot")
            if slot < 0 or workers.snapshot_slot(pid) == slot:
                return False
            log.info("snapshotting %s at slot %d", pid, slot)
            self._write_state(pid, slot, state, True, opts)
            return workers.snapshot_slot(pid) == slot

    # -- copies, for dry runs -----------------------------------------------------

    @key("as")
    def as_(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """``as=execution``: the process for ``dry-run@1.0``, whose ``compute``
        evaluates a message on a copy of the latest state without scheduling
        it (aoconnect's ``dryrun`` asks ``/<pid>~process@1.0/as=execution/
        compute&<tags>``). Only the execution device is served this way.
        Upstream (later versions): as/3, the loaded state with its device
        swapped for the named one."""
        kind = msg2.get("as", "execution") if isinstance(msg2, dict) else "execution"
        if as_text(kind) != "execution":
            raise HyperbeamError(
                f"as={as_text(kind)}: only as=execution (a dry run) is served", status=400
            )
        view = set_keys(ensure_process_key(msg1, opts), {"device": DRY_RUN_DEVICE})
        return volatile(("ok", view))

    def fork(self, msg1: Message, opts: Opts) -> Result:
        """A copy of the state after every message scheduled so far (computed
        first, as ``now`` does) that shares no runtime with the live state:
        the live state's snapshot restored into new instances; when it has
        none (a Lua state holding a coroutine), the latest stored snapshot
        brought up to the same slot by replaying the slots after it, storing
        and keeping nothing. Nothing done to the copy reaches the process."""
        base = ensure_process_key(msg1, opts)
        pid = process_id(base, opts)
        status, current = ao.resolve(base, {"path": "slot/current"}, opts)
        if status != "ok":
            return status, current
        target = as_int(current, "current")
        workers = workers_of(opts)
        with workers.hold(pid, gate.of(opts)):
            live = workers.state(pid)
            if live is None:
                status, live = self._load(pid, base, target, opts)
                if status != "ok" or not isinstance(live, dict):
                    return status, live
                workers.keep(pid, live)
            if as_int(live.get("at-slot", -1), "at-slot") < target:
                status, live = self._compute_to(pid, live, target, workers, opts)
                if status != "ok" or not isinstance(live, dict):
                    return status, live
            status, snap = self.snapshot(live, {}, opts)
        slot = as_int(live.get("at-slot", -1), "at-slot")
        if status == "ok":
            return _restore({**strip_private(live), "snapshot": snap}, opts)
        log.info("no snapshot of the live state of %s (%s): replaying to slot %d", pid, snap, slot)
        status, state = self._load(pid, base, slot, opts)
        if status != "ok" or not isinstance(state, dict):
            return status, state
        return self._compute_to(pid, state, slot, workers, opts, keep=False)

    # -- now, snapshot, push -------------------------------------------------------

    @key("now")
    def now(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """The state after every scheduled message (or, with
        ``process_now_from_cache``, the latest computed one).
        Upstream: now/3."""
        base = ensure_process_key(msg1, opts)
        if opts.get("process_now_from_cache"):
            store = opts.get("store")
            latest = process_cache.latest(process_id(base, opts), store) if store else None
            if latest is not None:
                return volatile(("ok", latest[1]))
        plain = {k: v for k, v in opts.items() if k != "process_now_from_cache"}
        status, current = ao.resolve(base, {"path": "slot/current"}, plain)
        if status != "ok":
            return status, current
        slot = as_int(current, "current")
        return volatile(ao.resolve(base, {"path": "compute", "slot": slot}, plain))

    @key("snapshot")
    def snapshot(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """What each execution device needs to resume. Upstream: snapshot/3."""
        base = ensure_process_key(msg1, opts)
        quiet = {**opts, "cache_control": ["no-cache", "no-store"], "hashpath": "ignore"}
        status, snap = run_as("execution", base, {"path": "snapshot", "mode": "Map"}, quiet)
        if status != "ok" or not isinstance(snap, dict):
            return status, snap
        return "ok", with_private(
            {**snap, "cache-control": ["store"]},
            {
                **private_of(snap),
                "additional-hashpaths": [
                    f"{process_id(base, opts)}/snapshot/{base.get('at-slot', -1)}"
                ],
            },
        )

    @key("results")
    def results(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """A state's ``results``; with ``results: N`` in the request, those of
        slot ``N`` (aoconnect reads ``/compute/results=<slot>``). Results
        without the ``raw`` AOS response aoconnect reads (a Lua process's
        ``output`` and ``outbox``) get one made from them, in this answer
        only: :func:`with_raw`."""
        wanted = msg2.get("results") if isinstance(msg2, dict) else None
        own = msg1.get("results", ao.NOT_FOUND)
        if wanted is None or isinstance(wanted, dict):
            return ("ok", with_raw(own)) if own != ao.NOT_FOUND else ("error", ao.NOT_FOUND)
        slot = as_int(wanted, "results")
        if own != ao.NOT_FOUND and msg1.get("at-slot") == slot:
            return "ok", with_raw(own)
        status, state = self.compute(msg1, {"path": "compute", "slot": slot}, opts)
        if status != "ok" or not isinstance(state, dict):
            return status, state
        found = state.get("results", ao.NOT_FOUND)
        return ("ok", with_raw(found)) if found != ao.NOT_FOUND else ("error", ao.NOT_FOUND)

    @key("push")
    def push(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """Upstream: push/3."""
        return volatile(run_as("push", ensure_process_key(msg1, opts), msg2, opts))


def with_raw(results: Any) -> Any:
    """Results with ``raw``, the legacy AOS response ``{Output, Messages,
    Spawns, Assignments}`` that aoconnect's ``result`` reads, made from a
    Lua (hyper-aos) process's ``output`` and ``outbox`` when they have none
    (json-iface@1.0 writes it for WASM AOS)."""
    if not isinstance(results, dict) or "raw" in results or "output" not in results:
        return results
    outbox = normalize_keys(results.get("outbox") or {})
    messages = (
        [outbox[k] for k in sorted(outbox, key=_slot_order)] if isinstance(outbox, dict) else []
    )
    response = {
        "Output": results["output"],
        "Messages": messages,
        "Spawns": [],
        "Assignments": [],
    }
    raw = {"content-type": "application/json", "body": json_codec.encode_json(response).decode()}
    return {**results, "raw": raw}


def _slot_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 62, key)


def _restore(state: Message, opts: Opts) -> Result:
    """A state carrying a ``snapshot``, brought back to life by its execution
    devices' ``normalize`` (the ``snapshot`` key dropped)."""
    status, normalized = run_as(
        "execution", state, {"path": "normalize"}, {**opts, "hashpath": "ignore"}
    )
    if status != "ok" or not isinstance(normalized, dict):
        return status, normalized
    return "ok", {k: v for k, v in normalized.items() if k != "snapshot"}


def _failure(reason: Any, phase: str, slot: int) -> Message:
    details = dict(reason) if isinstance(reason, dict) else {"error": reason}
    return {**details, "phase": phase, "attempted-slot": slot}
