"""An in-process interface: the simulated device runs block by block exactly as a duplex
callback would feed it, with a round-trip latency and a noise floor, much faster than real
time unless `realtime` (then each take lasts as long as its audio, as through a real
interface). Faults (xrun, dropped block, clipping, silent return) can be injected for tests."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rig.audio.interface import TAIL_S, Recording, empty_status
from rig.audio.meter import BlockMeter

FAULTS = ("xrun", "drop", "clip", "silent", "invert_loopback")
PACE_SLACK_S = 0.02  # realtime: how far processing may run ahead of the clock before it sleeps


@dataclass
class Fault:
    kind: str  # xrun: corrupt a return block and flag it; drop: lose a block of input
    at_block: int = 0  # clip: drive the return 20 dB hotter; silent: return unplugged


class VirtualInterface:
    name = "virtual"

    def __init__(
        self,
        device,
        sample_rate: int = 48000,
        blocksize: int = 256,
        latency_samples: int = 256,
        noise_dbfs: float = -96.0,
        seed: int = 0,
        tail_s: float = TAIL_S,
        realtime: bool = False,
    ):
        if getattr(device, "sample_rate", sample_rate) != sample_rate:
            raise ValueError(f"device runs at {device.sample_rate} Hz, interface at {sample_rate} Hz")
        self.device = device
        self.sample_rate = sample_rate
        self.blocksize = blocksize
        self.latency_samples = latency_samples
        self.noise_dbfs = noise_dbfs
        self.tail_s = tail_s
        self.realtime = realtime
        self._rng = np.random.default_rng(seed)
        self._faults: list[Fault] = []
        self.meter: BlockMeter | None = None  # fed each recorded block, as a callback would (meter.py)

    def inject(self, kind: str, at_block: int = 0) -> None:
        """Queue a fault for the next take only."""
        if kind not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        self._faults.append(Fault(kind, at_block))

    def play_record(self, signal: np.ndarray) -> Recording:
        t0 = time.perf_counter()
        faults, self._faults = self._faults, []
        tail = np.zeros(int(self.tail_s * self.sample_rate), np.float32)
        out = np.concatenate([np.asarray(signal, np.float32), tail])
        pad = (-len(out)) % self.blocksize
        out = np.concatenate([out, np.zeros(pad, np.float32)])
        status = empty_status()
        # Each input hears what left the outputs `latency` samples earlier: a delay line.
        delay = np.zeros(self.latency_samples, np.float32)
        loop_in, wet_in = [], []
        loop_line, wet_line = delay.copy(), delay.copy()
        for k in range(len(out) // self.blocksize):
            block = out[k * self.blocksize : (k + 1) * self.blocksize]
            returned = np.asarray(self.device.process(block.copy()), np.float32)
            loop_block, loop_line = _through(loop_line, block)
            wet_block, wet_line = _through(wet_line, returned)
            loop_block, wet_block = self._apply(faults, k, loop_block, wet_block, status)
            if self.meter is not None:
                self.meter.feed(loop_block, wet_block)
            loop_in.append(loop_block)
            wet_in.append(wet_block)
            if self.realtime:
                self._keep_pace(t0, (k + 1) * self.blocksize)
        n = len(signal) + int(self.tail_s * self.sample_rate)
        loopback = self._noisy(np.concatenate(loop_in))[:n]
        wet = self._noisy(np.concatenate(wet_in))[:n]
        if len(wet) < n:  # dropped blocks shorten the capture: pad as a real stream would keep running
            loopback, wet = (np.pad(a, (0, n - len(a))) for a in (loopback, wet))
        return Recording(loopback, wet, self.sample_rate, status, time.perf_counter() - t0)

    def _keep_pace(self, t0: float, samples: int) -> None:
        """Sleep until `samples` would have played; a few blocks at a time, not per block."""
        ahead = samples / self.sample_rate - (time.perf_counter() - t0)
        if ahead > PACE_SLACK_S:
            time.sleep(ahead)

    def _apply(self, faults: list[Fault], k: int, loop: np.ndarray, wet: np.ndarray, status: dict):
        for f in faults:
            if f.kind == "clip":
                wet = np.clip(wet * 10.0, -1.0, 1.0)
            elif f.kind == "silent":
                wet = np.zeros_like(wet)
            elif f.kind == "invert_loopback":  # a pin-2/pin-3 swapped loopback cable
                loop = -loop
            elif f.kind == "xrun" and k == f.at_block:
                wet = self._rng.uniform(-0.1, 0.1, len(wet)).astype(np.float32)
                status["overflow"] += 1
                status["xruns"] += 1
            elif f.kind == "drop" and k == f.at_block:
                # Lost input samples with no flag: only the end impulses can reveal this.
                loop, wet = loop[:0], wet[:0]
        return loop, wet

    def _noisy(self, x: np.ndarray) -> np.ndarray:
        if self.noise_dbfs is None or self.noise_dbfs <= -200:
            return x.astype(np.float32)
        noise = self._rng.standard_normal(len(x)) * 10 ** (self.noise_dbfs / 20)
        return (x + noise).astype(np.float32)

    def close(self) -> None:
        pass


def _through(line: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Push a block into a delay line; returns (block that comes out, new line)."""
    joined = np.concatenate([line, block])
    return joined[: len(block)], joined[len(block) :]
