"""``scheduler@1.0``: give a process's messages their slots, and serve its schedule.

Keys (a request's ``method`` picks between reading and writing):

``schedule``  POST: assign the next slot to a message (the request's ``body``,
              else the request itself) and answer the signed assignment.
              A ``type: Process`` message starts its own schedule (and is
              stored, so it can be loaded by its ID). GET: the assignments
              ``from``..``to`` (default: all, at most 1,000 a page), as one
              ``schedule`` message, or as ``application/aos-2`` JSON when the
              request's ``accept`` asks for it.
``slot``      the current slot of a process.
``status``    this scheduler's address and the processes it serves.
``next``      (for ``process@1.0``) the assignment after the state's ``at-slot``.
``location``  GET: the location record of a scheduler (``address``, default
              this node's). POST: a record signed by this node's operator
              makes (signs, stores and announces) the node's new record;
              one signed by anybody else is verified and stored.

Which process? The request's ``target``, else the request's ID if it is a
process, else the base's ``process``, else the base's ID if it is a
process. Which scheduler? The process's ``scheduler`` (or
``scheduler-location``) address: if it is this node's, the node schedules;
otherwise the node finds that scheduler's location (a ``?hint=`` in the
process ID, or a stored location record) and forwards the request there
(``scheduler_follow_redirects``, default on) or answers a 307 redirect.

Any other key is ``schedule``. Upstream: dev_scheduler.erl.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

from hyperbeam import cache
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.cache_control import volatile
from hyperbeam.errors import HyperbeamError
from hyperbeam.http import client as http_client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id, is_id
from hyperbeam.message.model import Message, as_int, as_text, normalize_keys
from hyperbeam.message.private import private_of, with_private
from hyperbeam.scheduler import cache as schedule_cache
from hyperbeam.scheduler import formats
from hyperbeam.scheduler.server import SchedulerRegistry, SchedulerServer
from hyperbeam.store.gateway import GatewayStore

log = logging.getLogger("hyperbeam.scheduler")

Opts = Mapping[str, Any]

#: The most assignments one ``GET schedule`` answers.
MAX_ASSIGNMENT_QUERY_LEN = 1000

#: Default lifetime of a location record: 7 days, in milliseconds.
DEFAULT_LOCATION_TTL = 7 * 24 * 60 * 60 * 1000

AOS2 = "application/aos-2"


class ProcessNotAvailable(HyperbeamError):
    status = 404


def _field(msg: Any, name: str, default: Any = ao.NOT_FOUND) -> Any:
    """A plain key of a message (no device logic: the hot paths read many)."""
    if isinstance(msg, dict):
        value = msg.get(name, default)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return default


def _target(msg: Any) -> Any:
    """A message's ``target`` as it is (an ANS-104 item's is 32 raw bytes)."""
    return msg.get("target", ao.NOT_FOUND) if isinstance(msg, dict) else ao.NOT_FOUND


def registry_of(opts: Opts) -> SchedulerRegistry:
    registry = opts.get("scheduler_registry")
    if not isinstance(registry, SchedulerRegistry):
        raise HyperbeamError("this node runs no scheduler", status=503)
    return registry


def target_text(target: Any) -> str:
    """A ``target`` as text: an ANS-104 item's is its 32 raw bytes, shown in
    its 43-character form (as upstream's ``hb_util:human_id`` does)."""
    if isinstance(target, str) and len(target) != 43:
        raw = target.encode("utf-8", "surrogateescape")
        if len(raw) == 32:
            return human_id(raw)
    if isinstance(target, bytes) and len(target) == 32:
        return human_id(target)
    return as_text(target)


def process_id_of(msg: Message) -> str:
    """``hb_message:id(Msg, all)`` in human form."""
    return human_id(commit.id(msg, "all"))


# --- finding the process and its scheduler ------------------------------------------


def find_target_id(msg1: Any, msg2: Any, opts: Opts) -> str:
    """The process a request is about: the request's ``target``, the request
    if it is a process, the ``process`` of the base (or, as upstream's
    ``many_clients`` benchmark sends it, of the request), the base if it is
    a process, else the request's ID. Upstream: find_target_id/3."""
    target = _target(msg2)
    if target != ao.NOT_FOUND:
        return target_text(target)
    if _field(msg2, "type") == "Process":
        return process_id_of(msg2)
    for holder in (msg1, msg2):  # upstream looks at the base's only
        process = _field(holder, "process")
        if isinstance(process, dict):
            return process_id_of(process)
    if _field(msg1, "type") == "Process":
        return process_id_of(msg1)
    return process_id_of(msg2)


def get_hint(value: Any, opts: Opts) -> str | None:
    """The ``hint`` of ``<id>?hint=<url>``. Upstream: get_hint/2."""
    if not opts.get("scheduler_follow_hints", True) or not isinstance(value, str | bytes):
        return None
    text = as_text(value)
    if "?" not in text:
        return None
    hints = parse_qs(text.split("?", 1)[1]).get("hint")
    return hints[0] if hints else None


def without_hint(target: str) -> str:
    """The process ID of a target that may carry ``?hint=`` or ``&...``."""
    head = target.split("?", 1)[0].split("&", 1)[0]
    if not is_id(head):
        raise HyperbeamError(f"not a process ID: {target!r}", status=400)
    return human_id(head)


def redirect(location: str, variant: str = "ao.N.1") -> Message:
    """Upstream: generate_redirect/3."""
    return {
        "status": 307,
        "location": location,
        "body": f"Redirecting to scheduler: {location}",
        "variant": variant,
    }


def _redirect_from_record(record: Message) -> Message:
    location = _field(record, "url")
    if location == ao.NOT_FOUND:
        location = _field(record, "location", "/")
    return redirect(as_text(location), as_text(_field(record, "variant", "ao.N.1")))


def find_server(
    process_id: str, msg1: Any, to_sched: Any, opts: Opts
) -> tuple[str, SchedulerServer | Message]:
    """``("local", server)`` when this node schedules the process, else
    ``("redirect", message)``. Upstream: find_server/4."""
    hint = get_hint(process_id, opts)
    if hint is not None:
        return "redirect", redirect(hint)
    registry = registry_of(opts)
    server = registry.find(process_id)
    if server is not None:
        return "local", server
    process = _find_process(process_id, msg1, to_sched, opts)
    location = ao.NOT_FOUND
    for source, name in ((process, "scheduler"), (process, "scheduler-location")):
        location = _field(source, name)
        if location != ao.NOT_FOUND:
            break
    if location == ao.NOT_FOUND and isinstance(to_sched, dict):
        location = _field(to_sched, "scheduler-location")
    if location == ao.NOT_FOUND:
        raise HyperbeamError("No scheduler information provided.", status=400)
    location = as_text(location)
    if location == registry.address:
        started = registry.find(process_id, start=True)
        assert started is not None
        return "local", started
    return "redirect", find_remote_scheduler(location, opts)


def _find_process(process_id: str, msg1: Any, to_sched: Any, opts: Opts) -> Message:
    process = _field(msg1, "process")
    if isinstance(process, dict):
        return process
    if isinstance(to_sched, dict) and process_id_of(to_sched) == process_id:
        return to_sched
    if isinstance(msg1, dict) and msg1 and process_id_of(msg1) == process_id:
        return msg1
    loader = opts.get("load_message")
    found = loader(process_id, opts) if loader is not None else None
    if isinstance(found, dict):
        return found
    raise ProcessNotAvailable(f"process {process_id} is not known to this node")


def find_remote_scheduler(address: str, opts: Opts) -> Message:
    """A redirect to the scheduler ``address``: from a hint in it, else
    from its stored location record, else from the latest ``Type:
    Scheduler-Location`` item it signed on the Arweave gateway (which is then
    kept). Upstream: find_remote_scheduler/3."""
    hint = get_hint(address, opts)
    if hint is not None:
        return redirect(hint)
    store = opts.get("store")
    record = schedule_cache.read_location(address, store) if store is not None else None
    if record is None:
        record = _gateway_location(address, store)
    if record is None:
        raise HyperbeamError(f"no location known for the scheduler {address}", status=502)
    return _redirect_from_record(record)


def _gateway_location(address: str, store: Any) -> Message | None:
    """Upstream: hb_gateway_client:scheduler_location/2."""
    gateways = [s for s in getattr(store, "stores", [store]) if isinstance(s, GatewayStore)]
    for gateway in gateways:
        try:
            found = gateway.client.scheduler_location(address)
        except HyperbeamError as exc:
            log.warning("looking up the location of %s failed: %s", address, exc.reason)
            continue
        if not isinstance(found, dict) or address not in commit.signers(found):
            continue
        if not schedule_cache.write_location(found, store):
            log.warning("the gateway's location record for %s does not verify", address)
            continue
        return found
    return None


# --- the device ---------------------------------------------------------------------


class SchedulerDevice(Device):
    """Upstream: dev_scheduler.erl."""

    name = "scheduler@1.0"
    VOLATILE = frozenset({"schedule", "slot", "status", "location"})

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "exports": [
                "location", "status", "next", "schedule", "slot", "init", "checkpoint", "record",
            ],
            "excludes": ["set", "keys"],
            "default": self.router,
        }  # fmt: skip

    def router(self, name: Any, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Every other key is ``schedule``. Upstream: router/4."""
        return self.schedule(msg1, msg2, opts)

    @key("init")
    def init(self, msg1: Any) -> Result:
        return "ok", msg1

    @key("checkpoint")
    def checkpoint(self, msg1: Any) -> Result:
        """Upstream: checkpoint/1."""
        return "ok", msg1

    @key("status")
    def status(self, msg1: Any, msg2: Any, opts: Opts) -> Result:
        """Upstream: status/3."""
        registry = registry_of(opts)
        return "ok", {
            "address": registry.address,
            "processes": registry.processes(),
            "cache-control": "no-store",
        }

    # -- schedule ------------------------------------------------------------------

    @key("schedule")
    def schedule(self, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Upstream: schedule/3."""
        if as_text(_field(msg2, "method", "GET")).upper() == "POST":
            return volatile(self.post_schedule(msg1, msg2, opts))
        return volatile(self.get_schedule(msg1, msg2, opts))

    def post_schedule(self, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Upstream: post_schedule/3 and do_post_schedule/4."""
        body = _field(msg2, "body")
        to_sched = body if isinstance(body, dict) else msg2
        if _field(to_sched, "type") == "Process":
            process_id = process_id_of(to_sched)
        else:
            target = _target(to_sched)
            process_id = (
                target_text(target) if target != ao.NOT_FOUND else find_target_id(msg1, msg2, opts)
            )
        try:
            only_committed = commit.with_only_committed(to_sched)
        except Exception as exc:
            return "error", {
                "status": 400,
                "body": "Message invalid: Committed components cannot be validated.",
                "reason": str(exc),
            }
        carried = _field(msg2, "process")
        base = (
            {**msg1, "process": carried}
            if isinstance(carried, dict) and isinstance(msg1, dict)
            else msg1
        )
        where, found = find_server(process_id, base, to_sched, opts)
        if where == "redirect":
            assert isinstance(found, dict)
            if not opts.get("scheduler_follow_redirects", True):
                return "ok", found
            return post_remote_schedule(process_id, found, only_committed)
        assert isinstance(found, SchedulerServer)
        if opts.get("verify_assignments", True) and not commit.verify(only_committed, "signers"):
            return "error", {
                "status": 400,
                "body": "Message is not valid.",
                "reason": "Given message does not correctly validate.",
            }
        if _field(only_committed, "type") == "Process":
            _keep(only_committed, opts)
        return "ok", found.schedule(only_committed)

    def get_schedule(self, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Upstream: get_schedule/3."""
        process_id = find_target_id(msg1, msg2, opts)
        start = max(0, as_int(_field(msg2, "from", 0), "from"))
        to_raw = _field(msg2, "to")
        end = None if to_raw == ao.NOT_FOUND else as_int(to_raw, "to")
        accept = as_text(_field(msg2, "accept", "application/http"))
        where, found = find_server(process_id, msg1, None, opts)
        if where == "local":
            assignments, more = local_assignments(process_id, start, end, opts)
        else:
            assert isinstance(found, dict)
            if not opts.get("scheduler_follow_redirects", True):
                return "ok", found
            status, fetched = remote_assignments(process_id, start, end, found, opts)
            if status != "ok":
                return status, fetched
            assignments, more = fetched
        if AOS2 in accept.replace("%2F", "/").replace("%2f", "/"):
            return "ok", formats.assignments_to_aos2(process_id, assignments, more)
        return "ok", formats.assignments_to_bundle(process_id, assignments, more)

    # -- slot ----------------------------------------------------------------------

    @key("slot")
    def slot(self, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Upstream: slot/3."""
        process_id = find_target_id(msg1, msg2, opts)
        where, found = find_server(process_id, msg1, None, opts)
        if where == "local":
            assert isinstance(found, SchedulerServer)
            timestamp, height, block_hash = formats.DEBUG_TIME
            return "ok", {
                "process": process_id,
                "current": found.current,
                "timestamp": timestamp,
                "block-height": height,
                "block-hash": human_id(block_hash),
                "cache-control": "no-store",
                "wallet-address": found.wallet.address,
            }
        assert isinstance(found, dict)
        if not opts.get("scheduler_follow_redirects", True):
            return "ok", found
        node = http_client.node_url(as_text(found["location"]))
        return volatile(http_client.get(node, {"path": f"/{without_hint(process_id)}/slot"}))

    # -- next (for process@1.0) ----------------------------------------------------

    @key("next")
    def next(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """The assignment after the state's ``at-slot``, as ``{body, state}``;
        the state keeps later assignments it read (privately) for the
        following calls. Upstream: next/3."""
        last = as_int(_field(msg1, "at-slot", -1), "at-slot")
        priv = private_of(msg1)
        held = priv.get("scheduler@1.0", {})
        queue = list(held.get("assignments", [])) if isinstance(held, dict) else []
        queue = [a for a in queue if as_int(_field(a, "slot", -1), "slot") > last]
        if not queue:
            queue = self._fetch_after(msg1, last, opts)
        if not queue or as_int(_field(queue[0], "slot", -1), "slot") != last + 1:
            return "error", {"status": 503, "body": "No assignment found for next slot."}
        state = with_private(msg1, {**priv, "scheduler@1.0": {"assignments": queue[1:]}})
        return "ok", {"body": queue[0], "state": state}

    def _fetch_after(self, msg1: Message, last: int, opts: Opts) -> list[Message]:
        process_id = find_target_id(msg1, {}, opts)
        registry = opts.get("scheduler_registry")
        server = registry.find(process_id) if isinstance(registry, SchedulerRegistry) else None
        if server is not None and (recent := server.recent(last + 1)) is not None:
            return [recent]
        store = opts.get("store")
        if store is not None:
            found = schedule_cache.read(process_id, last + 1, store)
            if found is not None:
                return [found]
        status, page = self.get_schedule(
            msg1, {"method": "GET", "from": last + 1}, {**opts, "scheduler_follow_redirects": True}
        )
        if status != "ok" or not isinstance(page, dict):
            return []
        assignments = page.get("assignments", {})
        if not isinstance(assignments, dict):
            return []
        ordered = formats.ordered(normalize_keys(assignments))
        return [a for a in ordered if as_int(_field(a, "slot", -1), "slot") > last]

    # -- location ------------------------------------------------------------------

    @key("location")
    def location(self, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Upstream: location/3."""
        if as_text(_field(msg2, "method", "GET")).upper() == "POST":
            return volatile(self.post_location(msg1, msg2, opts))
        registry = registry_of(opts)
        address = as_text(_field(msg2, "address", registry.address))
        if not is_id(address):
            return "error", {"status": 400, "body": f"not a scheduler address: {address!r}"}
        record = schedule_cache.read_location(address, opts["store"])
        if record is None:
            return "ok", {"status": 404, "body": f"No location found for address: {address}"}
        return volatile(("ok", {"body": record}))

    @key("record")
    def record(self, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Where upstream announces records to its peers; taken as a
        ``location`` POST (upstream lets it fall through to ``schedule``)."""
        return volatile(self.post_location(msg1, {**msg2, "method": "POST"}, opts))

    def post_location(self, msg1: Any, msg2: Message, opts: Opts) -> Result:
        """Upstream: post_location/3 (without the Arweave upload)."""
        registry = registry_of(opts)
        store = opts["store"]
        target = _field(msg2, "target")
        req = _field(msg2, as_text(target)) if target != ao.NOT_FOUND else msg2
        if not isinstance(req, dict):
            return "error", {"status": 400, "body": "the location request is not a message"}
        # A signed HTTP request was verified by the node as it arrived (its
        # `path` has since been rewritten, so it cannot be verified again
        # here); a record from anybody else is verified before it is kept.
        only_committed = commit.with_only_committed(req)
        signers = commit.signers(only_committed)
        if not signers:
            return "error", {"status": 400, "body": "a location record must be signed"}
        me = registry.address
        known = schedule_cache.read_location(me if me in signers else signers[0], store)
        existing = schedule_cache.location_nonce(known) if known is not None else -1
        nonce = as_int(_field(only_committed, "nonce", existing + 1), "nonce")
        if nonce <= existing:
            return "ok", {
                "status": 400,
                "body": "Known nonce higher than requested nonce.",
                "requested-nonce": nonce,
                "existing-nonce": existing,
                "signers": signers,
            }
        if me not in signers:
            if not schedule_cache.write_location(only_committed, store):
                return "error", {"status": 400, "body": "Failed to store new scheduler location."}
            return "ok", only_committed
        config = getattr(opts.get("node"), "config", None)
        url = _field(only_committed, "url")
        if url == ao.NOT_FOUND:
            url = config.url if config is not None else "http://localhost:8734"
        ttl = _field(msg1, "time-to-live")
        if ttl == ao.NOT_FOUND:
            ttl = _field(only_committed, "time-to-live", DEFAULT_LOCATION_TTL)
        record: Message = {
            "data-protocol": "ao",
            "variant": "ao.N.1",
            "type": "scheduler-location",
            "url": as_text(url),
            "nonce": nonce,
            "time-to-live": as_int(ttl, "time-to-live"),
            "codec-device": "httpsig@1.0",
        }
        signed = commit.commit(record, registry.wallet)
        schedule_cache.write_location(signed, store)
        peers = config.url_list(config.scheduler_location_peers) if config is not None else []
        for peer in peers:
            status, _ = http_client.post(
                peer, {**signed, "path": "/~scheduler@1.0/location", "method": "POST"}
            )
            log.info("announced scheduler location to %s: %s", peer, status)
        return "ok", signed


# --- local and remote schedules ---------------------------------------------------


def local_assignments(
    process_id: str, start: int, end: int | None, opts: Opts
) -> tuple[list[Message], bool]:
    """Stored assignments ``start``..``end`` (at most 1,000) and whether the
    page was cut short. Upstream: get_local_assignments/4."""
    store = opts["store"]
    if end is None:
        latest = schedule_cache.list_slots(process_id, store)
        if not latest:
            return [], False
        end = latest[-1]
    last = min(end, start + MAX_ASSIGNMENT_QUERY_LEN)
    found: list[Message] = []
    for slot in range(start, last + 1):
        assignment = schedule_cache.read(process_id, slot, store)
        if assignment is None:
            break
        found.append(assignment)
    return found, last < end


def remote_assignments(
    process_id: str, start: int, end: int | None, where: Message, opts: Opts
) -> Result:
    """Assignments read locally first, the rest from the remote scheduler;
    those fetched are verified and kept. Upstream: get_remote_schedule/5."""
    pid = without_hint(process_id)
    local, _ = local_assignments(pid, start, end, opts)
    start += len(local)
    if end is not None and start > end:
        return "ok", (local, False)
    query = f"from={start}" + (f"&to={end}" if end is not None else "")
    node = http_client.node_url(as_text(where["location"]))
    status, reply = http_client.get(node, {"path": f"/{pid}/schedule?{quote(query, safe='=&')}"})
    if status != "ok" or not isinstance(reply, dict):
        return "error", reply
    raw = reply.get("assignments", {})
    remote = formats.ordered(normalize_keys(raw)) if isinstance(raw, dict) else []
    kept: list[Message] = []
    store = opts["store"]
    for assignment in remote:
        if not isinstance(assignment, dict) or _field(assignment, "process") != pid:
            break
        if not commit.verify(assignment):
            log.warning("dropping an assignment of %s that does not verify", pid)
            break
        try:
            schedule_cache.write(assignment, store)
        except HyperbeamError as exc:
            log.warning("could not keep an assignment of %s: %s", pid, exc.reason)
        kept.append(assignment)
    more = _field(reply, "continues", False) in (True, "true", "?1")
    return "ok", (local + kept, more)


def post_remote_schedule(process_id: str, where: Message, message: Message) -> Result:
    """Forward a message to the process's scheduler. Upstream: post_remote_schedule/4."""
    node = http_client.node_url(as_text(where["location"]))
    pid = without_hint(process_id)
    return http_client.post(node, {"path": f"/{pid}/schedule", "method": "POST", "body": message})


def _keep(msg: Message, opts: Opts) -> None:
    """Store a process message so that it can be loaded by its ID."""
    store = opts.get("store")
    if store is not None:
        cache.write(msg, store)
