"""Line framing of the rig-fw protocol (see firmware/PROTOCOL.md): CRC-8 checksums, request
building and reply parsing. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

FW_NAME = "rig-fw"
FW_MAJOR = 1

E_CHECKSUM, E_OVERLONG, E_OVERRUN, E_SYNTAX, E_UNKNOWN = 1, 2, 3, 4, 5
E_NOT_HOMED, E_LIMIT, E_BUSY, E_ESTOP, E_AXIS, E_HOME_FAILED, E_VALUE = 6, 7, 8, 9, 10, 11, 12
# errors the firmware sends without a trusted sequence number: the request never ran
LINE_ERRORS = {E_CHECKSUM, E_OVERLONG, E_OVERRUN, E_SYNTAX}


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x07, init 0: the firmware's core/crc8.h."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def frame(seq: int, command: str) -> bytes:
    body = f"N{seq} {command}".encode("ascii")
    return body + b"*%02X\n" % crc8(body)


@dataclass
class Line:
    """One checked line from the firmware."""

    kind: str  # "ok", "err", "banner", or the async tag without "!" ("done", "alarm", "limit")
    seq: int | None  # None for "N?" (request not trusted) and for the banner
    words: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, str]:
        return dict(w.split("=", 1) for w in self.words if "=" in w)


def parse(raw: bytes) -> Line | None:
    """Checks the CRC and splits a line; None for anything damaged or unknown."""
    raw = raw.rstrip(b"\r\n")
    body, star, cs = raw.rpartition(b"*")
    if not star or len(cs) != 2:
        return None
    try:
        if crc8(body) != int(cs, 16):
            return None
        text = body.decode("ascii")
    except ValueError:
        return None
    words = text.split()
    if not words:
        return None
    if words[0] == FW_NAME:
        return Line("banner", None, words[1:])
    kind = words[0]
    if kind in ("ok", "err") or kind.startswith("!"):
        if len(words) < 2 or not words[1].startswith("N"):
            return None
        seq = None if words[1] == "N?" else int(words[1][1:]) if words[1][1:].isdigit() else None
        return Line(kind.lstrip("!"), seq, words[2:])
    return None


def parse_list(value: str) -> list[int]:
    return [int(v) for v in value.split(",")]
