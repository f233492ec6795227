"""Kernel offload of bypassed flows for a live worker: the engine's `set_offload` interface
(dlp/flow/engine.py) over the kernel's bypass table (dlp/live/ebpf.py).

When the engine bypasses a TCP flow (nothing inspects its bytes any more), both directions go
into the table of the eBPF program attached to the worker's capture socket; from then on the
kernel drops the flow's packets before they reach the ring, except SYN/FIN/RST, and counts
them. `sync` folds those counts into the flow (packets, bytes, last seen, each sender's
sequence frontier), so flow records and timeouts stay right; `stop` removes the entries when
the flow ends. The kernel's clock is CLOCK_MONOTONIC; packet times are wall-clock
microseconds, so last-seen times are converted with the offset between the two clocks.
"""

from __future__ import annotations

import time


def _wall_minus_monotonic_us() -> int:
    return (time.time_ns() - time.monotonic_ns()) // 1000


class KernelOffload:
    def __init__(self, table):
        self.table = table  # a dlp.live.ebpf.KernelBypass (or anything with its add/remove/counters)
        self.by_vlan = getattr(table, "vlan_in_key", False)  # as the engine keys flows
        self.seen: dict[tuple, list[tuple[int, int]]] = {}  # flow key -> per direction (packets, bytes) folded in
        self.flows: dict[tuple, object] = {}  # flow key -> the offloaded Flow
        self.dropped_packets = 0  # packets the kernel dropped for us, as far as synced
        self.dropped_bytes = 0

    def _direction(self, flow, d: int) -> tuple:
        """The table's key of the flow's direction `d`: (src, sport, dst, dport, proto, vlan)."""
        vlan = flow.vlan[0] if self.by_vlan and flow.vlan else 0
        return (*flow.sides(d), flow.proto, vlan)

    def start(self, flow) -> bool:
        added = []
        for d in (0, 1):
            key = self._direction(flow, d)
            if not self.table.add(*key):
                for done in added:  # all or nothing: half a flow in the kernel helps nobody
                    self.table.remove(*done)
                return False
            added.append(key)
        self.seen[flow.key] = [(0, 0), (0, 0)]
        self.flows[flow.key] = flow
        return True

    def sync(self, flow) -> bool:
        seen = self.seen.get(flow.key)
        if seen is None:
            return False
        moved = False
        offset = None
        for d in (0, 1):
            counters = self.table.counters(*self._direction(flow, d))
            if counters is None:
                continue
            packets, nbytes, last_ns, next_seq = counters
            done_packets, done_bytes = seen[d]
            if packets <= done_packets:
                continue
            seen[d] = (packets, nbytes)
            flow.pkts[d] += packets - done_packets
            if flow.unseen is None:
                flow.unseen = [0, 0]
            flow.unseen[d] += packets - done_packets
            flow.bytes[d] += nbytes - done_bytes
            self.dropped_packets += packets - done_packets
            self.dropped_bytes += nbytes - done_bytes
            if offset is None:
                offset = _wall_minus_monotonic_us()
            flow.last = max(flow.last, last_ns // 1000 + offset)
            if flow.tcp is not None:
                flow.tcp.unseen_progress(d, next_seq)
            moved = True
        return moved

    def stop(self, flow) -> None:
        if self.seen.pop(flow.key, None) is None:
            return
        del self.flows[flow.key]
        for d in (0, 1):
            self.table.remove(*self._direction(flow, d))

    def sync_all(self) -> None:
        """Every offloaded flow brought up to date (before a stats event)."""
        for flow in list(self.flows.values()):
            self.sync(flow)

    def __len__(self) -> int:
        return len(self.seen)
