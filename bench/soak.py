"""Soak: mixed traffic against one node for minutes (issue 15, item 6).

Workload: this benchmark starts one ``hyperbeam serve`` (a free port, a fresh
temporary data dir, the wallet it generates, ``--gateway ''``, log level
warning) and spawns, over HTTP, three processes signed by a generated user
wallet: a ``scheduler@1.0`` test process, an AOS process (``aos2_0_6.wasm``,
the WASM AOS stack) and a hyper-aos process (``lua@5.3a``); the AOS image and
the hyper-aos module are written to the node by its operator first. Then
``--clients`` threads (default 8), each on its own keep-alive connection,
pick operations at random by weight (``--mix``) for ``--minutes``:

  get       unsigned GET of a new HyperPATH each time, e.g.
            ``/~message@1.0&k=<random>/k``, ``...&n+integer=<i>/n``,
            ``...&m+map=x=%22<random>%22/m/x``: 200 and the value;
  signed    a signed (RSA-4096 httpsig) POST of ``/~message@1.0/a`` with a
            random ``a``: 200 and ``a``;
  schedule  a signed message POSTed to the scheduler process's schedule:
            200 and a ``slot``;
  wasm      a signed Eval ``return <i> + 1`` POSTed to the AOS process's
            schedule (counted as a ``schedule`` request), then
            ``GET /<pid>~process@1.0/compute&slot=<slot>/results/data``:
            200 and ``<i + 1>``;
  lua       the same on the hyper-aos process (``.../results/output/data``);
  bad       one of: a malformed HyperPATH (400), an unknown device (404), a
            signature with ``alg="none"`` (400), a 200 KB header (431, 400,
            or the connection dropped), a garbage multipart body (400).

Signing happens before the clock starts; a request's latency is its HTTP
round trip. Any other status, a wrong body, a timeout or a transport error
is counted by kind (``<request kind>/<case>: <what>``) and its first example
printed. Every ``--interval`` seconds one line: requests and rate, p50 and
p99 latency, errors, the node's VmRSS and RssAnon (``/proc/<pid>/status``,
the node's process only), and the bytes its data dir takes on disk
(allocated blocks, as ``du``).

Verdict rule: the intervals after the first (the warm-up) are split in
thirds; RssAnon is flat when the median of the last third is at most
``RSS_FACTOR`` (1.25) times the median of the first third, and p99 latency
when that ratio is at most ``P99_FACTOR`` (2.0). The data dir grows by design
(signed requests, assignments and process states are kept; results go to the
request cache, bounded by ``request-cache-max-bytes``), so only its size is
shown.

Run: .venv/bin/python -m bench.soak [--minutes 10] [--interval 30] [--clients 8]
     [--mix get=30,signed=15,schedule=20,wasm=10,lua=10,bad=15]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import math
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import free_port
from tests.processes import (
    aos_image,
    aos_process,
    hyper_aos_code,
    hyper_aos_process,
    scheduler_test_process,
)

from bench._common import RunningNode, machine_line, report, stop_node
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http.client import encode_request
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id

MIX = {"get": 30, "signed": 15, "schedule": 20, "wasm": 10, "lua": 10, "bad": 15}
RSS_FACTOR = 1.25
P99_FACTOR = 2.0
TIMEOUT = httpx.Timeout(120.0, connect=10.0)
MIB = 1024 * 1024


# --- the node ----------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when this benchmark dies, even by SIGKILL."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_node(tmp: Path) -> RunningNode:
    """``hyperbeam serve`` as tests/conftest.py starts it, tied to this process."""
    port, data_dir, log = free_port(), tmp / "data", tmp / "node.log"
    exe = Path(sys.executable).with_name("hyperbeam")
    cmd = [str(exe), "serve", "--port", str(port), "--data-dir", str(data_dir),
           "--gateway", "", "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
            process_group=0,  # Ctrl-C reaches this benchmark, which then stops the node
            preexec_fn=_die_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    node = RunningNode(url, proc, data_dir, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and node.alive():
        try:
            httpx.get(f"{url}/~meta@1.0/info", timeout=1)
            return node
        except httpx.TransportError:
            time.sleep(0.1)
    stop_node(node)
    raise RuntimeError(f"node did not start:\n{log.read_text()}")


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, RssAnon) of ``pid`` in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            fields[name] = int(value.split()[0])
    return fields["VmRSS"], fields["RssAnon"]


def disk_bytes(root: Path) -> int:
    """Bytes allocated to the files under ``root`` (as ``du``)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # a file gone meanwhile
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


