"""``cron@1.0`` over real HTTP. Upstream: dev_cron.erl's eunit tests.

Upstream's tests start a node inside the test's own Erlang VM and watch
registered test workers. Two kinds of node are used here:

- ``local``: a node served by uvicorn on a thread of this process, on a real
  socket, so its ``test-device@1.0`` reaches the :class:`TestWorker` objects
  registered here: upstream's four tests, ported as they are.
- ``node`` (tests/conftest.py): a ``hyperbeam serve`` process. Its memory is
  out of reach, so what its tasks did is read from its log, where each run
  of a task is logged with the task's ID and outcome.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hyperbeam import cache_control
from hyperbeam.codecs.httpsig import from_httpsig
from hyperbeam.codecs.structured import to_message
from hyperbeam.devices import cron
from hyperbeam.devices.test import TestWorker, register_worker, unregister_worker
from tests.conftest import LocalNode, RunningNode

ID = re.compile(r"[A-Za-z0-9_-]{43}")


def wait_for(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def decoded(res: httpx.Response) -> dict[str, Any]:
    http: dict[str, Any] = dict(res.headers)
    http["body"] = res.content
    return to_message(from_httpsig(http))


def assert_stopped(res: httpx.Response, task_id: str) -> None:
    assert res.status_code == 200, res.text
    reply = decoded(res)
    assert reply["status"] == 200
    assert reply["body"] == {"message": "Task stopped successfully", "task_id": task_id}


def assert_not_found(res: httpx.Response) -> None:
    assert res.status_code == 400
    assert res.text == "Task not found."


# --- a node in this process ----------------------------------------------------------


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    running = LocalNode(tmp_path_factory.mktemp("cron-node"), store="memory")
    running.start()
    try:
        with httpx.Client(base_url=running.url, timeout=10) as http:
            yield http
    finally:
        running.stop()


@pytest.fixture
def worker() -> Iterator[tuple[str, TestWorker]]:
    test_id = secrets.token_urlsafe(32)
    found = TestWorker()
    assert register_worker(test_id, found)
    yield test_id, found
    unregister_worker(test_id)


def test_stop_once(local: httpx.Client, worker: tuple[str, TestWorker]) -> None:
    """dev_cron.erl: stop_once_test. The task's thread ends at once, though
    the request it runs is still asleep, and that run's outcome is dropped."""
    test_id, _ = worker
    res = local.get(
        "/~cron@1.0/once",
        params={"test-id": test_id, "cron-path": "/~test-device@1.0/delay", "duration": "600"},
    )
    assert res.status_code == 200
    task_id = res.text
    assert ID.fullmatch(task_id)
    time.sleep(0.2)  # the run is now inside `delay`
    task = cron.TASKS.lookup(task_id)
    assert task is not None, "the task is not registered"
    assert task.alive(), "the task ended early"
    assert_stopped(local.get("/~cron@1.0/stop", params={"task": task_id}), task_id)
    assert cron.TASKS.lookup(task_id) is None
    task.thread.join(0.2)  # well before the run wakes up
    assert not task.alive(), "stop did not end the task"
    time.sleep(0.35)  # the abandoned run has now woken up
    assert task.runs == 0
    # Stopping it again: not found. (POST: an identical GET is answered from
    # the HTTP cache; see test_repeated_stop_is_not_found below.)
    assert_not_found(local.post("/~cron@1.0/stop", params={"task": task_id}))


def test_stop_every(local: httpx.Client, worker: tuple[str, TestWorker]) -> None:
    """dev_cron.erl: stop_every_test."""
    test_id, found = worker
    res = local.get(
        "/~cron@1.0/every",
        params={
            "test-id": test_id,
            "interval": "100-milliseconds",
            "cron-path": "/~test-device@1.0/increment_counter",
        },
    )
    assert res.status_code == 200
    task_id = res.text
    task = cron.TASKS.lookup(task_id)
    assert task is not None and task.alive()
    assert wait_for(lambda: found.state["count"] >= 2)
    assert_stopped(local.get("/~cron@1.0/stop", params={"task": task_id}), task_id)
    assert cron.TASKS.lookup(task_id) is None
    task.thread.join(0.5)
    assert not task.alive()
    count = found.state["count"]
    assert count > 0
    time.sleep(0.25)
    assert found.state["count"] == count, "the task ran after it was stopped"
    assert_not_found(local.post("/~cron@1.0/stop", params={"task": task_id}))


