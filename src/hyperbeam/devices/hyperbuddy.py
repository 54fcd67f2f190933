"""``hyperbuddy@1.0``: the node's web page and its metrics.

- ``index``: the page (``GET /`` leads there): the node's address and
  operator, its settings and devices, live metrics, a console that resolves
  a HyperPATH on the node and shows the answer, and a view of a message with
  links to its keys. One self-contained HTML file (no external scripts).
- ``metrics``: every metric in the Prometheus text format
  (:mod:`hyperbeam.metrics`; also at ``/metrics``).
- ``format``: the base message as indented text, its keys sorted.

Upstream: dev_hyperbuddy.erl (info/0, metrics/3, format/3 and the static
files of ``src/html/hyperbuddy@1.0``). The page is this project's own.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from hyperbeam import metrics
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.message.model import Message
from hyperbeam.message.private import is_private


class HyperbuddyDevice(Device):
    name = "hyperbuddy@1.0"
    VOLATILE = frozenset({"index", "metrics"})

    @key("index")
    def index(self) -> Result:
        return "ok", {"content-type": "text/html; charset=utf-8", "body": _page()}

    @key("metrics")
    def metrics(self) -> Result:
        return "ok", {"content-type": metrics.CONTENT_TYPE, "body": metrics.text()}

    @key("format")
    def format(self, msg: Message) -> Result:
        return "ok", {"content-type": "text/plain; charset=utf-8", "body": formatted(msg)}


@functools.cache
def _page() -> bytes:
    return resources.files("hyperbeam.ui").joinpath("index.html").read_bytes()


def formatted(value: Any, indent: int = 0) -> str:
    """A message as indented ``key: value`` lines (private keys left out)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k in sorted(value, key=str):
            if is_private(str(k)):
                continue
            v = value[k]
            if isinstance(v, dict | list):
                lines.append(f"{pad}{k}:\n{formatted(v, indent + 1)}")
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
        return "\n".join(lines)
    if isinstance(value, list):
        return "\n".join(
            f"{pad}- {_scalar(v)}" if not isinstance(v, dict | list)
            else f"{pad}-\n{formatted(v, indent + 1)}"
            for v in value
        )  # fmt: skip
    return pad + _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(value)} bytes>"
    return str(value)
