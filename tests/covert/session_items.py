"""Hand-made items for the session detectors (icmp_tunnel, beacon, spi) and a runner that
feeds them in order and collects findings."""

from __future__ import annotations

import os

from detectors.base import DnsTransaction, FlowEvent, FlowInfo, IcmpMessage

US = 1_000_000
T0 = 1_700_000_000 * US
SYN, ACK, FIN, RST, PSH, URG = 0x02, 0x10, 0x01, 0x04, 0x08, 0x20


def info(src="10.0.0.2", sport=40000, dst="10.0.0.1", dport=80, proto="TCP", flow_id=None) -> FlowInfo:
    fid = flow_id if flow_id is not None else hash((src, sport, dst, dport, proto)) & 0xFFFFFFFF
    return FlowInfo(fid, proto, src, sport, dst, dport)


def echo(payload: bytes, *, request=True, ident=0x1234, seq=1, ts=T0, src="10.0.0.2",
         dst="10.0.0.1", version=4) -> IcmpMessage:
    """An echo request (from src) or reply (from dst) on the src->dst ICMP flow."""
    flow = info(src, 0, dst, 0, "ICMP" if version == 4 else "IPv6-ICMP", flow_id=7)
    if version == 4:
        type_ = 8 if request else 0
    else:
        type_ = 128 if request else 129
    return IcmpMessage(flow, ts, 0 if request else 1, version, type_, 0, ident, seq, payload)


def ping_pair(payload: bytes, seq: int, ts: int, **kw) -> list[IcmpMessage]:
    return [echo(payload, request=True, seq=seq, ts=ts, **kw),
            echo(payload, request=False, seq=seq, ts=ts + 300, **kw)]


def flow_event(kind, flow: FlowInfo, ts, *, start=None, name="", direction=0, first_flags=SYN,
               midstream=False, reason="", pkts=(1, 1), nbytes=(100, 100), tcp_flags=(0, 0)) -> FlowEvent:
    return FlowEvent(kind, flow, ts, ts if start is None else start, name, direction, first_flags,
                     "", midstream, reason, tuple(pkts), tuple(nbytes), tuple(tcp_flags))


def connection(flow: FlowInfo, start: int, duration: int = 200_000, nbytes=(300, 900),
               established=True, first_flags=SYN, **kw) -> list[FlowEvent]:
    """open (, established), close of one connection."""
    events = [flow_event("open", flow, start, first_flags=first_flags)]
    if established:
        events.append(flow_event("established", flow, start + 1000, start=start, first_flags=first_flags))
    events.append(flow_event("close", flow, start + duration, start=start, first_flags=first_flags,
                             nbytes=nbytes, reason=kw.pop("reason", "fin"), **kw))
    return events


def dns_answer_only(ts, src="10.0.0.2", resolver="10.0.0.53", response=None) -> DnsTransaction:
    return DnsTransaction(info(src, 40000, resolver, 53, "UDP"), ts, None, response, 0, 60)


def run(det, items) -> list:
    found = []
    for item in items:
        if det.applies(item):
            found += det.inspect(item)
    return found


def by_rule(findings) -> dict:
    out: dict = {}
    for f in findings:
        out[f.rule] = out.get(f.rule, 0) + 1
    return out


# -- replaying captures through the whole pipeline (in process, real EVE events) -------------
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SESSION_DETECTORS = ("icmp_tunnel", "beacon", "spi")


def replay_events(pcap: str, rules_text: str | None = None) -> list[dict]:
    """Every EVE event `dlp replay` would write for `pcap`, with the default rules or
    `rules_text` (a rules file's YAML)."""
    from dlp.outputs.eve import EveWriter
    from dlp.pipeline import replay
    from dlp.rules import load, parse

    class Keep(EveWriter):
        def __init__(self):
            super().__init__(None)
            self.events = []

        def write(self, event, flush=False):
            super().write(event, flush)
            self.events.append(event)

    ruleset = parse(rules_text) if rules_text else load(os.path.join(ROOT, "rules", "default.yaml"))
    writer = Keep()
    replay([pcap], ruleset, writer)
    return writer.events


def alerts(events, detector: str | None = None) -> list[dict]:
    return [e for e in events if e["event_type"] == "alert"
            and (detector is None or e["alert"]["detector"] == detector)]


def signatures(events, detectors=SESSION_DETECTORS) -> dict:
    """signature -> count, for alerts of the session detectors."""
    out: dict = {}
    for e in alerts(events):
        if e["alert"]["detector"] in detectors:
            out[e["alert"]["signature"]] = out.get(e["alert"]["signature"], 0) + 1
    return out
