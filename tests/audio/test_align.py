import numpy as np
import pytest

from rig.audio import AlignmentError, VirtualInterface, align_take, build_program, open_interface
from rig.audio.interface import Recording
from rig.errors import UserError

from .conftest import DelayTanh


@pytest.mark.parametrize("latency", [0, 1, 255, 256, 1000, 4321])
def test_latency_sample_exact(plan, latency):
    iface = VirtualInterface(DelayTanh(delay=0, drive=1.0), latency_samples=latency, noise_dbfs=-60)
    program = build_program(plan, "train", 0)
    take = align_take(program, iface.play_record(program.signal))
    assert take.latency_samples == latency
    assert len(take.dry) == len(take.loopback) == len(take.wet) == program.samples
    np.testing.assert_allclose(take.loopback, take.dry, atol=1e-2)  # cropped by the latency, noise only


def test_wet_aligned_by_latency_only_and_device_delay_reported(plan):
    iface = VirtualInterface(DelayTanh(delay=37, drive=1e-3), latency_samples=300, noise_dbfs=-200)
    program = build_program(plan, "train", 1)
    take = align_take(program, iface.play_record(program.signal))
    assert take.device_delay_samples == 37
    # the device's own delay stays in the wet file: the model learns it
    np.testing.assert_allclose(take.wet[37:], 2 * take.dry[:-37], atol=1e-4)


def test_polarity_inverting_device_delay():
    class Invert(DelayTanh):
        def process(self, block):
            return -super().process(block)

    from .conftest import make_plan

    program = build_program(make_plan(), "train", 2)
    take = align_take(program, VirtualInterface(Invert(delay=12)).play_record(program.signal))
    assert take.device_delay_samples == 12


def test_lost_samples_raise(plan):
    iface = VirtualInterface(DelayTanh(), latency_samples=256)
    program = build_program(plan, "train", 0)
    iface.inject("drop", at_block=200)
    with pytest.raises(AlignmentError, match=r"256 samples early.*lost"):
        align_take(program, iface.play_record(program.signal))


def test_added_samples_raise(plan):
    program = build_program(plan, "train", 0)
    rec = VirtualInterface(DelayTanh()).play_record(program.signal)
    at = program.content[0] + 1000
    loop = np.concatenate([rec.loopback[:at], np.zeros(3, np.float32), rec.loopback[at:-3]])
    with pytest.raises(AlignmentError, match=r"3 samples late.*added"):
        align_take(program, Recording(loop, rec.wet, rec.sample_rate))


def test_unplugged_loopback_raises(plan):
    program = build_program(plan, "train", 0)
    rec = VirtualInterface(DelayTanh(), noise_dbfs=-50).play_record(program.signal)
    rec.loopback = np.random.default_rng(0).standard_normal(len(rec.loopback)).astype(np.float32) * 0.003
    with pytest.raises(AlignmentError, match="start impulses not found"):
        align_take(program, rec)


def test_heavy_distortion_and_noise_on_loopback(plan):
    program = build_program(plan, "train", 0)
    clean = VirtualInterface(DelayTanh(), latency_samples=0, noise_dbfs=-200).play_record(program.signal)
    rng = np.random.default_rng(1)
    for latency in rng.integers(1, 20000, 4):
        loop = np.concatenate([np.zeros(latency, np.float32), clean.loopback[:-latency]])
        loop = np.tanh(30 * (loop + 0.2 * loop**2)) + rng.standard_normal(len(loop)) * 10 ** (-50 / 20)
        rec = Recording(loop.astype(np.float32), clean.wet, 48000)
        assert align_take(program, rec).latency_samples == latency


def test_blocks_reach_device_at_interface_blocksize(plan):
    sizes = []

    class Spy(DelayTanh):
        def process(self, block):
            sizes.append(len(block))
            return super().process(block)

    program = build_program(plan, "train", 0)
    VirtualInterface(Spy(), blocksize=128).play_record(program.signal)
    assert set(sizes) == {128}


def test_virtual_is_much_faster_than_real_time(plan):
    program = build_program(plan, "train", 0)
    rec = VirtualInterface(DelayTanh()).play_record(program.signal)
    assert rec.wall_s < 0.2 * program.samples / 48000


def test_open_interface_virtual_needs_a_device(plan):
    with pytest.raises(UserError, match="--sim"):
        open_interface(plan.audio)
    assert isinstance(open_interface(plan.audio, DelayTanh()), VirtualInterface)


def test_with_the_simulated_amp_and_fuzz(plan):
    from rig import sim

    program = build_program(plan, "train", 0)
    for kind in ("amp", "fuzz"):
        dev = sim.make_device(kind)
        take = align_take(program, VirtualInterface(dev, latency_samples=256).play_record(program.signal))
        assert take.latency_samples == 256


@pytest.mark.parametrize("fault", ["clean", "dc_offset", "soft_clip", "low_pass", "dc+clip+low_pass"])
@pytest.mark.parametrize("polarity", [1, -1])
def test_odd_loopbacks_align_exactly_and_report_polarity(plan, fault, polarity):
    from rig.audio.bench import delayed, odd_loopback

    program = build_program(plan, "train", 0)
    rng = np.random.default_rng(3)
    for latency in (0, 7, 1234):
        sent = delayed(program, latency)
        loop = odd_loopback(sent, fault, polarity) + rng.standard_normal(len(sent)) * 10 ** (-45 / 20)
        take = align_take(program, Recording(loop.astype(np.float32), np.tanh(3 * sent).astype(np.float32), 48000))
        assert take.latency_samples == latency
        assert take.loopback_polarity == polarity
        assert take.impulse_error_samples == 0


def test_inverted_loopback_with_lost_samples_is_still_refused(plan):
    iface = VirtualInterface(DelayTanh(), latency_samples=256, noise_dbfs=-50)
    program = build_program(plan, "train", 0)
    iface.inject("drop", at_block=200)
    rec = iface.play_record(program.signal)
    with pytest.raises(AlignmentError, match=r"256 samples early.*lost"):
        align_take(program, Recording(-rec.loopback, rec.wet, rec.sample_rate))


def test_polarity_is_a_qc_figure(plan):
    from rig.audio import check_take

    program = build_program(plan, "train", 0)
    rec = VirtualInterface(DelayTanh(), latency_samples=100, noise_dbfs=-80).play_record(program.signal)
    inverted = Recording(-rec.loopback, rec.wet, rec.sample_rate)
    qc = check_take(program, inverted, align_take(program, inverted))
    assert qc.figures["loopback_polarity"] == -1
    assert qc.ok, qc.reasons  # an inverted cable is reported, not refused
