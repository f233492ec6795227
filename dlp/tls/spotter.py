"""Which flows of a replay are TLS: a stream consumer that looks at the first bytes each
TCP connection carries. A ClientHello makes the flow TLS, whatever its port; the side that
sent it is the TLS client; a FlowRecordHold, if given, keeps the flow's EVE record until
its decrypted stream is done. Memory: one id per open flow until its first data, and a
record per TLS flow."""

from __future__ import annotations

from dlp.decode.packet import TCP, ip_text
from dlp.stream.consumer import NullConsumer
from dlp.tls.clienthello import is_client_hello


class TlsFlow:
    __slots__ = ("flow", "client_direction")

    def __init__(self, flow, client_direction: int):
        self.flow = flow  # the engine's Flow: alerts name its 5-tuple and flow id
        self.client_direction = client_direction

    @property
    def tuple(self) -> tuple[str, int, str, int]:
        """(client ip, client port, server ip, server port) as TLS sees them."""
        src, sport, dst, dport = self.flow.sides(self.client_direction)
        return ip_text(src), sport, ip_text(dst), dport


class TlsFlowSpotter(NullConsumer):
    def __init__(self, records=None):
        self.undecided: set[int] = set()  # flow ids opened whose first data is still to come
        self.flows: list[TlsFlow] = []
        self.records = records  # a FlowRecordHold, or None

    def on_open(self, flow) -> None:
        if flow.proto == TCP:
            self.undecided.add(flow.flow_id)

    def on_data(self, flow, direction: int, data: bytes) -> None:
        if flow.flow_id in self.undecided:
            self.undecided.discard(flow.flow_id)
            if is_client_hello(data):
                if self.records is not None:
                    self.records.expect(flow)
                self.found(TlsFlow(flow, direction))

    def found(self, tls: TlsFlow) -> None:
        self.flows.append(tls)

    def on_close(self, flow) -> None:
        self.undecided.discard(flow.flow_id)
