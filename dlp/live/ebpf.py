"""Kernel-side flow bypass: an eBPF socket filter that drops a bypassed flow's packets before
they reach the capture ring, and counts them in a hash map (as Suricata's eBPF bypass does).

The flow engine stops reassembling a connection once the app layer gives up on it (TLS,
SSH...), but every packet of it still crossed into Python. `KernelBypass` loads one
BPF_PROG_TYPE_SOCKET_FILTER program with a BPF_MAP_TYPE_HASH of bypassed flow directions;
the capture socket runs it on every packet:

1. Parse Ethernet (one 802.1Q/802.1ad tag left in the data is skipped; a tag the kernel
   already stripped into the skb's metadata is not in the data at all), then IPv4 (not a
   fragment) or IPv6 (TCP or UDP directly after the fixed header), then the ports and, for
   TCP, flags, sequence number and header length.
2. Look the direction up: key { src[16], dst[16], sport, dport (network order), proto, pad,
   vlan (the outer VLAN id, or 0 when the table is not keyed by VLAN) }, IPv4 addresses as 4
   bytes then 12 zeros. A hit that is not a TCP SYN, FIN or
   RST adds to { packets, bytes, last_ns, next_seq } and returns 0: the packet is dropped.
   A FIN or RST marks both directions' entries `ended`: from then on the flow's packets pass.
3. Everything else runs the user's capture filter (classic BPF from tcpdump, translated to
   eBPF by dlp/live/bpf_asm.py) whose result, as for any socket filter, is the number of
   bytes to keep; without one the frame is kept whole, or cut to `snaplen`.

Packet bytes are read with bpf_skb_load_bytes into the stack, never LD_ABS, so a short or
odd packet leaves the bypass part quietly and reaches the user's filter unchanged.

Everything goes through the bpf(2) system call by ctypes: no compiler, no bcc. See
docs/kernel-bypass.md for what the engine gives up on bypassed flows.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import socket
import struct

from dlp.live.bpf_asm import (ADD, AND, B, DW, FP, H, JEQ, JLE, JLT, JNE, LSH, R0, R1, R2, R3,
                              R4, R6, R7, R8, R9, RSH, SUB, W, Asm, ClassicUnsupported,
                              translate_classic)

_NR_BPF = {"x86_64": 321, "aarch64": 280}
BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_PROG_LOAD = (
    0, 1, 2, 3, 5)
BPF_MAP_TYPE_HASH, BPF_PROG_TYPE_SOCKET_FILTER = 1, 1
BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2
SO_ATTACH_BPF = 50
HELPER_MAP_LOOKUP, HELPER_KTIME_GET_NS, HELPER_SKB_LOAD_BYTES = 1, 5, 26
LICENSE = b"Apache-2.0\0"  # no GPL-only helper is used

# ports go in as the packet has them (network order); the VLAN id (host order, 0 = none or not
# keyed) is the outer tag: the one the kernel moved into the skb, else the one in the data
_key = struct.Struct("=16s16s2s2sBxH")
SKB_VLAN_PRESENT, SKB_VLAN_TCI = 20, 24  # offsets in struct __sk_buff
_value = struct.Struct("=QQQII")  # packets, bytes, last_ns, next_seq, ended (FIN/RST seen)
# stack of the program (offsets from R10)
KEY, IPHDR, TCPHDR, ETHHDR, MEM_BASE = -40, -80, -96, -104, -104
REVKEY = IPHDR  # the reverse direction's key, built once the IP header is no longer needed
IPPROTO_TCP, IPPROTO_UDP = 6, 17


class BypassUnavailable(Exception):
    """The kernel refuses the bypass (no CAP_BPF, old kernel, verifier, unsupported filter)."""


# -- the bpf(2) system call ------------------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd: int, attr: bytes) -> int:
    """bpf(cmd, attr): the returned value (an fd for creates and loads), or OSError."""
    nr = _NR_BPF.get(platform.machine())
    if nr is None:
        raise BypassUnavailable(f"bpf(2) system call number unknown on {platform.machine()}")
    buf = ctypes.create_string_buffer(attr, len(attr))
    r = _libc.syscall(ctypes.c_long(nr), ctypes.c_long(cmd), buf, ctypes.c_long(len(attr)))
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return r


def _why(exc: OSError) -> str:
    if exc.errno == errno.EPERM:
        return "bpf(2) not permitted: needs root or CAP_BPF with CAP_NET_ADMIN"
    if exc.errno == errno.ENOSYS:
        return "this kernel has no bpf(2) system call"
    return exc.strerror or str(exc)


def _create_hash_map(key_size: int, value_size: int, max_entries: int) -> int:
    attr = struct.pack("=6I16s", BPF_MAP_TYPE_HASH, key_size, value_size, max_entries, 0, 0,
                       b"dlp_bypass")
    try:
        return _bpf(BPF_MAP_CREATE, attr.ljust(128, b"\0"))
    except OSError as exc:
        raise BypassUnavailable(f"cannot create the bypass map: {_why(exc)}") from None


def _load_socket_filter(code: bytes) -> int:
    """The program's fd; on refusal BypassUnavailable with the verifier log's tail."""
    lic = ctypes.create_string_buffer(LICENSE)
    insns = ctypes.create_string_buffer(code, len(code))

    def load(log_level: int, log) -> int:
        attr = struct.pack("=IIQQIIQII16s", BPF_PROG_TYPE_SOCKET_FILTER, len(code) // 8,
                           ctypes.addressof(insns), ctypes.addressof(lic), log_level,
                           len(log) if log is not None else 0,
                           ctypes.addressof(log) if log is not None else 0, 0, 0, b"dlp_bypass")
        return _bpf(BPF_PROG_LOAD, attr.ljust(128, b"\0"))

    try:
        return load(0, None)
    except OSError as exc:
        reason = _why(exc)
    log = ctypes.create_string_buffer(1 << 20)  # again with the verifier's log, to say why
    try:
        fd = load(1, log)
    except OSError:
        tail = log.value.decode(errors="replace").strip().splitlines()[-12:]
        raise BypassUnavailable(f"kernel refused the bypass program ({reason})"
                                + ("; verifier: " + " | ".join(tail) if tail else "")) from None
    return fd  # loaded the second time: keep it


def available() -> str | None:
    """None if a trivial socket filter loads here, else the reason it does not."""
    asm = Asm()
    asm.ret_imm(0)
    try:
        os.close(_load_socket_filter(asm.assemble()))
    except BypassUnavailable as exc:
        return str(exc)
    return None


# -- the program ------------------------------------------------------------------------
def _load_bytes(asm: Asm, offset_reg: int, stack_off: int, size: int, fail) -> None:
    """bpf_skb_load_bytes(skb, offset_reg, R10 + stack_off, size); `fail` if out of packet."""
    asm.mov(R1, R6)
    asm.mov(R2, offset_reg)
    asm.mov(R3, FP)
    asm.alu(ADD, R3, stack_off)
    asm.mov_imm(R4, size)
    asm.call(HELPER_SKB_LOAD_BYTES)
    asm.jmp(JNE, R0, 0, fail)


def _emit_ethernet(asm: Asm, vlan_in_key: bool) -> None:
    """R7 = offset of the IP header, R8 = its ethertype (host order); the VLAN id in the key."""
    for off in range(KEY, 0, 8):  # the key must be fully written before the lookup
        asm.st_imm(DW, FP, off, 0)
    if vlan_in_key:  # a tag the kernel took out of the data is the outer one
        asm.ldx(W, R1, R6, SKB_VLAN_PRESENT)
        asm.jmp(JEQ, R1, 0, "no_meta_tag")
        asm.ldx(W, R1, R6, SKB_VLAN_TCI)
        asm.alu(AND, R1, 0x0FFF)
        asm.stx(H, FP, KEY + 38, R1)
        asm.label("no_meta_tag")
    asm.mov_imm(R7, 12)
    _load_bytes(asm, R7, ETHHDR, 6, "user")  # ethertype, and the next 4 bytes for a tag
    asm.mov_imm(R7, 14)
    asm.ldx(H, R8, FP, ETHHDR)
    asm.ntoh(R8, 16)
    asm.jmp(JEQ, R8, 0x8100, "vlan")
    asm.jmp(JNE, R8, 0x88A8, "l3")
    asm.label("vlan")
    if vlan_in_key:  # the tag in the data is the outer one only when none was taken out
        asm.ldx(H, R1, FP, KEY + 38)
        asm.jmp(JNE, R1, 0, "data_tag_done")
        asm.ldx(H, R1, FP, ETHHDR + 2)
        asm.ntoh(R1, 16)
        asm.alu(AND, R1, 0x0FFF)
        asm.stx(H, FP, KEY + 38, R1)
        asm.label("data_tag_done")
    asm.ldx(H, R8, FP, ETHHDR + 4)
    asm.ntoh(R8, 16)
    asm.mov_imm(R7, 18)
    asm.label("l3")
    asm.jmp(JEQ, R8, 0x0800, "ipv4")
    asm.jmp(JNE, R8, 0x86DD, "user")


def _emit_ipv6(asm: Asm) -> None:
    """Key addresses, R9 = protocol, R8 = layer-4 length, R7 = layer-4 offset."""
    _load_bytes(asm, R7, IPHDR, 40, "user")
    asm.ldx(B, R9, FP, IPHDR + 6)
    asm.jmp(JEQ, R9, IPPROTO_TCP, "v6_ok")
    asm.jmp(JNE, R9, IPPROTO_UDP, "user")  # extension headers: not bypassable
    asm.label("v6_ok")
    for i in range(0, 32, 8):  # source then destination, 16 bytes each
        asm.ldx(DW, R1, FP, IPHDR + 8 + i)
        asm.stx(DW, FP, KEY + i, R1)
    asm.ldx(H, R8, FP, IPHDR + 4)
    asm.ntoh(R8, 16)
    asm.alu(ADD, R7, 40)
    asm.goto("l4")


def _emit_ipv4(asm: Asm) -> None:
    asm.label("ipv4")
    _load_bytes(asm, R7, IPHDR, 20, "user")
    asm.ldx(H, R1, FP, IPHDR + 6)
    asm.ntoh(R1, 16)
    asm.alu(AND, R1, 0x3FFF)  # more-fragments flag or an offset: a fragment
    asm.jmp(JNE, R1, 0, "user")
    asm.ldx(B, R9, FP, IPHDR + 9)
    asm.jmp(JEQ, R9, IPPROTO_TCP, "v4_ok")
    asm.jmp(JNE, R9, IPPROTO_UDP, "user")
    asm.label("v4_ok")
    asm.ldx(W, R1, FP, IPHDR + 12)
    asm.stx(W, FP, KEY, R1)
    asm.ldx(W, R1, FP, IPHDR + 16)
    asm.stx(W, FP, KEY + 16, R1)
    asm.ldx(B, R1, FP, IPHDR)
    asm.alu(AND, R1, 0x0F)
    asm.alu(LSH, R1, 2)  # header length in bytes
    asm.jmp(JLT, R1, 20, "user")
    asm.ldx(H, R8, FP, IPHDR + 2)
    asm.ntoh(R8, 16)
    asm.alu_reg(SUB, R8, R1)  # total length - header: layer-4 length
    asm.alu_reg(ADD, R7, R1)


def _emit_layer4(asm: Asm) -> None:
    """Ports into the key; for TCP: SYN/FIN/RST go to the user's filter, R8 = next seq."""
    asm.label("l4")
    asm.stx(B, FP, KEY + 36, R9)
    _load_bytes(asm, R7, KEY + 32, 4, "user")
    asm.jmp(JNE, R9, IPPROTO_TCP, "lookup")
    asm.alu(ADD, R7, 4)
    _load_bytes(asm, R7, TCPHDR, 12, "user")  # seq, ack, data offset, flags, window
    asm.ldx(B, R1, FP, TCPHDR + 9)
    asm.mov(R2, R1)
    asm.alu(AND, R2, 0x02)  # SYN: the engine must see sessions open
    asm.jmp(JNE, R2, 0, "user")
    asm.alu(AND, R1, 0x05)  # FIN | RST: the session is closing; it goes up, and so does all
    asm.jmp(JNE, R1, 0, "closing")  # of it after (the ACKs that end the session)
    asm.ldx(B, R1, FP, TCPHDR + 8)
    asm.alu(RSH, R1, 4)
    asm.alu(LSH, R1, 2)
    asm.alu_reg(SUB, R8, R1)  # payload length
    asm.ldx(W, R1, FP, TCPHDR)
    asm.ntoh(R1, 32)
    asm.alu_reg(ADD, R8, R1)  # seq + payload; stored as u32, so mod 2**32


