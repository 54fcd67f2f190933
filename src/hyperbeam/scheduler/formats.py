"""Schedule responses in the two forms clients read.

* the HTTP form (:func:`assignments_to_bundle`): one message of type
  ``schedule`` with the assignments under ``assignments/<slot>``;
* the legacy ``aos-2`` JSON form (:func:`to_aos2_json`): ``page_info`` plus
  ``edges`` of ``{cursor: slot, node: {message, assignment}}``, where both
  are aos JSON structs (dev_json_iface) and the assignment is shown
  without its body.

Upstream: dev_scheduler_formats (assignments_to_bundle/5,
assignments_to_aos2/4, cursor/2, assignment_to_aos2/2,
aos2_normalize_types/1). Reading aos-2 schedules back
(aos2_to_assignments/3) needs the gateway client and is not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hyperbeam.codecs.json import encode_json
from hyperbeam.message.ids import b64url_encode, human_id
from hyperbeam.message.json_struct import message_to_json_struct
from hyperbeam.message.model import Message

#: ``(timestamp, block height, block hash)`` as upstream's ar_timestamp:get/0.
TimeInfo = tuple[int, int, bytes | str]

#: What ar_timestamp gives in debug mode.
DEBUG_TIME: TimeInfo = (0, 0, bytes(32))

JSON_CONTENT_TYPE = "application/json"


def ordered(assignments: Sequence[Message] | Mapping[Any, Message]) -> list[Message]:
    """A map of slot -> assignment in slot order, or the list as given.
    Upstream: hb_util:message_to_ordered_list/1."""
    if isinstance(assignments, Mapping):
        return [assignments[k] for k in sorted(assignments, key=lambda k: int(k))]
    return list(assignments)


def assignments_to_bundle(
    process_id: str | bytes,
    assignments: Sequence[Message] | Mapping[Any, Message],
    more: bool,
    time_info: TimeInfo = DEBUG_TIME,
) -> Message:
    """The ``GET /schedule`` response as one message (HTTP form).
    Upstream: dev_scheduler_formats:assignments_to_bundle/5."""
    timestamp, height, block_hash = time_info
    return {
        "type": "schedule",
        "process": human_id(process_id),
        "continues": bool(more),
        "timestamp": int(timestamp),
        "block-height": int(height),
        "block-hash": human_id(block_hash),
        "assignments": {str(cursor(a)): a for a in ordered(assignments)},
    }


def cursor(assignment: Message) -> int:
    """An edge's cursor: the slot (mainnet ``ao.N.1`` assignments).
    Upstream: dev_scheduler_formats:cursor/2."""
    return int(assignment["slot"])


def assignment_to_aos2(assignment: Message) -> dict[str, Any]:
    """One edge's node: the body and the assignment without it, as aos JSON
    structs. Upstream: dev_scheduler_formats:assignment_to_aos2/2."""
    body = assignment["body"]
    without_body = {k: v for k, v in assignment.items() if k != "body"}
    return {
        "message": message_to_json_struct(body),
        "assignment": message_to_json_struct(without_body),
    }


def aos2_struct(
    process_id: str | bytes,
    assignments: Sequence[Message] | Mapping[Any, Message],
    more: bool,
    time_info: TimeInfo = DEBUG_TIME,
) -> dict[str, Any]:
    """The aos-2 page as a JSON-ready structure. Note the string-typed
    ``timestamp`` and ``block-height`` in ``page_info``, as upstream."""
    timestamp, height, block_hash = time_info
    return {
        "page_info": {
            "process": human_id(process_id),
            "has_next_page": bool(more),
            "timestamp": str(int(timestamp)),
            "block-height": str(int(height)),
            "block-hash": human_id(block_hash),
        },
        "edges": [
            {"cursor": cursor(a), "node": assignment_to_aos2(a)} for a in ordered(assignments)
        ],
    }


def to_aos2_json(
    assignments: Sequence[Message] | Mapping[Any, Message],
    process_id: str | bytes,
    more: bool = False,
    time_info: TimeInfo = DEBUG_TIME,
) -> bytes:
    """The aos-2 page encoded as JSON (upstream's hb_json:encode)."""
    return encode_json(aos2_struct(process_id, assignments, more, time_info))


def assignments_to_aos2(
    process_id: str | bytes,
    assignments: Sequence[Message] | Mapping[Any, Message],
    more: bool,
    time_info: TimeInfo = DEBUG_TIME,
) -> Message:
    """The aos-2 response message: ``content-type: application/json`` and
    the JSON body. Upstream: dev_scheduler_formats:assignments_to_aos2/4."""
    return {
        "content-type": JSON_CONTENT_TYPE,
        "body": to_aos2_json(assignments, process_id, more, time_info),
    }


def aos2_normalize_types(msg: Message) -> Message:
    """Integer ``timestamp``, ``epoch`` and ``slot`` (``slot`` from
    ``nonce`` when missing) and a zero ``block-hash`` when absent. The
    result no longer verifies. Upstream: dev_scheduler_formats:aos2_normalize_types/1."""
    out = dict(msg)
    for key in ("timestamp", "epoch", "slot"):
        if isinstance(out.get(key), str | bytes):
            out[key] = int(out[key])
    if "slot" not in out and isinstance(out.get("nonce"), str | bytes):
        out["slot"] = int(out["nonce"])
    if "block-hash" not in out:
        out["block-hash"] = b64url_encode(bytes(32))
    return out
