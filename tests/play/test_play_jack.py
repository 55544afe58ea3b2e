"""`rig play` over a real JACK server (dummy driver): what comes out equals `rig render`, a knob
change arrives glided (no step above -60 dBFS), and xruns are counted when forced."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rig.play import audio
from rig.play.core import PlayerCore
from rig.train.render import load_model, parse_settings, render

from .conftest import JACK_PERIOD as PERIOD
from .conftest import RATE, Recorder, hp_residual_dbfs, ideal_glide, match_periods, needs_jack, sine

pytestmark = needs_jack


@pytest.mark.parametrize("name", ["lstm-c-32-nam", "tcn-f-45-s-16"])
def test_played_sine_equals_render(models, jack_server, name):
    folder, paths = models
    rec = Recorder(jack_server)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "rig",
                "play",
                "--model",
                str(paths[name]),
                "--set",
                "gain=6",
                "--input",
                str(folder / "sine.wav"),
                "--server",
                jack_server,
                "--connect-out",
                "rec:in",
                "--no-terminal",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        rec.settle()
        recorded = rec.audio()
    finally:
        rec.close()
    assert proc.returncode == 0, proc.stderr
    assert f"on JACK at 48000 Hz, period {PERIOD} frames" in proc.stderr
    assert "xruns" in proc.stderr
    loaded = load_model(paths[name])
    want = render(loaded, parse_settings("gain=6", loaded.knobs), sine(1.0))
    _, arrived = match_periods(recorded, want)  # each period equal to the render within 1e-4
    assert np.abs(want).max() > 0.3
    assert arrived >= 0.9, f"{arrived:.0%} of the periods arrived equal"


def test_knob_change_while_playing_is_glided(models, jack_server):
    _, paths = models
    loaded = load_model(paths["lstm-c-32-nam"])
    start, end = {"gain": 2.0, "tone": 5.0}, {"gain": 9.0, "tone": 5.0}
    x = sine(1.5, amp=0.3)
    holder: dict = {}

    def make_core(period, _rate):  # run_jack's signature; the server runs at the model's rate
        holder["core"] = PlayerCore(loaded, start, period, "onnx")
        return holder["core"]

    source, stop, rec = audio.FileSource(x), threading.Event(), Recorder(jack_server)
    player = threading.Thread(
        target=audio.run_jack, args=(make_core, source, stop, jack_server), kwargs={"connect_out": ["rec:in"]}
    )
    player.start()
    try:
        assert source.started.wait(10)
        quarter = len(x) // PERIOD // 4  # change the knob a quarter into the sine, counted in periods
        deadline = time.monotonic() + 30
        while holder["core"].stats.periods < quarter:
            assert time.monotonic() < deadline, "the player stopped running periods"
            time.sleep(0.005)
        holder["core"].request({"gain": 9.0})  # as a terminal line or a MIDI CC would
        player.join(timeout=60)
        rec.settle()
        recorded = rec.audio()
    finally:
        stop.set()
        player.join(timeout=10)
        rec.close()
    core = holder["core"]
    ((period_index, changes),) = core.stats.changes
    at = period_index * PERIOD
    ideal = ideal_glide(loaded, start, end, x, at)
    got, arrived = match_periods(recorded, ideal)  # JACK delivered the glide, period for period
    assert 0 < at < len(x) - RATE // 10
    assert changes == {"gain": 9.0}
    assert arrived >= 0.9
    assert not np.isnan(got[at : at + RATE // 50]).any()
    got = np.where(np.isnan(got), ideal[: len(got)], got)
    assert hp_residual_dbfs(got, ideal[: len(got)], at) < -60
    instant = PlayerCore(loaded, start, PERIOD, "onnx", glide_s=0.0)  # the same change, unglided
    played = []
    for i in range(len(x) // PERIOD):
        if i == period_index:
            instant.request({"gain": 9.0})
        played.append(instant.period(x[i * PERIOD : (i + 1) * PERIOD]))
    stepped = np.concatenate(played)
    assert hp_residual_dbfs(stepped, ideal[: len(stepped)], at) > -40  # the measure does see a step


def test_forced_xruns_are_counted(models, jack_server_async):
    _, paths = models
    loaded = load_model(paths["lstm-c-32-nam"])
    holder: dict = {}

    def make_core(period, rate):
        core = PlayerCore(loaded, {"gain": 5.0, "tone": 5.0}, period, "eager")
        fast = core.runner.process

        def slow(x, c):  # an artificially slow model: every 10th period takes 3 periods' time
            if core.stats.periods % 10 == 5:
                time.sleep(3 * period / rate)
            return fast(x, c)

        core.runner.process = slow
        holder["core"] = core
        return core

    core = audio.run_jack(make_core, audio.FileSource(sine(2.0)), threading.Event(), jack_server_async, connect_out=[])
    assert core.stats.late >= 5
    assert core.stats.xruns >= 1
    assert core.stats.periods >= 0.5 * RATE // PERIOD


def test_plays_over_portaudio_on_jack(models, jack_server):
    folder, paths = models
    env = {**os.environ, "JACK_DEFAULT_SERVER": jack_server, "JACK_NO_START_SERVER": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rig",
            "play",
            "--portaudio",
            "--device",
            "system",
            "--model",
            str(paths["lstm-c-32-nam"]),
            "--input",
            str(folder / "sine.wav"),
            "--no-terminal",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "on PortAudio at 48000 Hz, period 256 frames" in proc.stderr
    assert "runtime onnx" in proc.stderr
    periods = int(proc.stderr.strip().splitlines()[-1].split()[0])
    assert periods >= RATE // PERIOD  # the whole second went through the callback
