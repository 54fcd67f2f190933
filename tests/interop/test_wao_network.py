"""WAO's relay, faff, simple-pay and router cases against our nodes.

tests/js/wao_network.mjs runs the cases of weavedb/wao's
test/hyperbeam/{relay,faff,simple-pay,router}.test.js with the published
client (npm wao 0.35.7, ``HB``) against ``hyperbeam serve`` processes
configured as WAO's harness configures its nodes (``on`` request and
response hooks with ``p4@1.0``, the operator paying nothing). The relay's
target is a node answering ``{"version": 1}`` as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from tests.conftest import RunningNode, start_node, stop_node
from tests.interop.js import run_script


def p4(pricing: str, ledger: str) -> dict[str, Any]:
    processor = {"device": "p4@1.0", "pricing-device": pricing, "ledger-device": ledger}
    return {"request": processor, "response": processor}


def node_with(
    tmp: Path, name: str, settings: dict[str, Any], wallet: Wallet | None = None
) -> RunningNode:
    home = tmp / name
    (home / "data").mkdir(parents=True)
    if wallet is not None:  # the node's own key, when the config must name it
        wallet.save(home / "data" / "wallet.json")
    config = home / "config.json"
    config.write_text(json.dumps(settings))
    return start_node(home, "--config", str(config))


def jwk(node: RunningNode) -> dict[str, str]:
    return Wallet.load(node.data_dir / "wallet.json").to_jwk()


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("wao-network")
    allowed, disallowed, user, stranger = (Wallet.generate() for _ in range(4))
    plain = node_with(tmp, "plain", {})
    faff_operator = Wallet.generate()
    faff = node_with(
        tmp,
        "faff",
        {
            "on": p4("faff@1.0", "faff@1.0"),
            "faff_allow_list": [faff_operator.address, allowed.address],
        },
        faff_operator,
    )
    pay = node_with(
        tmp,
        "pay",
        {
            "on": p4("simple-pay@1.0", "simple-pay@1.0"),
            "simple_pay_price": 2,
            "p4_non_chargable_routes": [
                {"template": "/~simple-pay@1.0/balance"},
                {"template": "/~meta@1.0/*"},
            ],
        },
    )
    nodes = [plain, faff, pay]
    try:
        # The relay's target: a message {version: 1} the plain node serves as JSON.
        status, written = client.post(
            plain.url,
            commit.commit(
                {"path": "/~cache@1.0/write", "method": "POST", "body": {"version": 1}},
                Wallet.load(plain.data_dir / "wallet.json"),
            ),
        )
        assert status == "ok", written
        result: dict[str, Any] = run_script(
            "wao_network.mjs",
            {
                "relay": {
                    "url": plain.url,
                    "target": f"{plain.url}/{written['path']}/~json@1.0/serialize",
                },
                "faff": {
                    "url": faff.url,
                    "operator": jwk(faff),
                    "allowed": allowed.to_jwk(),
                    "disallowed": disallowed.to_jwk(),
                },
                "pay": {"url": pay.url, "operator": jwk(pay), "user": user.to_jwk()},
                "router": {"url": plain.url, "operator": jwk(plain), "stranger": stranger.to_jwk()},
            },
            package="wao",
            timeout=240,
        )
        assert "error" not in result, result
        yield result
    finally:
        for node in nodes:
            stop_node(node)


def test_relay_call_and_cast(observed: dict[str, Any]) -> None:
    relay = observed["relay"]
    assert relay["call"]["version"] == 1
    assert relay["cast"] == "OK"


def test_faff_serves_its_allow_list(observed: dict[str, Any]) -> None:
    faff = observed["faff"]
    assert faff["get"] == [True, True, True]  # unsigned GETs: no one to refuse
    operator, allowed, disallowed = faff["post"]
    assert "ok" in operator and "ok" in allowed and "rejected" in disallowed, faff
    addresses = faff["addresses"]
    assert faff["list"] == [addresses["operator"], addresses["allowed"]]
    # The operator takes the allowed user off the list: refused from then on.
    assert faff["list2"] == [addresses["operator"]]
    assert "rejected" in faff["after"], faff


def test_simple_pay_charges_per_message(observed: dict[str, Any]) -> None:
    pay = observed["pay"]
    assert pay["balances"] == ["15", "9", "0"], pay
    assert "ok" in pay["first"] and "ok" in pay["second"], pay
    assert (pay["price"], pay["price2"]) == (2, 3)
    assert "rejected" in pay["third"], pay


def test_router_routes_and_owners(observed: dict[str, Any]) -> None:
    router = observed["router"]
    assert router["info"]["api"]["info"]["description"] == "Get device info"
    assert all(k in router["info"]["api"] for k in ("routes", "route", "match", "preprocess"))
    assert router["added"] == "Route added."
    assert any(r.get("node") == "new-server" for r in _routes(router["routes"]))
    ordered = [r for r in _routes(router["ordered"]) if "priority-test" in str(r.get("template"))]
    assert [r["node"] for r in ordered] == ["high", "low"]
    assert "rejected" in router["stranger"]
    assert "ok" in router["second_owner"], router


def _routes(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value, key=lambda k: int(k))]
    return list(value)
