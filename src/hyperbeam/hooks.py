"""Hooks: device chains the node runs at points of its life.

The ``on`` setting maps a hook name to a handler message or a list of them:

- ``request``: before a request resolves. The handlers get ``{"request":
  <the request message>, "body": <the messages to resolve>}`` and answer
  the same shape: their ``body`` is what resolves. An error halts the
  request with it.
- ``response``: after it resolves, with ``{"request": ..., "body": <the
  result>}``; their ``body`` is the reply.
- ``start``: once, when the node starts, with ``{"body": <the node
  message>}``; keys their ``body`` adds or changes are applied as settings.

Handlers run in order, each given the previous one's answer. Each is
resolved as a message (its ``device`` interprets it) with the hook's
request plus ``path`` (the handler's own ``path``, else the hook name) and
``method`` (the handler's, else ``GET``). A handler's ``hook`` message may
say what its answer means (``result``: ``return``, the default, passes it
on; ``ignore`` passes on what the handler was given; ``error`` halts with
it) and whether the node signs the request first (``commit-request``).

Upstream: dev_hook.erl (on/3, find/2, execute_handler/4) and
dev_meta:resolve_hook/4. Deviation: a handler that raises halts with its
reason (upstream replaces it with a fixed text).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hyperbeam.ao import resolve as ao
from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.model import Message, as_text

if TYPE_CHECKING:
    from hyperbeam.node import Node

log = logging.getLogger("hyperbeam.hooks")

Result = tuple[str, Any]

#: What hook handlers resolve with: no hashpaths, nothing cached (their
#: requests carry live objects: the parsed messages of a request).
_HANDLER_OPTS = {"hashpath": "ignore", "cache_control": ["no-store", "no-cache"]}


def handlers(name: str, on: Mapping[str, Any]) -> list[Message]:
    """The handler messages of hook ``name``. Upstream: dev_hook:find/2."""
    found = on.get(name) if isinstance(on, Mapping) else None
    if isinstance(found, dict):
        return [found]
    if isinstance(found, list | tuple):
        return [h for h in found if isinstance(h, dict)]
    return []


def on(name: str, req: Message, opts: Mapping[str, Any]) -> Result:
    """Run hook ``name``'s handlers on ``req``: ``("ok", <the last answer>)``,
    or the first handler's error. Upstream: dev_hook:on/3."""
    node = opts.get("node")
    chain = handlers(name, getattr(getattr(node, "config", None), "on", {}) or {})
    current: Any = req
    for handler in chain:
        status, current = _run(name, handler, current, opts)
        if status != "ok":
            return status, current
    return "ok", current


def _run(name: str, handler: Message, req: Message, opts: Mapping[str, Any]) -> Result:
    prepared: Message = {
        **req,
        "path": handler.get("path", name),
        "method": handler.get("method", "GET"),
    }
    settings = handler.get("hook")
    settings = settings if isinstance(settings, dict) else {}
    if as_text(settings.get("commit-request", "false")).lower() == "true":
        wallet = opts.get("priv_wallet")
        if wallet is not None:
            prepared = commit.commit(prepared, wallet)
    try:
        status, result = ao.resolve(handler, prepared, {**opts, **_HANDLER_OPTS})
    except HyperbeamError as exc:
        return "failure", f"hook {name}: {exc.reason}"
    except Exception as exc:  # a handler must not take the node down
        log.exception("hook %s failed", name)
        return "failure", f"hook {name}: {type(exc).__name__}: {exc}"
    mode = as_text(settings.get("result", "return")).lower()
    if status != "ok":
        return status, result
    if mode == "ignore":
        return "ok", req
    if mode == "error":
        return "error", result
    return "ok", result


def around(name: str, request: Message, body: Any, opts: Mapping[str, Any]) -> Result:
    """A request or response hook: ``("ok", <the new body>)`` or the error
    to answer. Upstream: dev_meta:resolve_hook/4."""
    status, result = on(name, {"request": request, "body": body}, opts)
    if status != "ok":
        return status, result
    if not isinstance(result, dict) or "body" not in result:
        return "error", f"the {name} hook answered no body"
    return "ok", result["body"]


def run_start(node: Node) -> None:
    """The ``start`` hook: its answer's ``body`` is the node message; the
    keys it adds or changes become settings. Upstream:
    hb_http_server:new_server/1."""
    if not handlers("start", node.config.on):
        return
    before = node.config.node_message()
    status, result = on("start", {"body": before}, node.opts())
    body = result.get("body") if isinstance(result, dict) else None
    if status != "ok" or not isinstance(body, dict):
        raise HyperbeamError(f"the start hook failed: {result}", status=500)
    changes = {k: v for k, v in body.items() if k not in before or before[k] != v}
    changes.pop("address", None)
    if changes:
        node.config = node.config.with_updates(changes)
