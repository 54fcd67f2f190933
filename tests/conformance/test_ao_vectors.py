"""The AO-Core resolver: the test vectors of upstream hb_ao_test_vectors.erl.

Upstream runs each vector under several store and cache settings; the
resolver here has no store yet, so each runs once with default options (the
``normal`` set upstream). The devices that upstream defines inline in the
test module are defined here as dict devices.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from hyperbeam.ao.device import device_info, is_exported
from hyperbeam.ao.path import As, Subresolve
from hyperbeam.ao.resolve import (
    force_message,
    get,
    get_first,
    message_to_fun,
    remove,
    resolve,
    resolve_many,
    set_key,
    set_message,
)
from hyperbeam.devices.message import MessageDevice
from hyperbeam.devices.test import TestDevice
from hyperbeam.errors import DeviceNotFound, ExecutionError
from hyperbeam.message.ids import b64url_encode, is_human_id, native_id
from hyperbeam.message.model import Atom, normalize_key

OPTS: dict[str, Any] = {}
"""Upstream's ``normal`` option set, with defaults everywhere."""

NO_CACHE: dict[str, Any] = {
    "hashpath": "ignore",
    "cache_control": ["no-cache", "no-store"],
    "spawn_worker": False,
}
"""Upstream's ``no_cache`` option set, less its store."""


# --- devices defined inline upstream ------------------------------------------


def device_with_keys_using_args() -> dict[str, Any]:
    """Three keys, each using more of the arguments a key can take.

    Upstream: generate_device_with_keys_using_args/0.
    """

    def key_using_only_state(state: dict[str, Any]) -> tuple[str, Any]:
        return "ok", state["state_key"]

    def key_using_state_and_msg(state: dict[str, Any], msg: dict[str, Any]) -> tuple[str, Any]:
        return "ok", state["state_key"] + msg["msg_key"]

    def key_using_all(
        state: dict[str, Any], msg: dict[str, Any], opts: dict[str, Any]
    ) -> tuple[str, Any]:
        return "ok", state["state_key"] + msg["msg_key"] + opts["opts_key"]

    return {
        "key_using_only_state": key_using_only_state,
        "key_using_state_and_msg": key_using_state_and_msg,
        "key_using_all": key_using_all,
    }


def default_device() -> dict[str, Any]:
    """A device whose ``default`` answers every key it lacks. Upstream: gen_default_device/0."""
    return {
        "info": lambda: {"default": lambda _key, _state: ("ok", "DEFAULT")},
        "state_key": lambda _state: ("ok", "STATE"),
    }


def handler_device() -> dict[str, Any]:
    """A device whose ``handler`` answers every key. Upstream: gen_handler_device/0."""

    def handler(key: str, msg1: Any, msg2: Any, opts: Any) -> tuple[str, Any]:
        if key == "set":
            return MessageDevice().set(msg1, msg2)
        return "ok", "HANDLER VALUE"

    return {"info": lambda: {"handler": handler}}


# --- the suite ------------------------------------------------------------------


def test_resolve_simple() -> None:
    """hb_ao_test_vectors.erl: resolve_simple_test."""
    assert resolve({"a": "RESULT"}, "a", OPTS) == ("ok", "RESULT")


def test_resolve_id() -> None:
    """hb_ao_test_vectors.erl: resolve_id_test."""
    found = get("id", {"test_key": "1"}, OPTS)
    assert isinstance(found, str) and len(found) == 43
    assert is_human_id(found)


def test_start_as() -> None:
    """hb_ao_test_vectors.erl: start_as_test."""
    assert resolve_many([As("test-device@1.0", {"path": ""}), {"path": "test_func"}], OPTS) == (
        "ok",
        "GOOD_FUNCTION",
    )


def test_start_as_with_parameters() -> None:
    """hb_ao_test_vectors.erl: start_as_with_parameters_test."""
    msg = {"device": "test-device@1.0", "test_func": {"test_key": "MESSAGE"}}
    assert resolve_many([As("message@1.0", msg), {"path": "test_func"}], OPTS) == (
        "ok",
        "GOOD_FUNCTION",
    )


