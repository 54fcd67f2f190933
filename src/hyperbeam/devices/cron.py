"""``cron@1.0``: run a request later, once or at an interval, with no client.

- ``once`` (``cron-path``): start a task that dispatches the request once,
  with ``path`` replaced by ``cron-path`` (and ``cron-path`` removed), as the
  node dispatches an HTTP request. Answers the task's ID: the ID of the
  request counting all its commitments.
- ``every`` (``cron-path``, ``interval``): the same, over and over: one run
  at once, then one every ``interval`` (``<integer>-<unit>``, the unit being
  ``millisecond``, ``second``, ``minute``, ``hour`` or ``day``, singular or
  plural). A run that fails is logged and the next one comes as planned.
- ``stop`` (``task``): stop a task. It never runs again, and a run under
  way is abandoned: its result is dropped and the task's thread ends at
  once (Python cannot kill the thread running the abandoned request; it
  finishes in the background). Answers 200, or an error for an unknown task.
- ``info``: what the device does.

Tasks are daemon threads held in one registry per Python process (upstream
names them in hb_name, one per Erlang node), each remembering the node that
started it. :func:`stop_all` stops them: every one, or one node's.

Differences from upstream:

- A run looks nothing up in the cache (it stores its result as the node's
  HTTP policy says): with the ``always`` policy every run after the first
  would otherwise be answered from the store without running.
- Asking for a task whose ID is already running starts no second copy (the
  running one keeps its ID); upstream starts a copy that nothing can stop.
- A failing ``every`` run is followed by the usual pause (upstream runs
  again at once), ``once`` failures are logged rather than thrown, and the
  errors for a bad ``interval`` are the ones upstream meant to return
  (``Invalid time unit: X``, ``Invalid interval value.``).

Upstream: dev_cron.erl (info/3, once/3, every/3, stop/3, parse_time/1,
once_worker/3, every_worker_loop/4).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.singleton import from_request
from hyperbeam.cache_control import parse_directives, volatile
from hyperbeam.errors import HyperbeamError
from hyperbeam.message.id import message_id
from hyperbeam.message.model import Message

log = logging.getLogger("hyperbeam.cron")

INFO_BODY: Message = {
    "description": "Cron device for scheduling messages",
    "version": "1.0",
    "paths": {
        "info": "Get device info",
        "once": "Schedule a one-time message",
        "every": "Schedule a recurring message",
        "stop": "Stop a scheduled task {task}",
    },
}

#: Milliseconds in one of each unit, matched by prefix. Upstream: parse_time/1.
TIME_UNITS: tuple[tuple[str, int], ...] = (
    ("millisecond", 1),
    ("second", 1000),
    ("minute", 60 * 1000),
    ("hour", 60 * 60 * 1000),
    ("day", 24 * 60 * 60 * 1000),
)

_AMOUNT = re.compile(r"\+?[0-9]+")


class IntervalError(HyperbeamError):
    """An ``interval`` that is not ``<integer>-<unit>``."""

    status = 400


def parse_time(text: str | bytes) -> int:
    """Milliseconds in ``text``, such as ``500-milliseconds`` or ``2-minutes``.

    The amount is an integer (it may be zero or, as ``+5``, signed); the unit
    is matched by prefix, ignoring case. Upstream: dev_cron:parse_time/1.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    amount, sep, unit = text.partition("-")
    if not sep or not _AMOUNT.fullmatch(amount):
        raise IntervalError(f"Invalid interval: {text}")
    lowered = unit.lower()
    for prefix, millis in TIME_UNITS:
        if lowered.startswith(prefix):
            return int(amount) * millis
    raise IntervalError(f"Invalid time unit: {unit}")


# --- tasks --------------------------------------------------------------------------


