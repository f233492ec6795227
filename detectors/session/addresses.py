"""Address lists in rules files ("10.0.0.5", "10.1.0.0/16", "2001:db8::/32", optionally
with ":PORT" or "[v6]:PORT"), validated once into networks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Endpoint:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None = None

    def matches(self, ip: str, port: int | None = None) -> bool:
        if self.port is not None and port != self.port:
            return False
        try:
            return ipaddress.ip_address(ip) in self.network
        except ValueError:
            return False


def parse_endpoint(text: str) -> Endpoint:
    """"NET" or "NET:PORT" ("[v6 NET]:PORT" for IPv6 with a port); ValueError if invalid."""
    addr, port = text.strip(), None
    if addr.startswith("["):
        addr, sep, rest = addr[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: expected [ADDRESS]:PORT")
        port = rest[1:] or None
    elif addr.count(":") == 1:
        addr, port = addr.split(":")
    try:
        network = ipaddress.ip_network(addr, strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an address or network (e.g. 10.0.0.5, 10.1.0.0/16)") from None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{text!r}: port must be 1..65535")
        port = int(port)
    return Endpoint(network, port)


def parse_endpoints(items, what: str) -> tuple[Endpoint, ...]:
    try:
        return tuple(parse_endpoint(i) for i in items)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def any_match(endpoints: tuple[Endpoint, ...], ip: str, port: int | None = None) -> bool:
    return any(e.matches(ip, port) for e in endpoints)


def sender(flow, direction: int) -> tuple[str, str]:
    """(sender ip, receiver ip) of a message sent in `direction` of a client->server flow."""
    if direction == 0:
        return flow.src_ip, flow.dest_ip
    return flow.dest_ip, flow.src_ip
