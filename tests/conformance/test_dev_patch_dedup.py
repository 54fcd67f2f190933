"""``patch@1.0`` and ``dedup@1.0``: the eunit tests of dev_patch.erl and dev_dedup.erl.

dev_dedup.erl's ``dedup_test`` and ``dedup_with_multipass_test`` run in a
stack with the append device of ``test_dev_stack``; further tests check the
same behaviour on the device alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from hyperbeam.ao.resolve import NOT_FOUND, get, resolve
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices import default_registry
from hyperbeam.message.commit import commit
from hyperbeam.message.id import message_id
from tests.conformance.test_dev_stack import append_device, stack_of

OPTS: dict[str, Any] = {"registry": default_registry()}
NO_HASHPATH: dict[str, Any] = {**OPTS, "hashpath": "ignore"}
"""For comparing whole results: no ``priv/hashpath`` on them."""


# --- dev_patch.erl ----------------------------------------------------------------


def test_uninitialized_patch() -> None:
    """Upstream: dev_patch.erl uninitialized_patch_test."""
    init_state = {
        "device": "patch@1.0",
        "results": {
            "outbox": {
                "1": {"method": "PATCH", "prices": {"apple": 100, "banana": 200}},
                "2": {"method": "GET", "prices": {"apple": 1000}},
            }
        },
        "other-message": "other-value",
        "patch-to": "/",
        "patch-from": "/results/outbox",
    }
    status, resolved = resolve(init_state, "compute", OPTS)
    assert status == "ok"
    assert get("prices/apple", resolved, OPTS) == 100
    assert get("results/outbox/1", resolved, OPTS) == NOT_FOUND
    # The non-PATCH message stays at the source, and its method is kept.
    assert get("results/outbox/2/method", resolved, OPTS) == "GET"
    assert "method" not in resolved


def test_patch_to_submessage() -> None:
    """Upstream: dev_patch.erl patch_to_submessage_test."""
    patch = commit({"method": "PATCH", "prices": {"apple": 100, "banana": 200}}, Wallet.generate())
    init_state = {
        "device": "patch@1.0",
        "results": {"outbox": {"1": patch}},
        "state": {"prices": {"apple": 1000}},
        "other-message": "other-value",
        "patch-to": "/state",
        "patch-from": "/results/outbox",
    }
    status, resolved = resolve(init_state, "compute", OPTS)
    assert status == "ok"
    assert get("state/prices/apple", resolved, OPTS) == 100


def test_all_mode() -> None:
    """Upstream: dev_patch.erl all_mode_test."""
    init_state = {
        "device": "patch@1.0",
        "input": {
            "zones": {
                "1": {"method": "PATCH", "prices": {"apple": 100, "banana": 200}},
                "2": {"method": "GET", "prices": {"orange": 300}},
            }
        },
        "state": {"prices": {"apple": 1000}},
    }
    req = {"path": "all", "patch-to": "/state", "patch-from": "/input/zones"}
    status, resolved = resolve(init_state, req, OPTS)
    assert status == "ok"
    assert get("state/1/prices/apple", resolved, OPTS) == 100
    assert get("state/2/prices/orange", resolved, OPTS) == 300
    assert get("input/zones", resolved, OPTS) == NOT_FOUND


def test_req_prefix() -> None:
    """Upstream: dev_patch.erl req_prefix_test."""
    base = {"device": "patch@1.0", "state": {"prices": {"apple": 1000}}}
    req = {
        "path": "all",
        "patch-from": "req:/results/outbox/1",
        "patch-to": "/state",
        "results": {"outbox": {"1": {"method": "PATCH", "prices": {"apple": 100, "banana": 200}}}},
    }
    status, resolved = resolve(base, req, OPTS)
    assert status == "ok"
    assert get("state/prices/apple", resolved, OPTS) == 100
    assert get("state/prices/banana", resolved, OPTS) == 200
    assert get("results/outbox/1", resolved, OPTS) == NOT_FOUND


def test_device_marks_patches() -> None:
    """A ``device`` of ``patch@1.0`` marks a patch as a ``PATCH`` method does.
    Upstream: the ``Device`` clause of dev_patch:move/4."""
    base = {
        "device": "patch@1.0",
        "outbox": {"a": {"device": "patch@1.0", "x": 1}, "b": {"y": 2}},
        "from": "/outbox",
        "to": "/state",
    }
    status, resolved = resolve(base, "patches", OPTS)
    assert status == "ok"
    assert get("state/x", resolved, OPTS) == 1
    assert get("outbox", resolved, NO_HASHPATH) == {"b": {"y": 2}}


@pytest.mark.parametrize("hook", ["init", "normalize", "snapshot"])
def test_execution_hooks_return_base(hook: str) -> None:
    """Upstream: dev_patch:init/3, normalize/3 and snapshot/3."""
    base = {"device": "patch@1.0", "a": 1}
    assert resolve(base, hook, NO_HASHPATH) == ("ok", base)


def test_missing_source_is_an_error() -> None:
    """A source that does not resolve makes the move fail. Upstream: the
    ``?=`` match of dev_patch:move/4."""
    base = {"device": "patch@1.0", "patch-from": "/nothing/here"}
    status, _ = resolve(base, "compute", OPTS)
    assert status != "ok"


# --- dev_dedup.erl ----------------------------------------------------------------


def test_dedup_skips_repeats() -> None:
    """Each request is let through once; a repeat answers ``skip``.
    Upstream: dev_dedup.erl dedup_test, without its stack."""
    msg: Any = {"device": "dedup@1.0", "result": "INIT"}
    first = {"path": "append", "bin": "_"}
    second = {"path": "append", "bin": "/"}
    status, msg = resolve(msg, first, OPTS)
    assert status == "ok"
    assert get("dedup", {**msg, "device": "message@1.0"}, OPTS) == [message_id(first, "all")]
    assert resolve(msg, first, OPTS)[0] == "skip"
    status, msg = resolve(msg, second, OPTS)
    assert status == "ok"
    assert resolve(msg, second, OPTS)[0] == "skip"
    assert msg["dedup"] == [message_id(second, "all"), message_id(first, "all")]
    assert msg["result"] == "INIT"


def test_dedup_only_on_first_pass() -> None:
    """Passes after the first are let through untouched.
    Upstream: dev_dedup.erl dedup_with_multipass_test, without its stack."""
    req = {"path": "append", "bin": "_"}
    msg: Any = {"device": "dedup@1.0", "pass": 2}
    assert resolve(msg, req, NO_HASHPATH) == ("ok", msg)
    assert resolve(msg, req, NO_HASHPATH) == ("ok", msg)


def test_dedup_forwards_keys_and_set() -> None:
    """``keys`` and ``set`` are served by ``message@1.0``. Upstream: dev_dedup:handle/4."""
    msg = {"device": "dedup@1.0", "a": 1}
    status, keys = resolve(msg, "keys", OPTS)
    assert status == "ok"
    assert sorted(keys) == ["a", "device"]
    status, out = resolve(msg, {"path": "set", "b": 2}, NO_HASHPATH)
    assert (status, out) == ("ok", {"device": "dedup@1.0", "a": 1, "b": 2})


def _append_four_times(msg: Any) -> Any:
    """Send ``bin`` ``_`` twice, then ``/`` twice, as upstream's tests do."""
    for bin_ in ("_", "_", "/", "/"):
        status, msg = resolve(msg, {"path": "append", "bin": bin_}, OPTS)
        assert status == "ok"
    return msg


def test_dedup() -> None:
    """Downstream devices of a stack see each request once.
    Upstream: dev_dedup.erl dedup_test."""
    msg = stack_of("Dedup@1.0", append_device("+D2"), append_device("+D3"), result="INIT")
    assert _append_four_times(msg)["result"] == "INIT+D2_+D3_+D2/+D3/"


def test_dedup_with_multipass() -> None:
    """Dedup does not hinder a later pass asked for by ``multipass@1.0``.
    Upstream: dev_dedup.erl dedup_with_multipass_test."""
    msg = stack_of(
        "Dedup@1.0",
        append_device("+D2"),
        append_device("+D3"),
        "Multipass@1.0",
        result="INIT",
        passes=2,
    )
    assert _append_four_times(msg)["result"] == "INIT+D2_+D3_+D2_+D3_+D2/+D3/+D2/+D3/"
