"""`rig robot flash`: upload the firmware to an Arduino through its bootloader with avrdude.
Opening the port resets the board into the bootloader (the DTR auto-reset), as for the
Arduino IDE. Tested end to end on simavr running Debian's optiboot (tests/knobs/test_flash.py)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rig.errors import UserError
from rig.knobs.simulator import BUILD, make_checked


@dataclass(frozen=True)
class Board:
    mcu: str
    baud: int  # the bootloader's speed


BOARDS = {
    "uno": Board("atmega328p", 115200),  # optiboot
    "nano": Board("atmega328p", 115200),  # Nano with the new (optiboot) bootloader
    "nano-old": Board("atmega328p", 57600),  # Nano clones with the old ATmegaBOOT
}
TIMEOUT_S = 120


def firmware_hex() -> Path:
    """build/rig-fw.hex, built now if out of date (needs avr-gcc)."""
    if shutil.which("avr-gcc") is None:
        raise UserError(
            "building the firmware needs avr-gcc; run scripts/install.sh (or apt-get install gcc-avr avr-libc)"
        )
    make_checked("all", "the firmware", timeout=TIMEOUT_S)
    return BUILD / "rig-fw.hex"


def avrdude_command(port: str, board: str, hex_file: Path) -> list[str]:
    b = BOARDS[board]
    return ["avrdude", "-p", b.mcu, "-c", "arduino", "-P", port, "-b", str(b.baud), "-U", f"flash:w:{hex_file}:i"]


def flash(port: str, board: str = "uno", hex_file: Path | None = None) -> str:
    """Writes and verifies the image; returns avrdude's summary line. Every failure is one
    UserError line saying what to check."""
    if port.startswith("sim://"):
        raise UserError("the simulators run the firmware they are built from; flash needs a board's serial port")
    if shutil.which("avrdude") is None:
        raise UserError("avrdude is not installed; run scripts/install.sh (or apt-get install avrdude)")
    if board not in BOARDS:
        raise UserError(f"unknown board '{board}'; use one of {', '.join(BOARDS)}")
    hex_file = hex_file or firmware_hex()
    if not hex_file.is_file():
        raise UserError(f"firmware image {hex_file} not found; build it with make -C firmware all")
    try:
        res = subprocess.run(avrdude_command(port, board, hex_file), capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise UserError(
            f"avrdude did not finish within {TIMEOUT_S} s on {port}; unplug the board, plug it in, retry"
        ) from None
    out = res.stdout + res.stderr
    if res.returncode != 0:
        raise UserError(_failure(out, port, board))
    verified = [line.strip() for line in out.splitlines() if "bytes of flash verified" in line]
    return verified[-1].removeprefix("avrdude: ") if verified else "flash written"


def _failure(out: str, port: str, board: str) -> str:
    if "cannot open port" in out or "No such file" in out:
        return f"serial port {port} not found; plug the board in and check the port (rig robot ports)"
    if "not in sync" in out or "not responding" in out:
        other = "nano-old" if board != "nano-old" else "nano"
        return (
            f"no bootloader answered on {port} at {BOARDS[board].baud} baud; check the port, or try "
            f"--board {other} (old Nano clones run their bootloader at 57600)"
        )
    if "verification error" in out or "mismatch" in out:
        return f"the flash on {port} did not verify; flash again, and check the cable and the board's power"
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return f"avrdude failed on {port}: {(errors or lines or ['no output'])[-1]}"
