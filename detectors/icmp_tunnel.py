"""ICMP tunnels (ptunnel, ptunnel-ng, icmpsh, hans...): data carried in echo requests and
replies instead of the fixed pattern ping sends.

An echo session is (requester, responder, identifier). Two rules:

| sid offset | rule                  | fires when                                                   | sev |
|------------|-----------------------|--------------------------------------------------------------|-----|
| 1          | icmp_tunnel.magic     | an echo payload starts with a tunnel's magic number (ptunnel 0xD5200880, ptunnel-ng 0xDEADC0DE by default; `magics`) | 1 |
| 2          | icmp_tunnel.behaviour | after `min_messages`, one of: `min_mismatches` replies whose payload differs from their request's; `min_unsolicited` replies to no request seen, on `unsolicited_ratio` of replies (a tunnel's server sends data in replies); messages changing size (per direction) at least `min_size_changes` times and on `size_change_ratio` of messages; `min_random` payloads of `random_min_bytes` or more that do not compress (random or encrypted) | 2 |

What ordinary ping does and why it stays quiet: Linux iputils sends a timestamp and a
counting pattern (0x10, 0x11, ... 0xff, 0x00 ...; highly compressible even though each byte
value appears equally often), Windows the alphabet; both keep one size per run (`-s`/`-l`),
and a host's reply echoes the request byte for byte. Flood ping only sends more of the same.
PMTU discovery (`ping -M do -s 1472`) is large but patterned, and the "fragmentation needed"
answers are ICMP errors: errors quote the offending packet and are never inspected.

One alert per session and rule per `alert_interval_seconds`. State: at most `max_sessions`
sessions (least recently active dropped first), `max_pending` unanswered requests each.
The alert's `covert` object lists the indicators and counts; payloads are never copied.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from detectors.base import Finding, IcmpMessage
from detectors.session.addresses import any_match, parse_endpoints, sender
from detectors.session.bounded import AlertLimiter, LruMap
from detectors.session.stats import compress_ratio
from detectors.params import check_positive, check_severity

MAGIC_RULE, BEHAVIOUR_RULE = 1, 2


@dataclass(slots=True)
class _Session:
    messages: int = 0
    requests: int = 0
    pending: dict = field(default_factory=dict)  # seq -> (size, CRC-32) of the request payload
    mismatches: int = 0
    unsolicited: int = 0
    replies: int = 0
    last_size: list = field(default_factory=lambda: [None, None])  # request, reply
    size_changes: int = 0
    sizes: set = field(default_factory=set)
    random: int = 0
    largest: int = 0


class IcmpTunnelDetector:
    name = "icmp_tunnel"
    inputs = frozenset({"icmp"})

    @dataclass(frozen=True)
    class Params:
        # 32-bit magic numbers at the start of a tunnel's payload, as hex text
        magics: tuple[str, ...] = ("0xD5200880", "0xDEADC0DE")
        min_messages: int = 4
        min_mismatches: int = 2
        min_unsolicited: int = 8
        unsolicited_ratio: float = 0.25
        min_size_changes: int = 8
        size_change_ratio: float = 0.25
        random_min_bytes: int = 128
        random_ratio: float = 0.9
        min_random: int = 3
        allow_hosts: tuple[str, ...] = ()
        signature_id_base: int = 2600000
        magic_severity: int = 1
        behaviour_severity: int = 2
        category: str = "Potentially Bad Traffic"
        alert_interval_seconds: int = 3600
        max_sessions: int = 10000
        max_pending: int = 64

        def __post_init__(self) -> None:
            for m in self.magics:
                _parse_magic(m)
            parse_endpoints(self.allow_hosts, "allow_hosts")
            check_positive(self, "min_messages", "min_mismatches", "min_unsolicited", "min_size_changes",
                           "min_random", "random_min_bytes", "max_sessions", "max_pending",
                           "alert_interval_seconds")
            if not 0 < self.size_change_ratio <= 1 or not 0 < self.unsolicited_ratio <= 1 \
                    or not 0 < self.random_ratio <= 2:
                raise ValueError("size_change_ratio and unsolicited_ratio must be in (0, 1], "
                                 "random_ratio in (0, 2]")
            check_severity(self, "magic_severity", "behaviour_severity")

    def __init__(self, params: "IcmpTunnelDetector.Params"):
        self.params = params
        self.magics = frozenset(_parse_magic(m) for m in params.magics)
        self.allow = parse_endpoints(params.allow_hosts, "allow_hosts")
        self.sessions: LruMap[_Session] = LruMap(params.max_sessions)
        self.limiter = AlertLimiter(params.alert_interval_seconds * 1_000_000, params.max_sessions)

    def carry_over(self, previous: "IcmpTunnelDetector") -> None:
        """A rules reload: keep the echo sessions and the alert times."""
        self.sessions.adopt(previous.sessions)
        self.limiter.adopt(previous.limiter)

    def applies(self, item) -> bool:
        return type(item) is IcmpMessage and (item.is_echo_request or item.is_echo_reply)

    def inspect(self, item: IcmpMessage) -> list[Finding]:
        src, dst = sender(item.flow, item.direction)
        if self.allow and (any_match(self.allow, src) or any_match(self.allow, dst)):
            return []
        requester, responder = (src, dst) if item.is_echo_request else (dst, src)
        key = (requester, responder, item.ident)
        session = self.sessions.get_or_add(key, _Session)
        self._observe(session, item)
        findings = []
        payload = item.payload
        if len(payload) >= 4 and int.from_bytes(payload[:4], "big") in self.magics:
            findings += self._alert(key, item, session, MAGIC_RULE, ["magic"],
                                    {"magic": f"0x{int.from_bytes(payload[:4], 'big'):08X}"})
        reasons = self._behaviour(session)
        if reasons:
            findings += self._alert(key, item, session, BEHAVIOUR_RULE, reasons, {})
        return findings

    def _observe(self, s: _Session, item: IcmpMessage) -> None:
        p = self.params
        payload = item.payload
        s.messages += 1
        s.largest = max(s.largest, len(payload))
        if len(payload) >= p.random_min_bytes and compress_ratio(payload) >= p.random_ratio:
            s.random += 1
        request = item.is_echo_request
        last = s.last_size[not request]
        if last is not None and len(payload) != last:
            s.size_changes += 1
        s.last_size[not request] = len(payload)
        if len(s.sizes) < 64:
            s.sizes.add(len(payload))
        if request:
            s.requests += 1
            if len(s.pending) >= p.max_pending:
                s.pending.pop(next(iter(s.pending)))
            s.pending[item.seq] = (len(payload), zlib.crc32(payload))
            return
        s.replies += 1
        expected = s.pending.pop(item.seq, None)
        if expected is None:
            s.unsolicited += 1
        elif expected != (len(payload), zlib.crc32(payload)):
            s.mismatches += 1

    def _behaviour(self, s: _Session) -> list[str]:
        p = self.params
        if s.messages < p.min_messages:
            return []
        reasons = []
        if s.mismatches >= p.min_mismatches:
            reasons.append("reply_differs")
        if s.unsolicited >= p.min_unsolicited and s.unsolicited >= p.unsolicited_ratio * s.replies:
            reasons.append("unsolicited_replies")
        if s.size_changes >= p.min_size_changes and s.size_changes >= p.size_change_ratio * s.messages:
            reasons.append("size_varies")
        if s.random >= p.min_random:
            reasons.append("random_payload")
        return reasons

    def _alert(self, key, item: IcmpMessage, s: _Session, rule: int, reasons: list[str],
               details: dict) -> list[Finding]:
        if not self.limiter.allow((rule, key), item.ts):
            return []
        p = self.params
        magic = rule == MAGIC_RULE
        covert = {
            "type": "icmp_tunnel", "indicators": reasons, "requester": key[0], "responder": key[1],
            "ident": key[2], "messages": s.messages, "requests": s.requests,
            "replies": s.replies, "reply_mismatches": s.mismatches, "unsolicited_replies": s.unsolicited,
            "size_changes": s.size_changes,
            "distinct_sizes": len(s.sizes), "random_payloads": s.random, "largest_payload": s.largest,
            **details,
        }
        return [Finding(
            detector=self.name, signature_id=p.signature_id_base + rule,
            signature="DLP ICMP tunnel magic number (ptunnel)" if magic
            else "DLP ICMP tunnel: echo payloads carry data",
            category=p.category, severity=p.magic_severity if magic else p.behaviour_severity,
            direction=item.direction, rule="icmp_tunnel.magic" if magic else "icmp_tunnel.behaviour",
            objects={"covert": covert})]


def _parse_magic(text: str) -> int:
    try:
        value = int(text, 16)
    except (TypeError, ValueError):
        raise ValueError(f"magics: {text!r} is not a hexadecimal number") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"magics: {text!r} does not fit in 32 bits")
    return value