class CronTask:
    """One scheduled request: a daemon thread that runs it once or in a loop.

    ``run`` does one run and answers ``(status, result)``; an exception it
    raises counts as an error. Each run goes to a helper thread, so
    :meth:`cancel` ends the task's own thread at once even while a run is
    under way; that run's outcome is then dropped.
    """

    def __init__(
        self,
        task_id: str,
        run: Callable[[], Result],
        *,
        interval_ms: int | None = None,
        owner: object = None,
        label: str = "",
    ) -> None:
        self.task_id = task_id
        self.owner = owner
        self.interval_ms = interval_ms
        self.label = label
        #: Runs finished before the task was stopped.
        self.runs = 0
        self._run = run
        self._cond = threading.Condition()
        self._cancelled = False
        self._on_exit: Callable[[CronTask], None] = lambda task: None
        self.thread = threading.Thread(target=self._main, name=f"cron-{task_id[:8]}", daemon=True)

    @property
    def cancelled(self) -> bool:
        with self._cond:
            return self._cancelled

    def alive(self) -> bool:
        """Is the task's own thread still running?"""
        return self.thread.is_alive()

    def start(self, on_exit: Callable[[CronTask], None]) -> None:
        """Start the thread; ``on_exit`` is called with the task when it ends."""
        self._on_exit = on_exit
        self.thread.start()

    def cancel(self) -> None:
        """Stop the task: no run starts after this, and one under way is dropped."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def _main(self) -> None:
        try:
            if self.interval_ms is None:
                self._run_once()
                return
            pause = self.interval_ms / 1000
            while self._run_once():
                with self._cond:
                    if self._cond.wait_for(lambda: self._cancelled, timeout=pause):
                        return
        finally:
            self._on_exit(self)

    def _run_once(self) -> bool:
        """One run in a helper thread, waited for unless the task is cancelled
        first. False if the task was (or is now) cancelled."""
        finished = False

        def body() -> None:
            nonlocal finished
            started = time.perf_counter()
            outcome = self._outcome()
            with self._cond:
                finished = True
                dropped = self._cancelled
                if not dropped:
                    self.runs += 1
                self._cond.notify_all()
            self._report(outcome, (time.perf_counter() - started) * 1000, dropped=dropped)

        with self._cond:
            if self._cancelled:
                return False
        helper = threading.Thread(target=body, name=f"cron-run-{self.task_id[:8]}", daemon=True)
        helper.start()
        with self._cond:
            self._cond.wait_for(lambda: finished or self._cancelled)
            return not self._cancelled

    def _outcome(self) -> Result:
        try:
            return self._run()
        except HyperbeamError as exc:
            return "error", exc.reason
        except Exception as exc:
            log.exception("cron task %s: %s raised", self.task_id, self.label)
            return "error", f"{type(exc).__name__}: {exc}"

    def _report(self, outcome: Result, elapsed_ms: float, *, dropped: bool) -> None:
        status, result = outcome
        if dropped:
            log.info(
                "cron task %s: %s ended after the task was stopped (%s); dropped",
                self.task_id,
                self.label,
                status,
            )
        elif status == "ok":
            log.info("cron task %s: %s -> ok (%.1f ms)", self.task_id, self.label, elapsed_ms)
        else:
            log.warning("cron task %s: %s -> %s: %r", self.task_id, self.label, status, result)


class TaskRegistry:
    """The running tasks by ID. Upstream: hb_name names ``{cron@1.0, ID}``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, CronTask] = {}

    def start(self, task: CronTask) -> bool:
        """Register and start ``task``; False (starting nothing) if a task with
        its ID is already registered."""
        with self._lock:
            if task.task_id in self._tasks:
                return False
            self._tasks[task.task_id] = task
        task.start(self._exited)
        return True

    def lookup(self, task_id: str) -> CronTask | None:
        with self._lock:
            return self._tasks.get(task_id)

    def stop(self, task_id: str) -> bool:
        """Unregister and cancel the task; False if there is none."""
        with self._lock:
            task = self._tasks.pop(task_id, None)
        if task is None:
            return False
        task.cancel()
        return True

    def stop_all(self, owner: object = None) -> int:
        """Stop every task, or with ``owner`` only the tasks it started.
        Returns how many were stopped."""
        with self._lock:
            chosen = [t for t in self._tasks.values() if owner is None or t.owner is owner]
            for task in chosen:
                del self._tasks[task.task_id]
        for task in chosen:
            task.cancel()
        return len(chosen)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tasks)

    def _exited(self, task: CronTask) -> None:
        """A task's thread ended: forget it (unless a newer task has its ID)."""
        with self._lock:
            if self._tasks.get(task.task_id) is task:
                del self._tasks[task.task_id]


