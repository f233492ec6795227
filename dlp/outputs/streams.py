"""--write-streams: one file per TCP connection direction that carried payload (as tcpflow),
with its reassembled bytes, and DIR/index.jsonl describing each file.

Gaps are not filled: the file holds the bytes that were seen, in order, and the index says
how many gaps (and missing bytes) lie between them. Open file handles are bounded.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict

from dlp.decode.packet import ip_text
from dlp.stream.consumer import NullConsumer

MAX_OPEN_FILES = 128


class StreamWriter(NullConsumer):
    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self._open: OrderedDict[tuple, object] = OrderedDict()
        self._index = open(os.path.join(directory, "index.jsonl"), "w", encoding="utf-8")
        self.files = 0

    def _name(self, flow, direction: int) -> str:
        src, sport, dst, dport = flow.sides(direction)
        return f"{flow.flow_id}-{ip_text(src)}.{sport}-{ip_text(dst)}.{dport}"

    @staticmethod
    def _written(flow) -> list:
        return flow.tcp.ep[0].bytes_out, flow.tcp.ep[1].bytes_out

    def on_data(self, flow, direction: int, data: bytes) -> None:
        # bytes_out already counts this chunk, so "written before" is bytes_out - len(data)
        key = (flow.flow_id, direction)
        fh = self._open.get(key)
        if fh is None:
            before = self._written(flow)[direction] - len(data)
            if len(self._open) >= MAX_OPEN_FILES:
                _k, old = self._open.popitem(last=False)
                old.close()
            path = os.path.join(self.directory, self._name(flow, direction))
            fh = self._open[key] = open(path, "ab" if before else "wb")
        else:
            self._open.move_to_end(key)
        fh.write(data)

    def on_close(self, flow) -> None:
        if flow.tcp is None:
            return
        for direction, ep in enumerate(flow.tcp.ep):
            fh = self._open.pop((flow.flow_id, direction), None)
            if fh is not None:
                fh.close()
            if not ep.bytes_out:
                continue
            src, sport, dst, dport = flow.sides(direction)
            self._index.write(json.dumps({
                "file": self._name(flow, direction), "src_ip": ip_text(src), "src_port": sport,
                "dest_ip": ip_text(dst), "dest_port": dport, "bytes": ep.bytes_out,
                "gaps": ep.reasm.gaps, "missing_bytes": ep.reasm.gap_bytes,
                "flow_id": flow.flow_id,
            }) + "\n")
            self.files += 1

    def close(self) -> None:
        for fh in self._open.values():
            fh.close()
        self._open.clear()
        self._index.close()
