"""ICAP (RFC 3507): the service a TLS-intercepting forward proxy (Squid) calls with decrypted
requests (REQMOD) and responses (RESPMOD), so bodies HTTPS hides from the mirror are inspected
by the same decoders and detectors, and uploads can be blocked.

    parser.py        sans-I/O: bytes of one proxy connection -> events (events.py)
    encapsulated.py  the Encapsulated header and the HTTP heads it frames
    responses.py     the bytes we answer with (OPTIONS, 100, 204, 403 page, echo)
    inspect.py       one ICAP transaction -> HttpTransaction -> detectors -> verdict, EVE alerts
    server.py        asyncio server: connections, keep-alive, preview/100-continue, limits
"""