#: The tasks of this process.
TASKS = TaskRegistry()


def stop_all(node: object = None) -> int:
    """Stop the tasks ``node`` started (every task when ``None``); for
    ``Node.close``. Returns how many were stopped."""
    return TASKS.stop_all(node)


# --- running a request ------------------------------------------------------------


def run_options(opts: Mapping[str, Any]) -> dict[str, Any]:
    """Options for a run: the node's HTTP options when a node is running this
    resolution (else ``opts``), never looking results up in the cache."""
    node = opts.get("node")
    http_opts = getattr(node, "http_opts", None)
    base: dict[str, Any] = dict(http_opts()) if callable(http_opts) else dict(opts)
    stored = parse_directives(base.get("cache_control", [])).store
    directives = ["no-cache"]
    if stored is not None:
        directives.insert(0, "store" if stored else "no-store")
    return {**base, "cache_control": directives}


def dispatch(singleton: Message, opts: Mapping[str, Any]) -> Result:
    """Resolve a singleton request as the HTTP edge does. Upstream: dev_meta:handle/2."""
    return ao.resolve_many(from_request(singleton), opts)


_MISSING = object()


def _field(req: Message, name: str, opts: Mapping[str, Any]) -> str | None:
    """The text at ``name`` in ``req``; ``None`` if absent or not text."""
    value = ao.get(name, req, opts, default=_MISSING)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else None


# --- the device ---------------------------------------------------------------------


class CronDevice(Device):
    """Requests that run by themselves. Upstream: dev_cron.erl."""

    name = "cron@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        """Upstream: dev_cron:info/1."""
        return {"exports": ["info", "once", "every", "stop"]}

    @key("info")
    def info_key(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """A description of the device, as a 200 response. Upstream: dev_cron:info/3."""
        return "ok", {"status": 200, "body": INFO_BODY}

    @key("once")
    def once(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Run the request at ``cron-path`` once, in the background.
        Upstream: dev_cron:once/3."""
        cron_path = _field(req, "cron-path", opts)
        if cron_path is None:
            return "error", "No cron path found in message."
        return "ok", self._schedule(req, cron_path, None, opts)

    @key("every")
    def every(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Run the request at ``cron-path`` now and then every ``interval``.
        Upstream: dev_cron:every/3."""
        cron_path = _field(req, "cron-path", opts)
        if cron_path is None:
            return "error", "No cron path found in message."
        interval = _field(req, "interval", opts)
        if interval is None:
            return "error", "No interval found in message."
        try:
            interval_ms = parse_time(interval)
        except IntervalError as exc:
            return "error", exc.reason
        if interval_ms <= 0:
            return "error", "Invalid interval value."
        return "ok", self._schedule(req, cron_path, interval_ms, opts)

    @key("stop")
    def stop(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Stop the task named by ``task``. Upstream: dev_cron:stop/3."""
        task_id = _field(req, "task", opts)
        if task_id is None:
            return "error", "No task ID found in message."
        if not TASKS.stop(task_id):
            return "error", "Task not found."
        log.info("cron task %s stopped", task_id)
        return volatile(
            (
                "ok",
                {
                    "status": 200,
                    "body": {"message": "Task stopped successfully", "task_id": task_id},
                },
            )
        )

    def _schedule(
        self, req: Message, cron_path: str, interval_ms: int | None, opts: Mapping[str, Any]
    ) -> str:
        """Start (unless it runs already) the task for ``req``; its ID."""
        task_id = message_id(req, "all")
        dropped = {"cron-path", "interval"} if interval_ms is not None else {"cron-path"}
        singleton = {k: v for k, v in req.items() if k not in dropped}
        singleton["path"] = cron_path
        run_opts = run_options(opts)
        task = CronTask(
            task_id,
            lambda: dispatch(singleton, run_opts),
            interval_ms=interval_ms,
            owner=opts.get("node"),
            label=cron_path,
        )
        if TASKS.start(task):
            log.info("cron task %s: %s scheduled", task_id, cron_path)
        return task_id
