"""EVE-JSON output: one JSON object per line, in Suricata's schema.

Fields Suricata defines keep its names, types and formats; what is ours goes under keys
Suricata does not use (the "dlp" object). Alerts are flushed as soon as they are written.
"""

from __future__ import annotations

import json
import sys
import time

from dlp.decode.packet import PROTO_NAMES, ip_text
from dlp.flow.tcp_state import State
from dlp.outputs.community_id import community_id

TCP_STATE_NAMES = {
    State.NONE: "none", State.SYN_SENT: "syn_sent", State.SYN_RECV: "syn_recv",
    State.ESTABLISHED: "established", State.FIN_WAIT: "fin_wait1", State.CLOSING: "closing",
    State.CLOSED: "closed", State.RESET: "closed",
}
# our close reasons -> Suricata's flow.reason vocabulary
SURICATA_REASON = {"fin": "timeout", "rst": "timeout", "timeout": "timeout", "evicted": "forced",
                   "reused": "forced", "end_of_capture": "shutdown"}


_last_second = [-1, ""]  # formatting the date part is the slow bit; seconds repeat a lot


def timestamp(ts_us: int) -> str:
    """Suricata's format: 2026-11-27T05:44:01.123456+0000 (we always write UTC)."""
    sec, usec = divmod(ts_us, 1_000_000)
    if sec != _last_second[0]:
        _last_second[0] = sec
        _last_second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{_last_second[1]}.{usec:06d}+0000"


def flow_fields(flow, direction: int = 0) -> dict:
    """The fields every flow-bound event carries; src is the sender in `direction`."""
    src, sport, dst, dport = flow.sides(direction)
    out = {"flow_id": flow.flow_id}
    if flow.vlan:
        out["vlan"] = list(flow.vlan)
    out["src_ip"] = ip_text(src)
    if flow.proto in (6, 17):
        out["src_port"] = sport
    out["dest_ip"] = ip_text(dst)
    if flow.proto in (6, 17):
        out["dest_port"] = dport
    out["proto"] = PROTO_NAMES.get(flow.proto, str(flow.proto))
    if flow.proto in (1, 58):
        out["icmp_type"] = flow.icmp_type
        out["icmp_code"] = flow.icmp_code
    if flow.community_id is None:  # once per flow: alerts and the flow record share it
        if flow.proto in (1, 58):
            flow.community_id = community_id(flow.cli, flow.srv, flow.proto, flow.icmp_type, flow.icmp_code)
        else:
            flow.community_id = community_id(flow.cli, flow.srv, flow.proto, flow.cport, flow.sport)
    out["community_id"] = flow.community_id
    return out


def alert_event(flow, finding, ts_us: int, item=None) -> dict:
    """An alert for `finding`; `item` is what the detector inspected (an HTTP transaction
    adds Suricata's `http` object)."""
    event = {"timestamp": timestamp(ts_us), **flow_fields(flow, finding.direction),
             "event_type": "alert"}
    event["direction"] = "to_server" if finding.direction == 0 else "to_client"
    event["alert"] = {
        "action": "allowed", "gid": 1, "signature_id": finding.signature_id, "rev": 1,
        "signature": finding.signature, "category": finding.category,
        "severity": finding.severity, "detector": finding.detector,
    }
    if item is not None and hasattr(item, "method"):
        event["http"] = http_object(item)
    event["flow"] = _flow_counts(flow)
    for name, obj in finding.objects.items():  # e.g. "covert": objects of the detector's own
        event.setdefault(name, obj)
    if finding.extra:
        event["dlp"] = finding.extra
    return event


def anomaly_event(flow, tx, limits: list[str]) -> dict:
    """Suricata's `anomaly` event for an app-layer problem; `dlp.unscanned` lists the limits
    that left part of this transaction's body uninspected."""
    event = {"timestamp": timestamp(tx.ts), **flow_fields(flow, tx.direction), "event_type": "anomaly"}
    event["anomaly"] = {"type": "applayer", "event": limits[0], "layer": "http_body"}
    event["http"] = http_object(tx)
    event["dlp"] = {"unscanned": limits, "body_length": tx.body_length}
    return event