def test_as_path() -> None:
    """hb_ao_test_vectors.erl: as_path_test."""
    msg = {"device": "test-device@1.0", "test_func": {"test_key": "MESSAGE"}}
    assert get("test_func", msg, OPTS) == "GOOD_FUNCTION"
    status, result = resolve(msg, As("message@1.0", {"path": "test_func"}), OPTS)
    assert status == "ok"
    assert result["test_key"] == "MESSAGE"


def test_continue_as() -> None:
    """hb_ao_test_vectors.erl: continue_as_test."""
    msg = {"device": "test-device@1.0", "test_func": {"test_key": "MESSAGE"}}
    assert resolve_many(
        [msg, As("message@1.0", ""), {"path": "test_func"}, {"path": "test_key"}], OPTS
    ) == ("ok", "MESSAGE")


def test_resolve_key_twice() -> None:
    """hb_ao_test_vectors.erl: resolve_key_twice_test."""
    assert resolve({"a": "1"}, "a", OPTS) == ("ok", "1")
    assert resolve({"a": "1"}, "a", OPTS) == ("ok", "1")


def test_resolve_from_multiple_keys() -> None:
    """hb_ao_test_vectors.erl: resolve_from_multiple_keys_test."""
    assert resolve({"a": "1", "priv_a": "2"}, "keys", OPTS) == ("ok", ["a"])


def test_resolve_path_element() -> None:
    """hb_ao_test_vectors.erl: resolve_path_element_test."""
    assert resolve({"path": ["test_path"]}, "path", OPTS) == ("ok", ["test_path"])
    assert resolve({"Path": ["a"]}, "Path", OPTS) == ("ok", ["a"])


def test_key_to_binary() -> None:
    """hb_ao_test_vectors.erl: key_to_binary_test."""
    assert normalize_key(Atom("a")) == "a"
    assert normalize_key(b"a") == "a"
    assert normalize_key("a") == "a"


def test_resolve_binary_key() -> None:
    """hb_ao_test_vectors.erl: resolve_binary_key_test."""
    assert resolve({"a": "RESULT"}, b"a", OPTS) == ("ok", "RESULT")
    assert resolve({"Test-Header": "1"}, "Test-Header", OPTS) == ("ok", "1")


def test_key_from_id_device_with_args() -> None:
    """hb_ao_test_vectors.erl: key_from_id_device_with_args_test."""
    msg = {"device": device_with_keys_using_args(), "state_key": "1"}
    # The request's keys reach only handlers that take the request.
    assert resolve(msg, {"path": "key_using_only_state", "msg_key": "2"}, OPTS) == ("ok", "1")
    assert resolve(msg, {"path": "key_using_state_and_msg", "msg_key": "3"}, OPTS) == (
        "ok",
        "13",
    )
    all_opts = {**OPTS, "opts_key": "37", "cache_control": ["no-cache", "no-store"]}
    assert resolve(msg, {"path": "key_using_all", "msg_key": "3"}, all_opts) == ("ok", "1337")


def test_device_with_handler_function() -> None:
    """hb_ao_test_vectors.erl: device_with_handler_function_test."""
    msg = {"device": handler_device(), "test_key": "BAD"}
    assert resolve(msg, "test_key", OPTS) == ("ok", "HANDLER VALUE")


def test_device_with_default_handler_function() -> None:
    """hb_ao_test_vectors.erl: device_with_default_handler_function_test."""
    msg = {"device": default_device()}
    assert resolve(msg, "state_key", OPTS) == ("ok", "STATE")
    assert resolve(msg, "any_random_key", OPTS) == ("ok", "DEFAULT")


