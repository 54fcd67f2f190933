"""Signed assignments and the hash chain that links them.

An assignment puts one message at one slot of a process's schedule. Its keys
are upstream's (dev_scheduler_server:do_assign/3):

``path``            the message's request path as parts, or ``compute``;
``data-protocol``   ``ao``;  ``variant`` ``ao.N.1``;  ``epoch`` ``0``;
``process``         the process ID (human form);
``slot``            the slot, an integer counted from 0;
``block-height``, ``block-hash``, ``block-timestamp``
                    the Arweave block the scheduler last saw;
``timestamp``       the scheduler's local time in milliseconds;
``hash-chain``      ``sha256(previous chain ++ message ID)`` in human form;
``body``            the message itself.

The message ID in the chain is ``hb_message:id(Message, all)`` in its
43-character human form, hashed as text; the first link uses an empty
previous chain.

**Deviation:** upstream's server keeps the previous link as the raw 32-byte
digest while it runs but, after a restart, reads it back from the stored
assignment as its 43-character text, so chains that cross a restart are
computed differently. Here the previous link is always the raw digest (the
stored text decoded), so every chain can be checked by :func:`verify_chain`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hyperbeam.ao.path import term_to_path_parts
from hyperbeam.codecs.structured import Tabm
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id, native_id, sha256
from hyperbeam.message.model import Message

#: The assignment variant of mainnet schedules.
VARIANT = "ao.N.1"

#: The block hash ``ar_timestamp`` reports in debug mode: 32 zero bytes.
ZERO_HASH = bytes(32)


def next_hash_chain(previous: bytes | str, message: Message) -> bytes:
    """The next link of the chain: ``sha256(previous ++ ID(message, all))``.

    ``previous`` is the raw digest of the prior link, its human form (as
    stored in an assignment's ``hash-chain``) or empty for slot 0.
    Upstream: dev_scheduler_server:next_hashchain/2.
    """
    prev = _chain_bytes(previous)
    msg_id = commit.id(message, "all")
    return sha256(prev + msg_id.encode("ascii"))


def _chain_bytes(value: bytes | str) -> bytes:
    if value in (b"", ""):
        return b""
    return native_id(value)


def _request_path(message: Message) -> Any:
    """Upstream: hb_path:from_message(request, Msg), ``compute`` when absent."""
    for key in ("path", "Path"):
        if key in message:
            parts = term_to_path_parts(message[key])
            return parts if parts is not None else "compute"
    return "compute"


def make_assignment(
    process_id: str | bytes,
    slot: int,
    message: Message,
    previous: Message | bytes | str | None,
    wallet: Wallet,
    **fields: Any,
) -> Message:
    """The signed assignment of ``message`` to ``slot`` of ``process_id``
    (see :func:`sign_assignment`)."""
    return sign_assignment(process_id, slot, message, previous, wallet, **fields)[0]


def sign_assignment(
    process_id: str | bytes,
    slot: int,
    message: Message,
    previous: Message | bytes | str | None,
    wallet: Wallet,
    *,
    timestamp: int | None = None,
    block_height: int = 0,
    block_hash: bytes | str = ZERO_HASH,
    block_timestamp: int = 0,
    hash_chain: bytes | None = None,
) -> tuple[Message, Tabm]:
    """The signed assignment of ``message`` to ``slot`` of ``process_id``,
    and the same as a TABM.

    ``previous`` is the assignment at ``slot - 1`` (or its ``hash-chain``
    value, raw or human), or ``None``/empty for the first slot. A caller
    that has already computed this link (:func:`next_hash_chain`) passes
    it as ``hash_chain`` and ``previous`` is then not used.
    ``timestamp`` defaults to the local time in milliseconds; the block
    values default to what upstream's ``ar_timestamp`` gives in debug mode.
    Upstream: dev_scheduler_server:do_assign/3.
    """
    if slot < 0:
        raise ValueError(f"slot must be >= 0, not {slot}")
    chain = hash_chain if hash_chain is not None else next_hash_chain(_link(previous), message)
    unsigned: Message = {
        "path": _request_path(message),
        "data-protocol": "ao",
        "variant": VARIANT,
        "process": human_id(process_id),
        "epoch": "0",
        "slot": slot,
        "block-height": block_height,
        "block-hash": human_id(block_hash),
        "block-timestamp": block_timestamp,
        "timestamp": int(time.time() * 1000) if timestamp is None else timestamp,
        "hash-chain": human_id(chain),
        "body": message,
    }
    return commit.commit_tabm(unsigned, wallet)


def _link(previous: Message | bytes | str | None) -> bytes | str:
    if previous is None:
        return b""
    if isinstance(previous, dict):
        return _text(previous["hash-chain"])
    return previous


def verify_chain(
    assignments: Sequence[Message],
    previous: bytes | str = b"",
    *,
    signatures: bool = True,
) -> bool:
    """Whether ``assignments`` form one unbroken schedule.

    Slots must run consecutively (from 0 when ``previous`` is empty), every
    ``hash-chain`` must follow from the previous link and the ``body``'s
    ID, all must name the same process and, with ``signatures``, every
    assignment's signatures must verify. ``previous`` is the link before
    the first assignment given (for checking a page of a schedule).
    """
    prev = previous
    expected: int | None = 0 if prev in (b"", "") else None
    process: str | None = None
    for assignment in assignments:
        try:
            slot = int(assignment["slot"])
            body = assignment["body"]
            stated = _text(assignment["hash-chain"])
            proc = _text(assignment["process"])
        except (KeyError, TypeError, ValueError):
            return False
        if expected is not None and slot != expected:
            return False
        if process is not None and proc != process:
            return False
        if not isinstance(body, dict):
            return False
        try:
            if human_id(next_hash_chain(prev, body)) != stated:
                return False
        except ValueError:
            return False
        if signatures and not (commit.signers(assignment) and commit.verify(assignment)):
            return False
        prev, expected, process = stated, slot + 1, proc
    return True


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
