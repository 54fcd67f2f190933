"""``patch@1.0``: move messages from one path of a message to another.

The device runs in two modes:

``all``
    Move everything found at the source path to the destination path.
``patches``
    Move only the submessages of the source whose ``method`` is ``PATCH`` or
    whose ``device`` is ``patch@1.0`` (their ``method`` key dropped); the
    others stay at the source.

The source and destination paths are found, in order, at the ``patch-X``
key of the request, ``patch-X`` of the base, ``X`` of the request and ``X``
of the base (``X`` being ``from`` or ``to``), defaulting to ``/``. A source
path may start with ``base:`` or ``req:`` to read from the base or the
request message; unprefixed, it reads from the base. The result is the
message the source was read from, with its source replaced and the patches
written at the destination.

The device also serves the execution-device hooks (``init``, ``normalize``,
``snapshot`` return the base; ``compute`` runs ``patches``), so it can sit
in a process's execution stack.

Upstream: dev_patch.erl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from hyperbeam.ao import path as hb_path
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.message.model import UNSET, Message, normalize_keys
from hyperbeam.message.private import strip_private

Mode = Literal["all", "patches"]

#: The placeholder written at the source before its new value, so that the
#: new value replaces the old one rather than being merged into it.
PATCH_ERROR = "patch-error"


class PatchDevice(Device):
    """Moves messages between paths of a message. Upstream: dev_patch.erl."""

    name = "patch@1.0"

    @key("init")
    def init(self, msg: Message) -> Result:
        """Upstream: dev_patch:init/3."""
        return "ok", msg

    @key("normalize")
    def normalize(self, msg: Message) -> Result:
        """Upstream: dev_patch:normalize/3."""
        return "ok", msg

    @key("snapshot")
    def snapshot(self, msg: Message) -> Result:
        """Upstream: dev_patch:snapshot/3."""
        return "ok", msg

    @key("compute")
    def compute(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Apply the ``PATCH`` messages of the source. Upstream: dev_patch:compute/3."""
        return move("patches", msg, req, opts)

    @key("all")
    def all_(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Move everything at the source to the destination. Upstream: dev_patch:all/3."""
        return move("all", msg, req, opts)

    @key("patches")
    def patches(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Move the ``PATCH`` messages of the source to the destination.
        Upstream: dev_patch:patches/3."""
        return move("patches", msg, req, opts)


def _find_path(name: str, msg: Message, req: Message, opts: Mapping[str, Any]) -> Any:
    """``patch-<name>`` then ``<name>``, of the request then the base; else ``/``."""
    return ao.get_first(
        [
            (req, f"patch-{name}"),
            (msg, f"patch-{name}"),
            (req, name),
            (msg, name),
        ],
        opts,
        default="/",
    )


def _source_of(raw: Any, msg: Message, req: Message) -> tuple[Message, str]:
    """The message to read the source from, and the path within it.

    A first path part of ``base:<key>`` or ``req:<key>`` picks the base or
    the request; otherwise the source is read from the base.
    """
    parts = hb_path.term_to_path_parts(raw)
    from_msg, from_parts = msg, raw
    if parts and isinstance(parts[0], str):
        prefix, sep, rest = parts[0].partition(":")
        if sep and prefix == "base":
            from_msg, from_parts = msg, [rest, *parts[1:]]
        elif sep and prefix == "req":
            from_msg, from_parts = req, [rest, *parts[1:]]
    return from_msg, hb_path.to_binary(from_parts) or "/"


def _is_patch(sub: Any, opts: Mapping[str, Any]) -> bool:
    """Is ``sub`` a patch: a ``PATCH`` method, or the ``patch@1.0`` device?"""
    if not isinstance(sub, dict):
        return False
    return bool(
        ao.get("method", sub, opts) == "PATCH" or ao.get("device", sub, opts) == "patch@1.0"
    )


def move(mode: Mode, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
    """Move the source of ``msg``/``req`` to its destination, in ``mode``.

    Upstream: dev_patch:move/4.
    """
    from_msg, patch_from = _source_of(_find_path("from", msg, req, opts), msg, req)
    patch_to = _find_path("to", msg, req, opts)
    status, source = ao.resolve(from_msg, patch_from, opts)
    if status != "ok":
        return status, source
    if isinstance(source, dict):
        # Not the resolution's hashpath: only the source's own keys move.
        source = strip_private(source)
    to_write: Any
    new_source: Any
    if mode == "all":
        to_write, new_source = source, UNSET
    else:
        if not isinstance(source, dict):
            return "error", {"status": 400, "body": f"patch source {patch_from} is not a message"}
        entries = normalize_keys(source)
        patches = {k: v for k, v in sorted(entries.items()) if _is_patch(v, opts)}
        new_source = {k: v for k, v in entries.items() if k not in patches}
        merged: Any = {}
        for patch in patches.values():
            merged = ao.set_message(merged, {k: v for k, v in patch.items() if k != "method"}, opts)
        to_write = merged
    # Replace the source first, so that the new value is not merged into the old.
    without_source = ao.set_key(from_msg, patch_from, PATCH_ERROR, opts)
    with_new_source = ao.set_key(without_source, patch_from, new_source, opts)
    return "ok", ao.set_key(with_new_source, patch_to, to_write, opts)
