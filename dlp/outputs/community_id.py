"""Community ID flow hashing, version 1 (https://github.com/corelight/community-id-spec)."""

from __future__ import annotations

import base64
import hashlib
import struct

# ICMP type -> the type of its counterpart, so both directions hash alike (the spec's table)
ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130,
               139: 140, 140: 139, 144: 145, 145: 144}


def community_id(src: bytes, dst: bytes, proto: int, sport: int, dport: int, seed: int = 0) -> str:
    """`1:` + base64(SHA1(seed, ordered addresses, proto, pad, ordered ports))."""
    one_way = False
    if proto in (1, 58):  # ports are ICMP type and code
        pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
        icmp_type, code = sport, dport
        if icmp_type in pairs:
            sport, dport = icmp_type, pairs[icmp_type]
        else:
            sport, dport, one_way = icmp_type, code, True
    if not one_way and (src, sport) > (dst, dport):
        src, dst, sport, dport = dst, src, dport, sport
    data = struct.pack("!H", seed) + src + dst + struct.pack("!BB", proto, 0)
    data += struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()
