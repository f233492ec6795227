"""The TCP connection state machine: one table, (state, segment event) -> state.

Nothing else sets a connection's state. Events are named from the connection's point of
view: the suffix says who sent the segment (_C client, _S server). A pair missing from the
table is an impossible transition: the caller records an anomaly and keeps the state.

Split handshakes (a server answering a SYN with its own SYN, Beardsley's 4- and 5-way
handshakes) are real TCP (RFC 793 simultaneous open) and are tracked, not dropped.
"""

from __future__ import annotations

from enum import IntEnum

from dlp.decode.packet import ACK, FIN, RST, SYN


class State(IntEnum):
    NONE = 0
    SYN_SENT = 1
    SYN_RECV = 2
    ESTABLISHED = 3
    FIN_WAIT = 4  # one side has sent FIN
    CLOSING = 5  # both sides have sent FIN
    CLOSED = 6  # both FINs acknowledged
    RESET = 7


class Ev(IntEnum):
    SYN_C = 0
    SYN_S = 1
    SYNACK_C = 2
    SYNACK_S = 3
    ACK_C = 4  # any segment without SYN/FIN/RST (pure ACK or data)
    ACK_S = 5
    FIN_C = 6
    FIN_S = 7
    RST_C = 8
    RST_S = 9
    FINS_ACKED = 10  # derived: the second FIN has been acknowledged


S, E = State, Ev
_ANY_STATE = tuple(State)

TRANSITIONS: dict[tuple[State, Ev], State] = {
    # opening
    (S.NONE, E.SYN_C): S.SYN_SENT,
    (S.NONE, E.SYNACK_S): S.SYN_RECV,  # client's SYN not captured
    (S.NONE, E.ACK_C): S.ESTABLISHED,  # midstream pickup (the engine decides if allowed)
    (S.NONE, E.ACK_S): S.ESTABLISHED,
    (S.NONE, E.FIN_C): S.FIN_WAIT,
    (S.NONE, E.FIN_S): S.FIN_WAIT,
    (S.SYN_SENT, E.SYN_C): S.SYN_SENT,  # SYN retransmission
    (S.SYN_SENT, E.SYN_S): S.SYN_SENT,  # split handshake: the server sends its own SYN
    (S.SYN_SENT, E.SYNACK_S): S.SYN_RECV,
    (S.SYN_SENT, E.SYNACK_C): S.SYN_RECV,  # split handshake: client SYN/ACKs the server's SYN
    (S.SYN_SENT, E.ACK_S): S.SYN_SENT,  # 5-way handshake: ACK before the server's SYN
    (S.SYN_SENT, E.FIN_C): S.FIN_WAIT,  # client gives up before any answer
    (S.SYN_SENT, E.ACK_C): S.ESTABLISHED,  # asymmetric routing: the SYN/ACK took another path
    (S.SYN_RECV, E.SYN_C): S.SYN_RECV,
    (S.SYN_RECV, E.SYNACK_S): S.SYN_RECV,  # SYN/ACK retransmission
    (S.SYN_RECV, E.SYNACK_C): S.SYN_RECV,
    (S.SYN_RECV, E.ACK_C): S.ESTABLISHED,
    (S.SYN_RECV, E.ACK_S): S.ESTABLISHED,  # split handshake: server ACKs the client's SYN/ACK
    (S.SYN_RECV, E.FIN_C): S.FIN_WAIT,
    (S.SYN_RECV, E.FIN_S): S.FIN_WAIT,
    # data and teardown
    (S.ESTABLISHED, E.ACK_C): S.ESTABLISHED,
    (S.ESTABLISHED, E.ACK_S): S.ESTABLISHED,
    (S.ESTABLISHED, E.SYNACK_S): S.ESTABLISHED,  # late SYN/ACK retransmission
    (S.ESTABLISHED, E.FIN_C): S.FIN_WAIT,
    (S.ESTABLISHED, E.FIN_S): S.FIN_WAIT,
    (S.FIN_WAIT, E.ACK_C): S.FIN_WAIT,
    (S.FIN_WAIT, E.ACK_S): S.FIN_WAIT,
    (S.FIN_WAIT, E.FIN_C): S.FIN_WAIT,  # same side retransmits, or the other side closes:
    (S.FIN_WAIT, E.FIN_S): S.FIN_WAIT,  # the tracker tells which and raises BOTH_FIN
    (S.FIN_WAIT, E.SYNACK_S): S.FIN_WAIT,
    (S.CLOSING, E.ACK_C): S.CLOSING,
    (S.CLOSING, E.ACK_S): S.CLOSING,
    (S.CLOSING, E.FIN_C): S.CLOSING,
    (S.CLOSING, E.FIN_S): S.CLOSING,
    (S.CLOSING, E.FINS_ACKED): S.CLOSED,
    (S.CLOSED, E.ACK_C): S.CLOSED,
    (S.CLOSED, E.ACK_S): S.CLOSED,
    (S.CLOSED, E.FIN_C): S.CLOSED,
    (S.CLOSED, E.FIN_S): S.CLOSED,
    # after a reset: stray segments stay reset; a SYN/ACK that answers the original SYN means
    # the reset was injected and the real endpoints carried on
    (S.RESET, E.ACK_C): S.RESET,
    (S.RESET, E.ACK_S): S.RESET,
    (S.RESET, E.FIN_C): S.RESET,
    (S.RESET, E.FIN_S): S.RESET,
    (S.RESET, E.RST_C): S.RESET,
    (S.RESET, E.RST_S): S.RESET,
    (S.RESET, E.SYNACK_S): S.SYN_RECV,
}
# a SYN captured late (mirror reordering) or retransmitted changes nothing once under way;
# the engine has already ruled out a new connection on the same tuple (port reuse)
for _state in (S.ESTABLISHED, S.FIN_WAIT, S.CLOSING, S.CLOSED):
    TRANSITIONS[(_state, E.SYN_C)] = _state
