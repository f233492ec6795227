"""Command line: `dlp replay`, `dlp rules check`.

User mistakes (a missing file, a bad rules file, a file that is not a capture) end with a
one-line error and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from dlp import __version__
from dlp.errors import CaptureError, ConfigError
from dlp.log import configure_logging
from dlp.shipped import shipped

DEFAULT_RULES = shipped("rules", "default.yaml")
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level if hasattr(args, "log_level") else "warning")
    try:
        return args.func(args)
    except (CaptureError, ConfigError) as exc:
        print(f"dlp: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dlp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlp", description="Network DLP appliance")
    p.add_argument("--version", action="version", version=f"dlp {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("replay", help="replay pcap/pcapng files through the engine")
    r.add_argument("files", nargs="+", metavar="FILE")
    r.add_argument("--rules", default=None, help=f"rules file (default {DEFAULT_RULES})")
    r.add_argument("--eve", default=None, metavar="PATH|-",
                   help="EVE-JSON output file, or - for stdout (default: eve.json)")
    r.add_argument("--write-streams", metavar="DIR", help="write reassembled TCP streams to DIR")
    r.add_argument("--keylog", metavar="KEYS",
                   help="TLS key log (SSLKEYLOGFILE format): decrypt TLS flows with tshark and inspect them")
    r.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    r.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    r.set_defaults(func=_cmd_replay)

    rules = sub.add_parser("rules", help="work with rules files")
    rsub = rules.add_subparsers(dest="rules_command", required=True)
    chk = rsub.add_parser("check", help="validate a rules file (errors as FILE:LINE)")
    chk.add_argument("file")
    chk.set_defaults(func=_cmd_rules_check)
    tst = rsub.add_parser("test", help="show what would fire on a body, and why")
    tst.add_argument("rules")
    tst.add_argument("sample", help="a file holding an upload (or download) body")
    tst.add_argument("--direction", choices=["upload", "download"], default="upload")
    tst.add_argument("--content-type", help="default: guessed from the file name")
    tst.add_argument("--content-encoding", default="", help="e.g. gzip, br")
    tst.add_argument("--host", default="example.com", help="the server the body goes to")
    tst.set_defaults(func=_cmd_rules_test)

    fp = sub.add_parser("fingerprint", help="index the company's repositories for leak matching")
    fsub = fp.add_subparsers(dest="fingerprint_command", required=True)
    fb = fsub.add_parser("build", help="build a winnowed fingerprint index")
    fb.add_argument("out", help="index file to write (rules: source_code.fingerprint_index)")
    fb.add_argument("repos", nargs="+", metavar="NAME=DIR")
    fb.set_defaults(func=_cmd_fingerprint)
    fm = fsub.add_parser("match", help="which repository file a snippet comes from")
    fm.add_argument("index")
    fm.add_argument("file")
    fm.set_defaults(func=_cmd_fingerprint)
    _register_command_modules(sub)
    return p


def _register_command_modules(sub) -> None:
    """Commands kept in their own module under dlp/commands/ (see its docstring)."""
    import importlib
    import pkgutil

    from dlp import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"dlp.commands.{info.name}").register(sub)


def load_rules(path: str | None):
    from dlp import rules

    return rules.load(path or DEFAULT_RULES)


def _cmd_replay(args) -> int:
    from dlp.outputs.eve import EveWriter
    from dlp.outputs.summary import Progress, format_summary
    from dlp.pipeline import Pipeline

    import time

    ruleset = load_rules(args.rules)
    for path in args.files:  # fail before writing anything if an input is unusable
        if not os.path.isfile(path):
            raise CaptureError(f"{path}: no such file")
    eve_path = args.eve if args.eve is not None else "eve.json"
    try:
        writer = EveWriter(eve_path)
    except OSError as exc:
        raise ConfigError(f"{eve_path}: cannot write EVE output: {exc.strerror}") from None
    report = sys.stderr if eve_path == "-" else sys.stdout
    progress = None if args.quiet or not sys.stderr.isatty() else Progress(sys.stderr)
    if args.keylog:
        from dlp.tls.keylog import KeylogPipeline

        pipeline = KeylogPipeline(ruleset, writer, args.keylog, args.write_streams)
    else:
        pipeline = Pipeline(ruleset, writer, args.write_streams)
    rules_path = args.rules or DEFAULT_RULES
    signal.signal(signal.SIGHUP, lambda *_: pipeline.request_reload(rules_path))  # re-read rules
    started = time.perf_counter()
    try:
        for path in args.files:
            if progress:
                progress.start(path)
            pipeline.replay_file(path, progress)
            if progress:
                progress.done()
    finally:
        summary = pipeline.finish()
        summary.seconds = time.perf_counter() - started
        writer.close()
    if not args.quiet:
        print(format_summary(summary, eve_path), file=report)
    return 0


def _cmd_rules_check(args) -> int:
    ruleset = load_rules(args.file)
    names = ", ".join(s.name for s in ruleset.detectors) or "none"
    print(f"{args.file}: OK ({len(ruleset.detectors)} detectors enabled: {names})")
    return 0


def _cmd_fingerprint(args) -> int:
    from detectors.code import fingerprint

    if args.fingerprint_command == "build":
        return fingerprint.main(["build", args.out, *args.repos])
    try:
        return fingerprint.main(["match", args.index, args.file])
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{args.index}: cannot use fingerprint index: {exc}") from None


def _cmd_rules_test(args) -> int:
    import json

    from dlp.app.sample import inspect_sample

    ruleset = load_rules(args.rules)
    try:
        data = open(args.sample, "rb").read()
    except OSError as exc:
        raise ConfigError(f"{args.sample}: cannot read sample: {exc.strerror}") from None
    report = inspect_sample(ruleset, data, 0 if args.direction == "upload" else 1, args.content_type,
                            args.content_encoding, args.host, os.path.basename(args.sample))
    print(f"sample {args.sample}: {len(data)} bytes as an {args.direction} to {args.host}")
    print(f"decoded into {len(report.parts)} part(s):")
    for part in report.parts[:50]:
        where = "/".join(part.path) or "body"
        print(f"  {where:40} {len(part.data):>9} bytes  {len(part.text):>9} chars of text"
              f"{'  (truncated)' if part.truncated else ''}")
    for event in report.events:
        print(f"  decode event: {event.name} {'/'.join(event.path)} {event.detail}")
    for name, error in report.errors:
        print(f"  detector {name} failed: {error}")
    print(f"{len(report.findings)} alert(s):")
    for f in report.findings:
        print(f"  [{f.detector}] sid {f.signature_id} severity {f.severity}: {f.signature}")
        if f.extra:
            print("    why: " + json.dumps(f.extra, ensure_ascii=False)[:2000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
