"""The message model: values, normalized keys, private keys and IDs."""

from __future__ import annotations

from hyperbeam.message.model import (
    UNSET,
    Atom,
    Message,
    Value,
    is_message,
    list_to_message,
    normalize_key,
    normalize_keys,
)
from hyperbeam.message.private import is_private, private_of, strip_private, with_private

__all__ = [
    "UNSET",
    "Atom",
    "Message",
    "Value",
    "is_message",
    "is_private",
    "list_to_message",
    "normalize_key",
    "normalize_keys",
    "private_of",
    "strip_private",
    "with_private",
]
