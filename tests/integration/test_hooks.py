"""Hooks (the ``on`` setting) over HTTP, as upstream's dev_hook.erl and
dev_meta.erl tests run them: handlers are devices of the test, the node and
its hook machinery are real (served over a socket), and one test starts a
``hyperbeam serve`` process with its hooks in a ``config.flat``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam import hooks
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.devices import BUILTIN_DEVICES
from hyperbeam.message.model import Message
from tests.conftest import LocalNode, start_node, stop_node


class Probe(Device):
    """Handlers that record their calls and act as the request says."""

    name = "hook-probe@1.0"
    calls: list[str] = []

    @key("request")
    def request(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        Probe.calls.append("request")
        messages = list(req["body"])
        if msg.get("add") and isinstance(messages[0], dict):
            messages[0] = {**messages[0], "added": "value"}
        if msg.get("halt"):
            return "error", "Bad"
        return "ok", {"body": messages}

    @key("response")
    def response(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        Probe.calls.append("response")
        body = req["body"]
        return "ok", {"body": {**body, "seen-by": "response-hook"}}

    @key("mark")
    def mark(self, msg: Message, req: Message) -> Result:
        Probe.calls.append(f"mark {msg.get('n')}")
        return "ok", {**req, f"handler{msg.get('n')}": True}

    @key("fail")
    def fail(self) -> Result:
        return "error", "Error in handler2"

    @key("start")
    def start(self, msg: Message, req: Message) -> Result:
        return "ok", {"body": {**req["body"], "test-success": True}}


def probe_node(tmp: Path, on: dict[str, Any]) -> LocalNode:
    Probe.calls = []
    node = LocalNode(tmp / "data", on=on, http_cache_control="no-store, no-cache")
    node.node.registry = DeviceRegistry((*BUILTIN_DEVICES, Probe))
    return node.start()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def test_request_and_response_hooks_run_in_order(tmp: Path) -> None:
    """dev_meta request_response_hooks_test."""
    node = probe_node(
        tmp,
        {"request": {"device": "hook-probe@1.0"}, "response": {"device": "hook-probe@1.0"}},
    )
    try:
        res = httpx.get(f"{node.url}/~meta@1.0/info")
        assert res.status_code == 200
        assert res.headers["seen-by"] == "response-hook"
        assert Probe.calls == ["request", "response"]
    finally:
        node.stop()


def test_a_request_hook_halts_the_request(tmp: Path) -> None:
    """dev_meta halt_request_test."""
    node = probe_node(tmp, {"request": {"device": "hook-probe@1.0", "halt": "yes"}})
    try:
        res = httpx.get(f"{node.url}/~meta@1.0/info")
        assert res.status_code == 400
        assert res.text == "Bad"
    finally:
        node.stop()


def test_a_request_hook_changes_the_request(tmp: Path) -> None:
    """dev_meta modify_request_test: /added answers what the hook added."""
    node = probe_node(tmp, {"request": {"device": "hook-probe@1.0", "add": "yes"}})
    try:
        res = httpx.get(f"{node.url}/added")
        assert res.status_code == 200, res.text
        assert res.text == "value"
    finally:
        node.stop()


def test_the_start_hook_changes_the_node_message(tmp: Path) -> None:
    """hb_http_server set_node_opts_test."""
    node = probe_node(tmp, {"start": {"device": "hook-probe@1.0"}})
    try:
        res = httpx.get(f"{node.url}/~meta@1.0/info/~json@1.0/serialize")
        assert res.json()["test_success"] is True
    finally:
        node.stop()


def test_handlers_chain_and_stop_at_an_error(tmp: Path) -> None:
    """dev_hook multiple_handlers_test, halt_on_error_test, and hook/result."""
    registry = DeviceRegistry((*BUILTIN_DEVICES, Probe))

    class Host:
        def __init__(self, on: dict[str, Any]) -> None:
            self.config = type("C", (), {"on": on})()

    def run(on: dict[str, Any]) -> tuple[str, Any]:
        Probe.calls = []
        opts = {"registry": registry, "node": Host(on)}
        return hooks.on("test-hook", {"test": "value"}, opts)

    h1 = {"device": "hook-probe@1.0", "path": "mark", "n": "1"}
    h2 = {"device": "hook-probe@1.0", "path": "mark", "n": "2"}
    status, out = run({"test-hook": [h1, h2]})
    assert status == "ok"
    assert out["handler1"] is True and out["handler2"] is True and out["test"] == "value"
    assert Probe.calls == ["mark 1", "mark 2"]

    failing = {"device": "hook-probe@1.0", "path": "fail"}
    h3 = {"device": "hook-probe@1.0", "path": "mark", "n": "3"}
    assert run({"test-hook": [h1, failing, h3]}) == ("error", "Error in handler2")
    assert Probe.calls == ["mark 1"]

    # no_handlers_test: the request comes back as it was.
    assert run({}) == ("ok", {"test": "value"})
    # hook/result: ignore passes on what the handler was given.
    ignored = {**h1, "hook": {"result": "ignore"}}
    assert run({"test-hook": ignored}) == ("ok", {"test": "value"})
    as_error = {**h1, "hook": {"result": "error"}}
    assert run({"test-hook": as_error})[0] == "error"


@pytest.fixture
def hooked_process(tmp_path: Path) -> Iterator[Any]:
    """A ``hyperbeam serve`` process whose config.flat sets a request hook
    that turns every request into an error answering the node's build."""
    config = tmp_path / "config.flat"
    config.write_text(
        "on/request/device: meta@1.0\non/request/path: build\non/request/hook/result: error\n"
    )
    running = start_node(tmp_path, "--config", str(config))
    yield running
    stop_node(running)


def test_hooks_from_config_flat_in_a_node_process(hooked_process: Any) -> None:
    res = httpx.get(f"{hooked_process.url}/~message@1.0&k=v/k")
    assert res.status_code == 400
    assert res.headers["node"] == "HyperBEAM"
    assert res.text != "v"
