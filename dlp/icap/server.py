"""The ICAP server: asyncio moves bytes; the sessions' logic runs on the event loop itself.

Sessions (session.py) are sans-I/O and share the inspector, so detectors stay
single-threaded without locks. Inspection is CPU work under the GIL either way: a worker
thread would not let two inspections overlap, and handing every read to it costs GIL
switches (measured: several ms of p99 latency at 200 requests/s). Limits: `max_connections` (more get 503 and are closed), an idle
timeout per kept-alive connection, reads of at most READ_SIZE bytes (body bytes are never
accumulated here: the session keeps at most `max_body_bytes` per body).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import signal
import time
from collections import Counter

import structlog

from dlp import __version__, rules
from dlp.errors import ConfigError
from dlp.icap import responses
from dlp.icap.inspect import IcapInspector
from dlp.icap.session import IcapSession, Service, Spool
from dlp.outputs import eve
from dlp.pipeline import GC_THRESHOLDS

log = structlog.get_logger("dlp.icap")
READ_SIZE = 1 << 16


def istag_for(ruleset: rules.RuleSet) -> str:
    """Changes whenever the policy does, so proxies drop cached verdicts (RFC 3507 4.7)."""
    digest = hashlib.sha256(repr((__version__, ruleset.detectors, ruleset.icap)).encode()).hexdigest()
    return f"dlp-{digest[:24]}"


class IcapServer:
    def __init__(self, ruleset: rules.RuleSet, eve_writer: eve.EveWriter, rules_path: str | None = None):
        self.rules_path = rules_path or ruleset.path
        gc.set_threshold(*GC_THRESHOLDS)  # as the replay pipeline: fewer, larger sweeps
        self.inspector = IcapInspector(ruleset, eve_writer)
        self.service = Service(self.inspector, istag_for(ruleset), Counter())
        self.settings = ruleset.icap
        self.active = 0
        self.connections: set[asyncio.Task] = set()
        self.server: asyncio.base_events.Server | None = None
        self.eve = eve_writer

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._connection, host, port, limit=READ_SIZE,
                                                 backlog=1024)
        return self.server.sockets[0].getsockname()[:2]

    async def serve(self, host: str, port: int, ready=None, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set (or SIGTERM/SIGINT when stop is None); SIGHUP reloads."""
        loop = asyncio.get_running_loop()
        address = await self.start(host, port)
        stop = stop or asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (RuntimeError, ValueError):  # not the main thread (tests): stop via the event
                break
        try:
            loop.add_signal_handler(signal.SIGHUP, self.reload)  # runs between two reads
        except (RuntimeError, ValueError):
            pass
        gc.freeze()  # rules, detectors, tables: long-lived, never rescanned
        log.warning("icap_listening", address=f"{address[0]}:{address[1]}", istag=self.service.istag)
        if ready is not None:
            ready(address)
        stats = asyncio.create_task(self._periodic_stats())
        await stop.wait()
        stats.cancel()
        await self.close()

    async def close(self) -> None:
        self.server.close()
        for task in list(self.connections):  # kept-alive proxy connections end with us
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        await self.server.wait_closed()
        self._write_stats()

    def reload(self) -> bool:
        """Runs on the event loop, between two reads of any session."""
        try:
            new = rules.load(self.rules_path)
            self.inspector.set_rules(new)
        except ConfigError as exc:
            log.error("rules_reload_rejected", file=self.rules_path, error=str(exc))
            return False
        self.service.istag = istag_for(new)
        log.warning("rules_reloaded", file=self.rules_path, istag=self.service.istag)
        return True

    async def _periodic_stats(self) -> None:
        while True:
            await asyncio.sleep(self.inspector.ruleset.engine.stats_interval)
            self._write_stats()

    def _write_stats(self) -> None:
        self.eve.write({"timestamp": eve.timestamp(int(time.time() * 1_000_000)), "event_type": "stats",
                        "stats": {"detect": {"alert": self.inspector.counts["alerts"]}},
                        "dlp": {"icap": dict(self.inspector.counts),
                                "anomalies": dict(sorted((self.service.counters
                                                          + self.inspector.dispatcher.events).items())),
                                "detector_errors": dict(self.inspector.dispatcher.errors)}}, flush=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.active >= self.settings.max_connections:
            self.service.counters["icap.overloaded"] += 1
            writer.write(responses.error(503, self.service.istag))
            await _close(writer)
            return
        self.active += 1
        task = asyncio.current_task()
        self.connections.add(task)
        session = IcapSession(self.service)
        try:
            while not session.closed:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.settings.idle_timeout)
                except asyncio.TimeoutError:
                    break
                if not data:
                    break
                for item in session.receive(data):
                    await self._send(writer, item)
        except (ConnectionError, OSError):
            self.service.counters["icap.connection_lost"] += 1
        except Exception:  # a bug must cost this connection, never the service
            self.service.counters["icap.internal_error"] += 1
            log.exception("icap_session_failed")
            writer.write(responses.error(500, self.service.istag))
        finally:
            session.abort()
            self.active -= 1
            self.connections.discard(task)
            await _close(writer)

    async def _send(self, writer: asyncio.StreamWriter, item) -> None:
        if isinstance(item, Spool):
            for piece in item.chunks():
                writer.write(piece)
                await writer.drain()
        else:
            writer.write(item)
            await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