def test_basic_get() -> None:
    """hb_ao_test_vectors.erl: basic_get_test."""
    msg = {"key1": "value1", "key2": "value2"}
    assert get("key1", msg, OPTS) == "value1"
    assert get("key2", msg, OPTS) == "value2"
    assert get("key2", msg, OPTS) == "value2"
    assert get(["key2"], msg, OPTS) == "value2"


NESTED = {
    "key1": "value1",
    "key2": {
        "key3": "value3",
        "key4": {"key5": "value5", "key6": {"key7": "value7"}},
    },
}


def test_recursive_get() -> None:
    """hb_ao_test_vectors.erl: recursive_get_test."""
    assert resolve(NESTED, {"path": "key1"}, OPTS) == ("ok", "value1")
    assert get("key1", NESTED, OPTS) == "value1"
    assert resolve(NESTED, {"path": ["key2", "key3"]}, OPTS) == ("ok", "value3")
    assert get(["key2", "key3"], NESTED, OPTS) == "value3"
    assert get("key2/key3", NESTED, OPTS) == "value3"


def test_deep_recursive_get() -> None:
    """hb_ao_test_vectors.erl: deep_recursive_get_test."""
    assert get("key2/key4/key6/key7", NESTED, OPTS) == "value7"


def test_basic_set() -> None:
    """hb_ao_test_vectors.erl: basic_set_test."""
    msg = {"key1": "value1", "key2": "value2"}
    updated = set_message(msg, {"key1": "new_value1"}, OPTS)
    assert get("key1", updated, OPTS) == "new_value1"
    assert get("key2", updated, OPTS) == "value2"


def test_get_with_device() -> None:
    """hb_ao_test_vectors.erl: get_with_device_test."""
    msg = {"device": device_with_keys_using_args(), "state_key": "STATE"}
    assert get("state_key", msg, OPTS) == "STATE"
    assert get("key_using_only_state", msg, OPTS) == "STATE"


def test_get_as_with_device() -> None:
    """hb_ao_test_vectors.erl: get_as_with_device_test."""
    msg = {"device": handler_device(), "test_key": "ACTUAL VALUE"}
    assert get("test_key", msg, OPTS) == "HANDLER VALUE"
    assert get("test_key", As("message@1.0", msg), OPTS) == "ACTUAL VALUE"


def test_set_with_device() -> None:
    """hb_ao_test_vectors.erl: set_with_device_test."""

    def counting_set(state: dict[str, Any], _msg: Any) -> tuple[str, Any]:
        return "ok", {**state, "set_count": state.get("set_count", "") + "."}

    msg = {"device": {"set": counting_set}, "state_key": "STATE"}
    assert get("state_key", msg, OPTS) == "STATE"
    set_once = set_message(msg, {"state_key": "SET_ONCE"}, OPTS)
    assert get("set_count", set_once, OPTS) == "."
    set_twice = set_message(set_once, {"state_key": "SET_TWICE"}, OPTS)
    assert get("set_count", set_twice, OPTS) == ".."
    assert get("state_key", set_twice, OPTS) == "STATE"


def test_deep_set() -> None:
    """hb_ao_test_vectors.erl: deep_set_test."""
    msg0 = {"a": {"b": "RESULT"}}
    assert set_key(msg0, "a/b", "RESULT2", OPTS)["a"]["b"] == "RESULT2"
    assert set_key(msg0, ["a", "b"], "RESULT2", OPTS)["a"]["b"] == "RESULT2"
    msg = {"a": {"b": {"c": "1"}}}
    assert set_key(msg, ["a", "b", "c"], "2", OPTS)["a"]["b"]["c"] == "2"


def test_deep_set_new_messages() -> None:
    """hb_ao_test_vectors.erl: deep_set_new_messages_test (under ``no_cache``)."""
    msg0 = {"a": {"b": {"c": "1"}}}
    msg1 = set_key(msg0, "d/e", "3", NO_CACHE)
    msg2 = set_key(msg1, "d/f", "4", NO_CACHE)
    assert msg2 == {"a": {"b": {"c": "1"}}, "d": {"e": "3", "f": "4"}}
    msg3 = set_message(msg2, {"z/a": "0", "z/b": "1", "z/y/x": "2"}, NO_CACHE)
    assert msg3 == {
        "a": {"b": {"c": "1"}},
        "d": {"e": "3", "f": "4"},
        "z": {"a": "0", "b": "1", "y": {"x": "2"}},
    }


