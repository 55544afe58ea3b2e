"""`rig sim ...` from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rig.cli.main import main
from rig.sim import make_device

from .sim_helpers import FS, program


def test_response_writes_pngs(tmp_path):
    assert main(["sim", "response", "--kind", "fuzz", "--out", str(tmp_path)]) == 0
    for name in ("fuzz_frequency.png", "fuzz_transfer.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 10_000


def test_offline_render_matches_the_device(tmp_path):
    x = program(0.5)
    sf.write(tmp_path / "in.wav", x, FS, subtype="FLOAT")
    assert (
        main(
            [
                "sim",
                "dut",
                "--kind",
                "amp",
                "--set",
                "gain=7,bass=2",
                "--set",
                "treble=9",
                "--input",
                str(tmp_path / "in.wav"),
                "--output",
                str(tmp_path / "out.wav"),
            ]
        )
        == 0
    )
    y, fs = sf.read(tmp_path / "out.wav", dtype="float32")
    dev = make_device("amp")
    dev.set_knobs({"gain": 7, "bass": 2, "treble": 9})
    assert fs == FS
    assert np.array_equal(y, dev.process(x))


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["sim", "dut", "--jack", "--set", "gain"], "NAME=VALUE"),
        (["sim", "dut", "--jack", "--set", "drive=3"], "unknown knob"),
        (["sim", "dut", "--jack", "--shafts", "/tmp/nothing"], "--plan"),
        (["sim", "dut"], "choose one"),
        (["sim", "response", "--kind", "fuzz", "--set", "gain=3"], "unknown knob"),
    ],
)
def test_user_errors_are_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rig: error:")
    assert words in err
    assert "\n" not in err


def test_shaft_file_drives_the_knobs_through_the_plan(monkeypatch, tmp_path):
    """--shafts/--plan: axis angles from the robot simulator become dial values by the plan's
    axis map (a stand-in ShaftReader: the real one lives in rig.knobs.shafts)."""
    import argparse
    import sys
    import types

    from rig.cli import cmd_sim

    angles = {"path": None, "deg": [0.0, 150.0, 300.0, 60.0]}

    class FakeReader:
        def __init__(self, path):
            angles["path"] = path

        def degrees(self):
            return list(angles["deg"])

    fake = types.ModuleType("rig.knobs.shafts")
    fake.ShaftReader = FakeReader
    monkeypatch.setitem(sys.modules, "rig.knobs.shafts", fake)
    args = argparse.Namespace(
        shafts=tmp_path / "shafts.bin", plan=Path(__file__).resolve().parents[2] / "capture_plans" / "marshall_jvm.yaml"
    )
    source = cmd_sim._knob_source(args)
    assert angles["path"] == tmp_path / "shafts.bin"
    assert source() == {"bass": 0.0, "middle": 5.0, "treble": 10.0, "gain": 2.0, "volume": 5.0}
