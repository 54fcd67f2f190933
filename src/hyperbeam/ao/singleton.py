"""HyperPATH parsing: one request message in, the list of messages to resolve out.

A *singleton* request is a message whose ``path`` carries a whole program:

    /Part1/Part2/.../PartN?key=value&...

- Each ``/``-separated part becomes one message ``{"path": Part}``. A leading
  part that is a message ID stays a bare ID string; otherwise an empty base
  message ``{}`` is put in front of the list.
- ``part&k=v&flag`` adds keys to that part's message (``flag`` is ``True``).
- ``key=value`` is ``{"path": key, key: value}`` (as later upstream versions
  read it; aoconnect asks ``/compute/results=<slot>``).
- ``part~device@1.0`` wraps it as :class:`~hyperbeam.ao.path.As`; a part that
  is only ``~device@1.0`` has an empty path and becomes the base itself.
- ``(/nested/path)`` anywhere a part or value is expected is a
  :class:`~hyperbeam.ao.path.Subresolve` of that path's own message list.
- ``key+type=value`` casts the value: ``integer``, ``float``, ``atom``,
  ``list`` and ``map`` (structured-field syntax), ``binary`` (unchanged) and
  ``resolve`` (the value is a path to resolve first).
- Every other key of the request (headers, query parameters) is added to
  every message; ``N.key`` adds it to the message of part ``N`` only (``0`` is
  the base message). Such keys override the part's own inline keys.

Errors are raised as :class:`~hyperbeam.errors.PathError`. Segments longer
than :data:`MAX_SEGMENT_LENGTH` bytes, unbalanced parentheses, bad percent
escapes, bad casts and nesting deeper than :data:`MAX_NESTING_DEPTH` are all
rejected.

Upstream: hb_singleton (``from/1`` is :func:`from_request`, ``to/1`` is
:func:`to`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from hyperbeam.ao.path import As, Subresolve
from hyperbeam.codecs import structured
from hyperbeam.errors import CodecError, PathError
from hyperbeam.message.ids import human_id, is_id
from hyperbeam.message.model import Message, normalize_key
from hyperbeam.message.private import is_private
from hyperbeam.message.wire import derive, wire_of

__all__ = ["MAX_NESTING_DEPTH", "MAX_SEGMENT_LENGTH", "from_request", "to"]

#: Longest path segment (between separators), in bytes. Upstream: ?MAX_SEGMENT_LENGTH.
MAX_SEGMENT_LENGTH = 512

#: Deepest nesting of ``(...)`` subpaths and ``+resolve`` values. Upstream has
#: no explicit limit (the segment length bounds it at about 256).
MAX_NESTING_DEPTH = 64

#: Keys dropped when a step message is normalized. Upstream: ?REGEN_KEYS.
_REGEN_KEYS = frozenset({"unsigned_id", "content-digest"})

#: Characters that make a path part a HyperPATH expression, never an ID.
#: Upstream takes any part of ID length as an ID (hb_singleton:parse_part/1), so
#: a 43-character part such as ``~message@1.0&a=1&n+integer=2&x=y`` would be
#: looked up as a message ID; we parse it.
_PATH_SYNTAX = frozenset("~&=+()")

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCOPE_INDEX = re.compile(r"[+-]?[0-9]+")


# --- from: request message -> messages -------------------------------------


def from_request(msg: Message | str | bytes, *, decoded: bool = False) -> list[Any]:
    """The messages a singleton request asks to resolve, in order.

    ``msg`` is a request message with a ``path`` (its other keys are headers
    and apply to the messages as described in the module docs), or a bare
    path. The first element is the base: a message, an ID string, an
    :class:`As` or a :class:`Subresolve`. Upstream: hb_singleton:from/1.

    ``decoded`` says the request's values come from the structured codec
    already (as the node's HTTP edge decodes them): its nested messages and
    lists are then used as they are, not converted again, so they keep
    their identity (and the wire they arrived in).
    """
    if isinstance(msg, str | bytes):
        msg = {"path": msg}
    if not isinstance(msg, dict):
        raise PathError(f"a singleton request must be a message, not {type(msg).__name__}")
    trusted = (
        frozenset(id(v) for v in msg.values() if isinstance(v, dict | list)) if decoded else None
    )
    try:
        steps = _from(msg, 0, trusted)
    except RecursionError:
        raise PathError("request is nested too deeply") from None
    if wire_of(msg) is None:
        return steps
    # Each step carries the signed request's keys: it keeps the request's
    # wire, which holds for the steps whose signed values are the request's.
    return [_derived(msg, step) for step in steps]


def _derived(request: Message, step: Any) -> Any:
    if isinstance(step, dict):
        return derive(request, step)
    if isinstance(step, As) and isinstance(step.msg, dict):
        return As(step.device, derive(request, step.msg))
    return step


def _from(raw: Message, depth: int, trusted: frozenset[int] | None = None) -> list[Any]:
    if depth > MAX_NESTING_DEPTH:
        raise PathError(f"subpaths are nested deeper than {MAX_NESTING_DEPTH} levels")
    path = _text(raw.get("path", ""), "path")
    segments, query = _parse_full_path(path, depth)
    keys: Message = {k: v for k, v in raw.items() if k != "path"}
    keys.update(query)
    steps = [step for segment in segments for step in _path_messages(segment, depth)]
    steps = _normalize_base(steps)
    typed = _apply_types(keys, depth)
    scoped = _group_scoped(typed, len(steps))
    return _build(steps, scoped, trusted or frozenset())


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    raise PathError(f"{what} must be text, not {type(value).__name__}")


def _parse_full_path(path: str, depth: int) -> tuple[list[str], Message]:
    """Split the path from its query; percent-decode each path segment, and
    each query key and value (after splitting at ``&`` and ``=``; ``+`` stays
    a type marker, not a space). Upstream leaves the query encoded, so
    ``?target=data%2F...`` named a key that does not exist.
    """
    sep, base, query_text = _part(path, "?")
    query = _parse_query(query_text, depth) if sep is not None else {}
    return [_decode(segment) for segment in _path_parts("/", base)], query


def _parse_query(text: str, depth: int) -> Message:
    out: Message = {}
    for pair in _path_parts("&", text):
        sep, key, value = _part(pair, "=")
        if sep is None:
            out[_decode(key)] = True
        else:
            name, typed = _maybe_typed(_decode(key), _maybe_subpath(_decode(value), depth), depth)
            out[name] = typed
    return out


def _path_messages(segment: str, depth: int) -> list[Any]:
    # Upstream decodes each segment a second time here, so `%2F` splits it and
    # `%2528` becomes `(`.
    return [_parse_part(part, depth) for part in _path_parts("/", _decode(segment))]


def _normalize_base(steps: list[Any]) -> list[Any]:
    if not steps:
        return []
    first = steps[0]
    if (isinstance(first, str) and is_id(first)) or isinstance(first, As | Subresolve):
        return steps
    return [{}, *steps]


def _decode(text: str) -> str:
    """Percent-decode, strictly: every ``%`` must start a two-digit hex escape."""
    if "%" not in text:
        return text
    if _BAD_PERCENT.search(text):
        raise PathError(f"bad percent-encoding in {_show(text)}")
    return unquote(text, encoding="utf-8", errors="surrogateescape")


def _path_parts(sep: str, text: str) -> list[str]:
    """Non-empty parts of ``text`` between top-level separators."""
    parts: list[str] = []
    found: str | None = sep
    while found is not None:
        found, part, text = _part(text, sep)
        _add_part(parts, part)
    return parts


def _add_part(parts: list[str], part: str) -> None:
    if not part:
        return
    if _byte_length(part) > MAX_SEGMENT_LENGTH:
        raise PathError(f"path segment is longer than {MAX_SEGMENT_LENGTH} bytes: {_show(part)}")
    parts.append(part)


def _part(text: str, seps: str) -> tuple[str | None, str, str]:
    """Split at the first separator outside parentheses.

    Returns ``(separator, before, after)``, or ``(None, text, "")`` when there
    is none. Parentheses must balance up to the split point (or to the end).
    """
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                raise PathError(f"unbalanced ')' at offset {index} in {_show(text)}")
            depth -= 1
        elif depth == 0 and char in seps:
            return char, text[:index], text[index + 1 :]
    if depth:
        raise PathError(f"unbalanced '(': {depth} left open in {_show(text)}")
    return None, text, ""


def _parse_part(part: str, depth: int) -> Any:
    """One path part: an ID, a subpath, or a message (maybe with a device)."""
    if is_id(part) and _PATH_SYNTAX.isdisjoint(part):
        return part
    subpath = _maybe_subpath(part, depth)
    if isinstance(subpath, Subresolve):
        return subpath
    sep, key, mods = _part(part, "&~+")
    msg: Message = {"path": key}
    if "=" in key:  # `key=value`: the key, with its value in the message
        name, _, value = key.partition("=")
        msg = {"path": name, name: value}
    if sep is None:
        return msg
    if sep == "+":
        raise PathError(f"'+' must follow a key inside '&', in path part {_show(part)}")
    if sep == "&":
        return _parse_inlined_keys(mods, msg, depth)
    _, device_text, inlined = _part(mods, "&")
    msg = _parse_inlined_keys(inlined, msg, depth)
    device = _maybe_subpath(device_text, depth)
    if device == "":
        raise PathError(f"empty device after '~' in path part {_show(part)}")
    # A device given as a subpath is a Subresolve; `As.device` is typed `str`.
    return As(device, msg)  # type: ignore[arg-type]


def _maybe_subpath(text: str, depth: int) -> str | Subresolve:
    if len(text) >= 2 and text[0] == "(" and text[-1] == ")":
        return Subresolve(_from({"path": text[1:-1]}, depth + 1))
    return text


def _parse_inlined_keys(text: str, msg: Message, depth: int) -> Message:
    """Add ``k=v&k2=v2&flag`` to ``msg`` (a new message is returned)."""
    out = dict(msg)
    for pair in _path_parts("&", text):
        key, value = _parse_inlined_key_val(pair, depth)
        out[key] = value
    return out


def _parse_inlined_key_val(pair: str, depth: int) -> tuple[str, Any]:
    sep, key, value = _part(pair, "=")
    if sep is None:
        # A bare key is a flag; upstream does not look for a `+type` on it.
        return key, True
    return _maybe_typed(key, _maybe_subpath(value, depth), depth)


def _apply_types(keys: Message, depth: int) -> Message:
    typed: Message = {}
    for key in _sorted_keys(keys):
        name, value = _maybe_typed(key, keys[key], depth)
        typed[name] = value
    return typed


def _sorted_keys(msg: Message) -> list[str]:
    # Upstream folds over its maps in key order, so a later key wins a clash.
    for key in msg:
        if not isinstance(key, str):
            raise PathError(f"request keys must be text, not {type(key).__name__}")
    return sorted(msg)


def _maybe_typed(key: str, value: Any, depth: int) -> tuple[str, Any]:
    """Split ``key+type`` and cast ``value`` to the type."""
    sep, name, cast = _part(key, "+")
    if sep is None:
        return key, value
    if cast == "resolve":
        if isinstance(value, Subresolve):
            return name, value
        return name, Subresolve(_from({"path": _text(value, f"value of {key!r}")}, depth + 1))
    if isinstance(value, Subresolve):
        raise PathError(f"cannot cast a subpath to {cast!r} (key {key!r})")
    text = _text(value, f"value of {key!r}")
    return name, _decode_value(cast, text, key)


def _decode_value(cast: str, text: str, key: str) -> Any:
    """Cast ``text`` to ``cast``. Upstream: dev_codec_structured:decode_value/2."""
    try:
        return structured.decode_value(cast, _utf8(text))
    except CodecError as exc:
        raise PathError(f"cannot cast key {key!r}: {exc.reason}") from None


def _group_scoped(typed: Message, count: int) -> list[Message]:
    """The extra keys of each step: global keys, then ``N.key`` for step N."""
    global_keys: Message = {}
    scoped: dict[int, Message] = {}
    for key in _sorted_keys(typed):
        value = typed[key]
        parts = key.split(".")
        if len(parts) != 2:
            global_keys[key] = value
            continue
        front, name = parts
        if not _SCOPE_INDEX.fullmatch(front):
            raise PathError(f"invalid scope in key {key!r}: {front!r} is not an integer")
        index = int(front) + 1
        if index <= 0:
            raise PathError(f"invalid scope in key {key!r}: negative index")
        scoped.setdefault(index, {})[name] = value
    return [{**global_keys, **scoped.get(n, {})} for n in range(1, count + 1)]


def _build(steps: list[Any], scoped: list[Message], trusted: frozenset[int]) -> list[Any]:
    out: list[Any] = []
    for step, extra in zip(steps, scoped, strict=True):
        if isinstance(step, As) and isinstance(step.msg, dict) and step.msg.get("path") == "":
            out.append(As(step.device, _structured({**step.msg, **extra}, trusted)))
        elif isinstance(step, dict):
            out.append(_structured({**step, **extra}, trusted))
        else:
            # IDs, subresolutions and devices applied to a key take no extra keys.
            out.append(step)
    return out


# --- the structured@1.0 round trip upstream applies to each step -------------


def _structured(msg: Message, trusted: frozenset[int] = frozenset()) -> Message:
    """Normalize a step message as upstream's structured codec round trip does.

    Keys are lowercased, private and regenerated keys are dropped (a non-empty
    ``priv`` map is kept), ``ao-types`` is applied to the text values it types
    and removed, and keys holding their ``#tx{}`` default are dropped. Values
    in ``trusted`` (by identity: converted already) are kept as they are.
    """
    priv = msg.get("priv")
    out = _codec_roundtrip({k: v for k, v in msg.items() if k != "priv"}, trusted)
    if isinstance(priv, dict) and priv:
        out["priv"] = priv
    return out


def _normalized(msg: Message) -> Message:
    ordered: list[tuple[str, str, Any]] = []
    for key, value in msg.items():
        try:
            name = normalize_key(key)
        except TypeError as exc:
            raise PathError(str(exc)) from None
        ordered.append((name, key if isinstance(key, str) else repr(key), value))
    ordered.sort(key=lambda entry: (entry[0], entry[1]))
    return {name: value for name, _, value in ordered}


def _codec_roundtrip(msg: Message, trusted: frozenset[int] = frozenset()) -> Message:
    norm = {
        key: _roundtrip_value(value, trusted)
        for key, value in _normalized(msg).items()
        if key not in _REGEN_KEYS and not is_private(key)
    }
    if structured.AO_TYPES not in norm:
        # What to_message does to a message without types: binaries as text
        # when they are UTF-8, transaction defaults dropped.
        plain = {k: structured.binary_out(v) if type(v) is bytes else v for k, v in norm.items()}
        return structured.filter_default_keys(plain)
    try:
        return structured.to_message(norm, deep=False)
    except CodecError as exc:
        raise PathError(exc.reason) from None


def _roundtrip_value(value: Any, trusted: frozenset[int]) -> Any:
    if id(value) in trusted:
        return value
    if isinstance(value, dict):
        if not value or (len(value) == 1 and "priv" in value):
            return {}
        return _codec_roundtrip(value, trusted)
    if isinstance(value, list):
        return [_roundtrip_value(item, trusted) for item in value]
    return value


# --- to: messages -> request message ------------------------------------------


def to(messages: list[Any]) -> Message:
    """A singleton request message for a list of messages: the inverse of
    :func:`from_request` for the forms it can express.

    Keys found in a single message become ``N.key`` (``N.key+integer`` for
    integers, ``N.key+resolve`` for subresolutions); keys in more than one
    message, and ``method``, stay global (the last value wins).
    Upstream: hb_singleton:to/1.
    """
    out: Message = {}
    scopes: dict[str, list[int]] = {}
    for index, message in enumerate(messages):
        if isinstance(message, bytes) and len(message) == 32:
            _append_path(out, human_id(message))
        elif isinstance(message, str) and is_id(message):
            _append_path(out, message)
        elif isinstance(message, Subresolve):
            _append_path(out, f"({_subpath(message)[1:]})")
        elif isinstance(message, dict):
            for key in _sorted_keys(message):
                value = message[key]
                if key == "path":
                    _append_path(out, _text(value, "path"))
                elif key == "method":
                    out["method"] = value
                else:
                    name = key
                    if isinstance(value, Subresolve):
                        name, value = f"{key}+resolve", _subpath(value)
                    out[name] = value
                    scopes.setdefault(name, []).append(index)
        else:
            raise PathError(f"cannot express {type(message).__name__} in a singleton path")
    for key, indexes in scopes.items():
        if len(indexes) != 1:
            continue
        value = out.pop(key)
        if type(value) is int:
            out[f"{indexes[0]}.{key}+integer"] = str(value)
        else:
            out[f"{indexes[0]}.{key}"] = value
    return out


def _subpath(sub: Subresolve) -> str:
    path = to(sub.messages).get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise PathError("a subresolution needs at least one path part")
    return path


def _append_path(msg: Message, part: str) -> None:
    msg["path"] = f"{msg['path']}/{part}" if "path" in msg else f"/{part}"


# --- helpers ------------------------------------------------------------------


def _byte_length(text: str) -> int:
    return len(_utf8(text))


def _utf8(text: str) -> bytes:
    """``text`` as bytes (bytes that arrived as non-UTF-8 come back as they
    were). Text holding other lone surrogates (only a caller's ``str`` can)
    is refused. Found by tests/property/test_fuzz_path.py: UnicodeEncodeError."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise PathError(f"path text is not UTF-8 (a lone surrogate) in {_show(text)}") from None


def _show(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
