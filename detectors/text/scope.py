"""What every text detector lets the rules file scope: directions, host allow and deny lists
(domain suffixes), content types to include or skip. Parsing lives here once."""

from __future__ import annotations

from typing import Literal

from detectors.base import TOCLIENT, TOSERVER, BodyPart, HttpTransaction

Direction = Literal["toserver", "toclient", "both"]
DIRECTIONS: dict[str, frozenset[int]] = {
    "toserver": frozenset((TOSERVER,)),
    "toclient": frozenset((TOCLIENT,)),
    "both": frozenset((TOSERVER, TOCLIENT)),
}

# Media that is never text worth scanning; parts whose type starts with one of these are
# skipped unless the rules file says otherwise.
DEFAULT_EXCLUDED_TYPES = ("image/", "video/", "audio/", "font/")


def normalize_domains(domains) -> tuple[str, ...]:
    out = []
    for d in domains:
        d = d.strip().lower().rstrip(".")
        if d.startswith("*."):
            d = d[2:]
        d = d.lstrip(".")
        if d:
            out.append(d)
    return tuple(out)


def validate_domains(domains, what: str) -> None:
    for d in domains:
        if not normalize_domains((d,)):
            raise ValueError(f"{what}: empty domain {d!r}")
        if any(c in d for c in "/ :@"):
            raise ValueError(f"{what}: {d!r} is not a host name or domain suffix")


def host_of(tx: HttpTransaction) -> str:
    host = (tx.host or "").strip().lower()
    if host.startswith("["):  # [v6]:port
        return host[1:host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def host_matches(host: str, domains: tuple[str, ...]) -> bool:
    """`pay.example.com` matches the suffixes `example.com` and `pay.example.com`, not `ample.com`."""
    return any(host == d or host.endswith("." + d) for d in domains)


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def type_selected(ctype: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """Prefix match: 'text/' selects text/plain and text/csv; '' (unknown) is included unless
    an include list is given."""
    if include and not any(ctype.startswith(p.lower()) for p in include):
        return False
    return not any(ctype.startswith(p.lower()) for p in exclude if p)


def part_type(part: BodyPart, tx: HttpTransaction) -> str:
    return media_type(part.content_type) or media_type(tx.content_type)


def part_where(part: BodyPart) -> str:
    """A short, stable name for where in the message a match was: the decoding path, else the
    field or file name, else 'body'."""
    if part.path:
        return "/".join(part.path)
    return part.name or part.filename or "body"
