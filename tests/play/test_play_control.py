"""Live control of the player: terminal lines, MIDI (absent port = one clear line), bypass,
the glide itself, and the command's one-line errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rig.cli.main import main
from rig.play.control import cc_handler, handle_line, open_midi, parse_cc_map
from rig.play.core import PlayerCore, sub_frame
from rig.play.glide import Glide
from rig.train.render import load_model

from .conftest import KNOBS, PERIOD, RATE, sine


@pytest.fixture(scope="module")
def core(models):
    _, paths = models
    return PlayerCore(load_model(paths["lstm-c-32-nam"]), {"gain": 5.0, "tone": 5.0}, PERIOD, "onnx")


def test_terminal_lines_turn_knobs_toggle_bypass_and_quit(core):
    stop = threading.Event()
    assert handle_line("gain=6, tone=2\n", core, stop, lambda: "st") == "gain=6 tone=2"
    assert core.pending == {"gain": 6.0, "tone": 2.0}
    assert handle_line("gain=11", core, stop, lambda: "st").startswith("? --set: gain=11 is outside")
    assert handle_line("hello", core, stop, lambda: "st").startswith("? type knob=value")
    assert handle_line("status", core, stop, lambda: "st") == "st"
    assert handle_line("bypass", core, stop, lambda: "st") == "bypass on"
    x = sine(PERIOD / RATE)
    np.testing.assert_array_equal(core.period(x), x)  # bypass: the dry signal, the model still runs
    assert handle_line("bypass", core, stop, lambda: "st") == "bypass off"
    assert not np.allclose(core.period(x), x)
    handle_line("quit", core, stop, lambda: "st")
    assert stop.is_set()


def test_absent_midi_port_is_one_clear_line(core):
    port, line = open_midi("no-such-port", parse_cc_map(None, KNOBS), core)
    assert port is None
    assert line.startswith("MIDI off:")
    assert "\n" not in line


def test_midi_cc_turns_the_mapped_knob_across_its_range(core):
    mido = pytest.importorskip("mido")
    on_message = cc_handler(parse_cc_map("7=tone", KNOBS), core)
    core.pending = None
    on_message(mido.Message("note_on", note=60))
    on_message(mido.Message("control_change", control=8, value=64))  # not mapped
    assert core.pending is None
    on_message(mido.Message("control_change", control=7, value=127))
    assert core.pending == {"tone": 10.0}


def test_cc_map():
    assert parse_cc_map(None, KNOBS) == {20: "gain", 21: "tone"}
    assert parse_cc_map("7=tone", KNOBS) == {7: "tone"}
    with pytest.raises(Exception, match="CC=knob"):
        parse_cc_map("200=gain", KNOBS)


def test_glide_is_a_one_pole_reaching_63_percent_in_20_ms():
    g = Glide(np.zeros(1), RATE)
    g.set(np.ones(1))
    ramp = g.ramp(RATE // 50)[0]  # 20 ms
    assert np.all(np.diff(ramp) > 0)
    assert abs(ramp[-1] - (1 - np.exp(-1))) < 1e-3
    assert g.moving
    assert g.ramp(RATE)[0][-1] == 1.0
    assert not g.moving


def test_frames_inside_a_period(models):
    _, paths = models
    assert sub_frame(load_model(paths["lstm-c-32-nam"]), 256) == 256  # controls per sample: whole period
    assert sub_frame(load_model(paths["tcn-f-45-s-16"]), 256) == 256  # FiLM per sample too: one call


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["--loop"], "--loop needs --input"),
        (["--runtime", "onnx", "--input", "missing.wav"], "missing.wav not found"),
        (["--set", "drive=1"], "unknown knob 'drive'"),
        (["--server", "no-such-server-here"], "no JACK server 'no-such-server-here'"),
    ],
)
def test_play_errors_are_one_line(models, capsys, monkeypatch, argv, hint):
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    _, paths = models
    assert main(["play", "--model", str(paths["lstm-c-32-nam"]), "--no-terminal", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert hint in err
