"""Shared for the player tests: a private JACK server (dummy driver), an exported model, a
recorder client on that server."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as sg
import soundfile as sf
import torch

from rig.train.config import load_model_config, named_configs
from rig.train.export import export_model
from rig.train.models import build_model
from rig.train.render import controls
from tests.audio.jackrig import jackd_available, start_jackd

KNOBS = [{"name": "gain", "min": 0.0, "max": 10.0}, {"name": "tone", "min": 0.0, "max": 10.0}]
RATE = 48000
PERIOD = 256  # the player's frame in the tests without a server
# The JACK server's period for the tests that play through it. They check what comes out
# (equal to `rig render`, glided), not whether this machine holds 5 ms deadlines: a 21 ms
# period absorbs a VM's stalls, as the capture's --sim --jack path does (`rig bench play`
# measures the real-time figures).
JACK_PERIOD = 1024

needs_jack = pytest.mark.skipif(not jackd_available(), reason="jackd is not installed (apt-get install jackd2)")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def export_spread(folder: Path, name: str) -> Path:
    """A shipped config with weights spread wide (strongly nonlinear, knobs matter), exported."""
    cfg = load_model_config(named_configs()[name])
    torch.manual_seed(0)
    model = build_model(cfg, len(KNOBS)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.4 * torch.randn_like(p))
    out = folder / name
    export_model(model, out, {"config": cfg.model_dump(mode="json"), "knobs": KNOBS, "sample_rate": RATE})
    return out


def sine(seconds: float, freq: float = 110.0, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("play")
    sf.write(folder / "sine.wav", sine(1.0), RATE, subtype="FLOAT")
    return folder, {n: export_spread(folder, n) for n in ("lstm-c-32-nam", "tcn-f-45-s-16")}


def _jack_server(name: str, sync: bool):
    server = start_jackd(name, JACK_PERIOD, sync=sync)
    try:
        yield name
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def jack_server():
    """Synchronous: on a loaded machine a late period is delayed, not lost, so played audio
    can be compared sample for sample."""
    yield from _jack_server(f"rigplay{os.getpid()}", sync=True)


@pytest.fixture
def jack_server_async():
    """As a sound card runs: a client that misses its deadline loses the period (an xrun)."""
    yield from _jack_server(f"rigplayx{os.getpid()}", sync=False)


class Recorder:
    """A JACK client that keeps every period arriving at rec:in."""

    def __init__(self, server: str, name: str = "rec"):
        import jack

        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.port = self.client.inports.register("in")
        self.blocks: list[np.ndarray] = []
        self.lock = threading.Lock()
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, _frames: int) -> None:  # JACK's signature
        with self.lock:
            self.blocks.append(self.port.get_array().copy())

    def settle(self, periods: int = 3, timeout: float = 10.0) -> None:
        """Wait for `periods` more cycles: what was played has then passed the graph (its delay
        is at most two periods), however late a loaded machine runs them."""
        with self.lock:
            target = len(self.blocks) + periods
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.blocks) >= target:
                    return
            assert time.monotonic() < deadline, "the JACK server stopped running cycles"
            time.sleep(0.01)

    def audio(self) -> np.ndarray:
        with self.lock:
            return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.float32)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def match_periods(recorded: np.ndarray, want: np.ndarray, period: int = PERIOD, atol: float = 1e-4):
    """Period by period, which of `want`'s periods arrived in `recorded` (equal within atol), in
    order. A busy machine can make JACK skip a cycle of one client (an xrun): that period is
    then missing, not shifted, so the comparison stays exact. Returns (want with the periods
    that never arrived set to NaN, the share that arrived)."""
    n = len(want) // period
    wanted = want[: n * period].reshape(n, period)
    got = np.full_like(wanted, np.nan)
    blocks = recorded[: len(recorded) // period * period].reshape(-1, period)
    j = 0
    for block in blocks:
        for k in range(j, min(j + 8, n)):  # the next periods due; a few may have been skipped
            if np.abs(block - wanted[k]).max() <= atol:
                got[k], j = block, k + 1
                break
    return got.reshape(-1), float(np.mean(~np.isnan(got[:, 0])))


def hp_residual_dbfs(y: np.ndarray, ideal: np.ndarray, at: int) -> float:
    """Peak of the 1 kHz high-passed difference from the ideal glide, around the change."""
    sos = sg.butter(4, 1000, "hp", fs=RATE, output="sos")
    r = sg.sosfilt(sos, (y - ideal).astype(np.float64))[max(0, at - 512) : at + 4800]
    return 20 * np.log10(np.abs(r).max() + 1e-12)


def ideal_glide(loaded, start: dict, end: dict, x: np.ndarray, at: int, tau: float = 0.02) -> np.ndarray:
    """The continuous one-pole move from start to end beginning at sample `at`, per sample,
    through the whole-file model (an implementation independent of the player's)."""
    c0, c1 = controls(start, loaded.knobs)[0].double(), controls(end, loaded.knobs)[0].double()
    n = np.arange(len(x)) - at + 1
    w = torch.from_numpy(np.where(n > 0, np.exp(-np.maximum(n, 0) / (tau * RATE)), 1.0))
    c = c1[:, None] + (c0 - c1)[:, None] * w[None, :]
    with torch.no_grad():
        return loaded.model(torch.from_numpy(x)[None, None], c[None].float())[0, 0].numpy()
