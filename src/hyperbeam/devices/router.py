"""``router@1.0``: which node (or URL) a message goes to.

Routes are a list of messages, tried in order; the first whose ``template``
matches wins. A template is a message (the request must have its keys and
values) or a regular expression matched against the request's
``route-path`` (else its ``path``). A route names a ``node`` (a URL, or a
message of ``prefix``/``suffix``/``match`` and ``with`` applied to the path)
or ``nodes``, of which a ``strategy`` chooses ``choose`` (default 1):
``All`` (the default), ``Random``, ``By-Base`` (the same base message always
to the same node), ``By-Weight`` (by each node's ``weight``), ``Nearest``
(the node whose ``wallet`` is nearest the base's ID in the 256-bit field) or
``Shuffled-Range`` (a random pick among the route's ``range`` nodes, default
3, that follow the base's place in the list: a base keeps to a few nodes
while its load spreads over them).
A path that is a URL already is its own route.

- ``routes``: GET the routes (the ``routes`` setting, else those a
  ``route_provider`` message or path resolves to, else the Arweave gateway's
  ``/graphql`` and ``/raw``); POST adds the request as a route (the
  ``operator`` or one of ``route_owners`` only; kept in the node message).
- ``route``: the route of the request (its ``route-path`` or ``path``): a
  URL, or the route with the chosen ``nodes`` (each with its ``uri``).
- ``match``: the first of the base's ``routes`` matching the request, with its
  ``reference`` (``routes/<n>``).
- ``preprocess``: as the ``request`` hook, relays the requests that match a
  route to it (``relay@1.0``) and runs the others here.

- ``register``: offers this node to a router node (``router_peer_location``)
  for a route (``router_template``, ``router_prefix``, ``router_price``),
  scheduled on that node's ``router`` node process (upstream's
  scripts/dynamic-router.lua), whose routes a router reads with
  ``route_provider: /router~node-process@1.0/now/routes``.

Upstream: dev_router.erl (routes/3, route/3, match/3, choose/5,
preprocess/3, register/3). Deviation: ``register`` carries no SNP
attestation (this node has no ``snp@1.0``); a router that demands one
refuses it.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from typing import Any

from hyperbeam import authority
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.singleton import from_request
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import HyperbeamError
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.commit import match as message_match
from hyperbeam.message.ids import human_id, is_id, native_id
from hyperbeam.message.model import Message, as_text, normalize_keys

Opts = Mapping[str, Any]
STRATEGIES = ("All", "Random", "By-Base", "By-Weight", "Nearest", "Shuffled-Range")
#: How many nodes ``Shuffled-Range`` picks among, unless the route says.
DEFAULT_RANGE = 3
#: First path parts of the Arweave gateway's API (routed to the gateway by
#: default, and passed through to it as they are: relay@1.0).
GATEWAY_PATHS = frozenset(
    {"graphql", "raw", "tx", "tx_anchor", "price", "wallet", "chunk", "block"}
)
#: The device's description (``info``), as upstream's.
INFO: Message = {
    "description": "Router device for handling outbound message routing",
    "version": "1.0",
    "api": {
        "info": {"description": "Get device info"},
        "routes": {"description": "Get or add routes", "method": "GET or POST"},
        "route": {
            "description": "Find a route for a message",
            "required_params": {"route-path": "Path to route"},
        },
        "match": {"description": "Match a message against available routes"},
        "register": {"description": "Register a route with a remote router node"},
        "preprocess": {"description": "Preprocess a request to check if it should be relayed"},
    },
}
#: Keys of a POSTed route that are the request's, not the route's.
_REQUEST_KEYS = frozenset({"path", "method", "commitments"})


class RouterDevice(Device):
    name = "router@1.0"
    VOLATILE = frozenset({"routes", "route", "register", "preprocess"})

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"exports": ["info", "routes", "route", "match", "register", "preprocess"]}

    @key("info")
    def info_key(self, msg: Message, req: Message, opts: Opts) -> Result:
        """What the device offers. Upstream: dev_router:info/3."""
        return "ok", {"status": 200, "body": INFO}

    @key("routes")
    def routes(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_router:routes/3."""
        current = load_routes(opts)
        if as_text(req.get("method", "GET")).upper() != "POST":
            return "ok", current
        if not _may_add_routes(req, opts):
            return "error", {"status": 403, "body": "not_authorized: only the operator adds routes"}
        node = opts.get("node")
        if node is None:
            return "error", {"status": 503, "body": "no node keeps these routes"}
        route = {
            k: v for k, v in req.items() if k not in _REQUEST_KEYS and not k.startswith("priv")
        }
        updated = sorted([route, *current], key=_priority)
        try:
            node.update({"routes": updated}, authority.request_id(req))
        except HyperbeamError as exc:
            return "error", {"status": exc.status, "body": exc.reason}
        return "ok", "Route added."

    @key("route")
    def route(self, msg: Message, req: Message, opts: Opts) -> Result:
        return route(req, opts)

    @key("register")
    def register(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Offer this node to a router: schedule a ``register`` message,
        signed by this node, on the router node's ``router`` node process
        (``router_peer_location``), for the route ``router_template`` at
        ``router_prefix`` and ``router_price``. Once per node run.
        Upstream: dev_router:register/3 (which also attaches an SNP
        attestation; this node has none to give)."""
        node = opts.get("node")
        config = getattr(node, "config", None)
        wallet = opts.get("priv_wallet")
        if node is None or config is None or not isinstance(wallet, Wallet):
            return "error", {"status": 503, "body": "registering needs a node with a wallet"}
        if getattr(node, "router_registered", False):
            return "error", {"status": 400, "body": "Route already registered."}
        needed = ("router_peer_location", "router_prefix", "router_price", "router_template")
        missing = [name for name in needed if name not in config.extra]
        if missing:
            return "error", {"status": 400, "body": f"missing settings: {', '.join(missing)}"}
        settings = {name: config.extra[name] for name in needed}
        offer = commit.commit(
            {
                "path": "register",
                "route": {
                    "prefix": settings["router_prefix"],
                    "template": settings["router_template"],
                    "price": settings["router_price"],
                },
            },
            wallet,
        )
        peer = as_text(settings["router_peer_location"]).rstrip("/")
        status, answer = client.post(
            peer,
            {"path": "/router~node-process@1.0/schedule", "method": "POST", "body": offer},
        )
        if status != "ok":
            return "error", {"status": 502, "body": f"the router refused: {answer}"}
        node.router_registered = True
        return "ok", "Route registered."

    @key("preprocess")
    def preprocess(self, msg: Message, req: Message, opts: Opts) -> Result:
        """The ``request`` hook (``on/request/device: router@1.0``,
        ``on/request/path: preprocess``): a request matching a route is
        relayed to it; any other runs here (``router_preprocess_default:
        local``, the default) or is refused (``error``). Upstream:
        dev_router:preprocess/3."""
        request = req.get("request")
        if not isinstance(request, dict):
            return "error", {"status": 400, "body": "preprocess needs the request"}
        if match_routes({"path": target_path(request)}, load_routes(opts)) is None:
            config = getattr(opts.get("node"), "config", None)
            default = config.extra.get("router_preprocess_default", "local") if config else "local"
            if as_text(default) == "error":
                return "ok", {
                    "body": [
                        {"status": 404, "body": "No matching template found in the given routes."}
                    ]
                }
            return "ok", {"body": req.get("body")}
        relay = {"path": "call", "target": "body", "body": request}
        return "ok", {"body": [{"device": "relay@1.0"}, relay]}

    @key("match")
    def match(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_router:match/3."""
        routes = msg.get("routes", [])
        found = match_routes({**req, "path": target_path(req)}, _as_list(routes))
        if found is None:
            return "error", {"status": 404, "body": "no_matching_route"}
        return "ok", found


def load_routes(opts: Opts) -> list[Message]:
    """The node's routes: ``opts["routes"]``, else the node's ``routes``
    setting, else what its ``route_provider`` resolves to, else the
    gateway's (its API's paths). Upstream: dev_router:load_routes/1."""
    if "routes" in opts:
        return _as_list(opts["routes"])
    config = getattr(opts.get("node"), "config", None)
    if config is None:
        return []
    provider = config.extra.get("route_provider")
    if provider is not None:
        steps = from_request(provider if isinstance(provider, dict) else {"path": provider})
        status, routes = ao.resolve_many(steps, ao.internal_opts(opts))
        if status != "ok":
            raise HyperbeamError(f"the route provider failed: {routes}", status=502)
        return _as_list(routes)
    if config.routes:
        return [dict(r) for r in config.routes]
    gateway = config.gateway.rstrip("/")
    if not gateway:
        return []
    return [
        {"template": "/graphql", "node": {"prefix": gateway}},
        {"template": "/raw", "node": {"prefix": gateway}},
        {"template": f"^/({'|'.join(sorted(GATEWAY_PATHS))})(/|$)", "node": {"prefix": gateway}},
    ]


def target_path(msg: Message) -> str:
    """Upstream: dev_router:find_target_path/2."""
    return as_text(msg.get("route-path", msg.get("path", "")))


def match_routes(request: Message, routes: list[Any]) -> Message | None:
    """The first route whose template the request matches, with its
    ``reference``. Upstream: dev_router:match_routes/4."""
    path = target_path(request)
    if path.startswith(("http://", "https://")):
        return {"node": path, "reference": "explicit"}
    for index, route in enumerate(routes, start=1):
        if not isinstance(route, dict):
            continue
        template = route.get("template", {})
        if _template_matches(request, template):
            return {**route, "reference": f"routes/{index}"}
    return None


def _template_matches(request: Message, template: Any) -> bool:
    if isinstance(template, dict):
        return message_match(template, request, "primary")
    try:
        return re.search(as_text(template), _normalized(target_path(request))) is not None
    except re.error:
        return False


def _normalized(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def route(request: Message, opts: Opts) -> Result:
    """Upstream: dev_router:route/3."""
    found = match_routes(request, load_routes(opts))
    if found is None:
        return "error", {"status": 404, "body": "no_matches"}
    node = found.get("node")
    if isinstance(node, str | bytes):
        return "ok", as_text(node)
    if isinstance(node, dict):
        return "ok", apply_route(request, node)
    nodes = [apply_node(request, n) for n in _as_list(found.get("nodes", []))]
    strategy = as_text(found.get("strategy", "All"))
    if strategy == "All":
        return "ok", {**found, "nodes": nodes}
    if strategy not in STRATEGIES:
        return "error", {"status": 400, "body": f"unknown strategy {strategy}: use {STRATEGIES}"}
    size = int(found.get("range", DEFAULT_RANGE))
    chosen = choose(int(found.get("choose", 1)), strategy, base_of(request), nodes, size)
    if len(chosen) == 1:
        only = chosen[0]
        return "ok", only.get("uri", only) if isinstance(only, dict) else only
    return "ok", {**found, "nodes": chosen}


def apply_node(request: Message, node: Any) -> Any:
    """A node of a route with its ``uri`` for this request."""
    if not isinstance(node, dict):
        return node
    applied = apply_route(request, node)
    return {**node, "uri": applied} if isinstance(applied, str) else {**node, **applied}


def apply_route(request: Message, node: Message) -> Any:
    """The URI (or ``{opts, uri}``) a node's rules make of the request's
    path. Upstream: dev_router:apply_route/2."""
    if "opts" in node:
        rest = {k: v for k, v in node.items() if k != "opts"}
        return {"opts": node["opts"], "uri": apply_route(request, rest)}
    path = target_path(request)
    if "prefix" in node:
        return as_text(node["prefix"]) + path
    if "suffix" in node:
        return path + as_text(node["suffix"])
    if "match" in node and "with" in node:
        return re.sub(as_text(node["match"]), as_text(node["with"]), path)
    return node


def base_of(request: Message) -> str:
    """The ID of the request's base message (its first path part, or a hash
    of it). Upstream: dev_router:extract_base/2."""
    first = target_path(request).lstrip("/").split("/", 1)[0]
    if is_id(first):
        return first
    head = re.split(r"[~?&]", first, maxsplit=1)[0]
    if is_id(head):
        return head
    return human_id(hashlib.sha256(first.encode("utf-8")).digest())


def choose(
    n: int, strategy: str, base: str, nodes: list[Any], size: int = DEFAULT_RANGE
) -> list[Any]:
    """``n`` different nodes by ``strategy`` (``size``: the range of
    ``Shuffled-Range``). Upstream: dev_router:choose/5."""
    if strategy == "Shuffled-Range":
        nodes, strategy = shuffled_range(base, nodes, max(size, n)), "Random"
    remaining = list(nodes)
    chosen: list[Any] = []
    number = int.from_bytes(native_id(base), "big")
    for _ in range(min(n, len(remaining))):
        if strategy == "Random":
            node = random.choice(remaining)
        elif strategy == "By-Weight":
            weights = [float(n.get("weight", 0)) if isinstance(n, dict) else 0.0 for n in remaining]
            node = (
                random.choices(remaining, weights=weights)[0] if sum(weights) > 0 else remaining[0]
            )
        elif strategy == "By-Base":
            node = remaining[number % len(remaining)]
        else:  # Nearest
            node = min(remaining, key=lambda n: _distance(n, number))
        chosen.append(node)
        remaining.remove(node)
    return chosen


def shuffled_range(base: str, nodes: list[Any], size: int) -> list[Any]:
    """The ``size`` nodes from the base's place in ``nodes`` (its ID modulo
    their number) onwards, wrapping round, in a random order. Not in
    upstream's May 2025 router: our design for the issue's ``Shuffled-Range``."""
    if not nodes:
        return []
    start = int.from_bytes(native_id(base), "big") % len(nodes)
    window = [nodes[(start + i) % len(nodes)] for i in range(min(max(size, 1), len(nodes)))]
    random.shuffle(window)
    return window


def _distance(node: Any, number: int) -> int:
    wallet = node.get("wallet") if isinstance(node, dict) else None
    if not isinstance(wallet, str | bytes) or not is_id(as_text(wallet)):
        return 1 << 256
    diff = abs(int.from_bytes(native_id(as_text(wallet)), "big") - number)
    return min(diff, (1 << 256) - diff)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        numbered = normalize_keys(value)
        if all(k.isdigit() for k in numbered):
            return [numbered[k] for k in sorted(numbered, key=int)]
    return []


def _priority(route: Any) -> float:
    value = route.get("priority") if isinstance(route, dict) else None
    try:
        return float(value) if value is not None else float("inf")
    except (TypeError, ValueError):
        return float("inf")


def _may_add_routes(req: Message, opts: Opts) -> bool:
    """The operator (or one of ``route_owners``). Upstream: routes/3."""
    config = getattr(opts.get("node"), "config", None)
    owners = config.extra.get("route_owners") if config is not None else None
    if owners is None:
        return authority.is_operator(req, opts)
    signers = authority.signers_of(req, opts)
    return any(as_text(o) in signers for o in _as_list(owners) or [owners])
