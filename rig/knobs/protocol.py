"""Line framing of the rig-fw protocol (see firmware/PROTOCOL.md): CRC-16 checksums, request
building and reply parsing. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

FW_NAME = "rig-fw"
FW_MAJOR = 2  # 2.x: CRC-16 line checks; 1.x (CRC-8) let about 1 line in 1000 through damaged at 1 % noise

# The firmware's error codes and texts. firmware/core/fw.h (FW_ERRORS) is the source; this copy
# and PROTOCOL.md's table are held equal to it by tests/firmware/test_protocol_table.py.
E_CHECKSUM, E_OVERLONG, E_OVERRUN, E_SYNTAX, E_UNKNOWN = 1, 2, 3, 4, 5
E_NOT_HOMED, E_LIMIT, E_BUSY, E_ESTOP, E_AXIS, E_HOME_FAILED, E_VALUE = 6, 7, 8, 9, 10, 11, 12
ERROR_TEXTS = {
    E_CHECKSUM: "checksum",
    E_OVERLONG: "line too long",
    E_OVERRUN: "rx overrun",
    E_SYNTAX: "syntax",
    E_UNKNOWN: "unknown command",
    E_NOT_HOMED: "axis not homed",
    E_LIMIT: "outside 0..travel",
    E_BUSY: "busy",
    E_ESTOP: "estop",
    E_AXIS: "no such axis",
    E_HOME_FAILED: "home-failed",
    E_VALUE: "value out of range",
}
# errors the firmware sends without a trusted sequence number: the request never ran
LINE_ERRORS = {E_CHECKSUM, E_OVERLONG, E_OVERRUN, E_SYNTAX}
HEXDIGITS = b"0123456789abcdefABCDEF"


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM (polynomial 0x1021, init 0): the firmware's core/crc16.h."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07) of protocol 1.x: only to recognise old firmware."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def frame(seq: int, command: str) -> bytes:
    body = f"N{seq} {command}".encode("ascii")
    return body + b"*%04X\n" % crc16(body)


def is_legacy(raw: bytes) -> bool:
    """A valid protocol-1.x line (CRC-8, two hex digits): firmware too old for this driver."""
    body, star, cs = raw.rstrip(b"\r\n").rpartition(b"*")
    try:
        return (
            bool(star) and len(cs) == 2 and crc8(body) == int(cs, 16) and body.startswith((b"ok ", b"err ", b"rig-fw "))
        )
    except ValueError:
        return False


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
    if not star or len(cs) != 4 or cs.strip(HEXDIGITS):  # int() would also take " 1_2"
        return None
    try:
        if crc16(body) != int(cs, 16):
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
