"""``message@1.0``: the identity device, and the default of every message.

Any key not reserved here answers the value stored under it, looked up
case-insensitively; private keys (``priv*``) are never answered.

Commitment keys: ``id`` (selecting commitments with the request's
``committers``/``commitments``), ``commit`` (signing with the wallet in the
node options' ``priv_wallet``), ``committers``, ``committed`` and
``verify``; ``set`` drops the commitments of a message whose committed keys
it changes.

Upstream: dev_message.erl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam import authority
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import HyperbeamError, ResolutionError
from hyperbeam.message import commit as commit_api
from hyperbeam.message.commit import match
from hyperbeam.message.id import commitment_ids, message_id
from hyperbeam.message.model import UNSET, Message, normalize_key, normalize_keys
from hyperbeam.message.private import is_private, private_of, with_private
from hyperbeam.message.wire import derive

#: Keys this device reserves; ``set`` never writes them into a message.
DEVICE_KEYS = ("id", "commitments", "committers", "keys", "path", "set", "remove", "verify")


def deep_merge(base: Message, new: Message) -> Message:
    """Merge ``new`` into ``base``, recursing where both hold messages."""
    out = dict(base)
    for k, v in new.items():
        old = out.get(k)
        out[k] = deep_merge(old, v) if isinstance(old, dict) and isinstance(v, dict) else v
    return out


def public_keys(msg: Any) -> list[str]:
    msg = normalize_keys(msg)
    if not isinstance(msg, dict):
        raise TypeError(f"a {type(msg).__name__} has no keys")
    return [k for k in msg if not is_private(k)]


class MessageDevice(Device):
    """The identity device."""

    name = "message@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"default": self.get}

    def get(self, name: Any, msg: Message, req: Any = None, opts: Any = None) -> Result:
        """Any other key: its value, matched case-insensitively."""
        if name is None or is_private(name):
            return "error", "not_found"
        if name in msg:
            return "ok", msg[name]
        wanted = normalize_key(name)
        for k, v in msg.items():
            if normalize_key(k) == wanted:
                return "ok", v
        return "error", "not_found"

    @key("keys")
    def keys(self, msg: Message) -> Result:
        return "ok", public_keys(msg)

    @key("set")
    def set(self, msg: Message, req: Message) -> Result:
        """Merge the request's keys into the message (``unset`` removes a key)."""
        new_keys = [
            k
            for k in public_keys(req)
            if k not in DEVICE_KEYS and k != "set-mode" and req.get(k) is not None
        ]
        to_unset = {k for k in msg if req.get(k) is UNSET}
        base = {k: v for k, v in msg.items() if k not in to_unset}
        new_values = {k: req[k] for k in new_keys if req[k] is not UNSET}
        if req.get("set-mode") == "explicit":
            merged = {**base, **new_values}
        else:
            merged = deep_merge(base, new_values)
        merged = with_private(merged, private_of(msg))
        if "commitments" in msg and _overwrites_committed(msg, new_keys) and not match(merged, msg):
            # The committed values changed: the commitments no longer hold.
            return "ok", {k: v for k, v in merged.items() if k != "commitments"}
        # (A message that arrived signed keeps its wire: message.wire.)
        return "ok", derive(msg, merged)

    @key("set_path")
    def set_path(self, msg: Message, req: Message) -> Result:
        """Set ``path`` itself, which ``set`` cannot (it names the key to run)."""
        return "ok", {**msg, "path": req.get("value")}

    @key("remove")
    def remove(self, msg: Message, req: Message) -> Result:
        if "item" in req:
            items = [req["item"]]
        else:
            raw = req.get("items", [])
            items = list(normalize_keys(raw).values()) if isinstance(raw, dict) else list(raw)
        drop = {normalize_key(i) for i in items} | set(items)
        return "ok", {k: v for k, v in msg.items() if k not in drop}

    @key("id")
    def id(self, msg: Message, req: Message) -> Result:
        """The message's ID, counting the commitments the request selects
        with ``committers`` and ``commitments`` (by default, all of them).
        Upstream: dev_message:id/3."""
        return "ok", message_id(msg, req.get("committers", "none"), req.get("commitments"))

    @key("committers")
    def committers(self, msg: Message) -> Result:
        """The committer of every commitment. Upstream: dev_message:committers/3."""
        if not isinstance(msg, dict) or not isinstance(msg.get("commitments"), dict):
            return "ok", []
        return "ok", commit_api.committers(msg)

    @key("commit")
    def commit(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Sign the target with the node's wallet (``priv_wallet``), using
        the request's ``commitment-device`` or the node's
        ``commitment_device`` (``httpsig@1.0`` by default). Inside a node,
        only for the operator (upstream signs for anyone: the node would
        lend its identity). Upstream: dev_message:commit/3."""
        wallet = (opts or {}).get("priv_wallet")
        if not isinstance(wallet, Wallet):
            return "error", "no_viable_wallet"
        if not authority.may_sign_for(req, opts or {}):
            return "error", {
                "status": 403,
                "body": "the node signs messages given to it only for its operator",
            }
        base = commit_api.find_target(msg, req)
        device = req.get("commitment-device") or (opts or {}).get(
            "commitment_device", commit_api.DEFAULT_DEVICE
        )
        return "ok", commit_api.commit(base, wallet, str(device))

    @key("committed")
    def committed(self, msg: Message, req: Message) -> Result:
        """The keys every selected commitment covers.
        Upstream: dev_message:committed/3."""
        base = commit_api.find_target(msg, req)
        ids = commitment_ids(base, req.get("committers", "none"), req.get("commitments"))
        return "ok", commit_api.committed(base, ids)

    @key("verify")
    def verify(self, msg: Message, req: Message) -> Result:
        """Whether the commitments the request selects (by default, all of
        them, hmacs included) hold. Upstream: dev_message:verify/3."""
        base = commit_api.find_target(msg, req)
        if not isinstance(base, dict):
            return "error", "not_a_message"
        return "ok", commit_api.verify(
            base, req.get("committers", "none"), commitments=req.get("commitments")
        )


def set_keys(msg: Message, values: Message) -> Message:
    """``msg`` with ``values`` set as ``message@1.0`` sets them, without a
    resolution (so without a hashpath step). Upstream: dev_message:set/3."""
    status, result = MessageDevice().set(msg, values)
    if status != "ok":  # pragma: no cover - message@1.0 set does not fail
        raise ResolutionError(f"could not set {sorted(values)}: {result!r}")
    out: Message = result
    return out


def _overwrites_committed(msg: Message, new_keys: list[str]) -> bool:
    """Whether a ``set`` writes a key that the message's signed commitments
    cover. Upstream: the committed-keys check of dev_message:set/3."""
    try:
        covered = commit_api.committed(msg, commitment_ids(msg, "all"))
    except HyperbeamError:
        return True
    return any(normalize_key(k) in new_keys for k in covered)
