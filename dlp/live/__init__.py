"""Live capture daemon (`dlp run`): AF_PACKET capture, worker processes in a fanout group,
and the supervisor that is the single writer of their events.

    capture.py     interface -> batches of (ts_us, linktype, frame, wirelen)
    worker.py      one process: capture -> Pipeline -> EVE lines down a socket
    supervisor.py  starts/restarts workers, merges their lines into the outputs, signals
"""
