"""``simple-pay@1.0`` and ``faff@1.0``: pricing and ledger devices for
``p4@1.0``.

``simple-pay@1.0`` charges ``simple_pay_price`` (default 1) per message a
request resolves, the operator nothing:

- ``estimate``: the price of the hook's ``request``;
- ``balance``: a signer's balance (the ``request``'s signer, else the
  ``target``), in its smallest unit;
- ``debit``: takes ``quantity`` from the ``request``'s signer (429 when that
  leaves less than nothing: the balance then owes it);
- ``topup`` (the operator only): adds ``amount`` to ``recipient``.

Balances start from the ``simple_pay_ledger`` setting (address to amount) and
are kept in the node's store (``simple-pay/ledger/<address>``), so they
survive a restart.

``faff@1.0`` ("friends and family"): ``estimate`` is 0 for a request whose
signers are all in ``faff_allow_list``, else ``infinity``; ``debit`` charges
nothing.

Upstream: dev_simple_pay.erl, dev_faff.erl. Deviation: upstream keeps the
ledger in the node message, in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from hyperbeam import authority
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.singleton import from_request
from hyperbeam.message import commit
from hyperbeam.message.model import Message, as_text
from hyperbeam.store.base import Store

Opts = Mapping[str, Any]
LEDGER = "simple-pay/ledger"
_LOCK = threading.Lock()


class SimplePayDevice(Device):
    name = "simple-pay@1.0"
    VOLATILE = frozenset({"*"})

    @key("estimate")
    def estimate(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_simple_pay:estimate/3."""
        request = req.get("request")
        if authority.is_operator(request, opts):  # the request's own signers
            return "ok", 0
        messages = from_request(request) if isinstance(request, dict) else []
        return "ok", len(messages) * int(_number(_setting(opts, "simple_pay_price", 1)))

    @key("balance")
    def balance(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_simple_pay:balance/3."""
        request = req.get("request")
        if isinstance(request, dict):
            signers = commit.signers(request)
            target = signers[0] if signers else None
        else:
            signers = commit.signers(req) if "commitments" in req else []
            target = signers[0] if signers else req.get("target")
        if target is None:
            return "error", {"status": 400, "body": "whose balance? sign the request"}
        return "ok", balance_of(as_text(target), opts)

    @key("debit")
    def debit(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_simple_pay:debit/3."""
        request = req.get("request")
        signers = commit.signers(request) if isinstance(request, dict) else []
        if len(signers) != 1:
            return "ok", False
        price = int(_number(req.get("quantity", 0)))
        with _LOCK:
            before = balance_of(signers[0], opts)
            after = before - price
            _write(signers[0], after, opts)
        if after >= 0:
            return "ok", True
        return "error", {
            "status": 429,
            "body": f"Insufficient funds. User balance before debit: {before}. "
            f"Price of request: {price}. New balance: {after}.",
        }

    @key("topup")
    def topup(self, msg: Message, req: Message, opts: Opts) -> Result:
        """The operator adds ``amount`` to ``recipient``.
        Upstream: dev_simple_pay:topup/3."""
        if not authority.is_operator(req, opts):
            return "error", {"status": 403, "body": "Unauthorized"}
        recipient = req.get("recipient")
        if not isinstance(recipient, str | bytes):
            return "error", {"status": 400, "body": "a topup needs a recipient"}
        amount = int(_number(req.get("amount", 0)))
        with _LOCK:
            after = balance_of(as_text(recipient), opts) + amount
            _write(as_text(recipient), after, opts)
        return "ok", after


class FaffDevice(Device):
    name = "faff@1.0"
    VOLATILE = frozenset({"*"})

    @key("estimate")
    def estimate(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_faff:estimate/3."""
        allowed = _setting(opts, "faff_allow_list", [])
        allowed = {as_text(a) for a in (allowed if isinstance(allowed, list) else [allowed])}
        request = req.get("request")
        signers = commit.signers(request) if isinstance(request, dict) else []
        return "ok", 0 if all(s in allowed for s in signers) else "infinity"

    @key("debit")
    def debit(self) -> Result:
        return "ok", True


def balance_of(address: str, opts: Opts) -> int:
    """An address's balance: kept in the store, else the ``simple_pay_ledger``
    setting's, else 0."""
    store = _store(opts)
    raw = store.read(f"{LEDGER}/{address}") if store is not None else None
    if raw is not None:
        return int(raw)
    ledger = _setting(opts, "simple_pay_ledger", {})
    return int(_number(ledger.get(address, 0))) if isinstance(ledger, dict) else 0


def _write(address: str, amount: int, opts: Opts) -> None:
    store = _store(opts)
    if store is None:
        raise ValueError("simple-pay keeps balances in the node's store, and there is none")
    store.write(f"{LEDGER}/{address}", str(amount).encode())


def _store(opts: Opts) -> Store | None:
    store = opts.get("store")
    only = getattr(store, "only", None)
    local = only("local") if callable(only) else store
    return local if isinstance(local, Store) else None


def _setting(opts: Opts, name: str, default: Any) -> Any:
    if name in opts:
        return opts[name]
    extra = getattr(getattr(opts.get("node"), "config", None), "extra", {})
    return extra.get(name, default)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
