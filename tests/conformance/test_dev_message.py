"""``message@1.0``: the eunit tests of upstream dev_message.erl."""

from __future__ import annotations

from hyperbeam.ao.resolve import resolve, set_key, set_message
from hyperbeam.devices.message import MessageDevice
from hyperbeam.message.model import UNSET
from hyperbeam.message.private import is_private, strip_private

IGNORE = {"hashpath": "ignore"}


def _is_empty_message(msg: object) -> bool:
    """Upstream's ?IS_EMPTY_MESSAGE: no keys, or only ``priv``."""
    return isinstance(msg, dict) and set(msg) <= {"priv"}


def test_is_private() -> None:
    """dev_message.erl: is_private_mod_test."""
    assert is_private("private")
    assert is_private("private.foo")
    assert not is_private("a")


def test_keys_from_device() -> None:
    """dev_message.erl: keys_from_device_test."""
    assert resolve({"a": 1}, "keys", {}) == ("ok", ["a"])


def test_case_insensitive_get() -> None:
    """dev_message.erl: case_insensitive_get_test."""
    dev = MessageDevice()
    assert dev.get("a", {"a": 1}) == ("ok", 1)
    assert dev.get("a", {"A": 1}) == ("ok", 1)
    assert dev.get("A", {"a": 1}) == ("ok", 1)
    assert dev.get("A", {"A": 1}) == ("ok", 1)


def test_private_keys_are_filtered() -> None:
    """dev_message.erl: private_keys_are_filtered_test."""
    assert resolve({"a": 1, "private": 2}, "keys", {}) == ("ok", ["a"])
    assert resolve({"a": 1, "priv_foo": 4}, "keys", {}) == ("ok", ["a"])


def test_cannot_get_private_keys() -> None:
    """dev_message.erl: cannot_get_private_keys_test."""
    assert resolve({"a": 1, "private_key": 2}, "private_key", IGNORE) == ("error", "not_found")


def test_key_from_device() -> None:
    """dev_message.erl: key_from_device_test."""
    assert resolve({"a": 1}, "a", {}) == ("ok", 1)


def test_remove() -> None:
    """dev_message.erl: remove_test."""
    msg = {"key1": "Value1", "key2": "Value2"}
    status, one = resolve(msg, {"path": "remove", "item": "key1"}, IGNORE)
    assert status == "ok"
    assert one["key2"] == "Value2"
    assert "key1" not in one
    status, none_left = resolve(msg, {"path": "remove", "items": ["key1", "key2"]}, IGNORE)
    assert status == "ok"
    assert none_left == {}


def test_set_conflicting_keys() -> None:
    """dev_message.erl: set_conflicting_keys_test."""
    msg1 = {"dangerous": "Value1"}
    msg2 = {"path": "set", "dangerous": "Value2"}
    status, msg3 = resolve(msg1, msg2, {})
    assert status == "ok"
    assert msg3["dangerous"] == "Value2"


def test_unset_with_set() -> None:
    """dev_message.erl: unset_with_set_test."""
    msg1 = {"dangerous": "Value1"}
    msg2 = {"path": "set", "dangerous": UNSET}
    status, msg3 = resolve(msg1, msg2, IGNORE)
    assert status == "ok"
    assert _is_empty_message(msg3)


def test_deep_unset() -> None:
    """dev_message.erl: deep_unset_test."""
    msg1 = {
        "test-key1": "Value1",
        "deep": {"test-key2": "Value2", "test-key3": "Value3"},
    }
    msg2 = set_message(msg1, {"deep/test-key2": UNSET}, IGNORE)
    assert msg2 == {"test-key1": "Value1", "deep": {"test-key3": "Value3"}}
    msg3 = set_key(msg2, "deep/test-key3", UNSET, IGNORE)
    assert msg3 == {"test-key1": "Value1", "deep": {}}
    msg4 = set_message(msg3, {"deep": UNSET}, IGNORE)
    assert msg4 == {"test-key1": "Value1"}


def test_set_ignore_undefined() -> None:
    """dev_message.erl: set_ignore_undefined_test."""
    msg1 = {"test-key": "Value1"}
    msg2 = {"path": "set", "test-key": None}
    status, msg3 = MessageDevice().set(msg1, msg2)
    assert status == "ok"
    assert strip_private(msg3) == {"test-key": "Value1"}