def post_message(http: httpx.Client, msg: dict[str, Any]) -> httpx.Response:
    """``msg`` POSTed as httpsig, its ``path`` the URL path."""
    headers, body = encode_request(msg)
    path = headers.pop("path", None) or str(msg["path"])
    return http.post(path, headers=headers, content=body)


@dataclass(frozen=True)
class Targets:
    """Who signs the traffic, and the processes it goes to (``None``: no code for it)."""

    user: Wallet
    scheduled: str
    aos: str | None
    lua: str | None


def spawn(http: httpx.Client, user: Wallet, process: dict[str, Any]) -> str:
    proc = commit.commit(process, user)
    res = post_message(http, {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc})
    assert res.status_code == 200, res.text
    return human_id(commit.id(proc, "all"))


def prepare(node: RunningNode) -> Targets:
    """Spawn the scheduler, AOS and hyper-aos processes (those whose code is here)."""
    operator = Wallet.load(node.data_dir / "wallet.json")
    user = Wallet.generate()
    with httpx.Client(base_url=node.url, timeout=TIMEOUT) as http:

        def write(body: dict[str, Any]) -> str:
            msg = {"path": "/~cache@1.0/write", "method": "POST", "body": body}
            res = post_message(http, commit.commit(msg, operator))
            assert res.status_code == 200, res.text
            return res.headers["path"]

        scheduled = spawn(http, user, scheduler_test_process(operator.address))
        print(f"# scheduler@1.0 test process {scheduled}")
        aos = lua = None
        try:
            image = write({"body": aos_image()})
            aos = spawn(http, user, aos_process(operator.address, image))
            print(f"# AOS process {aos} (aos2_0_6.wasm, image {image})")
        except FileNotFoundError as exc:
            print(f"# note: no WASM compute: {exc}")
        try:
            module = write({"content-type": "application/lua", "data": hyper_aos_code()})
            lua = spawn(http, user, hyper_aos_process(operator.address, module))
            print(f"# hyper-aos process {lua} (lua@5.3a, module {module})")
        except FileNotFoundError as exc:
            print(f"# note: no Lua compute: {exc}")
    return Targets(user, scheduled, aos, lua)


# --- recording ---------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str
    seconds: float
    error: str | None


