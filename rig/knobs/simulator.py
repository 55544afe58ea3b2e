"""Launches the robot simulators: `sim://native` (firmware core on the host, virtual time) and
`sim://avr` (the AVR image in simavr). Builds them on demand with make, returns the pty path
and the shaft file, and stops the process on close. Options ride on the URL, e.g.
`sim://native?timescale=20&corrupt=0.01&seed=3` (see SimOptions)."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from rig.errors import UserError

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
BUILD = FIRMWARE / "build"
KINDS = ("native", "avr")


@dataclass
class SimOptions:
    kind: str = "native"
    timescale: float = 1.0  # virtual seconds per wall second
    seed: int = 1  # initial shaft angles (random, unknown to the firmware) and faults
    corrupt: float = 0.0  # fraction of UART bytes with a flipped bit, both directions
    drop: float = 0.0  # fraction of UART bytes lost
    reset_after_steps: int = 0  # reset the MCU once after this many steps (0: never)
    stall: str = ""  # "AXIS:N": that axis loses every Nth step
    initial: str = ""  # "DEG[,DEG...]": start angles instead of random ones
    reversed: str = ""  # "AXIS[,AXIS...]": motors wired to turn the other way (what rig robot setup finds)
    rotation: str = ""  # "DEG[,DEG...]": the pots' real rotation, when it differs from the plan's rotation_deg


def parse_url(url: str) -> SimOptions:
    parts = urlsplit(url)
    if parts.scheme != "sim" or parts.netloc not in KINDS:
        raise UserError(f"unknown simulator '{url}'; use sim://native or sim://avr")
    opts = SimOptions(kind=parts.netloc)
    types = {f.name: f.type for f in fields(SimOptions)}
    for key, value in parse_qsl(parts.query):
        if key not in types or key == "kind":
            raise UserError(f"unknown simulator option '{key}' in {url}; known: {', '.join(sorted(types))}")
        conv = {"float": float, "int": int}.get(str(types[key]), str)
        try:
            setattr(opts, key, conv(value))
        except ValueError:
            raise UserError(f"bad value '{value}' for {key} in {url}") from None
        check_option(key, getattr(opts, key), url)
    return opts


# ranges of the numeric options: (low, high, what the value means)
OPTION_RANGES = {
    "timescale": (1e-3, 1000.0, "virtual seconds per wall second, e.g. timescale=20"),
    "corrupt": (0.0, 0.5, "a fraction of bytes, e.g. corrupt=0.01"),
    "drop": (0.0, 0.5, "a fraction of bytes, e.g. drop=0.01"),
    "reset_after_steps": (0, 10**9, "a step count, 0 for never"),
    "seed": (0, 2**31 - 1, "a non-negative integer"),
}


def check_option(key: str, value: object, url: str) -> None:
    """One clear line for a value the simulator cannot use (timescale=0 divided by zero,
    timescale=-5 ran time backwards)."""
    if key not in OPTION_RANGES:
        return
    low, high, meaning = OPTION_RANGES[key]
    if not low <= value <= high:  # type: ignore[operator]
        raise UserError(f"{key}={value:g} in {url} is out of range {low:g}..{high:g} ({meaning})")


def simavr_available() -> bool:
    """simavr's development files and avr-gcc: what `make -C firmware avr-sim` needs."""
    return Path("/usr/include/simavr/sim_avr.h").exists() and shutil.which("avr-gcc") is not None


