"""The message shapes of upstream's codec suite, shared by the codec tests.

Upstream: hb_message.erl, the messages of message_suite_test_ (each run
through every codec). ``payload`` names the key that carries a message's
content: ``body`` for httpsig@1.0, flat@1.0 and json@1.0, ``data`` for
ans104@1.0 (as upstream's ANS-104 variants of these tests use).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import Any

from hyperbeam.codecs.structured import to_bytes
from hyperbeam.message.ids import b64url_encode
from hyperbeam.message.model import Atom, normalize_key


def _balances(count: int, seed: int) -> dict[str, int]:
    """A balance table: address-like keys, 48-bit integer balances (deterministic)."""
    rand = random.Random(seed)
    return {b64url_encode(rand.randbytes(32)): rand.getrandbits(48) for _ in range(count)}


def message_shapes(payload: str = "body") -> dict[str, dict[str, Any]]:
    p = payload
    return {
        "basic_map_codec_test": {"normal_key": "NORMAL_VALUE"},
        "set_body_codec_test": {p: "NORMAL_VALUE", "test-key": "Test-Value"},
        "match_test": {"a": 1, "b": 2},
        "single_layer_message_to_encoding_test": {
            "last_tx": bytes(31) + b"\x02",
            "owner": bytes(511) + b"\x03",
            "target": bytes(31) + b"\x04",
            "data": "DATA",
            "special-key": "SPECIAL_VALUE",
        },
        "structured_field_atom_parsing_test": {
            "highly_unusual_http_header": Atom("highly_unusual_value")
        },
        "structured_field_decimal_parsing_test": {"integer_field": 1234567890},
        "message_with_large_keys_test": {
            "normal_key": "normal_value",
            "large_key": bytes(1025),
            "another_large_key": bytes(1025),
            "another_normal_key": "another_normal_value",
        },
        "nested_message_with_large_keys_and_content_test": {
            "normal_key": "normal_value",
            "large_key": bytes(2048),
            "another_large_key": bytes(2048),
            "another_normal_key": "another_normal_value",
            p: "Hey from the data field!",
        },
        "simple_nested_message_test": {"a": "1", "nested": {"b": "1"}, "c": "3"},
        "nested_empty_map_test": {p: {"empty-map-test": {}}},
        "nested_message_with_large_content_test": {
            "depth": "outer",
            p: {
                "map_item": {"depth": "inner", "large_data_inner": bytes(1025)},
                "large_data_outer": bytes(1025),
            },
        },
        "deeply_nested_message_with_content_test": {
            "depth": "outer",
            p: {"map_item": {"depth": "inner", p: {"depth": "innermost", p: "DATA"}}},
        },
        "deeply_nested_message_with_only_content": {
            "depth1": "outer",
            p: {p: {p: "depth2-body"}},
        },
        "nested_structured_fields_test": {"a": {"b": 1}},
        "nested_message_with_large_keys_test": {
            "a": "1",
            "long_data": bytes(1025),
            "nested": {"b": "1"},
            "c": "3",
        },
        "message_with_simple_embedded_list_test": {"a": ["1", "2", "3"]},
        "empty_string_in_tag_test": {"dev": {"stderr": "", "stdin": "b", "stdout": "c"}},
        "nested_body_list_test": {"body": [{"test-key": f"TEST VALUE #{x}"} for x in (1, 2, 3)]},
        "recursive_nested_list_test": {
            "body": [
                [[f"TEST VALUE #{x}-{y}-{z}" for z in (1, 2, 3)] for y in (1, 2, 3)]
                for x in (1, 2, 3)
            ]
        },
        "encode_small_balance_table_test": _balances(5, seed=1),
        "encode_large_balance_table_test": _balances(1000, seed=2),
    }


def match(a: Any, b: Any, ignore: Collection[str] = ()) -> bool:
    """Upstream hb_message:match/2 (strict), for the codec tests: keys
    normalized, private keys and the keys in ``ignore`` left out at every
    level, binaries compared as bytes, other values by value and type."""
    if isinstance(a, dict) and isinstance(b, dict):

        def kept(msg: dict[Any, Any]) -> dict[str, Any]:
            pairs = ((normalize_key(k), v) for k, v in msg.items())
            return {k: v for k, v in pairs if k not in ignore and not k.startswith("priv")}

        na, nb = kept(a), kept(b)
        return na.keys() == nb.keys() and all(match(na[k], nb[k], ignore) for k in na)
    if isinstance(a, str | bytes) and isinstance(b, str | bytes):
        return to_bytes(a) == to_bytes(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(match(x, y, ignore) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)