# a valid RST ends the connection from any state
for _state in _ANY_STATE:
    TRANSITIONS.setdefault((_state, E.RST_C), S.RESET)
    TRANSITIONS.setdefault((_state, E.RST_S), S.RESET)
# the second FIN moves FIN_WAIT on; the tracker raises this derived event
BOTH_FIN: dict[State, State] = {S.FIN_WAIT: S.CLOSING}

# flag combinations no TCP stack sends (scans, evasion, corruption)
INVALID_FLAGS = (
    (SYN | FIN, "tcp.syn_fin"),
    (SYN | RST, "tcp.syn_rst"),
    (FIN | RST, "tcp.fin_rst"),
)


def _event_for(flags: int, side: int) -> Ev:
    if flags & RST:
        return Ev(Ev.RST_C + side)
    if flags & SYN:
        return Ev(Ev.SYNACK_C + side) if flags & ACK else Ev(Ev.SYN_C + side)
    if flags & FIN:
        return Ev(Ev.FIN_C + side)
    return Ev(Ev.ACK_C + side)


# (flags & 0x17, side) -> event, precomputed: this runs for every control segment
_EVENTS = {(f, side): _event_for(f, side) for f in range(0x20) for side in (0, 1)}


def event_for(flags: int, from_client: bool) -> Ev:
    """The state-machine event a segment with these flags raises."""
    return _EVENTS[(flags & 0x17, 0 if from_client else 1)]


def invalid_flags(flags: int) -> str | None:
    """Name of the anomaly if this flag combination is invalid, else None."""
    low = flags & 0x3F
    if low == 0:
        return "tcp.null_scan"
    if low & (FIN | 0x08 | 0x20) == (FIN | 0x08 | 0x20) and not low & ACK:
        return "tcp.xmas_scan"
    for combo, name in INVALID_FLAGS:
        if low & combo == combo:
            return name
    if low & FIN and not low & ACK:
        return "tcp.fin_without_ack"
    return None


def transition(state: State, event: Ev) -> State | None:
    """The next state, or None when the table has no such transition."""
    return TRANSITIONS.get((state, event))
