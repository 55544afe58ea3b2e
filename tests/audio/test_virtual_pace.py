"""The virtual interface's pace: as fast as the CPU allows, or (realtime) as long as the audio
lasts, with the same recording either way; and who gets which pace by default."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rig.audio import VirtualInterface
from rig.capture import CaptureOptions
from rig.plan import load_plan
from tests.capture.active_helpers import write_active_plan

from .conftest import DelayTanh


def record(realtime: bool) -> tuple[np.ndarray, float]:
    iface = VirtualInterface(DelayTanh(), noise_dbfs=-90, seed=3, tail_s=0.1, realtime=realtime)
    signal = 0.3 * np.sin(np.arange(48000) * 2 * np.pi * 220 / 48000).astype(np.float32)
    t0 = time.perf_counter()
    rec = iface.play_record(signal)
    return rec.wet, time.perf_counter() - t0


def test_realtime_lasts_as_long_as_the_audio_and_records_the_same():
    fast, fast_s = record(realtime=False)
    paced, paced_s = record(realtime=True)
    assert paced_s >= 1.1 - 0.03  # 1 s of signal + 0.1 s tail, at most one slack early
    assert fast_s < paced_s
    np.testing.assert_array_equal(paced, fast)


@pytest.mark.parametrize(
    ("active", "train", "pace", "realtime"),
    [
        (True, True, None, True),  # the active loop: the trainer gets a real rig's time per take
        (True, False, None, False),  # no trainer to pace for
        (False, True, None, False),
        (True, True, "fast", False),
        (False, False, "realtime", True),
    ],
)
def test_the_default_pace_is_realtime_only_for_an_active_plan_with_its_trainer(tmp_path, active, train, pace, realtime):
    plan = load_plan(write_active_plan(tmp_path))
    if not active:
        plan = plan.model_copy(update={"settings": plan.settings.model_copy(update={"method": "sobol"})})
    assert CaptureOptions(sim=True, train=train, pace=pace).realtime_pace(plan) is realtime


@pytest.mark.parametrize("extra", [[], ["--sim", "--jack"]])
def test_pace_without_the_virtual_path_is_one_clear_line(extra, capsys, tmp_path):
    from rig.cli.main import main

    assert main(["capture", "--plan", "demo", "--session", str(tmp_path / "s"), "--pace", "fast", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rig: error: --pace sets the virtual audio path's speed")
    assert "\n" not in err
    assert not (tmp_path / "s").exists()
