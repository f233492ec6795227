"""Flow records of TLS flows wait for their decrypted stream, so that `flow.alerted` is true
when an alert came from the decrypted bytes.

The engine writes a flow's EVE record when the flow closes (the pipeline's flow logger, a
stream consumer). Decrypted bytes come later: in a replay, after the whole capture (one
tshark pass at the end); live, some batches after the packets (tshark runs beside the
capture). FlowRecordHold takes the flow logger's place in the engine's consumers: the record
of a flow the spotter marked TLS (expect) is held from its close until the flow's decrypted
connection has ended (release), then written by the same logger. Records of other flows pass
straight through.

Bounded: a held record is written anyway once `max_age_us` of packet time passed since the
flow's last packet (release_stale; tshark never said the connection ended, e.g. a flow that
timed out without FIN), or when more than `max_held` wait (oldest first).
"""

from __future__ import annotations

from collections import OrderedDict

from dlp.stream.consumer import NullConsumer


class FlowRecordHold(NullConsumer):
    def __init__(self, logger, max_held: int = 100_000):
        self.logger = logger  # the pipeline's flow logger (on_close writes the record)
        self.max_held = max_held
        self.expected: set[int] = set()  # flow ids whose decrypted stream has not ended yet
        self.held: OrderedDict[int, object] = OrderedDict()  # flow id -> closed flow, by close time

    @classmethod
    def install(cls, pipeline, **kw) -> "FlowRecordHold":
        """Put a hold in place of the pipeline's flow logger (call before any packet)."""
        from dlp.pipeline import _FlowLogger  # the one consumer that writes flow records

        consumers = pipeline.engine.consumer.consumers
        logger = next(c for c in consumers if isinstance(c, _FlowLogger))
        hold = cls(logger, **kw)
        pipeline.engine.set_consumer(type(pipeline.engine.consumer)(
            [hold if c is logger else c for c in consumers]))
        return hold

    def expect(self, flow) -> None:
        """This flow's record waits for its decrypted connection."""
        self.expected.add(flow.flow_id)

    def on_close(self, flow) -> None:
        if flow.flow_id not in self.expected:
            self.logger.on_close(flow)
            return
        self.held[flow.flow_id] = flow
        while len(self.held) > self.max_held:
            self._write(next(iter(self.held)))

    def release(self, flow) -> None:
        """Its decrypted connection is over (or will never come): the record may be written,
        now if the flow has closed, else when it closes."""
        self.expected.discard(flow.flow_id)
        if flow.flow_id in self.held:
            self._write(flow.flow_id)

    def release_stale(self, now_us: int, max_age_us: int) -> None:
        """Oldest closes first; a flow that timed out closed well after its last packet, so
        stopping at the first fresh one can only keep a record a little longer."""
        while self.held:
            flow_id, flow = next(iter(self.held.items()))
            if now_us - flow.last <= max_age_us:
                return
            self._write(flow_id)

    def release_all(self) -> None:
        for flow_id in list(self.held):
            self._write(flow_id)
        self.expected.clear()

    def _write(self, flow_id: int) -> None:
        self.expected.discard(flow_id)
        self.logger.on_close(self.held.pop(flow_id))
