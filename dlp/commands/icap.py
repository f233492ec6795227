"""`dlp icap`: the ICAP service a TLS-intercepting proxy calls (docs/icap.md)."""

from __future__ import annotations

import asyncio
import sys

from dlp.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("icap", help="ICAP service (REQMOD/RESPMOD) for a forward proxy")
    p.add_argument("--listen", default="127.0.0.1:1344", metavar="ADDR:PORT",
                   help="address to listen on (default 127.0.0.1:1344)")
    p.add_argument("--rules", default=None, help="rules file (default rules/default.yaml)")
    p.add_argument("--eve", default=None, metavar="PATH|-",
                   help="EVE-JSON output file, or - for stdout (default: eve.json)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"--listen {text!r}: expected ADDR:PORT, e.g. 127.0.0.1:1344")
    return host.strip("[]") or "0.0.0.0", int(port)


def run(args) -> int:
    from dlp.cli import DEFAULT_RULES, load_rules
    from dlp.icap.server import IcapServer
    from dlp.outputs.eve import EveWriter

    host, port = parse_listen(args.listen)
    ruleset = load_rules(args.rules)
    eve_path = args.eve if args.eve is not None else "eve.json"
    try:
        writer = EveWriter(eve_path)
    except OSError as exc:
        raise ConfigError(f"{eve_path}: cannot write EVE output: {exc.strerror}") from None
    server = IcapServer(ruleset, writer, args.rules or DEFAULT_RULES)

    def ready(address) -> None:
        print(f"dlp icap: listening on icap://{address[0]}:{address[1]}/reqmod and /respmod",
              file=sys.stderr, flush=True)

    try:
        asyncio.run(server.serve(host, port, ready))
    except OSError as exc:
        raise ConfigError(f"--listen {args.listen}: {exc.strerror or exc}") from None
    finally:
        writer.close()
    return 0
