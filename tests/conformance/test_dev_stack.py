"""``stack@1.0`` and ``multipass@1.0``: the eunit tests of upstream
dev_stack.erl and dev_multipass.erl.

The devices upstream defines inline (``generate_append_device``, the prefix
device) are dict devices here.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from hyperbeam.ao.resolve import get, resolve, set_key
from hyperbeam.devices import default_registry
from hyperbeam.devices.message import MessageDevice
from hyperbeam.devices.multipass import MultipassDevice
from hyperbeam.devices.stack import input_prefix, output_prefix, transform
from hyperbeam.errors import ExecutionError

REGISTRY = default_registry()
OPTS: dict[str, Any] = {"registry": REGISTRY}


def as_message(msg: dict[str, Any]) -> dict[str, Any]:
    """``{as, dev_message, Msg}``: the message read with ``message@1.0``."""
    return {**msg, "device": "message@1.0"}


def append_device(separator: str, status: str = "ok") -> dict[str, Any]:
    """``append``: adds the separator and the request's ``bin`` to
    ``result``, answering ``status``; on pass 3 it stops, answering ``ok``.

    Upstream: dev_stack:generate_append_device/2.
    """

    def append(msg1: dict[str, Any], msg2: dict[str, Any]) -> tuple[str, Any]:
        if msg1.get("pass") == 3:
            return "ok", msg1
        return status, {**msg1, "result": msg1["result"] + separator + msg2["bin"]}

    return {"append": append}


def stack_of(*devices: Any, **extra: Any) -> dict[str, Any]:
    return {
        "device": "Stack@1.0",
        "device-stack": {str(n): dev for n, dev in enumerate(devices, start=1)},
        **extra,
    }


def test_transform_internal_call_device() -> None:
    """Upstream: dev_stack.erl, transform_internal_call_device_test."""
    msg1 = stack_of(append_device("_"), "Message@1.0")
    transformed = transform(msg1, "2", OPTS)
    assert transformed is not None
    assert get("device", transformed, OPTS) == "Message@1.0"


def test_transform_external_call_device() -> None:
    """Upstream: dev_stack.erl, transform_external_call_device_test."""
    message = MessageDevice()

    def handler(name: str, msg: dict[str, Any]) -> tuple[str, Any]:
        if name == "keys":
            return "ok", list(msg)
        _, value = message.get(name, msg)
        return message.set(msg, {name: value + "-Cool"})

    make_cool = {"info": lambda: {"handler": handler}, "suffix": "-Cool"}
    msg1 = {
        "device": "Stack@1.0",
        "device-stack": {"make-cool": make_cool},
        "value": "Super",
    }
    status, msg3 = resolve(msg1, {"path": "/transform/make-cool/value"}, OPTS)
    assert status == "ok"
    assert msg3["value"] == "Super-Cool"


def test_example_device_for_stack() -> None:
    """Upstream: dev_stack.erl, example_device_for_stack_test."""
    status, msg3 = resolve(
        {"device": append_device("_"), "result": "1"},
        {"path": "append", "bin": "2"},
        OPTS,
    )
    assert status == "ok"
    assert msg3["result"] == "1_2"


def test_simple_stack_execute() -> None:
    """Upstream: dev_stack.erl, simple_stack_execute_test."""
    msg = stack_of(append_device("!D1!"), append_device("_D2_"), result="INIT")
    status, msg3 = resolve(msg, {"path": "append", "bin": "2"}, OPTS)
    assert status == "ok"
    assert msg3["result"] == "INIT!D1!2_D2_2"
    # The stack's own device is set back once the fold ends.
    assert msg3["device"] == "Stack@1.0"
    assert "pass" not in msg3


def test_many_devices() -> None:
    """Upstream: dev_stack.erl, many_devices_test."""
    msg = stack_of(*(append_device(f"+D{n}") for n in range(1, 9)), result="INIT")
    status, msg3 = resolve(msg, {"path": "append", "bin": "2"}, OPTS)
    assert status == "ok"
    assert msg3["result"] == "INIT+D12+D22+D32+D42+D52+D62+D72+D82"


def test_benchmark() -> None:
    """Upstream: dev_stack.erl, benchmark_test (at least 10 runs in 0.3 s)."""
    msg = stack_of(*(append_device(f"+D{n}") for n in range(1, 6)), result="INIT")
    runs, deadline = 0, time.monotonic() + 0.3
    while time.monotonic() < deadline:
        assert resolve(msg, {"path": "append", "bin": "2"}, OPTS)[0] == "ok"
        runs += 1
    assert runs >= 10


def prefix_stack(**extra: Any) -> dict[str, Any]:
    """Two devices that copy the request's ``<in>/<key>`` to ``<out>/<key>``.

    Upstream: dev_stack:test_prefix_msg/0.
    """

    def prefix_set(
        msg1: dict[str, Any], msg2: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        in_prefix = input_prefix(msg1, opts)
        out_prefix = output_prefix(msg1, opts)
        name = get("key", msg2, opts)
        value = get(f"{in_prefix}/{name}", msg2, opts)
        return "ok", set_key(msg1, f"{out_prefix}/{name}", value, opts)

    dev = {"prefix_set": prefix_set}
    return stack_of(dev, dev, **extra)


def test_no_prefix() -> None:
    """Upstream: dev_stack.erl, no_prefix_test."""
    msg2 = {"path": "prefix_set", "key": "example", "example": 1}
    status, msg3 = resolve(prefix_stack(), msg2, OPTS)
    assert status == "ok"
    assert get("example", msg3, OPTS) == 1


def test_output_prefix() -> None:
    """Upstream: dev_stack.erl, output_prefix_test."""
    msg1 = prefix_stack(**{"output-prefixes": {"1": "out1/", "2": "out2/"}})
    msg2 = {"path": "prefix_set", "key": "example", "example": 1}
    status, msg3 = resolve(msg1, msg2, OPTS)
    assert status == "ok"
    assert get("out1/example", as_message(msg3), OPTS) == 1
    assert get("out2/example", as_message(msg3), OPTS) == 1


def test_input_and_output_prefixes() -> None:
    """Upstream: dev_stack.erl, input_and_output_prefixes_test."""
    msg1 = prefix_stack(
        **{
            "input-prefixes": {1: "in1/", 2: "in2/"},
            "output-prefixes": {1: "out1/", 2: "out2/"},
        }
    )
    msg2 = {
        "path": "prefix_set",
        "key": "example",
        "in1": {"example": 1},
        "in2": {"example": 2},
    }
    status, msg3 = resolve(msg1, msg2, OPTS)
    assert status == "ok"
    assert get("out1/example", as_message(msg3), OPTS) == 1
    assert get("out2/example", as_message(msg3), OPTS) == 2


def test_input_output_prefixes_passthrough() -> None:
    """Upstream: dev_stack.erl, input_output_prefixes_passthrough_test."""
    msg1 = prefix_stack(**{"output-prefix": "combined-out/", "input-prefix": "combined-in/"})
    msg2 = {"path": "prefix_set", "key": "example", "combined-in": {"example": 1}}
    status, msg3 = resolve(msg1, msg2, OPTS)
    assert status == "ok"
    assert get("combined-out/example", as_message(msg3), OPTS) == 1


def test_reinvocation() -> None:
    """Upstream: dev_stack.erl, reinvocation_test."""
    msg = stack_of(append_device("+D1"), append_device("+D2"), result="INIT")
    status, msg2 = resolve(msg, {"path": "append", "bin": "2"}, OPTS)
    assert (status, msg2["result"]) == ("ok", "INIT+D12+D22")
    status, msg3 = resolve(msg2, {"path": "append", "bin": "3"}, OPTS)
    assert (status, msg3["result"]) == ("ok", "INIT+D12+D22+D13+D23")


def test_skip() -> None:
    """Upstream: dev_stack.erl, skip_test."""
    msg = stack_of(append_device("+D1", "skip"), append_device("+D2"), result="INIT")
    status, msg3 = resolve(msg, {"path": "append", "bin": "2"}, OPTS)
    assert (status, msg3["result"]) == ("ok", "INIT+D12")


def test_pass() -> None:
    """Upstream: dev_stack.erl, pass_test."""
    msg = stack_of(append_device("+D1", "pass"), result="INIT")
    status, msg3 = resolve(msg, {"path": "append", "bin": "_"}, OPTS)
    assert (status, msg3["result"]) == ("ok", "INIT+D1_+D1_")


def test_not_found() -> None:
    """Upstream: dev_stack.erl, not_found_test."""
    special_dev = {
        **append_device("+D2"),
        "special": lambda msg1: ("ok", {**msg1, "output": 1337}),
    }
    msg = stack_of(append_device("+D1"), special_dev, result="INIT")
    status, msg3 = resolve(msg, {"path": "append", "bin": "_"}, OPTS)
    assert (status, msg3["result"]) == ("ok", "INIT+D1_+D2_")
    assert get("special/output", msg3, OPTS) == 1337


def test_simple_map() -> None:
    """Upstream: dev_stack.erl, simple_map_test."""
    msg = stack_of(append_device("+D1"), append_device("+D2"), result="INIT")
    status, msg3 = resolve(msg, {"path": "append", "mode": "Map", "bin": "/"}, OPTS)
    assert status == "ok"
    assert get("1/result", msg3, OPTS) == "INIT+D1/"
    assert get("2/result", msg3, OPTS) == "INIT+D2/"


def test_basic_multipass() -> None:
    """Upstream: dev_multipass.erl, basic_multipass_test."""
    msg1 = {"device": "Multipass@1.0", "passes": 2, "pass": 1}
    msg2 = {**msg1, "pass": 2}
    assert resolve(msg1, "Compute", OPTS)[0] == "pass"
    assert resolve(msg2, "Compute", OPTS)[0] == "ok"


# --- beyond upstream's tests ------------------------------------------------------


def test_multipass_in_stack() -> None:
    """A multipass device re-runs the stack until ``passes``; the devices
    after it see every pass (dev_multipass.erl's moduledoc)."""
    msg = stack_of(MultipassDevice(), append_device("+D"), result="INIT", passes=2)
    status, msg3 = resolve(msg, {"path": "append", "bin": "x"}, OPTS)
    assert (status, msg3["result"]) == ("ok", "INIT+Dx")


def test_disallowed_multipass_returns_pass() -> None:
    """With ``allow-multipass`` false, ``pass`` goes back to the caller
    (dev_stack.erl's moduledoc, ``Allow-Multipass``)."""
    msg = stack_of(append_device("+D1", "pass"), result="INIT", **{"allow-multipass": False})
    status, msg3 = resolve(msg, {"path": "append", "bin": "_"}, OPTS)
    assert (status, msg3["result"]) == ("pass", "INIT+D1_")


def test_error_strategy() -> None:
    """A failing device raises by default, and answers an error with the
    ``stop`` strategy (dev_stack:maybe_error/5)."""
    failing = {"append": lambda: ("error", "boom")}
    msg = stack_of(failing, result="INIT")
    with pytest.raises(ExecutionError):
        resolve(msg, {"path": "append", "bin": "_"}, OPTS)
    status, reason = resolve(
        msg, {"path": "append", "bin": "_"}, {**OPTS, "error_strategy": "stop"}
    )
    assert status == "error"
    assert reason["stack_call_failed"]["info"] == "boom"