def test_deep_set_with_device() -> None:
    """hb_ao_test_vectors.erl: deep_set_with_device_test."""

    def flagging_set(msg1: dict[str, Any], msg2: dict[str, Any]) -> tuple[str, Any]:
        # Sets the first key of the request (in sorted order, as upstream's
        # small maps list them), and flags the message as modified.
        name = min(k for k in msg2 if k not in ("path", "priv"))
        return "ok", {**msg1, name: msg2[name], "modified": True}

    device = {"set": flagging_set}
    # A and C carry the device, B does not: only A and C get the flag.
    msg = {
        "device": device,
        "a": {"b": {"device": device, "c": "1", "modified": False}, "modified": False},
        "modified": False,
    }
    outer = set_key(msg, "a/b/c", "2", OPTS)
    a = get("a", outer, OPTS)
    b = get("b", a, OPTS)
    c = get("c", b, OPTS)
    assert c == "2"
    assert get("modified", outer) is True
    assert get("modified", a) is False
    assert get("modified", b) is True


def test_device_exports() -> None:
    """hb_ao_test_vectors.erl: device_exports_test."""

    def exported(msg: dict[str, Any], dev: Any, name: Any) -> bool:
        return is_exported(device_info(dev, msg, OPTS), name)

    message_dev = MessageDevice()
    msg = {"device": "message@1.0"}
    assert exported(msg, message_dev, "info")
    assert exported(msg, message_dev, "set")
    assert exported(msg, message_dev, "not_explicitly_exported")
    dev = {
        "info": lambda: {"exports": ["set"]},
        "set": lambda _m1, _m2: ("ok", "SET"),
    }
    msg2 = {"device": dev}
    assert exported(msg2, dev, "info")
    assert exported(msg2, dev, "set")
    assert not exported(msg2, dev, "not_exported")
    dev2 = {
        "info": lambda: {
            "exports": [Atom("test1"), "Test2"],
            "handler": lambda: ("ok", "Handler-Value"),
        }
    }
    msg3 = {"device": dev2, "Test1": "BAD1", "test3": "GOOD3"}
    assert get("test1", msg3, OPTS) == "Handler-Value"
    assert get("test2", msg3, OPTS) == "Handler-Value"
    assert get("test3", msg3, OPTS) == "GOOD3"
    assert get("Test4", set_key(msg3, "Test4", "GOOD4", OPTS)) == "GOOD4"
    assert get("test5", msg3, OPTS) == "not_found"


def test_device_excludes() -> None:
    """hb_ao_test_vectors.erl: device_excludes_test."""
    # Any key answers the handler's value, except ``set``, which falls
    # through to message@1.0 so that the message can still be changed.
    dev = {
        "info": lambda: {
            "excludes": [Atom("set")],
            "handler": lambda: ("ok", "Handler-Value"),
        }
    }
    msg = {"device": dev, "Test-Key": "Test-Value"}
    assert is_exported(device_info(dev, msg, OPTS), "test-key2")
    assert not is_exported(device_info(dev, msg, OPTS), "set")
    assert get("test-key2", msg, OPTS) == "Handler-Value"
    assert set_key(msg, "test-key2", "2", OPTS)["test-key2"] == "2"


def test_denormalized_device_key() -> None:
    """hb_ao_test_vectors.erl: denormalized_device_key_test."""
    msg = {"Device": "test-device@1.0"}
    assert get(Atom("device"), msg, OPTS) == "test-device@1.0"
    assert get("device", msg, OPTS) == "test-device@1.0"
    _add_key, func = message_to_fun(msg, "test_func", OPTS)
    assert isinstance(getattr(func, "__self__", None), TestDevice)


