"""A tiny eBPF assembler, and the classic-BPF -> eBPF translation of a tcpdump filter.

`Asm` collects instructions with symbolic jump targets (labels) and resolves them into the
8-byte `struct bpf_insn` records the bpf(2) syscall loads. Only what the kernel-bypass socket
filter (dlp/live/ebpf.py) needs is here: ALU/JMP with register or immediate, loads and stores,
atomic add, helper calls, LD_ABS/LD_IND, byte swaps and 64-bit map-fd loads.

`translate_classic` turns `tcpdump -ddd` output (cBPF) into eBPF emitted at the current
position of an `Asm`, as the kernel's own bpf_convert_filter does (net/core/filter.c), so a
user's capture filter can run after the bypass lookup inside one program:

* A is R0 (LD_ABS/LD_IND leave their value there), X is R7, R8 is scratch that survives
  LD_ABS (which clobbers R1-R5). R6 must hold the skb context.
* M[0..15] are 4-byte stack slots below `mem_base` (an offset from R10).
* Comparisons use JMP32, so 32-bit immediates compare unsigned as in cBPF.
* Ancillary loads of the skb's metadata that __sk_buff exposes (protocol, pkttype, ifindex,
  mark, queue, rxhash, VLAN tag/present/TPID) are reads of the context; the others (netlink
  attributes, CPU, random, payload offset, hardware type...) raise `ClassicUnsupported`.
"""

from __future__ import annotations

import struct
import sys

# instruction classes
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = range(8)
RET, MISC = 6, 7  # classic-only classes (eBPF reuses 6 and 7 as JMP32 and ALU64)
# sizes and modes
W, H, B, DW = 0x00, 0x08, 0x10, 0x18
IMM, ABS, IND, MEM, LEN, MSH, ATOMIC = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0, 0xC0
K, X = 0x00, 0x08  # source operand: immediate or register
# ALU operations
ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR, MOV, ARSH, END = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0)
TO_BE = 0x08
# jump operations
JA, JEQ, JGT, JGE, JSET, JNE, CALL, EXIT, JLT, JLE = (
    0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x80, 0x90, 0xA0, 0xB0)
PSEUDO_MAP_FD = 1

R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = range(11)
FP = R10

_LITTLE = sys.byteorder == "little"
_insn = struct.Struct("=BBhi")


class ClassicUnsupported(ValueError):
    """A classic BPF instruction this translation does not handle."""


class Asm:
    """eBPF instructions in order; jumps name a label that `assemble` resolves."""

    def __init__(self):
        self.insns: list[list] = []  # [code, dst, src, off, imm, target label or None]
        self.labels: dict[object, int] = {}

    def __len__(self) -> int:
        return len(self.insns)

    def label(self, name) -> None:
        if name in self.labels:
            raise ValueError(f"label {name!r} defined twice")
        self.labels[name] = len(self.insns)

    def emit(self, code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0,
             target=None) -> None:
        self.insns.append([code, dst, src, off, imm, target])

    # -- moves and arithmetic ---------------------------------------------------------
    def mov(self, dst: int, src: int) -> None:
        self.emit(ALU64 | MOV | X, dst, src)

    def mov_imm(self, dst: int, imm: int) -> None:
        """dst = imm (32-bit, zero-extended: imm 0xFFFFFFFF gives 4294967295)."""
        self.emit(ALU | MOV | K, dst, imm=_s32(imm))

    def alu(self, op: int, dst: int, imm: int) -> None:
        self.emit(ALU64 | op | K, dst, imm=_s32(imm))

    def alu_reg(self, op: int, dst: int, src: int) -> None:
        self.emit(ALU64 | op | X, dst, src)

    def alu32(self, op: int, dst: int, imm: int) -> None:
        self.emit(ALU | op | K, dst, imm=_s32(imm))

    def alu32_reg(self, op: int, dst: int, src: int) -> None:
        self.emit(ALU | op | X, dst, src)

    def ntoh(self, dst: int, bits: int) -> None:
        """Network to host order of the low `bits` of dst (a swap on little-endian hosts)."""
        self.emit(ALU | END | TO_BE, dst, imm=bits)

    # -- memory -----------------------------------------------------------------------
    def ldx(self, size: int, dst: int, src: int, off: int) -> None:
        self.emit(LDX | MEM | size, dst, src, off)

    def stx(self, size: int, dst: int, off: int, src: int) -> None:
        self.emit(STX | MEM | size, dst, src, off)

    def st_imm(self, size: int, dst: int, off: int, imm: int) -> None:
        self.emit(ST | MEM | size, dst, 0, off, _s32(imm))

    def atomic_add(self, size: int, dst: int, off: int, src: int) -> None:
        """*(dst + off) += src, atomically (the old XADD)."""
        self.emit(STX | ATOMIC | size, dst, src, off, ADD)

    def ld_abs(self, size: int, k: int) -> None:
        self.emit(LD | ABS | size, imm=_s32(k))

    def ld_ind(self, size: int, src: int, k: int) -> None:
        self.emit(LD | IND | size, 0, src, imm=_s32(k))

    def ld_map_fd(self, dst: int, fd: int) -> None:
        self.emit(LD | IMM | DW, dst, PSEUDO_MAP_FD, imm=fd)
        self.emit(0)  # second half of the 16-byte instruction

    # -- control flow -----------------------------------------------------------------
    def jmp(self, op: int, dst: int, imm: int, target, wide: bool = True) -> None:
        self.emit((JMP if wide else JMP32) | op | K, dst, imm=_s32(imm), target=target)

    def jmp_reg(self, op: int, dst: int, src: int, target, wide: bool = True) -> None:
        self.emit((JMP if wide else JMP32) | op | X, dst, src, target=target)

    def goto(self, target) -> None:
        self.emit(JMP | JA, target=target)

    def call(self, helper: int) -> None:
        self.emit(JMP | CALL, imm=helper)

    def exit(self) -> None:
        self.emit(JMP | EXIT)

    def ret_imm(self, value: int) -> None:
        self.mov_imm(R0, value)
        self.exit()

    def assemble(self) -> bytes:
        out = []
        for i, (code, dst, src, off, imm, target) in enumerate(self.insns):
            if target is not None:
                if target not in self.labels:
                    raise ValueError(f"jump to undefined label {target!r}")
                off = self.labels[target] - i - 1
                if not -32768 <= off <= 32767:
                    raise ValueError(f"jump to {target!r} out of range")
            regs = dst | (src << 4) if _LITTLE else (dst << 4) | src
            out.append(_insn.pack(code, regs, off, imm))
        return b"".join(out)