def _emit_lookup(asm: Asm, map_fd: int) -> None:
    """On a hit count the packet and drop it; on a miss go on to `user`."""
    asm.label("lookup")
    asm.ld_map_fd(R1, map_fd)
    asm.mov(R2, FP)
    asm.alu(ADD, R2, KEY)
    asm.call(HELPER_MAP_LOOKUP)
    asm.jmp(JEQ, R0, 0, "user")
    asm.ldx(W, R1, R0, 28)  # the sender's entry is marked ended: let everything through
    asm.jmp(JNE, R1, 0, "pass")
    asm.mov(R7, R0)
    asm.mov_imm(R1, 1)
    asm.atomic_add(DW, R7, 0, R1)
    asm.ldx(W, R1, R6, 0)  # skb->len
    asm.atomic_add(DW, R7, 8, R1)
    asm.call(HELPER_KTIME_GET_NS)
    asm.stx(DW, R7, 16, R0)
    asm.jmp(JNE, R9, IPPROTO_TCP, "drop")
    asm.stx(W, R7, 24, R8)
    asm.label("drop")
    asm.ret_imm(0)
    # A FIN or RST: mark both directions' entries ended, then the user's filter. Both, because
    # the peer's answer (the last ACK) can reach this filter on another CPU before the FIN's
    # own copy is marked; the FIN's mirror copy is queued before the peer even receives it.
    asm.label("closing")
    _mark_ended(asm, map_fd, KEY, "closing_reverse")
    asm.label("closing_reverse")
    _reverse_key(asm, REVKEY, KEY)
    _mark_ended(asm, map_fd, REVKEY, "pass")
    asm.label("pass")  # R0 may hold the map value: the user's filter must not see a pointer
    asm.mov_imm(R0, 0)
    asm.goto("user")


