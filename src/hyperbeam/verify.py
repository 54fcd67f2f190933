"""``hyperbeam verify``: check what a node says about a process by computing it again.

Given a process ID and a node's URL, :func:`verify`:

1. **reads the schedule** the node serves (``GET
   /~scheduler@1.0/schedule?target=<process>&from=..&to=..``, page after page
   while ``continues`` is true), in the HTTP form, whose assignments keep
   their signatures (the ``application/aos-2`` JSON form drops them);
2. **checks every assignment**: it is slot ``n`` of this process (slots run
   from 0 without a gap), its signatures verify and one of them is the
   scheduler's the process names (``scheduler`` or ``scheduler-location``),
   the message it assigns verifies if it is signed, its ``hash-chain`` is
   ``sha256(previous link ++ ID(message, all))``, and slot 0 assigns the
   process itself (its ID is the process ID);
3. **computes every slot here**, on an in-memory node of its own that
   starts from the process and the checked assignments: the only other
   things it reads from the node are messages named by an ID (a WASM image,
   a Lua module), each checked to be what its ID names, and never a state
   or a result the node computed (:class:`ContentStore`);
4. **compares** each slot's state with the one the node serves (``GET
   /<process>~process@1.0/compute&slot=N``).

Every signature is checked on the bytes that arrived, as the node's HTTP
edge checks requests (:mod:`hyperbeam.codecs.received`), never on a new
encoding of the decoded message, so an encoder that differs from ours (an
Erlang node's) cannot make a good signature fail. A reply the node signed
whose signature fails is a mismatch (the reply is still compared).

What is compared: the whole public state after each slot (``results``,
``at-slot``, the process, and what the execution devices keep in the open:
AOS's ``vfs`` and ``parameters``...), by its content ID (``id(state,
none)``; the first key that differs is reported, ``results`` first), after
leaving out what is not the state: commitments (the node's signature on its
reply, checked instead), private keys, the keys of the HTTP encoding
(``status``, a multipart ``content-type``, ``body-keys``,
``inline-body-key``) and ``snapshot`` (present when the node happened to
take one at that slot). Both sides are compared in their decoded form (a
round trip through the TABM), which drops what decoding drops, such as an
empty ``data`` (upstream's ``filter_default_keys``). With ``results_only``
(``--results-only``) only each slot's ``results`` are compared: against a
node whose devices lay out their state otherwise (upstream's Erlang
devices: not tried) the other keys would differ.

What is not compared: **hashpaths**. A state's hashpath lives in its private
map, which neither this node nor upstream's serves over HTTP; the hashpath
computed here after the last slot is printed, for comparing with another
verifier. Nor is the private state of the execution devices (a WASM
instance's memory, a Lua heap), except through what it makes the public
state say. A difference in limits (``wasm-time-limit``,
``lua-max-instructions``) can make a slot fail on one side only: ``--set``
sets them for the computation here.

Hash chains: upstream's scheduler hashes the previous link as its raw digest
but, after a restart, as its 43-character text (see
:mod:`hyperbeam.scheduler.assignment`); either form is accepted. The ID of a
signed message is that of its signatures, so a message changed without
being signed again keeps its ID (its chain holds) and fails its signature.

Exit status of the command: 0 when every slot checked matches, 1 at the first
mismatch (the slot, what differed and both values, abbreviated), 2 when the
node cannot be reached, does not know the process, does not serve a state it
scheduled, or serves something that cannot be read.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import httpx

from hyperbeam.ao.resolve import resolve_many
from hyperbeam.ao.singleton import from_request
from hyperbeam.codecs import received, rfc9421
from hyperbeam.codecs.structured import to_bytes
from hyperbeam.config import NodeConfig
from hyperbeam.errors import HyperbeamError
from hyperbeam.http import client as http_client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id, is_human_id, native_id, sha256
from hyperbeam.message.model import Message, as_text, normalize_keys
from hyperbeam.message.private import private_of, strip_private
from hyperbeam.message.wire import to_rich
from hyperbeam.scheduler import cache as schedule_cache
from hyperbeam.scheduler import formats
from hyperbeam.store.base import StoreChain
from hyperbeam.store.memory import MemoryStore
from hyperbeam.store.remote import RemoteNodeStore

#: Seconds to wait for one answer of the node (computing a slot may be slow).
DEFAULT_TIMEOUT = 300.0

#: Keys of a decoded HTTP reply that belong to its encoding, not to the state.
ENCODING_KEYS = frozenset({"status", "body-keys", "inline-body-key"})
#: Keys of a stored state that say how the node keeps it, not what it is:
#: ``snapshot`` is there when the node took one at that slot (by time, by
#: its settings, or when it stopped), and a Lua snapshot is sealed with a key
#: of the node's own.
STORAGE_KEYS = frozenset({"snapshot"})


class VerifyError(HyperbeamError):
    """The node could not be asked, or its answer could not be read."""

    status = 502


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first slot where the node and this check disagree."""

    slot: int
    what: str  # "schedule", "state" or "computation"
    reason: str
    node: str = ""
    local: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """What :func:`verify` found; :meth:`lines` is the printed report."""

    process: str
    node: str
    #: Assignments read from the node (slots 0 to ``scheduled - 1``).
    scheduled: int
    #: Slots recomputed here whose state matches the node's.
    checked: int
    mismatch: Mismatch | None = None
    #: The hashpath of the state computed here after the last slot checked.
    hashpath: str = ""
    #: IDs read from the node to compute (images, modules), each checked.
    fetched: tuple[str, ...] = ()
    #: The last slot asked for (``--to``), if any.
    to: int | None = None
    #: Whether only each slot's ``results`` were compared.
    results_only: bool = False

    @property
    def ok(self) -> bool:
        return self.mismatch is None

    def lines(self) -> list[str]:
        m = self.mismatch
        last = self.scheduled - 1
        out = [f"process {self.process} on {self.node}"]
        if m is not None and m.what == "schedule":
            verified = f"slots before {m.slot} verify" if m.slot else "slot 0 does not verify"
            out.append(f"schedule: slots 0..{last} read; {verified}")
        else:
            out.append(
                f"schedule: slots 0..{last} read; every assignment's signature and "
                "hash chain verify"
            )
        if self.to is not None and self.to > last:
            out.append(f"the node's schedule ends at slot {last} (asked for slots up to {self.to})")
        for item in self.fetched:
            out.append(f"read from the node by ID (content checked): {item}")
        compared = "results" if self.results_only else "states"
        out.append(f"{self.checked} slots checked (computed here, {compared} compared)")
        if self.hashpath:
            out.append(f"hashpath here after slot {self.checked - 1}: {self.hashpath}")
        if m is None:
            out.append("no mismatch: every slot checked matches the node")
            return out
        out.append(f"MISMATCH at slot {m.slot} ({m.what}): {m.reason}")
        if m.node or m.local:
            out.append(f"  node:  {m.node}")
            out.append(f"  local: {m.local}")
        return out


