"""The wire protocol's facts are written once, in firmware/core/fw.h and config.h; the host's
copy (rig/knobs/protocol.py) and the document (firmware/PROTOCOL.md) must not drift from it."""

import re
from pathlib import Path

from rig.knobs import protocol as P

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


def header_errors() -> list[tuple[int, str, str]]:
    text = (FIRMWARE / "core" / "fw.h").read_text()
    rows = re.findall(r'X\((\d+),\s*(E_\w+),\s*"([^"]*)"\)', text)
    assert len(rows) >= 12, "FW_ERRORS table not found in fw.h"
    return [(int(code), name, msg) for code, name, msg in rows]


def header_commands() -> set[str]:
    block = (FIRMWARE / "core" / "fw.h").read_text().split("#define FW_COMMANDS(X)", 1)[1]
    names = re.findall(r"X\((\w+),\s*cmd_\w+\)", block)
    assert names, "FW_COMMANDS table not found in fw.h"
    return set(names)


def document_section(title: str) -> str:
    doc = (FIRMWARE / "PROTOCOL.md").read_text()
    return doc.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_host_error_codes_match_the_header():
    rows = header_errors()
    for code, name, text in rows:
        assert getattr(P, name) == code, f"{name}: protocol.py says {getattr(P, name, None)}, fw.h {code}"
        assert P.ERROR_TEXTS[code] == text, f"code {code}: protocol.py '{P.ERROR_TEXTS[code]}', fw.h '{text}'"
    assert set(P.ERROR_TEXTS) == {code for code, _, _ in rows}


def test_document_error_table_matches_the_header():
    table = re.findall(r"^\| (\d+) \| ([^|]+?) \|", document_section("Error codes"), re.M)
    assert [(int(c), t) for c, t in table] == [(code, text) for code, _, text in header_errors()]


def test_document_lists_every_command_and_no_other():
    section = document_section("Commands")
    documented = set(re.findall(r"^\| `([A-Z]+)[^`]*`(?: / `([A-Z]+)`)?", section, re.M))
    words = {w for pair in documented for w in pair if w}
    assert words == header_commands()


def test_hello_limits_match_config_and_document():
    config = (FIRMWARE / "core" / "config.h").read_text()
    tick = int(re.search(r"#define TICK_HZ (\d+)", config).group(1))
    accel = int(re.search(r"#define MAX_ACCEL (\d+)", config).group(1))
    travel = int(re.search(r"#define MAX_TRAVEL (\d+)", config).group(1))
    version = re.search(r'#define FW_VERSION "([\d.]+)"', config).group(1)
    hello = f"rig-fw {version} axes=4 maxrate={tick // 2} maxaccel={accel} maxtravel={travel}"
    assert hello in document_section("Commands")
    assert f"(version {version})" in (FIRMWARE / "PROTOCOL.md").read_text().splitlines()[0]
    assert version.split(".")[0] == str(P.FW_MAJOR)