def test_once_executed(local: httpx.Client, worker: tuple[str, TestWorker]) -> None:
    """dev_cron.erl: once_executed_test."""
    test_id, found = worker
    res = local.get(
        "/~cron@1.0/once",
        params={"test-id": test_id, "cron-path": "/~test-device@1.0/update_state"},
    )
    assert res.status_code == 200
    assert ID.fullmatch(res.text)
    assert wait_for(lambda: found.state.get("test-id") == test_id)
    assert found.state["path"] == "update_state"


def test_every_worker_loop(local: httpx.Client, worker: tuple[str, TestWorker]) -> None:
    """dev_cron.erl: every_worker_loop_test. Every run is resolved anew: with
    the node's ``always`` cache policy a run must not be answered from the
    cache (upstream's test device answers a PID, which it cannot cache)."""
    test_id, found = worker
    res = local.get(
        "/~cron@1.0/every",
        params={
            "test-id": test_id,
            "interval": "100-milliseconds",
            "cron-path": "/~test-device@1.0/increment_counter",
        },
    )
    assert res.status_code == 200
    task_id = res.text
    try:
        assert wait_for(lambda: found.state["count"] >= 3)
    finally:
        cron.TASKS.stop(task_id)


def test_repeated_stop_is_not_found(local: httpx.Client) -> None:
    """dev_cron.erl: stop_once_test and stop_every_test stop twice, by the same URL."""
    params = {"cron-path": "/~message@1.0&a=1/a", "interval": "1-hours"}
    task_id = local.get("/~cron@1.0/every", params=params).text
    stop = {"task": task_id}
    assert_stopped(local.get("/~cron@1.0/stop", params=stop), task_id)
    cache_control.BACKGROUND.drain()  # the first reply is now in the store
    assert_not_found(local.get("/~cron@1.0/stop", params=stop))


# --- a node process ------------------------------------------------------------------


def runs_logged(node: RunningNode, task_id: str) -> int:
    """Runs of the task that the node logged as done."""
    pattern = re.compile(rf"cron task {re.escape(task_id)}: .* -> ok \(")
    return sum(1 for line in node.log.read_text().splitlines() if pattern.search(line))


@pytest.fixture
def client(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=10) as http:
        yield http


def marker_path() -> str:
    """A cron path of a cheap request no other test sends."""
    return f"/~message@1.0&marker={secrets.token_hex(8)}/marker"


def test_once_runs_in_a_node_process(client: httpx.Client, node: RunningNode) -> None:
    res = client.get("/~cron@1.0/once", params={"cron-path": marker_path()})
    assert res.status_code == 200
    task_id = res.text
    assert ID.fullmatch(task_id)
    assert wait_for(lambda: runs_logged(node, task_id) == 1)
    time.sleep(0.2)
    assert runs_logged(node, task_id) == 1
    # Done, so forgotten.
    assert_not_found(client.get("/~cron@1.0/stop", params={"task": task_id}))


def test_every_runs_until_stopped_in_a_node_process(
    client: httpx.Client, node: RunningNode
) -> None:
    res = client.get(
        "/~cron@1.0/every", params={"cron-path": marker_path(), "interval": "100-milliseconds"}
    )
    assert res.status_code == 200
    task_id = res.text
    assert ID.fullmatch(task_id)
    assert wait_for(lambda: runs_logged(node, task_id) >= 3)
    assert_stopped(client.get("/~cron@1.0/stop", params={"task": task_id}), task_id)
    runs = runs_logged(node, task_id)
    time.sleep(0.3)
    assert runs_logged(node, task_id) == runs, "the task ran after it was stopped"
    assert_not_found(client.post("/~cron@1.0/stop", params={"task": task_id}))


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        ("/~cron@1.0/once", {}, "No cron path found in message."),
        ("/~cron@1.0/every", {"cron-path": "/x"}, "No interval found in message."),
        (
            "/~cron@1.0/every",
            {"cron-path": "/x", "interval": "5-fortnights"},
            "Invalid time unit: fortnights",
        ),
        (
            "/~cron@1.0/every",
            {"cron-path": "/x", "interval": "0-seconds"},
            "Invalid interval value.",
        ),
        ("/~cron@1.0/stop", {"task": "no-such-task"}, "Task not found."),
        ("/~cron@1.0/stop", {}, "No task ID found in message."),
    ],
)
def test_bad_requests_are_400(
    client: httpx.Client, path: str, params: dict[str, str], reason: str
) -> None:
    res = client.get(path, params=params)
    assert res.status_code == 400
    assert res.text == reason


def test_info(client: httpx.Client) -> None:
    """dev_cron:info/3."""
    res = client.get("/~cron@1.0/info")
    assert res.status_code == 200
    reply = decoded(res)
    assert reply["body"]["description"] == "Cron device for scheduling messages"
    assert sorted(reply["body"]["paths"]) == ["every", "info", "once", "stop"]