def _mark_ended(asm: Asm, map_fd: int, key: int, then: str) -> None:
    """Set `ended` in the entry of the key at R10 + `key`, if there is one; go to `then`."""
    asm.ld_map_fd(R1, map_fd)
    asm.mov(R2, FP)
    asm.alu(ADD, R2, key)
    asm.call(HELPER_MAP_LOOKUP)
    asm.jmp(JEQ, R0, 0, then)
    asm.st_imm(W, R0, 28, 1)
    asm.goto(then)


def _reverse_key(asm: Asm, dst: int, src: int) -> None:
    """The other direction's key at R10 + `dst`: addresses and ports swapped, the rest kept."""
    for i in range(0, 16, 8):
        asm.ldx(DW, R1, FP, src + 16 + i)
        asm.stx(DW, FP, dst + i, R1)
        asm.ldx(DW, R1, FP, src + i)
        asm.stx(DW, FP, dst + 16 + i, R1)
    asm.ldx(H, R1, FP, src + 34)
    asm.stx(H, FP, dst + 32, R1)
    asm.ldx(H, R1, FP, src + 32)
    asm.stx(H, FP, dst + 34, R1)
    asm.ldx(W, R1, FP, src + 36)  # protocol, pad, VLAN id
    asm.stx(W, FP, dst + 36, R1)


