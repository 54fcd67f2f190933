"""Who may act for the node: its operator and its cache writers.

Upstream grants authority to any signer of the request message
(dev_meta:is/3, dev_cache:is_trusted_writer/2). Since the node itself signs
messages for anyone (``/commit``, every reply under ``force_signed``, the
messages it pushes), and since by default the node's own address is the
operator, a message the node signed for an attacker could be replayed as an
operator's request. So this node grants authority more narrowly:

- only a request that arrived over HTTP carries authority, computed once at
  the edge (:func:`request_authority`) and passed to devices in the
  resolution options under ``authority``; a message referenced by ID or
  built during the resolution never does;
- a signature grants authority only when it covers the request's ``path``
  (the path the request was sent to is the action being authorised) and
  not a ``status`` (a reply's signature: every reply the node signs carries
  its status, and a client's request has none);
- the node never signs a ``path`` that someone else chose outside a reply:
  the messages it pushes are signed without one, and ``/commit`` signs only
  for the operator (:func:`may_sign_for`).

Resolutions the node starts itself (cron, process workers) have an empty
``authority``. Options without the key (a device used as a library, outside
a node) fall back to the signers of the request message.

Upstream (May 2025) has none of these checks, and does not verify a
request's signatures before reading its signers either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.model import Message

#: An ``operator`` setting that lets anyone claim the node.
UNCLAIMED = "unclaimed"

#: The key of the resolution options holding the request's authority.
KEY = "authority"


def request_authority(request: Message) -> frozenset[str]:
    """The signers of ``request`` whose signatures cover its ``path`` and no
    ``status`` (every signature must: a signer of only some keys grants
    nothing)."""
    try:
        signers = commit.signers(request)
        if not signers:
            return frozenset()
        covered = commit.committed(request)
    except ValueError:
        return frozenset()
    if "path" not in covered or "status" in covered:
        return frozenset()
    return frozenset(signers)


def signers_of(req: Any, opts: Mapping[str, Any]) -> frozenset[str]:
    """Who is asking: the request's authority when the node computed it,
    else (outside a node) the request message's signers."""
    granted = opts.get(KEY)
    if isinstance(granted, frozenset):
        return granted
    if not isinstance(req, dict) or "commitments" not in req:
        return frozenset()
    try:
        return frozenset(commit.signers(req))
    except ValueError:
        return frozenset()


def operator_of(opts: Mapping[str, Any]) -> str:
    """The operator's address: the ``operator`` setting, else the node's
    own wallet, else :data:`UNCLAIMED`."""
    node = opts.get("node")
    configured = getattr(getattr(node, "config", None), "operator", "") or opts.get("operator")
    if isinstance(configured, str) and configured:
        return configured
    address = getattr(opts.get("priv_wallet"), "address", None)
    return address if isinstance(address, str) else UNCLAIMED


def is_operator(req: Any, opts: Mapping[str, Any]) -> bool:
    """Whether the request may act as the operator. Upstream: dev_meta:is/3
    (``admin``), with the narrowing above."""
    operator = operator_of(opts)
    return operator == UNCLAIMED or operator in signers_of(req, opts)


def cache_writers(opts: Mapping[str, Any]) -> list[str]:
    """Who may write to the cache: ``cache_writers`` (a list, or the node's
    comma-separated setting), else the operator. Upstream: ``cache_writers``."""
    writers: Any = opts.get("cache_writers")
    if writers is None:
        node = opts.get("node")
        setting = getattr(getattr(node, "config", None), "cache_writers", "")
        writers = [w.strip() for w in setting.split(",") if w.strip()] if setting else None
    if writers is None:
        operator = operator_of(opts)
        return [] if operator == UNCLAIMED else [operator]
    if isinstance(writers, str | bytes):
        writers = [writers]
    return [_text(w) for w in _as_list(writers) if w]


def is_cache_writer(req: Any, opts: Mapping[str, Any]) -> bool:
    """Whether the request may write to the cache.
    Upstream: dev_cache:is_trusted_writer/2, with the narrowing above."""
    trusted = set(cache_writers(opts))
    return any(signer in trusted for signer in signers_of(req, opts))


def may_sign_for(req: Any, opts: Mapping[str, Any]) -> bool:
    """Whether the node signs a message a request gave it (``/commit``):
    inside a node only for the operator; outside one (no ``authority`` in
    the options) whenever there is a wallet."""
    return KEY not in opts or is_operator(req, opts)


def request_id(req: Any) -> str | None:
    """The ID of a signed request (all its commitments), to record who
    changed what (``node_history``); ``None`` for an unsigned one."""
    try:
        return human_id(commit.id(req, "all")) if commit.signers(req) else None
    except (ValueError, HyperbeamError):
        return None


def without_path(msg: Message) -> Message:
    """``msg`` as the node may sign it for someone else outside a reply:
    without ``path``."""
    if "path" not in msg:
        return msg
    return {k: v for k, v in msg.items() if k != "path"}


def _as_list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list | tuple | set | frozenset) else [value]


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)
