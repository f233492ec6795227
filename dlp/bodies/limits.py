"""Hard limits for decoding one HTTP body. Every limit reached is a named event, never an
exception: what was decoded up to the limit is still scanned."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class BodyLimits:
    # Bytes produced by expansion (Content-Encoding, archive members, gzip/bz2/xz files, PDF
    # streams), intermediate layers included, summed over the body. Base64, quoted-printable,
    # percent and JSON unescaping only shrink their input, so they are not counted.
    max_decoded_bytes: int = 32 * MiB
    # Output / input of one decompression step. Only checked past `ratio_grace_bytes`:
    # small, very repetitive texts compress far better than 100:1 and are no threat.
    max_ratio: int = 100
    ratio_grace_bytes: int = 1 * MiB
    max_depth: int = 5  # decoding layers: encoding, multipart, zip, member, ...
    max_parts: int = 1000
    max_seconds: float = 2.0  # wall time per body, checked between steps
    max_part_bytes: int = 8 * MiB  # one part's data; longer parts are cut (truncated=True)
    max_json_nodes: int = 100_000  # JSON values visited per JSON document
    max_events: int = 100  # events kept per body; the rest are counted in a final event

    def __post_init__(self):
        for name in ("max_decoded_bytes", "max_ratio", "max_depth", "max_parts",
                     "max_part_bytes", "max_json_nodes", "max_events"):
            if getattr(self, name) < 1:
                raise ValueError(f"BodyLimits.{name} must be >= 1")
        if self.max_seconds < 0 or self.ratio_grace_bytes < 0:
            raise ValueError("BodyLimits: max_seconds and ratio_grace_bytes must be >= 0")
