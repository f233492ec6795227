"""Packets from a Linux interface through AF_PACKET, in batches.

Two readers with one interface (`fileno`, `batch(timeout_ms)`, `kernel_stats()`, `close`):

* `RingCapture`: a TPACKET_V3 ring mmapped from the kernel. The kernel fills whole blocks
  of packets and hands each block over with one status flip, so the process pays one wakeup
  per block instead of one system call per packet. Chosen by measurement (bench/live_rate.py).
* `RecvCapture`: one recvfrom per packet; the reference the ring was measured against.

Both may carry a `kernel_bypass` table (dlp/live/ebpf.KernelBypass): its eBPF program is
attached instead of the classic filter (it runs that filter itself) and drops the packets of
flows the engine offloaded.

Both join a PACKET_FANOUT group hashed by flow: the kernel's hash is symmetric over the IP
5-tuple, so every worker sees both directions of its flows. With `defrag` the kernel
reassembles IP fragments before hashing (as Suricata's cluster_flow does), or fragments
without ports would go to another worker than their flow.

The socket options are set by number (Python's socket module knows AF_PACKET but not the
SOL_PACKET options); the values are those of <linux/if_packet.h>.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import select
import socket
import struct
import subprocess
import time

from dlp.decode.decoder import LT_ETHERNET
from dlp.errors import ConfigError

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC = 1, 1
PACKET_RX_RING, PACKET_STATISTICS, PACKET_VERSION, PACKET_FANOUT = 5, 6, 10, 18
TPACKET_V3 = 2
PACKET_FANOUT_HASH, PACKET_FANOUT_FLAG_DEFRAG = 0, 0x8000
SO_ATTACH_FILTER, SO_RCVBUFFORCE = 26, 33
ETH_P_ALL = 0x0003
TP_STATUS_USER, TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 1, 0x10, 0x40

# tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1: block_status, num_pkts,
# offset_to_first_pkt
_block_hdr = struct.Struct("=III").unpack_from  # at block + 8
# tpacket3_hdr: next_offset, sec, nsec, snaplen, len, status, mac, net, rxhash, vlan_tci, vlan_tpid
_pkt_hdr = struct.Struct("=IIIIIIHHIIH").unpack_from
_set_status = struct.Struct("=I").pack_into


def compile_bpf(interface: str, expression: str, snaplen: int) -> list[tuple[int, int, int, int]]:
    """A tcpdump filter expression (and snaplen) as classic BPF instructions, compiled by
    tcpdump -ddd for the interface's link type. A bad expression is a ConfigError."""
    cmd = ["tcpdump", "-i", interface, "-ddd"]
    if snaplen:
        cmd += ["-s", str(snaplen)]
    try:
        r = subprocess.run(cmd + ([expression] if expression else []), capture_output=True,
                           text=True, timeout=20)
    except FileNotFoundError:
        raise ConfigError("bpf filter needs tcpdump installed to compile it") from None
    if r.returncode != 0:
        raise ConfigError(f"bad bpf filter {expression!r}: {r.stderr.strip().splitlines()[-1:]}")
    lines = r.stdout.split("\n")
    count = int(lines[0])
    return [tuple(int(x) for x in line.split()) for line in lines[1:1 + count]]


