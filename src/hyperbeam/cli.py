"""The ``hyperbeam`` command.

hyperbeam serve [--host H] [--port P] [--data-dir D] [--config FILE]
hyperbeam resolve '/~message@1.0&k=v/k'
hyperbeam lua-test script.lua[:test1:test2] ...
hyperbeam wallet new [--out FILE]
hyperbeam wallet show [--wallet FILE]
hyperbeam verify PROCESS --node URL [--to SLOT]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from hyperbeam import __version__, config
from hyperbeam.client import console
from hyperbeam.errors import HyperbeamError

#: Subcommands that talk to a node as a client (hyperbeam.client.console).
CLIENT_COMMANDS = ("aos", "spawn", "send", "eval", "upload")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyperbeam", description="An AO-Core (HyperBEAM) node.")
    parser.add_argument("--version", action="version", version=f"hyperbeam {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", type=Path, help="config file (config.flat or .json)")
        sub.add_argument("--data-dir", type=Path, help="where the node keeps its data")
        sub.add_argument("--wallet", help="the node's key file (default <data-dir>/wallet.json)")
        sub.add_argument("--store", choices=["lmdb", "fs", "memory"], help="default lmdb")
        sub.add_argument("--gateway", help="Arweave gateway URL, '' for none")

    serve = commands.add_parser("serve", help="start a node")
    common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8734)")
    serve.add_argument("--workers", type=int, help="resolver threads (default 16)")
    serve.add_argument("--max-body-bytes", type=int, help="refuse larger bodies (default 64 MiB)")
    serve.add_argument("--log-level", help="debug, info, warning or error")
    serve.add_argument(
        "--force-signed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="sign every reply with the node's wallet (default: yes)",
    )
    serve.add_argument(
        "--forget-node-message",
        action="store_true",
        help="start from the config alone, dropping the operator's changes kept by earlier runs",
    )
    serve.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other setting (see the README), e.g. --set process-cache-frequency=10",
    )

    res = commands.add_parser("resolve", help="resolve a HyperPATH locally and print the result")
    common(res)
    res.add_argument("path", help="a HyperPATH, e.g. '/~message@1.0&k=v/k'")

    lua_test = commands.add_parser(
        "lua-test", help="run Lua scripts' *_test functions through lua@5.3a (upstream's lua-test)"
    )
    common(lua_test)
    lua_test.add_argument(
        "scripts", nargs="+", help="script.lua, or script.lua:test1:test2 to run only those"
    )

    wallet = commands.add_parser("wallet", help="create or show an Arweave key file")
    actions = wallet.add_subparsers(dest="action", required=True)
    new = actions.add_parser("new", help="generate an RSA-4096 key file (never overwrites)")
    common(new)
    new.add_argument("--out", help="where to write it (default: the node's key file)")
    show = actions.add_parser("show", help="print the address of a key file")
    common(show)
    console.add_commands(commands)  # aos, spawn, send, eval: the client

    verify = commands.add_parser(
        "verify", help="check a node's schedule of a process and recompute every slot here"
    )
    verify.add_argument("process", help="the process ID")
    verify.add_argument("--node", required=True, help="the node's URL, e.g. http://host:8734")
    verify.add_argument("--to", type=int, metavar="SLOT", help="check slots 0..SLOT only")
    verify.add_argument("--timeout", type=float, default=300.0, help="seconds for each answer")
    verify.add_argument(
        "--results-only", action="store_true", help="compare each slot's results, not its state"
    )
    verify.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the computation here, e.g. --set wasm-time-limit=120",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in CLIENT_COMMANDS:
        return console.run(args)
    if args.command == "verify":
        return _verify(args)
    try:
        overrides: dict[str, Any] = {
            "data_dir": args.data_dir,
            "wallet": args.wallet,
            "store": args.store,
            "gateway": args.gateway,
        }
        if args.command == "serve":
            overrides.update(
                host=args.host,
                port=args.port,
                workers=args.workers,
                max_body_bytes=args.max_body_bytes,
                log_level=args.log_level,
                force_signed=args.force_signed,
            )
            overrides.update(_settings(args.set))
        settings = config.load(config_file=args.config, overrides=overrides)
        if args.command == "serve":
            return _serve(settings, forget=args.forget_node_message)
        if args.command == "wallet":
            return _wallet(settings, args.action, getattr(args, "out", None))
        if args.command == "lua-test":
            return _lua_test(settings, args.scripts)
        return _resolve(settings, args.path)
    except HyperbeamError as exc:
        print(f"hyperbeam: {exc.reason}", file=sys.stderr)
        return 2


def _settings(items: list[str]) -> dict[str, str]:
    """``--set key=value`` flags as settings."""
    found: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise config.ConfigError(f"--set expects KEY=VALUE, not {item!r}")
        found[name.strip()] = value
    return found


def _serve(settings: config.NodeConfig, *, forget: bool = False) -> int:
    import uvicorn

    from hyperbeam.http.app import HyperbeamApp
    from hyperbeam.http.server import tune_allocator, uvicorn_config
    from hyperbeam.node import Node

    tune_allocator()

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    node = Node(settings, forget_changes=forget)
    node.prepare()
    # The operator's changes kept from earlier runs may have moved the node.
    settings = node.config
    logging.getLogger().setLevel(settings.log_level.upper())
    print(
        f"hyperbeam {__version__} serving on http://{settings.host}:{settings.port} "
        f"(data: {settings.data_dir}, operator: {node.node_message()['operator']})",
        flush=True,
    )
    uvicorn.Server(uvicorn_config(HyperbeamApp(node), settings)).run()
    return 0


def _wallet(settings: config.NodeConfig, action: str, out: str | None) -> int:
    from hyperbeam.crypto.wallet import Wallet

    path = Path(out).expanduser() if out else settings.wallet_path
    if action == "new":
        if path.exists():
            print(f"hyperbeam: {path} already exists; not overwriting it", file=sys.stderr)
            return 1
        wallet = Wallet.generate()
        wallet.save(path)
        print(f"created {path}")
    else:
        wallet = Wallet.load(path)
    print(f"address: {wallet.address}")
    return 0


def _lua_test(settings: config.NodeConfig, specs: list[str]) -> int:
    from hyperbeam.lua.harness import parse_spec, run_script
    from hyperbeam.node import Node

    node = Node(settings)
    node.prepare()
    try:
        failed = 0
        for path, tests in parse_spec(",".join(specs)):
            if not path.exists():
                print(f"FAIL {path}: no such file")
                failed += 1
                continue
            for outcome in run_script(path, tests, node.opts()):
                print(outcome.line(), flush=True)
                failed += not outcome.passed
        print(f"{'all passed' if not failed else f'{failed} failed'}")
        return 1 if failed else 0
    finally:
        node.close()


def _resolve(settings: config.NodeConfig, path: str) -> int:
    from hyperbeam.ao.resolve import resolve_many
    from hyperbeam.ao.singleton import from_request
    from hyperbeam.http.status import status_code
    from hyperbeam.node import Node

    node = Node(settings)
    status, result = resolve_many(from_request({"path": path}), node.opts())
    code = status_code(status, result)
    if isinstance(result, str | bytes | int | float | bool) and status == "ok":
        out = result.decode("utf-8", "replace") if isinstance(result, bytes) else str(result)
        print(out)
    else:
        print(json.dumps(_to_json(result), indent=2, sort_keys=True))
    return 0 if 200 <= code < 300 else 1


def _verify(args: argparse.Namespace) -> int:
    """``hyperbeam verify``: 0 when every slot checked matches, 1 at the first
    mismatch, 2 when the node cannot be asked (see :mod:`hyperbeam.verify`)."""
    from hyperbeam.verify import Options, verify

    try:
        options = Options(
            to=args.to,
            results_only=args.results_only,
            settings=_settings(args.set),
            timeout=args.timeout,
        )
        report = verify(args.process, args.node, options)
    except HyperbeamError as exc:
        print(f"hyperbeam verify: {exc.reason}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()), flush=True)
    return 0 if report.ok else 1


def _to_json(value: Any) -> Any:
    """A readable JSON view of a result (private keys left out)."""
    from hyperbeam.message.private import is_private

    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items() if not is_private(str(k))}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
