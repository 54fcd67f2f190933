"""router@1.0: upstream's dev_router.erl eunit tests (each named), the
routes over HTTP (get_routes_test, add_route_test), and upstream's
scripts/dynamic-router.lua tests through the lua-test harness."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.ao.resolve import resolve, resolve_many
from hyperbeam.ao.singleton import from_request
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices import default_registry
from hyperbeam.devices.router import choose, route
from hyperbeam.lua.harness import run_script
from hyperbeam.message.ids import human_id, native_id
from hyperbeam.store.remote import signed_request
from tests.conftest import LocalNode

UPSTREAM = Path(__file__).parents[1] / "vectors" / "lua" / "upstream"
#: Upstream's default routes (hb_opts:default_message/0), as a node has them.
DEFAULT_ROUTES = [
    {"template": "/result/.*", "node": {"prefix": "http://localhost:6363"}},
    {"template": "/graphql", "node": {"prefix": "https://arweave.net"}},
    {"template": "/raw", "node": {"prefix": "https://arweave.net"}},
]


def opts(routes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"registry": default_registry(), "routes": routes}


def test_route_template_message_matches() -> None:
    routes: list[dict[str, Any]] = [
        {"template": {"other-key": "other-value"}, "node": "incorrect"},
        {"template": {"special-key": "special-value"}, "node": "correct"},
    ]
    assert route({"path": "/", "special-key": "special-value"}, opts(routes)) == ("ok", "correct")
    assert route({"path": "/", "special-key": "special-value2"}, opts(routes))[0] == "error"
    fallback = [*routes, {"node": "fallback"}]
    assert route({"path": "/"}, opts(fallback)) == ("ok", "fallback")


def test_route_regex_matches() -> None:
    routes = [
        {"template": "/.*/compute", "node": "incorrect"},
        {"template": "/.*/schedule", "node": "correct"},
    ]
    assert route({"path": "/abc/schedule"}, opts(routes)) == ("ok", "correct")
    assert route({"path": "/a/b/c/schedule"}, opts(routes)) == ("ok", "correct")
    assert route({"path": "/a/b/c/bad-key"}, opts(routes))[0] == "error"


def test_explicit_route() -> None:
    routes = [{"template": "*", "node": "unimportant"}]
    assert route({"path": "https://google.com"}, opts(routes)) == ("ok", "https://google.com")
    assert route({"path": "http://google.com"}, opts(routes)) == ("ok", "http://google.com")
    status, found = resolve(
        {"device": "router@1.0", "routes": routes},
        {"path": "match", "route-path": "http://google.com"},
        opts(routes),
    )
    assert status == "ok" and found["node"] == "http://google.com"


def test_device_call_from_singleton() -> None:
    routes = [{"template": "/some/path", "node": "old", "priority": 10}]
    steps = from_request({"path": "~router@1.0/routes"})
    assert resolve_many(steps, opts(routes)) == ("ok", routes)


def test_prefix_and_strategies_through_route() -> None:
    nodes = [{"prefix": f"http://localhost:{p}", "wallet": _wallet_id()} for p in (1, 2, 3)]
    routes = [{"template": "/x", "nodes": nodes, "strategy": "By-Base"}]
    status, uri = route({"path": "/x"}, opts(routes))
    assert status == "ok" and uri in {f"http://localhost:{p}/x" for p in (1, 2, 3)}
    assert route({"path": "/x"}, opts(routes)) == ("ok", uri)  # By-Base: always the same
    status, every = route({"path": "/x"}, opts([{"template": "/x", "nodes": nodes}]))
    assert [n["uri"] for n in every["nodes"]] == [f"http://localhost:{p}/x" for p in (1, 2, 3)]


#: Node wallets and base IDs, reproducible: how evenly ``Nearest`` spreads
#: depends on where the wallets fall (upstream draws them afresh each run).
RNG = random.Random(2025)


def _wallet_id() -> str:
    return human_id(RNG.randbytes(32))


def _nodes(n: int) -> list[dict[str, Any]]:
    return [{"host": f"http://localhost:{p}", "wallet": _wallet_id()} for p in range(1, n + 1)]


def _simulate(runs: int | list[str], n: int, nodes: list[Any], strategy: str) -> list[list[Any]]:
    bases = runs if isinstance(runs, list) else [_wallet_id() for _ in range(runs)]
    return [choose(n, strategy, base, nodes) for base in bases]


def _counts(simulation: list[list[Any]], nodes: list[Any]) -> list[int]:
    counts = Counter(node["host"] for chosen in simulation for node in chosen)
    return [counts[node["host"]] for node in nodes]


@pytest.mark.parametrize("strategy", ["Random", "By-Base", "Nearest", "Shuffled-Range"])
def test_strategy_suite(strategy: str) -> None:
    """strategy_suite_test_: unique, choose 1 and choose n within norms."""
    random.seed(11)
    for chosen in _simulate(1, 5, _nodes(5), strategy):  # unique
        assert len({n["host"] for n in chosen}) == 5
    for n, size in ((1, 1500), (5, 1500)):
        nodes = _nodes(20)
        simulation = _simulate(size, n, nodes, strategy)
        counts = _counts(simulation, nodes)
        assert statistics.mean(counts) == size * n / len(nodes)
        assert max(counts) <= statistics.mean(counts) + 3 * statistics.pstdev(counts) + 1
        assert all(len({node["host"] for node in chosen}) == n for chosen in simulation)


def test_by_base_determinism() -> None:
    nodes, bases = _nodes(5), [_wallet_id() for _ in range(100)]
    assert _simulate(bases, 5, nodes, "By-Base") == _simulate(bases, 5, nodes, "By-Base")


def test_weighted_random_strategy() -> None:
    random.seed(7)  # (the strategy draws from Python's random: reproducible here)
    nodes = [{"host": "1", "weight": 1}, {"host": "2", "weight": 99}]
    one, _ = _counts(_simulate(1000, 1, nodes, "By-Weight"), nodes)
    assert 4 < one < 25


@pytest.fixture
def router_node(tmp_path: Path) -> Iterator[tuple[LocalNode, Wallet]]:
    owner = Wallet.generate()
    node = LocalNode(
        tmp_path / "data",
        force_signed=False,
        operator=owner.address,
        routes=[{"template": "/some/path", "node": "old", "priority": 10}],
    ).start()
    yield node, owner
    node.stop()


def test_get_and_add_routes_over_http(router_node: tuple[LocalNode, Wallet]) -> None:
    """get_routes_test, add_route_test; a stranger's route is refused."""
    node, owner = router_node
    assert httpx.get(f"{node.url}/~router@1.0/routes/1/node").text == "old"
    route_msg = {
        "path": "/~router@1.0/routes",
        "method": "POST",
        "template": "/some/new/path",
        "node": "new",
        "priority": 15,
    }
    headers, body = signed_request(route_msg, Wallet.generate())
    refused = httpx.post(f"{node.url}/~router@1.0/routes", headers=headers, content=body)
    assert refused.status_code == 403
    headers, body = signed_request(route_msg, owner)
    added = httpx.post(f"{node.url}/~router@1.0/routes", headers=headers, content=body)
    assert (added.status_code, added.text) == (200, "Route added.")
    assert httpx.get(f"{node.url}/~router@1.0/routes/2/node").text == "new"


