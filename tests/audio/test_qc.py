import numpy as np
import pytest
import soundfile as sf

from rig.audio import (
    DRIFT_ESR,
    VirtualInterface,
    align_take,
    build_program,
    check_take,
    esr,
    replicate_esr,
    warm_up,
    write_take_wavs,
)

from .conftest import DelayTanh, make_plan


def record(plan, fault=None, noise_dbfs=-90.0, device=None, seed=0):
    program = build_program(plan, "train", 0)
    iface = VirtualInterface(device or DelayTanh(), noise_dbfs=noise_dbfs, seed=seed)
    if fault:
        iface.inject(fault, at_block=300)
    rec = iface.play_record(program.signal)
    take = align_take(program, rec)
    return program, rec, take, check_take(program, rec, take, plan.take)


def test_clean_take_passes_with_figures(plan):
    *_, qc = record(plan)
    assert qc.ok, qc.reasons
    f = qc.figures
    assert f["noise_floor_dbfs"]["wet"] == pytest.approx(-90, abs=1.5)
    assert f["snr_db"] > 40
    assert f["xruns"] == 0
    assert f["latency_samples"] == 256
    assert all(v == 0 for v in f["clipped"].values())


@pytest.mark.parametrize(
    ("fault", "reason"), [("xrun", "xrun"), ("clip", "wet clipped"), ("silent", "return is silent")]
)
def test_faults_fail_the_take(plan, fault, reason):
    *_, qc = record(plan, fault)
    assert not qc.ok
    assert any(reason in r for r in qc.reasons), qc.reasons


@pytest.mark.parametrize(
    ("qc", "reason"),
    [
        ({"min_snr_db": 75.0}, "SNR"),
        ({"max_noise_dbfs": -80.0}, "noise floor"),
        ({"max_dc": 0.0}, "DC offset"),
        ({"clip_level": 0.1}, "clipped"),
    ],
)
def test_plan_thresholds_tighter_than_default_reject_the_take(qc, reason):
    # A -70 dBFS noise floor passes the defaults; the same take, judged by a plan with one
    # tighter threshold, fails for that reason only.
    *_, default_qc = record(make_plan(), noise_dbfs=-70.0)
    assert default_qc.ok, default_qc.reasons
    *_, tight_qc = record(make_plan(qc=qc), noise_dbfs=-70.0)
    assert not tight_qc.ok
    assert len(tight_qc.reasons) >= 1
    assert all(reason in r for r in tight_qc.reasons), tight_qc.reasons


def test_plan_drift_threshold_sets_the_warm_up_default():
    assert make_plan(qc={"drift_esr": 0.002}).take.qc.drift_esr == 0.002
    assert make_plan().take.qc.drift_esr == DRIFT_ESR


def test_noisy_return_fails_on_noise_floor(plan):
    *_, qc = record(plan, noise_dbfs=-40)
    assert any("noise floor" in r for r in qc.reasons)


def test_dc_offset_flagged(plan):
    class Dc(DelayTanh):
        def process(self, block):
            return super().process(block) + np.float32(0.05)

    *_, qc = record(plan, device=Dc())
    assert any("DC offset" in r for r in qc.reasons)


def test_replicate_esr_and_drift(plan):
    _, _, a, _ = record(plan, seed=1)
    _, _, b, _ = record(plan, seed=2)
    assert replicate_esr(a, b) < DRIFT_ESR  # same setting, only noise differs
    _, _, c, _ = record(plan, device=DelayTanh(drive=6.0))  # the amp "drifted"
    assert replicate_esr(a, c) > DRIFT_ESR


def test_esr_definition():
    t = np.array([1.0, -1.0, 2.0])
    assert esr(t, t) == 0
    assert esr(t, 0.9 * t) == pytest.approx(0.01)


def test_write_take_wavs_float32_same_length(plan, tmp_path):
    _, _, take, _ = record(plan)
    paths = {k: tmp_path / f"t0001_G5.{k}.wav.tmp" for k in ("dry", "loopback", "wet")}
    write_take_wavs(paths, take)
    for kind, path in paths.items():
        data, sr = sf.read(path, dtype="float32")
        assert sr == 48000
        assert sf.info(path).subtype == "FLOAT"
        assert np.array_equal(data, getattr(take, kind))


def test_warm_up_repeats_until_consecutive_takes_agree(plan):
    class Warming(DelayTanh):
        level = 0.5  # a cold amp: its output level creeps up take by take

        def process(self, block):
            return super().process(block) * np.float32(self.level)

    program = build_program(plan, "reference", 0)
    device = Warming()
    iface = VirtualInterface(device, noise_dbfs=-90)

    def record():
        take = align_take(program, iface.play_record(program.signal))
        device.level = 1.0 - (1.0 - device.level) * 0.3
        return take

    settled, history = warm_up(record, max_repeats=8)
    assert settled
    assert history[-1] <= DRIFT_ESR < history[0]
    assert 2 <= len(history) < 7