def _emit_user_filter(asm: Asm, user_filter, snaplen: int) -> None:
    """Bytes to keep of a packet the bypass did not drop."""
    asm.label("user")
    keep = snaplen if snaplen > 0 else 0xFFFFFFFF
    if user_filter is None:
        asm.ret_imm(keep)
        return
    try:
        translate_classic(asm, list(user_filter), MEM_BASE,
                          on_return="snap" if snaplen > 0 else None)
    except ClassicUnsupported as exc:
        raise BypassUnavailable(f"capture filter cannot run in the bypass program: {exc}") from None
    if snaplen > 0:  # the filter's own result, cut to snaplen
        asm.label("snap")
        asm.jmp(JLE, R0, keep, "done", wide=False)
        asm.mov_imm(R0, keep)
        asm.label("done")
        asm.exit()


def build_program(map_fd: int, user_filter=None, snaplen: int = 0, vlan_in_key: bool = False) -> bytes:
    """The bypass socket filter's bytecode for the map `map_fd`."""
    asm = Asm()
    asm.mov(R6, R1)  # the skb context: helpers and LD_ABS in the user's filter need it
    _emit_ethernet(asm, vlan_in_key)
    _emit_ipv6(asm)
    _emit_ipv4(asm)
    _emit_layer4(asm)
    _emit_lookup(asm, map_fd)
    _emit_user_filter(asm, user_filter, snaplen)
    return asm.assemble()


