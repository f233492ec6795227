"""Passive TLS decryption with the intercepting proxy's key log (SSLKEYLOGFILE format).

    clienthello.py  is this the first record of a TLS connection? (any port)
    spotter.py      a stream consumer noting which flows of a replay are TLS
    tshark.py       their packets -> a temporary capture -> tshark's TLS dissector with the key
                    log -> decrypted bytes per flow and direction
    http2.py        sans-I/O HTTP/2 frames -> HTTP/1.1 messages (same inspection as clear text)
    keylog.py       the whole path for `dlp replay --keylog`: decrypted streams go through the
                    flow's own DetectionDispatcher, so alerts carry the real 5-tuple and flow id
"""
