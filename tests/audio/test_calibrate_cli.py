import json

import numpy as np
import pytest

from rig.audio import VirtualInterface
from rig.audio.bench import bench_align
from rig.audio.calibrate import calibrate
from tests.conftest import run_rig

from .conftest import DelayTanh, make_plan


def test_calibrate_reports_levels_headroom_and_suggestion():
    plan = make_plan(audio={"send_dbu": 4.0, "return_dbu": 10.0})
    report = calibrate(plan, VirtualInterface(DelayTanh(drive=1e-3), noise_dbfs=-80))  # linear, gain 2 (+6 dB)
    lv = report["levels"]
    assert lv["loopback"]["peak_dbfs"] == pytest.approx(-6.0, abs=0.05)
    assert lv["return"]["peak_dbfs"] == pytest.approx(0.0, abs=0.05)
    assert lv["return"]["headroom_db"] == pytest.approx(0.0, abs=0.05)
    assert report["noise_floor_dbfs"]["return"] == np.round(report["noise_floor_dbfs"]["return"], 2)
    assert report["suggestion"]["change_db"] == -6.0  # back down to a -6 dBFS return peak
    assert any("return clips" in n for n in report["suggestion"]["notes"])
    assert report["send_peak_dbu"] == -2.0
    assert report["return_peak_dbu"] == pytest.approx(10.0, abs=0.05)


def test_calibrate_silent_return():
    class Off(DelayTanh):
        def process(self, block):
            return np.zeros_like(block)

    report = calibrate(make_plan(), VirtualInterface(Off(), noise_dbfs=-250))
    assert any("no return signal" in n for n in report["suggestion"]["notes"])


def test_cli_calibrate_sim(root):
    out = run_rig("calibrate", "--plan", str(root / "capture_plans/demo.yaml"), "--sim", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["levels"]["return"]["peak_dbfs"] > -60


def test_cli_devices_without_server_is_one_clear_line():
    out = run_rig("devices")
    if out.returncode == 0:  # a machine with sound hardware lists it
        assert "name" in out.stdout
    else:
        assert out.returncode == 2
        assert "Traceback" not in out.stderr
        assert "no audio devices found" in out.stderr
        assert "JACK" in out.stderr


def test_bench_align_quick_has_no_wrong_alignments():
    result = bench_align(trials=21)
    assert result["trials"] == 21
    assert result["target_met"]
    assert set(result["by_noise"]) == {f"{lvl} dBFS" for lvl in (-90, -80, -70, -60, -50, -45, -40)}