# -- the map, from Python -----------------------------------------------------------------
def flow_key(src: bytes, sport: int, dst: bytes, dport: int, proto: int = IPPROTO_TCP,
             vlan: int = 0) -> bytes:
    """The map key of one direction, as the program builds it. ValueError on bad input."""
    if len(src) not in (4, 16) or len(dst) != len(src):
        raise ValueError("src and dst must be both 4 (IPv4) or both 16 (IPv6) bytes")
    if not (0 <= sport <= 0xFFFF and 0 <= dport <= 0xFFFF and 0 <= proto <= 0xFF
            and 0 <= vlan <= 0x0FFF):
        raise ValueError(f"bad port, protocol or VLAN id: {sport}, {dport}, {proto}, {vlan}")
    return _key.pack(bytes(src), bytes(dst), sport.to_bytes(2, "big"), dport.to_bytes(2, "big"),
                     proto, vlan)


class KernelBypass:
    """The bypass map and program; `attach` it to capture sockets, `add` flow directions."""

    def __init__(self, max_flows: int = 65536,
                 user_filter: list[tuple[int, int, int, int]] | None = None, snaplen: int = 0,
                 vlan_in_key: bool = False):
        """`vlan_in_key`: the outer VLAN id is part of a direction's key (give `vlan` to
        add/remove/counters), as when the engine keys flows by VLAN: the same 5-tuple on two
        VLANs (a routed flow mirrored on both) is then two entries, not one."""
        if max_flows < 1:
            raise ValueError("max_flows must be at least 1")
        self.map_fd = self.prog_fd = -1
        self._count = 0
        self.vlan_in_key = vlan_in_key
        self.map_fd = _create_hash_map(_key.size, _value.size, max_flows)
        try:
            self.prog_fd = _load_socket_filter(build_program(self.map_fd, user_filter, snaplen,
                                                             vlan_in_key))
        except BaseException:
            self.close()
            raise

    def attach(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, struct.pack("=i", self.prog_fd))

    def _elem(self, cmd: int, key: bytes, value=None, flags: int = 0) -> None:
        kbuf = ctypes.create_string_buffer(key, len(key))
        vaddr = ctypes.addressof(value) if value is not None else 0
        _bpf(cmd, struct.pack("=IIQQQ", self.map_fd, 0, ctypes.addressof(kbuf), vaddr, flags))

    def add(self, src: bytes, sport: int, dst: bytes, dport: int, proto: int = IPPROTO_TCP,
            vlan: int = 0) -> bool:
        """Drop src:sport -> dst:dport in the kernel from now on (counters start at zero).
        False if the map is full: the caller keeps handling the flow itself."""
        key = flow_key(src, sport, dst, dport, proto, vlan)
        zero = ctypes.create_string_buffer(_value.size)
        try:
            self._elem(BPF_MAP_UPDATE_ELEM, key, zero, BPF_NOEXIST)
            self._count += 1
        except OSError as exc:
            if exc.errno == errno.E2BIG:
                return False
            if exc.errno != errno.EEXIST:
                raise
            self._elem(BPF_MAP_UPDATE_ELEM, key, zero, BPF_EXIST)
        return True

    def remove(self, src: bytes, sport: int, dst: bytes, dport: int,
               proto: int = IPPROTO_TCP, vlan: int = 0) -> None:
        try:
            self._elem(BPF_MAP_DELETE_ELEM, flow_key(src, sport, dst, dport, proto, vlan))
            self._count -= 1
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise

    def counters(self, src: bytes, sport: int, dst: bytes, dport: int,
                 proto: int = IPPROTO_TCP, vlan: int = 0) -> tuple[int, int, int, int] | None:
        """(packets, bytes, last_seen monotonic ns, next_seq) dropped since add(), or None."""
        value = ctypes.create_string_buffer(_value.size)
        try:
            self._elem(BPF_MAP_LOOKUP_ELEM, flow_key(src, sport, dst, dport, proto, vlan), value)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        packets, nbytes, last_ns, next_seq, _pad = _value.unpack(value.raw)
        return packets, nbytes, last_ns, next_seq

    def __len__(self) -> int:
        return self._count  # only add() and remove() change the map: the program never does

    def close(self) -> None:
        for name in ("prog_fd", "map_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def __enter__(self) -> "KernelBypass":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
