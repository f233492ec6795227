"""Hand-made HTTP transactions for detector tests."""

from __future__ import annotations

from detectors.base import BodyPart, FlowInfo, HttpTransaction


def part(text: str, *, path=(), name=None, filename=None, content_type=None) -> BodyPart:
    return BodyPart(text.encode("utf-8", "surrogatepass"), text, tuple(path), name, filename, content_type)


def tx(*texts, direction: int = 0, host: str = "upload.example.net", src_ip: str = "10.1.2.3",
       flow_id: int = 1, ts: int = 1_700_000_000_000_000, content_type: str | None = "application/json",
       parts=None, method: str = "POST", uri: str = "/submit") -> HttpTransaction:
    """One transaction whose body parts are `texts` (or the given BodyParts)."""
    body = tuple(parts) if parts is not None else tuple(part(t) for t in texts)
    return HttpTransaction(
        flow=FlowInfo(flow_id, "TCP", src_ip, 50000 + flow_id % 10000, "203.0.113.10", 80),
        direction=direction, method=method, uri=uri, host=host, status=200,
        request_headers=(("host", host),), response_headers=(), content_type=content_type,
        parts=body, ts=ts, body_length=sum(len(p.data) for p in body))


def run(det, *texts, **kw) -> list:
    item = tx(*texts, **kw)
    return list(det.inspect(item)) if det.applies(item) else []
