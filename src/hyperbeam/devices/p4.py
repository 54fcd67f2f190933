"""``p4@1.0``: payments for a node's services, run from its hooks.

Set as both the ``request`` and the ``response`` hook, with a
``pricing-device`` and a ``ledger-device`` (``on/request/device: p4@1.0``,
``on/request/pricing-device: simple-pay@1.0``...):

- ``request``: unless the request is on a non-chargeable route
  (``p4_non_chargable_routes``, router templates; by default
  ``/~p4@1.0/balance`` and ``/~meta@1.0/*``), the pricing device's
  ``estimate`` of it: ``infinity`` refuses it (400), 0 lets it through, a
  price asks the ledger's ``balance`` for the signer (``true`` or at least
  the price lets it through; less is a 429 with ``price`` and ``balance``).
- ``response``: the pricing device's ``price`` of the reply (else its
  estimate), then the ledger's ``debit`` of the signer by it, in a request
  the node signs (the node charges, not the user).
- ``balance``: the signer's balance, from the ledger of the request hook.

Pricing devices answer ``estimate`` (and ``price``) with ``request`` and
``body``; ledger devices ``balance`` (``target``, ``request``) and ``debit``
(``quantity``, ``account``, ``request``). Either may be a Lua module
(``lua@5.3a`` with the hook message's ``module``).

Upstream: dev_p4.erl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam import hooks
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices.router import match_routes
from hyperbeam.message import commit
from hyperbeam.message.model import Message, as_text

Opts = Mapping[str, Any]

#: Routes no one pays for, unless the node says otherwise.
DEFAULT_NON_CHARGABLE_ROUTES: list[Message] = [
    {"template": "/~p4@1.0/balance"},
    {"template": "/~meta@1.0/*"},
]


class P4Device(Device):
    name = "p4@1.0"
    VOLATILE = frozenset({"*"})

    @key("request")
    def request(self, state: Message, raw: Message, opts: Opts) -> Result:
        """Upstream: dev_p4:request/3."""
        messages, request = raw.get("body"), raw.get("request")
        pricing, ledger = state.get("pricing-device"), state.get("ledger-device")
        if not is_chargable(request, opts) or not pricing or not ledger:
            return "ok", {"body": messages}
        status, price = ao.resolve(
            {**state, "device": pricing},
            {"path": "estimate", "request": request, "body": messages},
            ao.internal_opts(opts),
        )
        if status != "ok":
            return "error", {"status": 500, "body": f"error calculating the price: {price}"}
        if price == "infinity":
            return "error", {
                "status": 400,
                "body": "Node will not service this request under any circumstances.",
            }
        if _number(price) == 0:
            return "ok", {"body": messages}
        status, balance = ao.resolve(
            {**state, "device": ledger},
            {"path": "balance", "target": _account(request), "request": request},
            ao.internal_opts(opts),
        )
        if status != "ok":
            return "error", {"status": 500, "body": "Error checking ledger balance."}
        if balance is True or balance == "infinity" or _number(balance) >= _number(price):
            return "ok", {"body": messages}
        return "error", {
            "status": 429,
            "body": "Insufficient funds",
            "price": price,
            "balance": balance,
        }

    @key("response")
    def response(self, state: Message, raw: Message, opts: Opts) -> Result:
        """Upstream: dev_p4:response/3."""
        reply, request = raw.get("body"), raw.get("request")
        pricing, ledger = state.get("pricing-device"), state.get("ledger-device")
        if not pricing or not ledger or not is_chargable(request, opts):
            return "ok", {"body": reply}
        internal = ao.internal_opts(opts)
        pricer = {**state, "device": pricing}
        status, price = ao.resolve(
            pricer, {"path": "price", "request": request, "body": reply}, internal
        )
        if status != "ok":
            status, price = ao.resolve(
                pricer, {"path": "estimate", "request": request, "body": reply}, internal
            )
        if status != "ok":
            return "error", price
        debit: Message = {
            "path": "debit",
            "quantity": price,
            "account": _account(request),
            "request": request,
        }
        wallet = opts.get("priv_wallet")
        if isinstance(wallet, Wallet):
            debit = commit.commit(debit, wallet)
        status, answer = ao.resolve({**state, "device": ledger}, debit, internal)
        if status != "ok":
            return "error", answer
        return "ok", {"body": reply}

    @key("balance")
    def balance(self, state: Message, req: Message, opts: Opts) -> Result:
        """The signer's balance, from the request hook's ledger.
        Upstream: dev_p4:balance/3."""
        node = opts.get("node")
        handlers = hooks.handlers("request", getattr(getattr(node, "config", None), "on", {}))
        if len(handlers) != 1:
            return "error", {"status": 404, "body": "No request hook found."}
        handler = handlers[0]
        ledger = handler.get("ledger-device")
        if not ledger:
            return "error", {"status": 404, "body": "The request hook names no ledger-device."}
        return ao.resolve(
            {**handler, "device": ledger},
            {"path": "balance", "request": req},
            ao.internal_opts(opts),
        )


def is_chargable(request: Any, opts: Opts) -> bool:
    """Whether a request is outside the non-chargeable routes.
    Upstream: dev_p4:is_chargable_req/2."""
    if not isinstance(request, dict):
        return True
    node = opts.get("node")
    extra = getattr(getattr(node, "config", None), "extra", {})
    routes = extra.get("p4_non_chargable_routes", DEFAULT_NON_CHARGABLE_ROUTES)
    path = as_text(request.get("path", ""))
    return match_routes({"path": path}, list(routes) if isinstance(routes, list) else []) is None


def _account(request: Any) -> Any:
    signers = commit.signers(request) if isinstance(request, dict) else []
    if len(signers) == 1:
        return signers[0]
    return signers or "unknown"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")
