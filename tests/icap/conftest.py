"""A real ICAP server on loopback, in a thread of the test process."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from dlp import rules
from dlp.icap.server import IcapServer
from dlp.outputs.eve import EveWriter

BLOCK_CARDS = """version: 1
icap:
  fail_mode: {fail_mode}
  max_body_bytes: {max_body}
  preview_size: 1024
  max_connections: {max_conn}
detectors:
  pan:
    action: block
    direction: {pan_direction}
  secret:
    action: alert
  source_code: {{}}
"""


def write_rules(path, fail_mode="open", max_body=16 * 1024 * 1024, max_conn=64, pan_direction="toserver") -> str:
    path.write_text(BLOCK_CARDS.format(fail_mode=fail_mode, max_body=max_body, max_conn=max_conn,
                                       pan_direction=pan_direction))
    return str(path)


class RunningServer:
    def __init__(self, rules_path: str, eve_path: str):
        self.eve_path = eve_path
        self.writer = EveWriter(eve_path)
        self.server = IcapServer(rules.load(rules_path), self.writer, rules_path)
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        ready = threading.Event()
        self.address = None

        def on_ready(address):
            self.address = address
            ready.set()

        self.thread = threading.Thread(
            target=lambda: self.loop.run_until_complete(self.server.serve("127.0.0.1", 0, on_ready, self.stop)),
            daemon=True)
        self.thread.start()
        assert ready.wait(10), "ICAP server did not start"

    @property
    def port(self) -> int:
        return self.address[1]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)
        self.writer.close()
        self.loop.close()

    def call(self, fn):
        """Runs fn() on the server's event loop (as a SIGHUP would) and returns its result."""
        async def run():
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def events(self, kind: str | None = None) -> list[dict]:
        self.writer._fh.flush()
        with open(self.eve_path) as fh:
            out = [json.loads(line) for line in fh]
        return [e for e in out if kind is None or e["event_type"] == kind]


@pytest.fixture
def icap_server(tmp_path):
    servers = []

    def start(**kw) -> RunningServer:
        srv = RunningServer(write_rules(tmp_path / f"rules{len(servers)}.yaml", **kw),
                            str(tmp_path / f"eve{len(servers)}.json"))
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()