def make(target: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """`make -s -C firmware TARGET` under the build lock, which every make of the firmware
    tree takes: parallel launches (and tests) must not race make."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".make.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return subprocess.run(
            ["make", "-s", "-C", str(FIRMWARE), target], capture_output=True, text=True, timeout=timeout
        )


def make_checked(target: str, what: str, timeout: float | None = None) -> None:
    """make(), a failed build reported as one UserError line about `what`."""
    res = make(target, timeout)
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["?"]
        raise UserError(f"building {what} failed: {tail[0]}; run make -C firmware {target}")


def build(kind: str) -> Path:
    """Runs make for one simulator (a no-op when up to date) and returns its binary."""
    target, binary = ("native", BUILD / "rig-sim-native") if kind == "native" else ("avr-sim", BUILD / "rig-sim-avr")
    if not (FIRMWARE / "Makefile").exists():
        raise UserError(f"firmware sources not found at {FIRMWARE}; run from a rig checkout")
    if kind == "avr" and not simavr_available():
        raise UserError("sim://avr needs simavr; apt-get install simavr gcc-avr avr-libc libsimavr-dev libelf-dev")
    if shutil.which("make") is None:
        raise UserError("building the robot simulator needs make and gcc; install build-essential")
    make_checked(target, f"the {kind} simulator")
    return binary


class Simulator:
    """One running simulator process. Use as a context manager or call close()."""

    def __init__(self, opts: SimOptions, steps_per_rev: int, rotations: list[float], boot: str | None = None):
        self.opts = opts
        self.boot = boot  # sim://avr only: a bootloader .hex; the board starts erased (see firmware/sim)
        self.steps_per_rev = steps_per_rev
        self.rotations = rotations
        self.proc: subprocess.Popen[str] | None = None
        self.pty = ""
        self._tmp = tempfile.TemporaryDirectory(prefix="rig-sim-")
        self.shaft_file = os.path.join(self._tmp.name, "shafts.bin")
        self.log: deque[str] = deque(maxlen=50)
        self._ready = threading.Event()

    def command(self) -> list[str]:
        o = self.opts
        cmd = [str(build(o.kind))]
        if o.kind == "avr":
            cmd += ["--boot", self.boot] if self.boot else ["--elf", str(BUILD / "rig-fw.elf")]
        rotation = o.rotation or ",".join(f"{r:g}" for r in self.rotations)
        cmd += ["--steps-per-rev", str(self.steps_per_rev), "--rotation", rotation]
        cmd += ["--seed", str(o.seed), "--shaft-file", self.shaft_file, "--timescale", f"{o.timescale:g}"]
        if o.corrupt:
            cmd += ["--corrupt", f"{o.corrupt:g}"]
        if o.drop:
            cmd += ["--drop", f"{o.drop:g}"]
        if o.reset_after_steps:
            cmd += ["--reset-after-steps", str(o.reset_after_steps)]
        if o.stall:
            cmd += ["--stall", o.stall]
        if o.initial:
            cmd += ["--initial", o.initial]
        if o.reversed:
            cmd += ["--reversed", o.reversed]
        return cmd

    def start(self, timeout: float = 15.0) -> "Simulator":
        # RIG_SIM_PARENT: the simulator exits by itself if this process dies, even by SIGKILL
        # (it polls getppid()), so no orphan outlives a killed capture. Its own session: a
        # Ctrl-C at the terminal reaches only us, and we still need the robot to park.
        env = {**os.environ, "RIG_SIM_PARENT": str(os.getpid())}
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=env,
            start_new_session=True,
        )
        # one reader thread for the process's whole life: it finds the pty line and then
        # keeps draining, so the simulator never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(timeout) or not self.pty:
            self.close()
            raise UserError(
                f"the {self.opts.kind} robot simulator did not start: {' | '.join(self.log) or 'no output'}"
            )
        return self

    def _drain(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line.rstrip())
            # simavr prints its own lines first; ours is the one starting with "PTY "
            if line.startswith("PTY ") and not self.pty:
                self.pty = line.split(None, 1)[1].strip()
                self._ready.set()
        self._ready.set()  # exited: wake start() if still waiting

    def reset_mcu(self) -> None:
        """Reset the simulated MCU now (as the reset button would)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGUSR1)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        self._tmp.cleanup()

    def __enter__(self) -> "Simulator":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