# --- progress ---------------------------------------------------------------------


class Progress:
    """Progress on a stream: one line rewritten in place on a terminal, a
    line every tenth of the way otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._open = False  # a line being rewritten is on the terminal

    def update(self, label: str, done: int, total: int) -> None:
        if self.tty:
            width = 30
            filled = width * done // max(total, 1)
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r{label} [{bar}] {done}/{total}")
            self._open = True
            if done >= total:
                self.finish()
        elif done == total or done % max(1, total // 10) == 0:
            self.stream.write(f"{label}: {done}/{total}\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the line being rewritten, if any."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


# --- reading the node -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """A message the node served, and what is wrong with its signature (or
    with its ``content-digest`` when unsigned), if anything."""

    message: Message
    problem: str | None = None


def get_message(node: str, path: str, timeout: float, what: str) -> Reply:
    """``GET <node><path>`` decoded as the node's HTTP edge decodes a request:
    every signature checked on the bytes that arrived (never on a new
    encoding, so another implementation's encoder cannot make it fail), and
    every signed message in it bound to those bytes, so that verifying it
    later checks them too (see :mod:`hyperbeam.codecs.received`). A reply
    whose own signature fails is read without it, and the failure kept
    (``what`` names the reply in it)."""
    url = node + path
    try:
        res = http_client.shared().get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise VerifyError(f"GET {url} failed: {exc}") from None
    fields = http_client.response_fields(res)
    if res.status_code >= 400:
        raise VerifyError(f"GET {url}: {res.status_code} {_abbrev(res.content, 200)}")
    problem = None
    try:
        if "signature" in fields:
            try:
                tabm, wires = http_client.decode_received(res, fields)
                return Reply(to_rich(tabm, wires))
            except HyperbeamError as exc:
                problem = f"the node's signature on its {what} does not verify ({exc.reason})"
                fields = {
                    k: v for k, v in fields.items() if k not in ("signature", "signature-input")
                }
        if "content-digest" in fields:
            wrong = rfc9421.check_content_digest(fields["content-digest"], res.content)
            if wrong is not None:
                problem = problem or f"the node's {what} does not match its digest ({wrong})"
        tabm, wires = received.decode(fields, res.content)
        return Reply(to_rich(tabm, wires), problem)
    except HyperbeamError as exc:
        raise VerifyError(f"GET {url}: the reply cannot be read: {exc.reason}") from None


# --- the schedule -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """The assignments read, in order, and the pages whose own signature
    failed, by their first slot."""

    assignments: list[Message]
    page_problems: dict[int, str]


def fetch_schedule(
    node: str, pid: str, *, to: int | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Schedule:
    """The assignments ``0..to`` (all without ``to``) the node serves, in
    order, following its pages."""
    found: list[Message] = []
    problems: dict[int, str] = {}
    start = 0
    while to is None or start <= to:
        query = f"target={pid}&from={start}" + (f"&to={to}" if to is not None else "")
        try:
            reply = get_message(
                node,
                f"/~scheduler@1.0/schedule?{query}",
                timeout,
                f"schedule page from slot {start}",
            )
        except VerifyError as exc:
            raise VerifyError(
                f"the node did not serve the schedule of {pid} from slot {start}: {exc.reason}"
            ) from None
        page = reply.message
        raw = page.get("assignments", {})
        try:
            assignments = formats.ordered(raw) if isinstance(raw, dict) else []
            last = int(assignments[-1]["slot"]) if assignments else start - 1
        except (KeyError, TypeError, ValueError) as exc:
            raise VerifyError(f"the node's schedule page cannot be read: {exc}") from None
        if reply.problem is not None and assignments:
            problems[start] = reply.problem
        found.extend(a for a in assignments if to is None or _slot_of(a) <= to)
        more = page.get("continues", False) in (True, "true", "?1")
        if not assignments or not more or last < start:
            break
        start = last + 1
    return Schedule(found, problems)


def _slot_of(assignment: Message) -> int:
    try:
        return int(assignment["slot"])
    except (KeyError, TypeError, ValueError):
        return -1


def check_assignment(
    pid: str, slot: int, assignment: Message, previous: str, scheduler: str | None
) -> list[str]:
    """What is wrong with ``assignment`` as slot ``slot`` of ``pid`` after
    the link ``previous`` ("" for slot 0); empty when nothing is."""
    problems: list[str] = []
    if _slot_of(assignment) != slot:
        problems.append(f"it is numbered slot {assignment.get('slot')!r}, expected {slot}")
    if as_text(assignment.get("process", "")) != pid:
        problems.append(f"it names the process {_abbrev(assignment.get('process'))}")
    body = assignment.get("body")
    if not isinstance(body, dict):
        return [*problems, "it carries no message"]
    signers = commit.signers(assignment)
    if not signers:
        problems.append("the assignment is not signed")
    elif not _verifies(assignment):
        problems.append("bad signature on the assignment")
    elif scheduler is not None and scheduler not in signers:
        problems.append(
            f"signed by {', '.join(signers)}, not by the process's scheduler {scheduler}"
        )
    if commit.signers(body) and not _verifies(body):
        problems.append("bad signature on the message it assigns")
    stated = as_text(assignment.get("hash-chain", ""))
    body_id = commit.id(body, "all")
    if stated not in _chain_links(previous, body_id):
        problems.append(
            f"broken hash chain: sha256(previous ++ {_abbrev(body_id)}) is "
            f"{_abbrev(_chain_links(previous, body_id)[0])}, the assignment says {_abbrev(stated)}"
        )
    if slot == 0 and body_id != pid:
        problems.append(f"slot 0 is not the process: its message is {body_id}")
    return problems


def _chain_links(previous: str, body_id: str) -> list[str]:
    """The next link, from the previous one as its digest (upstream while its
    server runs) or as its text (upstream after a restart)."""
    if not previous:
        return [human_id(sha256(body_id.encode()))]
    return [
        human_id(sha256(native_id(previous) + body_id.encode())),
        human_id(sha256(previous.encode() + body_id.encode())),
    ]


def _verifies(msg: Message) -> bool:
    try:
        return commit.verify(msg)
    except Exception:  # a commitment that cannot even be checked
        return False


def scheduler_of(process: Message) -> str | None:
    """The address of the scheduler the process names, if it names one."""
    for name in ("scheduler", "scheduler-location"):
        value = process.get(name)
        if isinstance(value, str | bytes) and is_human_id(as_text(value)):
            return as_text(value)
    return None


# --- computing here ---------------------------------------------------------------


class ContentStore(RemoteNodeStore):
    """The node's messages, asked for only by their ID (``GET /<id>``, as
    any node serves them) and each checked to be what the ID names, so that
    nothing the node computed is ever taken (states live at ``computed/...``,
    results at ``resolved/...``, and those are never asked for).

    A signed message must have the ID among its commitments, as rebuilt from
    its signatures, which must verify on the bytes that arrived; anything
    else must be a message whose content (without the node's signature on
    the reply and the reply's ``status``) has that ID, or a binary whose
    sha-256 it is. (A :class:`RemoteNodeStore` only for the node's
    ``load_message``, which asks such stores for IDs.)"""

    def __init__(self, node_url: str, *, timeout: float) -> None:
        super().__init__(node_url, timeout=timeout)
        self.fetched: list[str] = []
        self.refused: list[str] = []

    def read_message(self, key: str) -> Message | bytes | None:
        if not is_human_id(key):
            return None
        try:
            reply = get_message(self.node_url, f"/{key}", self.timeout, f"message {key}")
        except VerifyError:
            return None
        checked = content_of(key, reply)
        (self.fetched if checked is not None else self.refused).append(key)
        return checked


def content_of(key: str, reply: Reply) -> Message | bytes | None:
    """What ``reply`` holds if it is what ``key`` names (see :class:`ContentStore`)."""
    if reply.problem is not None:
        return None
    msg = reply.message
    if commit.signers(msg) and key in msg.get("commitments", {}):
        return msg
    plain = {k: v for k, v in commit.uncommitted(msg).items() if k not in ENCODING_KEYS}
    if key in (commit.id(plain, "none"), commit.id(plain)):
        return plain
    body = plain.get("body")
    if isinstance(body, bytes | str) and human_id(sha256(to_bytes(body))) == key:
        return to_bytes(body)
    return None


@contextmanager
def local_node(
    node_url: str, settings: Mapping[str, Any], timeout: float
) -> Iterator[tuple[Any, ContentStore]]:
    """A node of our own in memory (wallet and compiled modules in a
    temporary directory), reading IDs from ``node_url`` only through a
    :class:`ContentStore`."""
    from hyperbeam.node import Node

    with tempfile.TemporaryDirectory(prefix="hyperbeam-verify-") as tmp:
        config = NodeConfig(data_dir=Path(tmp)).with_updates(
            {**settings, "store": "memory", "gateway": "", "remote_stores": ""}
        )
        node = Node(config)
        content = ContentStore(node_url, timeout=timeout)
        node.store = StoreChain([MemoryStore(), content])
        node.store.start()
        node.prepare()
        try:
            yield node, content
        finally:
            for pid in node.workers.processes():
                node.workers.forget(pid)  # no snapshot of them on closing
            node.close()


def compute_here(node: Any, pid: str, slot: int) -> tuple[str, Any]:
    """The state after ``slot``, computed by the local node."""
    request = {"path": f"/{pid}~process@1.0/compute&slot={slot}"}
    try:
        return resolve_many(from_request(request), node.opts())
    except HyperbeamError as exc:
        return "error", {"status": exc.status, "body": exc.reason}
    except Exception as exc:  # a device that fails here must not hide the report
        return "error", {"status": 500, "body": f"{type(exc).__name__}: {exc}"}


def node_state(node: str, pid: str, slot: int, timeout: float) -> Reply:
    """The state after ``slot`` as the node serves it."""
    try:
        return get_message(node, f"/{pid}~process@1.0/compute&slot={slot}", timeout, "state")
    except VerifyError as exc:
        raise VerifyError(
            f"the node did not serve the state after slot {slot}: {exc.reason}"
        ) from None


# --- comparing --------------------------------------------------------------------


def public_state(msg: Message) -> Message:
    """A state without its commitments, private keys, HTTP encoding keys and
    storage keys, in the form it has once decoded (a round trip through the
    TABM drops what decoding drops, such as an empty ``data``, which
    upstream's ``filter_default_keys`` removes)."""
    plain = strip_private(commit.uncommitted(msg))
    out = {k: v for k, v in plain.items() if k not in ENCODING_KEYS and k not in STORAGE_KEYS}
    if as_text(out.get("content-type", "")).startswith("multipart/"):
        del out["content-type"]
    canonical: Message = commit.convert(commit.convert(out, "tabm"), "structured@1.0", "tabm")
    return canonical


def compare_states(
    slot: int, local: Message, served: Reply, *, results_only: bool = False
) -> Mismatch | None:
    """``None`` when the two states (or only their ``results``) have the
    same content and the node's signature on its state, if any, verifies."""
    reasons = [] if served.problem is None else [served.problem]
    mine, theirs = public_state(local), public_state(served.message)
    if results_only:
        mine, theirs = ({"results": s["results"]} if "results" in s else {} for s in (mine, theirs))
    local_id, node_id = commit.id(mine, "none"), commit.id(theirs, "none")
    if local_id == node_id:
        if not reasons:
            return None
        return Mismatch(slot, "state", f"{reasons[0]} (its content matches)")
    where = first_difference(mine, theirs)
    if where is None:
        reasons.append("the states' IDs differ")
        return Mismatch(slot, "state", "; ".join(reasons), node_id, local_id)
    path, ours, node_value = where
    reasons.append(f"the state differs at {path or '/'}")
    return Mismatch(slot, "state", "; ".join(reasons), _abbrev(node_value), _abbrev(ours))


_MISSING = object()


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first path where ``a`` and ``b`` differ (``results`` first), with
    both values; ``None`` if none does."""
    if isinstance(a, dict) and isinstance(b, dict):
        a, b = normalize_keys(a), normalize_keys(b)
        keys = sorted(set(a) | set(b), key=lambda k: (k != "results", k))
        for k in keys:
            found = first_difference(a.get(k, _MISSING), b.get(k, _MISSING), f"{path}/{k}")
            if found is not None:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}/{n + 1}")
            if found is not None:
                return found
        return None
    if _same(a, b):
        return None
    return path, ("(missing)" if a is _MISSING else a), ("(missing)" if b is _MISSING else b)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bytes) or isinstance(b, bytes):
        as_bytes = [x.encode() if isinstance(x, str) else x for x in (a, b)]
        return bool(as_bytes[0] == as_bytes[1])
    return bool(a == b)


def _abbrev(value: Any, limit: int = 80) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    text = value if isinstance(value, str) else repr(value)
    return (
        text if len(text) <= limit else f"{text[: limit - 20]}...{text[-15:]} ({len(text)} chars)"
    )


def _brief(reply: Any) -> str:
    if isinstance(reply, dict):
        status = reply.get("status", "")
        body = reply.get("body", reply.get("reason", ""))
        return f"{status} {_abbrev(body, 200)}".strip()
    return _abbrev(reply, 200)


# --- all of it --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """How to verify: up to which slot, what to compare, the settings of the
    computation here and how long to wait for the node."""

    to: int | None = None
    results_only: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT


def verify(
    pid: str, node_url: str, options: Options | None = None, progress: Progress | None = None
) -> Report:
    """Check the process ``pid`` as the node at ``node_url`` serves it, up
    to slot ``options.to`` (every slot scheduled without it). Raises
    :class:`VerifyError` when the node cannot be asked or read."""
    opts = options or Options()
    if not is_human_id(pid):
        raise VerifyError(f"not a process ID: {pid!r}", status=400)
    if opts.to is not None and opts.to < 0:
        raise VerifyError(f"--to must be a slot (0 or more), not {opts.to}", status=400)
    node_url = node_url.rstrip("/")
    tell = progress or Progress()
    schedule = fetch_schedule(node_url, pid, to=opts.to, timeout=opts.timeout)
    assignments = schedule.assignments
    if not assignments:
        raise VerifyError(f"the node serves no schedule for {pid}", status=404)
    tell.note(f"schedule: {len(assignments)} assignments read")
    blank = Report(pid, node_url, len(assignments), 0, to=opts.to, results_only=opts.results_only)
    body0 = assignments[0].get("body")
    scheduler = scheduler_of(body0) if isinstance(body0, dict) else None
    previous = ""
    for slot, assignment in enumerate(assignments):
        problems = check_assignment(pid, slot, assignment, previous, scheduler)
        if problems:
            return replace(blank, mismatch=Mismatch(slot, "schedule", "; ".join(problems)))
        previous = as_text(assignment["hash-chain"])
    if schedule.page_problems:
        first = min(schedule.page_problems)
        mismatch = Mismatch(first, "schedule", schedule.page_problems[first])
        return replace(blank, mismatch=mismatch)
    return _compute_all(blank, assignments, opts, tell)


def _compute_all(
    blank: Report, assignments: list[Message], opts: Options, tell: Progress
) -> Report:
    """Compute every slot here and compare it with the node's state."""
    with local_node(blank.node, opts.settings, opts.timeout) as (node, content):
        try:
            return _compute_each(blank, assignments, opts, tell, node, content)
        finally:
            tell.finish()


def _compute_each(
    blank: Report,
    assignments: list[Message],
    opts: Options,
    tell: Progress,
    node: Any,
    content: ContentStore,
) -> Report:
    pid, total = blank.process, len(assignments)
    # (Each signed message in an assignment, the process at slot 0 included,
    # is written at its ID too, where the node loads it from.)
    for assignment in assignments:
        schedule_cache.write(assignment, node.store)
    hashpath = ""

    def result(slot: int, mismatch: Mismatch | None = None) -> Report:
        fetched = tuple(dict.fromkeys(content.fetched))
        return replace(blank, checked=slot, mismatch=mismatch, hashpath=hashpath, fetched=fetched)

    for slot in range(total):
        status, local = compute_here(node, pid, slot)
        served = node_state(blank.node, pid, slot, opts.timeout)
        if status != "ok" or not isinstance(local, dict):
            refused = f" (refused: {', '.join(content.refused)})" if content.refused else ""
            reason = f"the node served a state, but computing it here failed{refused}"
            node_results = _abbrev(public_state(served.message).get("results"))
            return result(slot, Mismatch(slot, "computation", reason, node_results, _brief(local)))
        mismatch = compare_states(slot, local, served, results_only=opts.results_only)
        if mismatch is not None:
            return result(slot, mismatch)
        live = node.workers.state(pid)
        hashpath = str(private_of(live).get("hashpath", "")) if live is not None else ""
        tell.update("slots", slot + 1, total)
    return result(total)
