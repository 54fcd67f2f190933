"""The ``flat@1.0`` codec: nested TABMs to and from flat maps of paths.

A flat map has ``a/b/c`` paths as its keys and binaries as its values;
:func:`to_flat` and :func:`from_flat` convert between it and the nested
TABM. The text form written by :func:`serialize` has one ``path: value``
line per key, sorted by path.

Behaviour kept from upstream:

* path keys are split on ``/`` with empty parts dropped (``/a//b`` is
  ``a/b``); parts are not lower-cased;
* two keys that claim the same place (``a`` holding a binary and ``a/b``)
  are an error, except that two messages at one place are merged;
* nested messages with no keys vanish from the flat map;
* :func:`deserialize` skips every line that is not exactly one ``key: value``
  pair (a value holding ``": "`` or a line break is lost), and a later line
  overrides an earlier one with the same key.

API (upstream dev_codec_flat):

* :func:`from_flat` ``(flat | text) -> Tabm``: upstream ``from/1``; given the
  serialized text it returns :func:`deserialize`'s message, as upstream does.
* :func:`to_flat` ``(tabm) -> dict[str, bytes]``: upstream ``to/1``; a binary
  is returned unchanged.
* :func:`serialize` ``(msg) -> bytes`` and :func:`deserialize`
  ``(text) -> Message``: upstream ``serialize/1`` / ``deserialize/1``, on rich
  messages (through ``structured@1.0``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hyperbeam.codecs.structured import (
    Tabm,
    from_message,
    key_bytes,
    normalize_key,
    to_bytes,
    to_message,
)
from hyperbeam.errors import CodecError
from hyperbeam.message.model import Atom, Message

CONTENT_TYPE = "application/flat"


# --- flat map -> TABM --------------------------------------------------------------


def from_flat(flat: Mapping[Any, Any] | bytes | str) -> Any:
    """A flat map of paths as a nested TABM. Upstream: dev_codec_flat:from/1."""
    if isinstance(flat, bytes | str):
        return deserialize(flat)
    if not isinstance(flat, Mapping):
        raise CodecError(f"flat@1.0 cannot decode a {type(flat).__name__}")
    out: dict[str, Any] = {}
    for path in sorted(flat, key=_term_order):
        _inject(out, path_parts(path), _copy_tree(flat[path]), path)
    return out


def path_parts(path: Any) -> list[str]:
    """The parts of a path key. Upstream: hb_path:term_to_path_parts/1."""
    parts = _parts(path)
    if not parts:
        raise CodecError(f"flat@1.0 path {path!r} names no key")
    return parts


def _parts(path: Any) -> list[str]:
    if isinstance(path, bytes):
        path = path.decode("utf-8", "surrogateescape")
    if isinstance(path, str):
        if path == "":
            raise CodecError("flat@1.0 path is empty")
        return [part for part in path.split("/") if part]
    if isinstance(path, Sequence):
        parts: list[str] = []
        for part in path:
            parts.extend(_parts(part))
        return parts
    if isinstance(path, bool | int | Atom):
        return [normalize_key(path)]
    raise CodecError(f"flat@1.0 cannot use a {type(path).__name__} as a path")


def _inject(target: dict[str, Any], parts: list[str], value: Any, path: Any) -> None:
    # A loop, not a recursion: a path may have thousands of parts.
    *parents, key = parts
    for parent in parents:
        sub = target.setdefault(parent, {})
        if not isinstance(sub, dict):
            raise CodecError(f"flat@1.0 path {path!r} runs through the binary at {parent!r}")
        target = sub
    if key not in target:
        target[key] = value
    elif isinstance(target[key], dict) and isinstance(value, dict):
        target[key].update(value)
    else:
        raise CodecError(f"flat@1.0 path {path!r} collides with a value already at {key!r}")


def _copy_tree(value: Any) -> Any:
    """Copy nested dicts so that merging never changes the caller's maps."""
    if isinstance(value, Mapping):
        return {k: _copy_tree(v) for k, v in value.items()}
    return value


def _term_order(key: Any) -> tuple[int, Any]:
    """Erlang term order of keys: numbers < atoms < lists < binaries."""
    if isinstance(key, bool):
        return (1, "true" if key else "false")
    if isinstance(key, int):
        return (0, key)
    if isinstance(key, Atom):
        return (1, key.name)
    if isinstance(key, str):
        return (3, key_bytes(key))
    if isinstance(key, bytes):
        return (3, key)
    if isinstance(key, Sequence):
        return (2, [_term_order(part) for part in key])
    return (4, repr(key))


# --- TABM -> flat map --------------------------------------------------------------


def to_flat(tabm: Any) -> Any:
    """A nested TABM as a flat map of ``a/b/c`` paths. Upstream: dev_codec_flat:to/1."""
    if isinstance(tabm, str | bytes):
        return tabm
    if not isinstance(tabm, Mapping):
        raise CodecError(f"flat@1.0 cannot encode a {type(tabm).__name__}")
    out: dict[str, Any] = {}
    for key in sorted(tabm, key=_term_order):
        value = to_flat(tabm[key])
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                out[path_to_text([key, sub_key])] = sub_value
        else:
            out[path_to_text([key])] = value
    return out


def path_to_text(parts: Sequence[Any]) -> str:
    """Parts joined with ``/``, empty parts dropped. Upstream: hb_path:to_binary/1."""
    pieces: list[str] = []
    for part in parts:
        text = part.decode("utf-8", "surrogateescape") if isinstance(part, bytes) else part
        if not isinstance(text, str):
            text = normalize_key(text)
        pieces.extend(piece for piece in text.split("/") if piece)
    return "/".join(pieces)


# --- text form -----------------------------------------------------------------------


def serialize(msg: Message) -> bytes:
    """A message as ``path: value`` lines. Upstream: dev_codec_flat:serialize/1."""
    flat = to_flat(from_message(msg))
    lines = bytearray()
    for path in sorted(flat, key=key_bytes):
        value = flat[path]
        if not isinstance(value, str | bytes):
            raise CodecError(f"flat@1.0 value at {path!r} is not a binary")
        lines += key_bytes(path_to_text([path])) + b": " + to_bytes(value) + b"\n"
    return bytes(lines)


def deserialize(text: bytes | str) -> Message:
    """``path: value`` lines back to a message. Upstream: dev_codec_flat:deserialize/1."""
    raw = to_bytes(text)
    flat: dict[str, bytes] = {}
    for line in raw.split(b"\n"):
        fields = line.split(b": ")
        if len(fields) == 2:
            flat[fields[0].decode("utf-8", "surrogateescape")] = fields[1]
    tabm: Tabm = from_flat(flat)
    try:
        return to_message(tabm)
    except RecursionError:
        # Found by tests/property/test_fuzz_flat.py: a path of thousands of parts.
        raise CodecError("flat@1.0 message is nested too deeply") from None