def _attach_bpf(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    code = b"".join(struct.pack("=HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))  # struct sock_fprog
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def interface_index(interface: str) -> int:
    try:
        return socket.if_nametoindex(interface)
    except OSError:
        raise ConfigError(f"interface {interface!r} does not exist") from None


def check_permission() -> None:
    """Packet sockets need root or CAP_NET_RAW: say so before any worker starts."""
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    except PermissionError:
        raise ConfigError("live capture needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous "
                          "mode) or root; see docs/span-deployment.md") from None


def _open_socket(interface: str, bpf, promisc: bool, kernel_bypass=None) -> socket.socket:
    ifindex = interface_index(interface)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # no packets until bind
    if kernel_bypass is not None:  # its eBPF program runs the classic filter too
        kernel_bypass.attach(sock)
    elif bpf:
        _attach_bpf(sock, bpf)
    if promisc:
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    return sock


def _join(sock: socket.socket, interface: str, fanout_group: int | None, defrag: bool) -> None:
    sock.bind((interface, ETH_P_ALL))
    if fanout_group is not None:
        mode = PACKET_FANOUT_HASH | (PACKET_FANOUT_FLAG_DEFRAG if defrag else 0)
        value = (fanout_group & 0xFFFF) | (mode << 16)  # above INT_MAX with the defrag flag
        sock.setsockopt(SOL_PACKET, PACKET_FANOUT, struct.pack("=I", value))


def _with_vlan(frame: bytes, status: int, tci: int, tpid: int) -> bytes:
    """Put back the 802.1Q tag the NIC stripped (rx VLAN offload): VLANs key flows."""
    if not status & TP_STATUS_VLAN_TPID_VALID:
        tpid = 0x8100
    return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]


def _raise_socket_error(sock: socket.socket, events) -> None:
    """The interface went away or down (ENETDOWN, ENXIO): raise instead of spinning on
    POLLERR; the supervisor restarts the worker, and gives up if it keeps failing."""
    if any(mask & select.POLLERR for _fd, mask in events):
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, f"capture socket: {os.strerror(err)}")


class RingCapture:
    """TPACKET_V3 ring: `block_kib` blocks of `blocks` count; the kernel retires a block
    that is not full after `block_timeout_ms` so quiet links still deliver promptly."""

    def __init__(self, interface: str, fanout_group: int | None = None, bpf=None,
                 promisc: bool = True, defrag: bool = True, ring_mib: int = 64,
                 block_kib: int = 1024, block_timeout_ms: int = 20, kernel_bypass=None):
        self.sock = _open_socket(interface, bpf, promisc, kernel_bypass)
        self.block_size = block_kib * 1024
        self.blocks = max(2, ring_mib * 1024 // block_kib)
        frame_size = 2048
        self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        req = struct.pack("=7I", self.block_size, self.blocks, frame_size,
                          self.block_size * self.blocks // frame_size, block_timeout_ms, 0, 0)
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        self.ring = mmap.mmap(self.sock.fileno(), self.block_size * self.blocks,
                              mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        _join(self.sock, interface, fanout_group, defrag)
        self.poller = select.poll()
        self.poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        self.current = 0
        self.packets = self.drops = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def batch(self, timeout_ms: int) -> list:
        """The packets of the next filled block, or [] when none came within the timeout."""
        base = self.current * self.block_size
        status, count, first = _block_hdr(self.ring, base + 8)
        if not status & TP_STATUS_USER:
            _raise_socket_error(self.sock, self.poller.poll(timeout_ms))
            status, count, first = _block_hdr(self.ring, base + 8)
            if not status & TP_STATUS_USER:
                return []
        ring = self.ring
        out = []
        off = base + first
        for _ in range(count):
            nxt, sec, nsec, snap, wirelen, pstatus, mac, _net, _hash, tci, tpid = _pkt_hdr(ring, off)
            frame = ring[off + mac:off + mac + snap]
            if pstatus & TP_STATUS_VLAN_VALID:
                frame = _with_vlan(frame, pstatus, tci & 0xFFFF, tpid)
                wirelen += 4
            out.append((sec * 1_000_000 + nsec // 1000, LT_ETHERNET, frame, wirelen))
            off += nxt
        _set_status(ring, base + 8, 0)  # hand the block back to the kernel
        self.current = (self.current + 1) % self.blocks
        return out

    def kernel_stats(self) -> tuple[int, int]:
        """(packets seen by the socket, packets the kernel dropped) since opening. The
        kernel resets its counters on each read, so they are summed here."""
        packets, drops, _freeze = struct.unpack("=III", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12))
        self.packets += packets
        self.drops += drops
        return self.packets, self.drops

    def close(self) -> None:
        self.poller.unregister(self.sock.fileno())
        self.ring.close()
        self.sock.close()


class RecvCapture:
    """One recvfrom per packet (timestamps from the clock on receipt): the reference."""

    MAX_BATCH = 256

    def __init__(self, interface: str, fanout_group: int | None = None, bpf=None,
                 promisc: bool = True, defrag: bool = True, rcvbuf_mib: int = 64,
                 kernel_bypass=None):
        self.sock = _open_socket(interface, bpf, promisc, kernel_bypass)
        try:  # past net.core.rmem_max, as the ring is not bound by it (needs CAP_NET_ADMIN)
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf_mib * 1024 * 1024)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_mib * 1024 * 1024)
        _join(self.sock, interface, fanout_group, defrag)
        self.sock.setblocking(False)
        self.poller = select.poll()
        self.poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        self.packets = self.drops = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def batch(self, timeout_ms: int) -> list:
        out = []
        recv = self.sock.recv
        try:
            for _ in range(self.MAX_BATCH):
                frame = recv(262144)
                out.append((time.time_ns() // 1000, LT_ETHERNET, frame, len(frame)))
        except BlockingIOError:
            if not out:
                _raise_socket_error(self.sock, self.poller.poll(timeout_ms))
        return out

    def kernel_stats(self) -> tuple[int, int]:
        packets, drops = struct.unpack("=II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        self.packets += packets
        self.drops += drops
        return self.packets, self.drops

    def close(self) -> None:
        self.sock.close()


READERS = {"ring": RingCapture, "recv": RecvCapture}
