"""HTTP/1.x: a sans-I/O connection parser (parser.py) producing events (events.py)."""

from dlp.app.http.events import (ANOMALIES, Anomaly, BodyData, BodyEnd, RequestHead,
                                 ResponseHead)
from dlp.app.http.headers import content_codings, parse_target, transfer_codings
from dlp.app.http.parser import HttpConnectionParser, HttpLimits

__all__ = ["ANOMALIES", "Anomaly", "BodyData", "BodyEnd", "HttpConnectionParser", "HttpLimits",
           "RequestHead", "ResponseHead", "content_codings", "parse_target", "transfer_codings"]
