"""EVE events to a syslog collector as RFC 5424 messages, over UDP (one datagram per
message) or TCP (octet-counted framing, RFC 6587 section 3.4.1).

    <PRI>1 2026-11-27T09:44:01.123456Z host dlp 4242 alert - {"timestamp": ...}

PRI = facility * 8 + severity; an alert's severity 1/2/3 becomes crit/err/warning, other
events are info. A collector that cannot be reached over TCP is an OSError for the caller:
the daemon reports it loudly instead of dropping alerts.
"""

from __future__ import annotations

import os
import socket
import time

import structlog

log = structlog.get_logger("dlp.outputs.syslog")

FACILITIES = {"kern": 0, "user": 1, "daemon": 3, "auth": 4, "local0": 16, "local1": 17,
              "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23}
ALERT_SEVERITY = {1: 2, 2: 3, 3: 4}  # EVE alert severity -> syslog crit, err, warning
INFO = 6
NILVALUE = "-"


def format_message(body: str, msgid: str, severity: int, facility: int, hostname: str,
                   app: str = "dlp", procid: int | None = None, now: float | None = None) -> bytes:
    now = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    pid = os.getpid() if procid is None else procid
    head = f"<{facility * 8 + severity}>1 {stamp} {hostname or NILVALUE} {app} {pid} {msgid} {NILVALUE} "
    return head.encode() + body.encode("utf-8")


class SyslogSender:
    def __init__(self, host: str, port: int, protocol: str = "udp", facility: str = "local5",
                 types: tuple[str, ...] = ("alert",)):
        self.address = (host, port)
        self.protocol = protocol
        self.facility = FACILITIES[facility]
        self.types = frozenset(types)
        self.hostname = socket.gethostname()
        self.sent = 0
        self.refused = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
        self.sock = socket.socket(family, kind)
        self.sock.connect(self.address)  # TCP: fails now if the collector is down

    def send(self, line: str, event_type: str, alert_severity: int | None = None) -> None:
        if event_type not in self.types:
            return
        severity = ALERT_SEVERITY.get(alert_severity, 4) if event_type == "alert" else INFO
        msg = format_message(line.rstrip("\n"), event_type, severity, self.facility, self.hostname)
        if self.protocol == "tcp":
            self.sock.sendall(str(len(msg)).encode() + b" " + msg)
        else:
            try:
                self.sock.send(msg)
            except ConnectionRefusedError:  # an earlier datagram found no collector: UDP
                self.refused += 1           # syslog is lossy by design; counted and logged
                log.error("syslog_collector_refused", address=self.address, refused=self.refused)
                return
        self.sent += 1

    def close(self) -> None:
        self.sock.close()
