"""The ICAP server: asyncio moves bytes, one inspection thread runs every session's logic.

Sessions (session.py) are sans-I/O and share the inspector; running them all in one worker
thread keeps detectors single-threaded and the event loop free to accept and read while a
large body is decoded. Limits: `max_connections` (more get 503 and are closed), an idle
timeout per kept-alive connection, reads of at most READ_SIZE bytes (body bytes are never
accumulated here: the session keeps at most `max_body_bytes` per body).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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

log = structlog.get_logger("dlp.icap")
READ_SIZE = 1 << 16


def istag_for(ruleset: rules.RuleSet) -> str:
    """Changes whenever the policy does, so proxies drop cached verdicts (RFC 3507 4.7)."""
    digest = hashlib.sha256(repr((__version__, ruleset.detectors, ruleset.icap)).encode()).hexdigest()
    return f"dlp-{digest[:24]}"


class IcapServer:
    def __init__(self, ruleset: rules.RuleSet, eve_writer: eve.EveWriter, rules_path: str | None = None):
        self.rules_path = rules_path or ruleset.path
        self.inspector = IcapInspector(ruleset, eve_writer)
        self.service = Service(self.inspector, istag_for(ruleset), Counter())
        self.settings = ruleset.icap
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlp-inspect")
        self.active = 0
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
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(self.pool, self.reload))
        except (RuntimeError, ValueError):
            pass
        log.warning("icap_listening", address=f"{address[0]}:{address[1]}", istag=self.service.istag)
        if ready is not None:
            ready(address)
        await stop.wait()
        await self.close()

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(self.pool, self._write_stats)
        self.pool.shutdown(wait=True)

    def reload(self) -> bool:
        """Runs in the inspection thread: between two requests of any session."""
        try:
            new = rules.load(self.rules_path)
            self.inspector.set_rules(new)
        except ConfigError as exc:
            log.error("rules_reload_rejected", file=self.rules_path, error=str(exc))
            return False
        self.service.istag = istag_for(new)
        log.warning("rules_reloaded", file=self.rules_path, istag=self.service.istag)
        return True

    def _write_stats(self) -> None:
        self.eve.write({"timestamp": eve.timestamp(int(time.time() * 1_000_000)), "event_type": "stats",
                        "stats": {"detect": {"alert": self.inspector.counts["alerts"]}},
                        "dlp": {"icap": dict(self.inspector.counts),
                                "anomalies": dict(sorted((self.service.counters
                                                          + self.inspector.dispatcher.events).items())),
                                "detector_errors": dict(self.inspector.dispatcher.errors)}}, flush=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        if self.active >= self.settings.max_connections:
            self.service.counters["icap.overloaded"] += 1
            writer.write(responses.error(503, self.service.istag))
            await _close(writer)
            return
        self.active += 1
        session = IcapSession(self.service)
        try:
            while not session.closed:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.settings.idle_timeout)
                except asyncio.TimeoutError:
                    break
                if not data:
                    break
                for item in await loop.run_in_executor(self.pool, session.receive, data):
                    await self._send(writer, item)
        except (ConnectionError, OSError):
            self.service.counters["icap.connection_lost"] += 1
        except Exception:  # a bug must cost this connection, never the service
            self.service.counters["icap.internal_error"] += 1
            log.exception("icap_session_failed")
            writer.write(responses.error(500, self.service.istag))
        finally:
            loop.run_in_executor(self.pool, session.abort)
            self.active -= 1
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
