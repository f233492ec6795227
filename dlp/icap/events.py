"""Events of the ICAP parser. Body bytes reuse the HTTP parser's BodyData (de-chunked)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from dlp.app.http.events import RequestHead, ResponseHead

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class IcapRequest:
    """An ICAP request head with the HTTP heads it encapsulates. `raw_http_head` is the
    encapsulated head bytes as sent (echoed back when the proxy does not allow 204)."""

    method: str  # OPTIONS, REQMOD, RESPMOD
    uri: str
    headers: Headers  # names lower-cased
    req_head: RequestHead | None = None
    res_head: ResponseHead | None = None
    raw_http_head: bytes = b""  # req-hdr (REQMOD) or res-hdr (RESPMOD) bytes
    has_body: bool = False
    preview: int | None = None  # Preview header value, when the proxy sends a preview

    def header(self, name: str) -> str | None:
        for n, v in self.headers:
            if n == name:
                return v
        return None

    @property
    def body_direction(self) -> int:
        """The direction of the HTTP body it carries: 1 (to client, a download) for RESPMOD,
        0 (to server, an upload) otherwise."""
        return 1 if self.method == "RESPMOD" else 0

    @property
    def allows_204(self) -> bool:
        allow = self.header("allow") or ""
        return "204" in (a.strip() for a in allow.split(","))

    @property
    def service(self) -> str:
        """The service path of the URI: "reqmod", "respmod", "options"..."""
        try:
            return urlsplit(self.uri).path.strip("/").lower()
        except ValueError:  # e.g. an unbalanced "[" in the authority: no known service
            return ""


@dataclass(frozen=True, slots=True)
class PreviewEnd:
    """The preview ended. With `ieof` the body is complete; without, the proxy waits for
    "100 Continue" (parser.continue_body()) or a final answer (parser.skip_body())."""

    ieof: bool


@dataclass(frozen=True, slots=True)
class MessageEnd:
    """The ICAP request (and its body) is complete; the next one may follow."""


@dataclass(frozen=True, slots=True)
class IcapError:
    """The request cannot be parsed: answer `status` and close the connection."""

    status: int
    reason: str
