"""The interface between the flow engine and everything after it."""

from __future__ import annotations

from typing import Protocol


class StreamConsumer(Protocol):
    """Receives a flow's life as events. Direction 0 is client to server (toserver).

    on_data chunks arrive in stream order per direction, each byte exactly once; on_gap says
    how many bytes are missing before the next chunk. UDP and ICMP payloads come whole
    through on_datagram, with the packet only for its timestamp and addresses (and ICMP's
    type, code, identifier and sequence). on_event reports session moments by name:
    "tcp.established", and every anomaly the engine records on the flow (tcp.*, stream.*),
    with the direction of the packet that raised it.
    """

    def on_open(self, flow) -> None: ...
    def on_data(self, flow, direction: int, data: bytes) -> None: ...
    def on_gap(self, flow, direction: int, length: int) -> None: ...
    def on_datagram(self, flow, direction: int, payload: bytes, pkt) -> None: ...
    def on_event(self, flow, direction: int, name: str) -> None: ...
    def on_close(self, flow) -> None: ...


class NullConsumer:
    """Ignores everything; subclass it and override only the events you need."""

    def on_open(self, flow) -> None:
        pass

    def on_data(self, flow, direction: int, data: bytes) -> None:
        pass

    def on_gap(self, flow, direction: int, length: int) -> None:
        pass

    def on_datagram(self, flow, direction: int, payload: bytes, pkt) -> None:
        pass

    def on_event(self, flow, direction: int, name: str) -> None:
        pass

    def on_close(self, flow) -> None:
        pass


EVENTS = ("on_open", "on_data", "on_gap", "on_datagram", "on_event", "on_close")


class FanOut:
    """Passes every event to each consumer that handles it, in order.

    Consumers that inherit an event's no-op from NullConsumer are left out of that event's
    list; with a single listener the event goes straight to it (on_data runs per segment).
    """

    def __init__(self, consumers: list):
        self.consumers = consumers
        for event in EVENTS:
            listeners = [getattr(c, event) for c in consumers
                         if getattr(type(c), event, None) is not getattr(NullConsumer, event)]
            setattr(self, event, _fan(listeners))


def _fan(listeners: list):
    if not listeners:
        return lambda *args: None
    if len(listeners) == 1:
        return listeners[0]

    def call_all(*args):
        for listener in listeners:
            listener(*args)

    return call_all
