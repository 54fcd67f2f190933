"""``hyperbeam aos``, ``spawn``, ``send`` and ``eval``: the client on the
command line.

``hyperbeam aos [PROCESS] --node URL --wallet FILE`` attaches to a process
(or spawns one: ``--module ID``, ``--kind aos|lua``) and reads Lua from the
terminal like ``aos``: each entry is sent as an ``Eval`` and its output shown
(with the messages it sent); a line ending in ``\\`` continues on the next;
``.editor`` starts a block ended by ``.done``; ``.inbox`` shows the size of
the process's inbox, ``.slot`` its latest slot, ``.exit`` (or end of input)
leaves. History is kept in ``~/.hyperbeam_history`` when the terminal has
``readline``. A wait of more than a moment shows a spinner on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

from hyperbeam.client.api import Client
from hyperbeam.client.flows import NodeError, Result

T = TypeVar("T")
HISTORY = Path("~/.hyperbeam_history").expanduser()


def add_commands(sub: Any) -> None:
    """The client's subcommands, on the ``hyperbeam`` argument parser."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--node", default="http://127.0.0.1:8734", help="the node's URL")
        parser.add_argument("--wallet", required=True, help="your Arweave key file (JWK)")

    aos = sub.add_parser("aos", help="an interactive console on a process, like aos")
    aos.add_argument("process", nargs="?", help="the process to attach to (else spawn one)")
    common(aos)
    for parser in (aos, sub.add_parser("spawn", help="spawn a process and print its ID")):
        if parser is not aos:
            common(parser)
        parser.add_argument("--module", help="the AOS image's (or Lua module's) ID")
        parser.add_argument("--kind", choices=["aos", "lua"], default="aos", help="WASM or Lua")
        parser.add_argument("--scheduler", help="the scheduler's address (default: the node)")
    send = sub.add_parser("send", help="send a message to a process and print its slot")
    common(send)
    send.add_argument("process")
    send.add_argument("data", nargs="?", default="")
    send.add_argument("--action", help="the message's Action tag")
    send.add_argument("--tag", action="append", default=[], metavar="NAME=VALUE")
    send.add_argument("--wait", action="store_true", help="also print its result")
    upload = sub.add_parser("upload", help="store a module on the node and print its ID")
    common(upload)
    upload.add_argument("file", type=Path, help="an AOS .wasm image or a .lua module")
    evaluate = sub.add_parser("eval", help="evaluate Lua in a process and print the output")
    common(evaluate)
    evaluate.add_argument("process")
    evaluate.add_argument("code", help="Lua code, or - to read it from standard input")


def run(args: argparse.Namespace) -> int:
    """Run one of the client's subcommands; the exit status."""
    try:
        with Client(args.node, wallet=args.wallet) as ao:
            if args.command == "spawn":
                print(_spawn(ao, args))
                return 0
            if args.command == "upload":
                kind = "application/lua" if args.file.suffix == ".lua" else None
                print(waiting("uploading", lambda: ao.upload(args.file.read_bytes(), kind)))
                return 0
            if args.command == "send":
                tags = dict(_tag(t) for t in args.tag)
                slot = ao.message(args.process, args.data, action=args.action, tags=tags)
                print(slot)
                if args.wait:
                    _show(waiting("computing", lambda: ao.result(args.process, slot)), sys.stdout)
                return 0
            if args.command == "eval":
                code = sys.stdin.read() if args.code == "-" else args.code
                result = waiting("evaluating", lambda: ao.eval(args.process, code))
                _show(result, sys.stdout)
                return 1 if result.error else 0
            pid = args.process or _spawn(ao, args)
            return Console(ao, pid).loop()
    except NodeError as exc:
        print(f"hyperbeam: the node answered {exc.status}: {exc.reason}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"hyperbeam: {exc}", file=sys.stderr)
        return 2


def _spawn(ao: Client, args: argparse.Namespace) -> str:
    if not args.module:
        raise ValueError("spawning needs --module: the ID of an AOS image or a Lua module")
    pid = waiting(
        "spawning", lambda: ao.spawn(args.module, kind=args.kind, scheduler=args.scheduler)
    )
    print(f"spawned {pid}", file=sys.stderr)
    return pid


def _tag(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--tag expects NAME=VALUE, not {text!r}")
    return name, value


def waiting(what: str, work: Callable[[], T], out: TextIO = sys.stderr) -> T:
    """``work()``, with a spinner on ``out`` while it takes more than 0.3 s."""
    done = threading.Event()

    def spin() -> None:
        if done.wait(0.3):
            return
        for frame in itertools.cycle("|/-\\"):
            out.write(f"\r{frame} {what}...")
            out.flush()
            if done.wait(0.1):
                out.write("\r" + " " * (len(what) + 6) + "\r")
                out.flush()
                return

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        return work()
    finally:
        done.set()
        spinner.join()


def _show(result: Result, out: TextIO) -> None:
    if result.error:
        out.write(f"error: {result.error}\n")
    if result.data:
        out.write(result.data.rstrip("\n") + "\n")
    for message in result.messages:
        target = (
            (message.get("Target") or message.get("target")) if isinstance(message, dict) else ""
        )
        out.write(f"-> message to {target}\n")
    out.flush()


class Console:
    """The read-evaluate-print loop of ``hyperbeam aos``."""

    def __init__(
        self, ao: Client, pid: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
    ) -> None:
        self.ao = ao
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout

    def loop(self) -> int:
        self.stdout.write(f"process {self.pid} on {self.ao.node}\n.exit to leave\n")
        with _history():
            for entry in self._entries():
                if entry == ".exit":
                    break
                self._do(entry)
        return 0

    def _do(self, entry: str) -> None:
        try:
            if entry == ".slot":
                self.stdout.write(f"{self.ao.slot(self.pid)}\n")
            elif entry == ".inbox":
                found = waiting("reading", lambda: self.ao.eval(self.pid, "return #Inbox"))
                self.stdout.write(f"{found.data or 0} messages in the inbox\n")
            else:
                _show(waiting("evaluating", lambda: self.ao.eval(self.pid, entry)), self.stdout)
        except NodeError as exc:
            self.stdout.write(f"the node answered {exc.status}: {exc.reason}\n")
        self.stdout.flush()

    def _entries(self) -> Iterator[str]:
        """Entries typed: lines, joined when one ends in ``\\`` or between
        ``.editor`` and ``.done``."""
        lines: list[str] = []
        editor = False
        while True:
            line = self._read("... " if lines or editor else "aos> ")
            if line is None:
                if lines:
                    yield "\n".join(lines)
                return
            if line.strip() == ".editor" and not editor:
                editor = True
                continue
            if editor:
                if line.strip() == ".done":
                    editor = False
                    yield "\n".join(lines)
                    lines = []
                else:
                    lines.append(line)
                continue
            if line.endswith("\\"):
                lines.append(line[:-1])
                continue
            entry = "\n".join([*lines, line]).strip()
            lines = []
            if entry:
                yield entry

    def _read(self, prompt: str) -> str | None:
        if self.stdin is sys.stdin and sys.stdin.isatty():
            try:
                return input(prompt)
            except EOFError:
                return None
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        return line.rstrip("\n") if line else None


@contextlib.contextmanager
def _history() -> Iterator[None]:
    try:
        import readline
    except ImportError:  # pragma: no cover - every Linux Python has it
        yield
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            readline.write_history_file(HISTORY)