def _s32(value: int) -> int:
    """A 32-bit immediate as the signed field of struct bpf_insn."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


# -- classic BPF -> eBPF --------------------------------------------------------------
SKF_AD_OFF = 0xFFFFF000
MEMWORDS = 16
REG_A, REG_X, REG_TMP, REG_CTX = R0, R7, R8, R6

# SKF_AD_* -> (__sk_buff field offset, bits to turn from network to host order or 0)
_ANCILLARY = {
    0: (16, 16),   # SKF_AD_PROTOCOL: skb->protocol is big-endian
    4: (4, 0),     # SKF_AD_PKTTYPE
    8: (40, 0),    # SKF_AD_IFINDEX
    20: (8, 0),    # SKF_AD_MARK
    24: (12, 0),   # SKF_AD_QUEUE
    32: (68, 0),   # SKF_AD_RXHASH
    44: (24, 0),   # SKF_AD_VLAN_TAG
    48: (20, 0),   # SKF_AD_VLAN_TAG_PRESENT
    60: (28, 16),  # SKF_AD_VLAN_TPID: skb->vlan_proto is big-endian
}
_ANCILLARY_NAMES = {12: "NLATTR", 16: "NLATTR_NEST", 28: "HATYPE", 36: "CPU", 40: "ALU_XOR_X",
                    52: "PAY_OFFSET", 56: "RANDOM"}
_SKB_LEN = 0  # offsetof(struct __sk_buff, len)
_ALU_OPS = {ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR}
_JUMP_OPS = {JEQ, JGT, JGE, JSET}


def translate_classic(asm: Asm, program: list[tuple[int, int, int, int]], mem_base: int,
                      prefix: str = "c", on_return=None) -> None:
    """Emit `program` (cBPF as (code, jt, jf, k)) into `asm`. Its RETs exit the eBPF
    program, or, with `on_return` (a label), jump there with the result in R0. R6 must be
    the context. M[i] lives at R10 + mem_base - 4 * (16 - i)."""
    if not program:
        raise ClassicUnsupported("empty classic BPF program")
    asm.alu32_reg(XOR, REG_A, REG_A)  # cBPF starts with A = X = 0
    asm.alu32_reg(XOR, REG_X, REG_X)
    if any(code & 0x07 in (ST, STX) or code & 0xE7 in (LD | MEM, LDX | MEM)
           for code, _jt, _jf, _k in program):
        for off in range(mem_base - 4 * MEMWORDS, mem_base, 8):  # verifier: no uninit reads
            asm.st_imm(DW, FP, off, 0)
    if program[-1][0] & 0x07 != RET:
        raise ClassicUnsupported("classic BPF program does not end with a return")
    n = len(program)
    for i, (code, jt, jf, k) in enumerate(program):
        asm.label((prefix, i))
        targets = ((prefix, i + 1 + jt), (prefix, i + 1 + jf), (prefix, i + 1 + k))
        if code & 0x07 == JMP and (targets[2 if code == JMP | JA else 0][1] >= n
                                   or targets[1][1] >= n):
            raise ClassicUnsupported(f"instruction {i}: jump past the end of the program")
        _translate_one(asm, i, code, jt, jf, k, targets, mem_base, on_return)


def _mem_slot(mem_base: int, k: int, i: int) -> int:
    if not 0 <= k < MEMWORDS:
        raise ClassicUnsupported(f"instruction {i}: scratch memory index {k} out of range")
    return mem_base - 4 * (MEMWORDS - k)


def _translate_one(asm: Asm, i: int, code: int, jt: int, jf: int, k: int, targets,
                   mem_base: int, on_return) -> None:
    cls, size, mode = code & 0x07, code & 0x18, code & 0xE0
    if cls == LD and mode == ABS and k >= SKF_AD_OFF:
        _ancillary(asm, i, k - SKF_AD_OFF)
    elif cls == LD and mode in (ABS, IND) and size != DW:
        if mode == ABS:
            asm.ld_abs(size, k)
        else:
            asm.ld_ind(size, REG_X, k)
    elif cls in (LD, LDX) and code & 0xF8 == LEN | W:
        asm.ldx(W, REG_A if cls == LD else REG_X, REG_CTX, _SKB_LEN)
    elif cls in (LD, LDX) and mode == IMM and size == W:
        asm.mov_imm(REG_A if cls == LD else REG_X, k)
    elif cls in (LD, LDX) and mode == MEM and size == W:
        asm.ldx(W, REG_A if cls == LD else REG_X, FP, _mem_slot(mem_base, k, i))
    elif cls in (ST, STX) and code == cls:
        asm.stx(W, FP, _mem_slot(mem_base, k, i), REG_A if cls == ST else REG_X)
    elif code == LDX | B | MSH:  # X = 4 * (P[k] & 0xf)
        asm.mov(REG_TMP, REG_A)
        asm.ld_abs(B, k)
        asm.alu32(AND, REG_A, 0xF)
        asm.alu32(LSH, REG_A, 2)
        asm.mov(REG_X, REG_A)
        asm.mov(REG_A, REG_TMP)
    elif cls == ALU and code & 0xF0 in _ALU_OPS:
        _alu(asm, i, code, k)
    elif code == JMP | JA:
        asm.goto(targets[2])
    elif cls == JMP and code & 0xF0 in _JUMP_OPS:
        op, src = code & 0xF0, code & X
        if src == X:
            asm.jmp_reg(op, REG_A, REG_X, targets[0], wide=False)
        else:
            asm.jmp(op, REG_A, k, targets[0], wide=False)
        if jf:
            asm.goto(targets[1])
    elif code in (RET | K, RET | X, RET | 0x10):  # RET K, RET X, RET A
        if code == RET | K:
            asm.mov_imm(REG_A, k)
        elif code == RET | X:
            asm.mov(REG_A, REG_X)
        if on_return is None:
            asm.exit()  # RET A: A is already R0
        else:
            asm.goto(on_return)
    elif code == MISC:  # TAX
        asm.alu32_reg(MOV, REG_X, REG_A)
    elif code == MISC | 0x80:  # TXA
        asm.alu32_reg(MOV, REG_A, REG_X)
    else:
        raise ClassicUnsupported(f"instruction {i}: classic BPF opcode {code:#06x} not supported")


def _alu(asm: Asm, i: int, code: int, k: int) -> None:
    op, src = code & 0xF0, code & X
    if op == NEG:
        asm.emit(ALU | NEG, REG_A)
    elif src == X:
        if op in (DIV, MOD):  # cBPF returns 0 on division by zero; eBPF would go on
            asm.jmp(JNE, REG_X, 0, ("div", i))
            asm.ret_imm(0)
            asm.label(("div", i))
        asm.alu32_reg(op, REG_A, REG_X)
    else:
        if op in (DIV, MOD) and k == 0:
            raise ClassicUnsupported(f"instruction {i}: division by constant zero")
        if op in (LSH, RSH) and k >= 32:
            raise ClassicUnsupported(f"instruction {i}: shift by {k}")
        asm.alu32(op, REG_A, k)


def _ancillary(asm: Asm, i: int, ad: int) -> None:
    if ad not in _ANCILLARY:
        name = _ANCILLARY_NAMES.get(ad, str(ad))
        raise ClassicUnsupported(f"instruction {i}: ancillary load SKF_AD_{name} has no eBPF "
                                 "equivalent here")
    offset, swap_bits = _ANCILLARY[ad]
    asm.ldx(W, REG_A, REG_CTX, offset)
    if swap_bits:
        asm.ntoh(REG_A, swap_bits)
