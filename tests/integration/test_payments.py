"""Payments over HTTP (issue 14, item 4): ``p4@1.0`` run from a node's hooks
with ``faff@1.0`` and ``simple-pay@1.0``, and with upstream's Lua ledger
(scripts/p4-payment-process.lua as a node process, p4-payment-client.lua as
the ledger device). Each test names the upstream test it follows
(dev_p4.erl, dev_simple_pay.erl)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.store.remote import signed_request
from tests.conftest import LocalNode

UPSTREAM = Path(__file__).parents[1] / "vectors" / "lua" / "upstream"


def p4(pricing: str, ledger: str, **extra: Any) -> dict[str, Any]:
    processor = {"device": "p4@1.0", "pricing-device": pricing, "ledger-device": ledger, **extra}
    return {"request": processor, "response": processor}


def get_signed(node: LocalNode, path: str, wallet: Wallet, **keys: Any) -> httpx.Response:
    headers, _ = signed_request({"path": path, **keys}, wallet)  # (all in headers)
    return httpx.get(f"{node.url}{path}", headers=headers)


def post_signed(node: LocalNode, path: str, wallet: Wallet, **keys: Any) -> httpx.Response:
    headers, body = signed_request({"path": path, "method": "POST", **keys}, wallet)
    return httpx.post(f"{node.url}{path}", headers=headers, content=body)


def test_faff_serves_only_its_friends(tmp_path: Path) -> None:
    """faff_test."""
    good, bad = Wallet.generate(), Wallet.generate()
    node = LocalNode(
        tmp_path / "data", on=p4("faff@1.0", "faff@1.0"), faff_allow_list=[good.address]
    ).start()
    try:
        res = get_signed(node, "/greeting", good, greeting="Hello, world!")
        assert (res.status_code, res.text) == (200, "Hello, world!")
        refused = get_signed(node, "/greeting", bad, greeting="Hello, world!")
        assert refused.status_code == 400
        assert "will not service" in refused.text
    finally:
        node.stop()


def test_non_chargable_routes_are_free(tmp_path: Path) -> None:
    """non_chargable_route_test."""
    user = Wallet.generate()
    node = LocalNode(
        tmp_path / "data",
        on=p4("simple-pay@1.0", "simple-pay@1.0"),
        p4_non_chargable_routes=[
            {"template": "/~p4@1.0/balance"},
            {"template": "/~meta@1.0/*/*"},
        ],
    ).start()
    try:
        res = get_signed(node, "/~p4@1.0/balance", user)
        assert (res.status_code, res.text) == (200, "0")
        res = get_signed(node, "/~meta@1.0/info/operator", user)
        assert (res.status_code, res.text) == (200, node.node.address)
        res = get_signed(node, "/~scheduler@1.0", user)
        assert res.status_code == 429
        assert res.headers["balance"] == "0"
    finally:
        node.stop()


def test_balance_and_top_up(tmp_path: Path) -> None:
    """get_balance_and_top_up_test: a request of two messages costs 20."""
    client = Wallet.generate()
    node = LocalNode(
        tmp_path / "data",
        on=p4("simple-pay@1.0", "simple-pay@1.0"),
        simple_pay_ledger={client.address: 100},
        simple_pay_price=10,
    ).start()
    operator = node.node.wallet
    assert operator is not None
    try:
        # The balance is read before the request is charged.
        assert get_signed(node, "/~simple-pay@1.0/balance", client).text == "100"
        # The operator's top-up costs nothing: 100 - 20 + 100.
        res = post_signed(
            node, "/~simple-pay@1.0/topup", operator, amount=100, recipient=client.address
        )
        assert (res.status_code, res.text) == (200, "180")
        assert get_signed(node, "/~simple-pay@1.0/balance", client).text == "180"
        stranger = post_signed(
            node, "/~simple-pay@1.0/topup", client, amount=1000, recipient=client.address
        )
        assert stranger.status_code == 403
    finally:
        node.stop()


def test_a_paid_request_is_refused_without_balance_and_served_after_a_top_up(
    tmp_path: Path,
) -> None:
    user = Wallet.generate()
    node = LocalNode(
        tmp_path / "data", on=p4("simple-pay@1.0", "simple-pay@1.0"), simple_pay_price=5
    ).start()
    operator = node.node.wallet
    assert operator is not None
    try:
        refused = get_signed(node, "/greeting", user, greeting="hi")
        assert refused.status_code == 429
        assert (refused.headers["price"], refused.headers["balance"]) == ("10", "0")
        post_signed(node, "/~simple-pay@1.0/topup", operator, amount=15, recipient=user.address)
        served = get_signed(node, "/greeting", user, greeting="hi")
        assert (served.status_code, served.text) == (200, "hi")
        assert get_signed(node, "/~p4@1.0/balance", user).text == "5"  # 15 - 10, free to ask
    finally:
        node.stop()
    # Balances are kept: a restart remembers them.
    again = LocalNode(
        tmp_path / "data", on=p4("simple-pay@1.0", "simple-pay@1.0"), simple_pay_price=5
    ).start()
    try:
        assert get_signed(again, "/~p4@1.0/balance", user).text == "5"
    finally:
        again.stop()


def test_lua_ledger(tmp_path: Path) -> None:
    """lua_pricing_test: upstream's Lua ledger, as a node process, behind a Lua
    ledger device; the operator's credit-notice funds the client."""
    client = Wallet.generate()
    data = tmp_path / "data"
    data.mkdir()
    operator = Wallet.generate()
    operator.save(data / "wallet.json")  # the node's own key, made before it starts
    lua = {"content-type": "text/x-lua"}
    node = LocalNode(
        data,
        on=p4(
            "simple-pay@1.0",
            "lua@5.3a",
            module={**lua, "name": "scripts/p4-payment-client.lua",
                    "body": (UPSTREAM / "p4-payment-client.lua").read_bytes()},
            **{"ledger-path": "/ledger~node-process@1.0"},
        ),
        p4_non_chargable_routes=[{"template": "/*~node-process@1.0/*"}],
        node_processes={
            "ledger": {
                "device": "process@1.0",
                "execution-device": "lua@5.3a",
                "scheduler-device": "scheduler@1.0",
                "module": {**lua, "name": "scripts/p4-payment-process.lua",
                           "body": (UPSTREAM / "p4-payment-process.lua").read_bytes()},
                "operator": operator.address,
            }
        },
    ).start()  # fmt: skip
    try:
        refused = get_signed(node, "/greeting", client, greeting="Hello, world!")
        assert refused.status_code >= 400, refused.text
        notice = commit.commit(
            {"path": "credit-notice", "quantity": 100, "recipient": client.address}, operator
        )
        res = post_signed(node, "/ledger~node-process@1.0/schedule", operator, body=notice)
        assert res.status_code == 200, res.text
        served = get_signed(node, "/greeting", client, greeting="Hello, world!")
        assert (served.status_code, served.text) == (200, "Hello, world!")
        balance = httpx.get(f"{node.url}/ledger~node-process@1.0/now/balance/{client.address}")
        assert balance.text == "98", balance.text
    finally:
        node.stop()
