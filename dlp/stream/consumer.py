"""The interface between the flow engine and everything after it."""

from __future__ import annotations

from typing import Protocol


class StreamConsumer(Protocol):
    """Receives a flow's life as events. Direction 0 is client to server (toserver).

    on_data chunks arrive in stream order per direction, each byte exactly once; on_gap says
    how many bytes are missing before the next chunk. UDP and ICMP payloads come whole
    through on_datagram, with the packet only for its timestamp and addresses.
    """

    def on_open(self, flow) -> None: ...
    def on_data(self, flow, direction: int, data: bytes) -> None: ...
    def on_gap(self, flow, direction: int, length: int) -> None: ...
    def on_datagram(self, flow, direction: int, payload: bytes, pkt) -> None: ...
    def on_close(self, flow) -> None: ...


class FanOut:
    """Passes every event to each consumer in turn."""

    def __init__(self, consumers: list):
        self.consumers = consumers

    def on_open(self, flow) -> None:
        for c in self.consumers:
            c.on_open(flow)

    def on_data(self, flow, direction: int, data: bytes) -> None:
        for c in self.consumers:
            c.on_data(flow, direction, data)

    def on_gap(self, flow, direction: int, length: int) -> None:
        for c in self.consumers:
            c.on_gap(flow, direction, length)

    def on_datagram(self, flow, direction: int, payload: bytes, pkt) -> None:
        for c in self.consumers:
            c.on_datagram(flow, direction, payload, pkt)

    def on_close(self, flow) -> None:
        for c in self.consumers:
            c.on_close(flow)