def http_object(tx) -> dict:
    """Suricata's alert `http` fields, plus `direction` and the uploaded/downloaded file name."""
    headers = dict(tx.request_headers)
    out = {"hostname": tx.host, "url": tx.uri, "http_method": tx.method}
    if "user-agent" in headers:
        out["http_user_agent"] = headers["user-agent"]
    if tx.content_type:
        out["http_content_type"] = tx.content_type
    if tx.status is not None:
        out["status"] = tx.status
    out["length"] = tx.body_length
    out["direction"] = "upload" if tx.direction == 0 else "download"
    filenames = [p.filename for p in tx.parts if p.filename]
    if filenames:
        out["filename"] = filenames[0]
    return out


def flow_event(flow) -> dict:
    event = {"timestamp": timestamp(flow.last), **flow_fields(flow), "event_type": "flow"}
    counts = _flow_counts(flow)
    counts["end"] = timestamp(flow.last)
    counts["age"] = (flow.last - flow.start) // 1_000_000
    if flow.proto == 6:
        state = State(flow.state)
        counts["state"] = "closed" if state in (State.CLOSED, State.RESET) else (
            "established" if state >= State.ESTABLISHED else "new")
    else:
        counts["state"] = "established" if flow.pkts[0] and flow.pkts[1] else "new"
    counts["reason"] = SURICATA_REASON.get(flow.reason, "timeout")
    counts["alerted"] = flow.alerted
    event["flow"] = counts
    ours = {"close_reason": flow.reason, "midstream": flow.midstream}
    if flow.bypassed:  # reassembly stopped once nothing wanted the bytes (Suricata: "bypass")
        ours["bypassed"] = True
        if flow.unseen:  # packets the kernel dropped for us: counted, never inspected
            ours["offloaded_pkts"] = flow.unseen
    if flow.tcp is not None:
        f = flow.tcp_flags
        event["tcp"] = _tcp_flags(f[0] | f[1])
        event["tcp"]["tcp_flags_ts"] = f"{f[0]:02x}"
        event["tcp"]["tcp_flags_tc"] = f"{f[1]:02x}"
        event["tcp"]["state"] = TCP_STATE_NAMES[State(flow.state)]
        ours["gaps"] = [ep.reasm.gaps for ep in flow.tcp.ep]
        ours["missing_bytes"] = [ep.reasm.gap_bytes for ep in flow.tcp.ep]
        ours["stream_bytes"] = [ep.bytes_out for ep in flow.tcp.ep]
    if flow.tunnel:
        ours["tunnel"] = flow.tunnel
    if flow.anomalies:
        ours["anomalies"] = dict(sorted(flow.anomalies.items()))
    event["dlp"] = ours
    return event


def _flow_counts(flow) -> dict:
    return {
        "pkts_toserver": flow.pkts[0], "pkts_toclient": flow.pkts[1],
        "bytes_toserver": flow.bytes[0], "bytes_toclient": flow.bytes[1],
        "start": timestamp(flow.start),
    }


def _tcp_flags(flags: int) -> dict:
    out = {"tcp_flags": f"{flags:02x}"}
    for bit, name in ((0x01, "fin"), (0x02, "syn"), (0x04, "rst"), (0x08, "psh"),
                      (0x10, "ack"), (0x20, "urg"), (0x40, "ecn"), (0x80, "cwr")):
        if flags & bit:
            out[name] = True
    return out


# One encoder for every EVE line: json.dumps with non-default options builds a new encoder per
# call, which was 40% of the cost of a small event.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode_line(event: dict) -> str:
    """An event as one compact EVE line (without its newline)."""
    return _encode(event)


class EveWriter:
    """Writes events to a file or stdout ('-'). Write errors are loud, never silent drops."""

    def __init__(self, path: str | None):
        self.path = path
        self.counts: dict[str, int] = {}
        if path is None:
            self._fh = None
        elif path == "-":
            self._fh = sys.stdout
        else:
            self._fh = open(path, "a", encoding="utf-8")

    def write(self, event: dict, flush: bool = False) -> None:
        kind = event["event_type"]
        if self._fh is not None:
            self._fh.write(_encode(event) + "\n")
            if flush:
                self._fh.flush()
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            if self._fh is not sys.stdout:
                self._fh.close()