@dataclass
class Recorder:
    """Samples from every client thread, taken by the main thread per interval."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[Sample] = field(default_factory=list)
    seen_errors: set[str] = field(default_factory=set)
    slowest: tuple[float, str] = (0.0, "")

    def add(self, kind: str, seconds: float, error: str | None, what: str) -> None:
        with self.lock:
            self.samples.append(Sample(kind, seconds, error))
            if seconds > self.slowest[0]:
                self.slowest = (seconds, what)
            if error is not None and error not in self.seen_errors:
                self.seen_errors.add(error)
                print(f"  ! first {error}: {what}", flush=True)

    def take(self) -> list[Sample]:
        with self.lock:
            samples, self.samples = self.samples, []
            return samples


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- the traffic -------------------------------------------------------------


class Client:
    """One client thread: its own connection, its own random numbers."""

    def __init__(self, url: str, targets: Targets, recorder: Recorder) -> None:
        self.http = httpx.Client(base_url=url, timeout=TIMEOUT)
        self.targets, self.recorder = targets, recorder
        self.rng = random.Random(secrets.randbits(64))

    def call(
        self,
        kind: str,
        case: str,
        send: Callable[[], httpx.Response],
        codes: set[int],
        text: str | None = None,
        dropped_ok: bool = False,
    ) -> httpx.Response | None:
        """Time ``send()``; record it, with what went wrong unless its status
        is in ``codes`` (and its body is ``text``); the response if it came."""
        label = f"{kind}/{case}" if case else kind
        start = time.perf_counter()
        res, error, what = None, None, ""
        try:
            res = send()
            what = f"{res.request.method} {res.request.url.raw_path.decode()[:120]}"
            what += f" -> {res.status_code} {res.text[:200]!r}"
            if res.status_code not in codes:
                error = f"{label}: status {res.status_code}"
            elif text is not None and res.text != text:
                error = f"{label}: wrong body"
                what += f" (wanted {text!r})"
        except httpx.TimeoutException as exc:
            error, what = f"{label}: timeout", repr(exc)
        except httpx.TransportError as exc:
            if not dropped_ok:
                error, what = f"{label}: {type(exc).__name__}", repr(exc)
        self.recorder.add(kind, time.perf_counter() - start, error, what or label)
        return res if error is None else None

    def get(self) -> None:
        token, n = secrets.token_hex(8), self.rng.randrange(10**9)
        path, value = self.rng.choice(
            [
                (f"/~message@1.0&k={token}/k", token),
                (f"/~message@1.0&k={token}&n+integer={n}/n", str(n)),
                (f"/~message@1.0&m+map=x=%22{token}%22/m/x", token),
            ]
        )
        self.call("get", "", lambda: self.http.get(path), {200}, value)

    def signed(self) -> None:
        token = secrets.token_hex(8)
        msg = commit.commit({"path": "/~message@1.0/a", "a": token}, self.targets.user)
        self.call("signed", "", lambda: post_message(self.http, msg), {200}, token)

    def schedule(self, pid: str, body: dict[str, Any], case: str = "scheduler") -> int | None:
        """Schedule a signed ``body`` on ``pid``: its slot."""
        msg = commit.commit({**body, "type": "Message", "target": pid}, self.targets.user)
        request = {**msg, "path": f"/{pid}~process@1.0/schedule"}
        if case == "scheduler":  # the scheduler test process is no process@1.0
            request = {"path": f"/{pid}/schedule", "method": "POST", "body": msg}
        res = self.call("schedule", case, lambda: post_message(self.http, request), {200})
        slot = None if res is None else res.headers.get("slot")
        return None if slot is None else int(slot)

    def compute(self, kind: str, pid: str, key: str) -> None:
        n = self.rng.randrange(10**6)
        slot = self.schedule(pid, {"action": "Eval", "data": f"return {n} + 1"}, kind)
        if slot is not None:
            path = f"/{pid}~process@1.0/compute&slot={slot}/{key}"
            self.call(kind, "", lambda: self.http.get(path), {200}, str(n + 1))

    def bad(self) -> None:
        token = secrets.token_hex(4)
        case = self.rng.choice(["path", "device", "signature", "header", "multipart"])
        sends: dict[str, tuple[Callable[[], httpx.Response], set[int]]] = {
            "path": (
                lambda: self.http.get(
                    self.rng.choice(
                        [
                            f"/~message@1.0&a=({token}/c",
                            f"/~message@1.0&n+integer={token}x/n",
                            f"/~message@1.0&n+bogus={token}/n",
                        ]
                    )
                ),
                {400},
            ),
            "device": (lambda: self.http.get(f"/~nosuch-{token}@9.9/x"), {404}),
            "signature": (
                lambda: self.http.get(
                    "/~message@1.0&k=v/k",
                    headers={
                        "k": token,
                        "signature-input": 'sig1=("k");alg="none";keyid="x"',
                        "signature": "sig1=:AAAA:",
                    },
                ),
                {400},
            ),
            "header": (
                lambda: self.http.get("/~message@1.0&k=v/k", headers={"x-big": "a" * 200_000}),
                {400, 431},
            ),
            "multipart": (
                lambda: self.http.post(
                    "/~message@1.0/k",
                    headers={"content-type": 'multipart/form-data; boundary="zz"'},
                    content=b"--zz\r\n" + secrets.token_bytes(self.rng.randrange(1, 2000)),
                ),
                {400},
            ),
        }
        send, codes = sends[case]
        self.call("bad", case, send, codes, dropped_ok=case == "header")

    def run(self, weights: dict[str, int], stop: threading.Event) -> None:
        targets = self.targets
        ops: dict[str, Callable[[], object]] = {
            "get": self.get,
            "signed": self.signed,
            "schedule": lambda: self.schedule(targets.scheduled, {"n": secrets.token_hex(8)}),
            "wasm": lambda: self.compute("wasm", str(targets.aos), "results/data"),
            "lua": lambda: self.compute("lua", str(targets.lua), "results/output/data"),
            "bad": self.bad,
        }
        kinds, shares = list(weights), list(weights.values())
        try:
            while not stop.is_set():
                ops[self.rng.choices(kinds, shares)[0]]()
        finally:
            self.http.close()


# --- intervals and the summary ------------------------------------------------


@dataclass(frozen=True)
class Interval:
    at: float
    seconds: float
    latencies: list[float]
    errors: Counter[str]
    rss: int
    anon: int
    store: int

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)


def mib(kib_or_bytes: int, kib: bool = True) -> str:
    return f"{kib_or_bytes / (1024 if kib else MIB):.1f} MiB"


def interval_line(row: Interval) -> str:
    errors = ", ".join(f"{k}: {n}" for k, n in row.errors.most_common()) or "none"
    return (
        f"[{row.at:6.0f} s] {len(row.latencies)} ops in {row.seconds:.2f} s "
        f"({len(row.latencies) / row.seconds:,.0f}/s), "
        f"p50 {percentile(row.latencies, 0.5) * 1000:.1f} ms, p99 {row.p99 * 1000:.1f} ms, "
        f"errors: {errors}, RSS {mib(row.rss)} (anon {mib(row.anon)}), "
        f"store {mib(row.store, kib=False)}"
    )


def flat(rows: list[Interval], value: Callable[[Interval], float], factor: float) -> str:
    """The verdict for ``value``: last-third median against first-third median."""
    steady = rows[1:] if len(rows) > 1 else rows
    third = max(1, len(steady) // 3)
    first = statistics.median(value(r) for r in steady[:third])
    last = statistics.median(value(r) for r in steady[-third:])
    ratio = last / first if first else math.inf
    verdict = "flat" if ratio <= factor else "GREW"
    return f"{verdict} (last-third median / first-third median = {ratio:.2f}, limit {factor})"


def summary(rows: list[Interval], per_kind: dict[str, list[float]], recorder: Recorder) -> None:
    print("# summary")
    latencies = [s for row in rows for s in row.latencies]
    if not latencies:
        print("no request completed")
        return
    elapsed = sum(row.seconds for row in rows)
    report(f"soak, mixed traffic, {len(rows)} intervals", len(latencies), elapsed)
    print(
        f"  latency p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.0f} ms "
        f"(slowest: {recorder.slowest[1][:160]})"
    )
    for kind, values in sorted(per_kind.items()):
        print(
            f"  {kind:9} {len(values):7} requests, p50 {percentile(values, 0.5) * 1000:7.1f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:7.1f} ms, max {max(values) * 1000:7.0f} ms"
        )
    errors: Counter[str] = sum((row.errors for row in rows), Counter())
    print(f"  errors: {', '.join(f'{k}: {n}' for k, n in errors.most_common()) or 'none'}")
    rss, anon = [r.rss for r in rows], [r.anon for r in rows]
    print(f"  RSS first/last/max: {mib(rss[0])} / {mib(rss[-1])} / {mib(max(rss))}")
    print(f"  RssAnon first/last/max: {mib(anon[0])} / {mib(anon[-1])} / {mib(max(anon))}")
    print(f"  store first/last: {mib(rows[0].store, False)} / {mib(rows[-1].store, False)}")
    if len(rows) > 1:  # growth after the first interval, per minute and per request
        minutes = (rows[-1].at - rows[0].at) / 60
        done = max(1, len(latencies) - len(rows[0].latencies))
        grew, stored = anon[-1] - anon[0], rows[-1].store - rows[0].store
        print(
            f"  after the first interval: RssAnon {grew / 1024 / minutes:+.1f} MiB/min "
            f"({grew * 1024 / done:+,.0f} B per request), "
            f"store {stored / MIB / minutes:+.1f} MiB/min ({stored / done:+,.0f} B per request)"
        )
    print(f"verdict: RssAnon {flat(rows, lambda r: r.anon, RSS_FACTOR)}")
    print(f"verdict: p99 latency {flat(rows, lambda r: r.p99, P99_FACTOR)}")


def node_log_report(node: RunningNode) -> None:
    lines = node.log.read_text(errors="replace").splitlines()
    bad = [line for line in lines if "Traceback" in line or "error" in line.lower()]
    print(f"# node log: {len(lines)} lines, {len(bad)} with 'error' or 'Traceback'")
    for line in bad[:5]:
        print(f"#   {line[:200]}")


def parse_mix(text: str) -> dict[str, int]:
    weights = dict(MIX)
    for part in filter(None, text.split(",")):
        kind, _, share = part.partition("=")
        if kind not in MIX:
            raise SystemExit(f"unknown kind {kind!r} in --mix (kinds: {', '.join(MIX)})")
        weights[kind] = int(share)
    return weights


def soak(minutes: float, interval: float, clients: int, weights: dict[str, int]) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        node = start_node(Path(tmp))
        stop = threading.Event()
        try:
            pid = node.process.pid
            print(f"# node pid {pid} at {node.url}, data dir {node.data_dir}")
            targets = prepare(node)
            weights = {
                k: w
                for k, w in weights.items()
                if w > 0 and not (k == "wasm" and targets.aos is None)
                and not (k == "lua" and targets.lua is None)
            }  # fmt: skip
            print(f"# {clients} clients, weights {weights}, {minutes} min, every {interval} s")
            rss, anon = memory_kib(pid)
            store = disk_bytes(node.data_dir)
            print(f"[     0 s] before traffic: RSS {mib(rss)} (anon {mib(anon)}), "
                  f"store {mib(store, False)}", flush=True)  # fmt: skip
            recorder = Recorder()
            threads = [
                threading.Thread(
                    target=Client(node.url, targets, recorder).run,
                    args=(weights, stop),
                    daemon=True,
                )
                for _ in range(clients)
            ]
            rows: list[Interval] = []
            per_kind: dict[str, list[float]] = {}
            start = last = time.monotonic()
            end = start + minutes * 60
            for thread in threads:
                thread.start()
            try:
                while last < end:
                    time.sleep(max(0.0, min(last + interval, end) - time.monotonic()))
                    now = time.monotonic()
                    samples = recorder.take()
                    for s in samples:
                        per_kind.setdefault(s.kind, []).append(s.seconds)
                    rss, anon = memory_kib(pid)
                    row = Interval(
                        now - start, now - last, [s.seconds for s in samples],
                        Counter(s.error for s in samples if s.error), rss, anon,
                        disk_bytes(node.data_dir),
                    )  # fmt: skip
                    rows.append(row)
                    print(interval_line(row), flush=True)
                    last = now
                    if not node.alive():
                        print(f"# the node exited ({node.process.returncode})")
                        break
            except KeyboardInterrupt:
                print("# interrupted")
            stop.set()
            for thread in threads:
                thread.join(timeout=5)
            summary(rows, per_kind, recorder)
        finally:
            stop.set()
            stop_node(node)
            node_log_report(node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds per line")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--mix", default="", help="weights, e.g. get=30,bad=0")
    args = parser.parse_args()

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        soak(args.minutes, args.interval, args.clients, parse_mix(args.mix))
    except KeyboardInterrupt:
        sys.exit(130)  # the node is stopped already


if __name__ == "__main__":
    main()