def test_list_transform() -> None:
    """hb_ao_test_vectors.erl: list_transform_test."""
    msg = ["A", "B", "C", "D", "E"]
    assert get(1, msg, OPTS) == "A"
    assert get(2, msg, OPTS) == "B"
    assert get(3, msg, OPTS) == "C"
    assert get(4, msg, OPTS) == "D"
    assert get(5, msg, OPTS) == "E"


# --- behaviour of hb_ao.erl's resolution stages ---------------------------------
#
# hb_ao.erl has no eunit tests of its own; these assert what its stages do.


def _id(msg: dict[str, Any]) -> str:
    from hyperbeam.message.id import message_id

    found: str = message_id(msg)
    return found


def test_result_hashpath_links_base_and_key() -> None:
    """hb_ao.erl: resolve_stage/6, stage 9 (``hashpath => update``); hb_path.erl: hashpath/4.

    A request that is only a path is linked by its key rather than its ID.
    """
    msg1 = {"a": {"b": {"c": "1"}}}
    status, msg3 = resolve(msg1, "a", OPTS)
    assert status == "ok"
    assert msg3["priv"]["hashpath"] == f"{_id(msg1)}/a"
    status, msg5 = resolve(msg1, "a/b", OPTS)
    assert status == "ok"
    new_base = b64url_encode(hashlib.sha256(native_id(_id(msg1)) + b"a").digest())
    assert msg5["priv"]["hashpath"] == f"{new_base}/b"


def test_result_hashpath_uses_request_id_when_request_has_content() -> None:
    """hb_ao.erl: resolve_stage/6, stage 9; hb_path.erl: hashpath/4 (request with keys)."""
    msg1 = {"a": {"b": "1"}}
    msg2 = {"path": "a", "x": "1"}
    status, msg3 = resolve(msg1, msg2, OPTS)
    assert status == "ok"
    assert msg3["priv"]["hashpath"] == f"{_id(msg1)}/{_id(msg2)}"


def test_result_hashpath_ignore_and_reset() -> None:
    """hb_ao.erl: resolve_stage/6, stage 9 (``hashpath => ignore | reset``)."""
    msg1 = {"a": {"b": "1", "priv": {"hashpath": "X/y", "other": 1}}}
    status, kept = resolve(msg1, "a", {"hashpath": "ignore"})
    assert status == "ok"
    assert kept["priv"] == {"hashpath": "X/y", "other": 1}
    status, reset = resolve(msg1, "a", {"hashpath": "reset"})
    assert status == "ok"
    assert reset["priv"] == {"other": 1}


def test_error_result_loses_its_hashpath() -> None:
    """hb_ao.erl: resolve_stage/6, stage 9 (abnormal status resets the hashpath)."""
    failure = {"status": 400, "body": "bad", "priv": {"hashpath": "X/y"}}
    dev = {"fail": lambda: ("error", failure)}
    status, result = resolve({"device": dev}, "fail", OPTS)
    assert status == "error"
    assert result["status"] == 400
    assert "hashpath" not in result.get("priv", {})


def test_pass_result_keeps_its_hashpath() -> None:
    """**Deviation** from hb_ao.erl stage 9, which resets the hashpath of any
    abnormal status: a ``pass`` (a stack's multipass asking for another
    pass) keeps it, so the next pass does not hash the whole state again."""
    again = {"n": 1, "priv": {"hashpath": "X/y"}}
    dev = {"again": lambda: ("pass", again)}
    status, result = resolve({"device": dev}, "again", OPTS)
    assert status == "pass"
    assert result["priv"]["hashpath"] == "X/y"


