"""Recognising a TLS ClientHello from the first bytes a client sends."""

from __future__ import annotations

HANDSHAKE, CLIENT_HELLO = 0x16, 0x01


def is_client_hello(data: bytes) -> bool:
    """A TLS record of type handshake (SSL 3.0 .. TLS 1.3 record versions) whose first
    handshake message is a ClientHello. Six bytes decide; fewer are not enough."""
    return (len(data) >= 6 and data[0] == HANDSHAKE and data[1] == 3 and data[2] <= 4
            and data[5] == CLIENT_HELLO)
