"""WAO's node-settings flow against a real ``hyperbeam serve`` process.

tests/js/wao_meta.mjs runs what WAO's own tests do (``test/hyperbeam/meta.test.js``
and the "Devices and Pathing" tutorial in weavedb/wao) with the published
client (npm wao 0.35.7, ``HB`` signing with hbsig 0.1.5): the operator signs
with the node's key, as WAO's test harness does; a stranger signs with
another.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hyperbeam.crypto.wallet import Wallet
from tests.conftest import RunningNode, start_node, stop_node
from tests.interop.js import run_script


@pytest.fixture(scope="module")
def meta_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("wao-meta"))
    yield running
    stop_node(running)


@pytest.fixture(scope="module")
def flow(meta_node: RunningNode) -> dict[str, Any]:
    operator = Wallet.load(meta_node.data_dir / "wallet.json")
    result: dict[str, Any] = run_script(
        "wao_meta.mjs",
        {
            "url": meta_node.url,
            "operator": operator.to_jwk(),
            "stranger": Wallet.generate().to_jwk(),
        },
        package="wao",
    )
    assert "error" not in result, result
    return result


def test_info_reads_as_upstream_types(flow: dict[str, Any], meta_node: RunningNode) -> None:
    info = flow["info"]
    assert info["port"] == int(meta_node.url.rsplit(":", 1)[1])
    assert info["initialized"] is True
    assert info["address"] == flow["address"]
    assert info["operator"] == flow["address"]


def test_a_stranger_cannot_change_settings(flow: dict[str, Any]) -> None:
    assert flow["stranger"].get("status") in (401, None), flow["stranger"]
    assert flow["after"]["test_config"] == 123  # not the stranger's 666


def test_the_operator_sets_typed_and_nested_keys(flow: dict[str, Any]) -> None:
    assert flow["set"].get("status") == 200, flow["set"]
    assert flow["after"] == {"test_config": 123, "test_config3": {"abc": 123}}
    # A single value comes back as `ao-result: body`; hbsig 0.1.5 gives its text.
    assert flow["key"] == "123"


def test_json_serialize_gives_the_node_message(flow: dict[str, Any]) -> None:
    json = flow["json"]
    assert json["test_config"] == 123
    assert json["test_config3"] == {"abc": 123}
    assert json["address"] == flow["address"]
    assert json["initialized"] is True


def test_permanent_refuses_later_changes(flow: dict[str, Any]) -> None:
    assert flow["permanent"].get("status") == 200, flow["permanent"]
    late = flow["late"]
    assert "rejected" in late or late.get("status") == 400, late
    assert flow["final"] == {"test_config": 123, "initialized": "permanent"}


def test_build_names_the_node(flow: dict[str, Any]) -> None:
    build = flow["build"]
    assert build["node"] == "HyperBEAM"
    assert build["version"]
    assert build["source"]