def test_multi_part_path_stops_at_first_failure() -> None:
    """hb_ao.erl: do_resolve_many/2 (a non-``ok`` step ends the resolution)."""
    assert resolve({"a": {"b": "1"}}, "a/x/b", OPTS) == ("error", "not_found")
    # Only messages have keys (stage 3).
    assert resolve({"a": "1"}, "a/b", OPTS) == ("error", "not_found")


def test_subresolve_base_request_and_result() -> None:
    """hb_ao.erl: resolve_stage/4 (``{resolve, Subres}`` as base and request), stage 8."""
    base = Subresolve([{"a": {"b": "1"}}, {"path": "a"}])
    assert resolve_many([base, {"path": "b"}], OPTS) == ("ok", "1")
    request = Subresolve([{"k": "x"}, {"path": "k"}])
    assert resolve_many([{"x": "1", "y": "2"}, request], OPTS) == ("ok", "1")
    dev = {"redirect": lambda: ("ok", Subresolve([{"v": "42"}, {"path": "v"}]))}
    assert resolve({"device": dev}, "redirect", OPTS) == ("ok", "42")


def test_force_message() -> None:
    """hb_ao.erl: force_message/2."""
    dev = {
        "literal": lambda: ("ok", "x"),
        "list": lambda: ("ok", ["p", "q"]),
        "response": lambda: ("ok", {"status": 200, "body": "B"}),
    }
    opts = {"force_message": True, "hashpath": "ignore"}
    msg = {"device": dev}
    assert resolve(msg, "literal", opts) == ("ok", {"ao-result": "body", "body": "x"})
    assert resolve(msg, "list", opts) == ("ok", {"1": "p", "2": "q"})
    # ``{status, body}`` gains ``ao-result`` only when its status is the call's own.
    assert resolve(msg, "response", opts) == ("ok", {"status": 200, "body": "B"})
    assert force_message("ok", {"status": "ok", "body": "B"}) == (
        "ok",
        {"status": "ok", "body": "B", "ao-result": "body"},
    )


def test_error_strategy() -> None:
    """hb_ao.erl: error_execution/5 (``error_strategy``, default ``throw``)."""

    def broken(_msg: Any) -> tuple[str, Any]:
        raise ValueError("broken")

    msg = {"device": {"broken": broken}}
    with pytest.raises(ExecutionError):
        resolve(msg, "broken", OPTS)
    status, _reason = resolve(msg, "broken", {**OPTS, "error_strategy": "continue"})
    assert status == "error"


def test_unloadable_device_throws() -> None:
    """hb_ao.erl: message_to_device/2 (a named device that cannot be loaded)."""
    with pytest.raises(DeviceNotFound):
        resolve({"device": "no-such-device@1.0"}, "a", OPTS)


def test_private_keys_cannot_be_resolved() -> None:
    """hb_private.erl: get_private_key_test (its hb_ao:resolve assertions)."""
    m1 = {"a": 1, "priv": {"b": 2}}
    assert resolve(m1, "keys", OPTS) == ("ok", ["a"])
    assert resolve(m1, "priv/a", OPTS)[0] == "error"
    assert resolve(m1, "priv", OPTS)[0] == "error"


def test_handler_map_with_excludes() -> None:
    """hb_ao.erl: info_handler_to_fun/4 (a ``handler`` given as ``func`` and ``excludes``)."""
    dev = {
        "info": lambda: {
            "handler": {
                "func": lambda key: ("ok", f"HANDLED {key}"),
                "excludes": ["set"],
            }
        }
    }
    msg = {"device": dev, "x": "1"}
    assert get("x", msg, OPTS) == "HANDLED x"
    assert set_key(msg, "x", "2", OPTS)["x"] == "2"


def test_remove_and_get_first() -> None:
    """hb_ao.erl: remove/3 and get_first/3."""
    msg = {"a": "1", "b": "2"}
    assert remove(msg, "a", OPTS) == {"b": "2"}
    assert get_first([({}, "a"), (msg, "b")], OPTS) == "2"
    assert get_first([({}, "a")], OPTS, default="DEFAULT") == "DEFAULT"