@pytest.mark.parametrize(
    ("script", "tests"),
    [
        ("meta-test.lua", {"basic_test", "return_message_test", "sandbox_test"}),
        ("dynamic-router.lua", {"register_test", "performance_test"}),
    ],
)
def test_upstream_lua_scripts_pass(script: str, tests: set[str]) -> None:
    """Every ``*_test`` of upstream's scripts, as ``rebar3 lua-test`` runs
    them, on a node with upstream's default routes."""
    outcomes = run_script(UPSTREAM / script, [], opts(DEFAULT_ROUTES))
    assert {o.test for o in outcomes} == tests
    assert all(o.passed for o in outcomes), [o.line() for o in outcomes]


def test_shuffled_range_keeps_a_base_to_its_range_and_spreads_within_it() -> None:
    """Not in upstream's May 2025 router (our design): a base's requests go to
    the ``range`` nodes from its place in the list, each of them in turn."""
    random.seed(5)
    nodes = [{"prefix": f"http://localhost:{p}"} for p in range(1, 9)]
    routes = [{"template": "/x", "nodes": nodes, "strategy": "Shuffled-Range", "range": 3}]
    base = _wallet_id()
    start = int.from_bytes(native_id(base), "big") % len(nodes)
    window = {f"http://localhost:{(start + i) % 8 + 1}/{base}/x" for i in range(3)}
    seen = Counter(route({"path": f"/{base}/x"}, opts(routes))[1] for _ in range(300))
    assert set(seen) == window
    assert min(seen.values()) > 60  # each of the three, about a third of the time
    chosen = _simulate([base] * 50, 2, nodes, "Shuffled-Range")
    assert all(len({n["prefix"] for n in pair}) == 2 for pair in chosen)
    wide = [{**routes[0], "range": 20}]
    assert route({"path": f"/{base}/x"}, opts(wide))[0] == "ok"
