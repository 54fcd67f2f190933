"""A Python client for AO-Core nodes (ours, or upstream's Erlang HyperBEAM).

Connect to a node with a wallet, spawn processes (WASM AOS or hyper-aos),
send them messages, read their results, follow them::

    from hyperbeam.client import Client

    with Client("http://127.0.0.1:8734", wallet="my-key.json") as ao:
        pid = ao.spawn(module=aos_image_id)
        print(ao.eval(pid, "return 1 + 1").data)        # 2
        for slot, result in ao.monitor(pid):             # new results, as they come
            print(slot, result.data)

:class:`AsyncClient` has the same methods for asyncio. Errors the node
answers are :class:`NodeError` (its ``status`` and ``reason``).
"""

from hyperbeam.client.api import AsyncClient, Client
from hyperbeam.client.flows import NodeError, Result

__all__ = ["AsyncClient", "Client", "NodeError", "Result"]
