import numpy as np
import pytest
import soundfile as sf

from rig.audio import build_program
from rig.audio.impulse import ncc
from rig.errors import UserError

from .conftest import make_plan


def test_layout_and_exact_content_length(plan):
    p = build_program(plan, "train", seed=1)
    sr = p.sample_rate
    c0, c1 = p.content
    assert c1 - c0 == 3 * sr
    assert p.start_impulses[0] == int(0.2 * sr)
    assert p.start_impulses[1] - p.start_impulses[0] == int(0.1 * sr)  # spacing_ms default
    assert p.end_impulses[0] > c1
    assert p.start_impulses[-1] < c0
    assert p.signal.dtype == np.float32
    assert p.samples == len(p.signal)
    assert not np.any(p.signal[: p.start_impulses[0]])  # pre-roll is silence: noise floor measured there
    assert not np.any(p.signal[p.end_impulses[-1] + len(p.impulse) :])
    assert np.max(np.abs(p.signal[c0:c1])) <= 10 ** (-6 / 20) + 1e-6


def test_deterministic_per_plan_split_seed(plan):
    a, b = build_program(plan, "train", 4), build_program(plan, "train", 4)
    assert np.array_equal(a.signal, b.signal)
    assert a.gains == b.gains
    assert not np.array_equal(a.signal, build_program(plan, "train", 5).signal)
    assert not np.array_equal(a.signal, build_program(plan, "val", 4).signal)


def test_test_content_is_other_material(plan):
    train = build_program(plan, "train", 1)
    test = build_program(plan, "test", 1)
    assert test.sources == ["builtin:mix-test"]
    assert train.sources == ["builtin:mix"]
    assert not np.array_equal(train.signal, test.signal)


def test_gain_blocks_every_5s_db_law_and_stored():
    plan = make_plan(12.0)
    p = build_program(plan, "train", 2)
    starts = [g["start"] - p.content[0] for g in p.gains]
    assert starts == [0, 5 * 48000, 10 * 48000]
    assert p.gains[-1]["end"] == p.content[1]
    assert all(-20 <= g["gain_db"] <= 0 for g in p.gains)


def test_linear_gain_law_range():
    plan = make_plan(10.0, gain={"distribution": "linear", "every_s": 0.05, "ramp_ms": 1, "min_db": -20})
    gains = [10 ** (g["gain_db"] / 20) for g in build_program(plan, "train", 0).gains]
    assert min(gains) >= 0.1 - 1e-9
    assert max(gains) <= 1.0
    assert np.mean(gains) == pytest.approx(0.55, abs=0.06)  # uniform in linear, not in dB


def test_gain_changes_ramp_without_steps():
    from rig.audio.program import gain_envelope

    g = make_plan().take.gain
    env, blocks = gain_envelope(48000 * 15, 48000, g, np.random.default_rng(0))
    assert len(blocks) == 3
    assert np.max(np.abs(np.diff(env))) < 0.01  # 10 ms raised-cosine ramps, no jumps
    assert env[5 * 48000 + 480] == pytest.approx(10 ** (blocks[1]["gain_db"] / 20), abs=1e-4)


def test_impulse_is_unlike_content(plan):
    p = build_program(plan, "train", 1)
    c0, c1 = p.content
    scores = ncc(p.signal[c0:c1], p.impulse)
    assert np.max(scores) < 0.5  # content never passes for a sync impulse


def test_user_folder_any_rate_stereo(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(44100 * 2) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), 0.5 * rng.standard_normal(len(t))], axis=1) * 0.3
    sf.write(tmp_path / "di.flac", stereo, 44100)
    sf.write(tmp_path / "di2.wav", stereo[:, 0] * 0.1, 22050)
    plan = make_plan(4.0, sources={"train": [str(tmp_path)], "test": ["builtin:mix-test"]})
    p = build_program(plan, "train", 0)
    c0, c1 = p.content
    assert c1 - c0 == 4 * 48000
    assert np.max(np.abs(p.signal[c0:c1])) > 0.05


def test_empty_folder_is_a_user_error(tmp_path):
    plan = make_plan(2.0, sources={"train": [str(tmp_path)], "test": ["builtin:mix-test"]})
    with pytest.raises(UserError, match="no WAV or FLAC"):
        build_program(plan, "train", 0)


def test_short_takes_are_never_silent():
    """A gap (pure silence, up to 1 s) can be the first segment of a short take; it must never
    leave the take without sound, or QC fails it as silent on every retry."""
    for seconds in (0.5, 0.7):
        plan = make_plan(seconds, audio={"sample_rate": 8000})  # 8 kHz: quicker to synthesise, gaps as long
        limit = plan.take.qc.silent_dbfs
        for split in ("train", "test"):
            for seed in range(100):
                p = build_program(plan, split, seed)
                c0, c1 = p.content
                level = 10 * np.log10(np.mean(np.square(p.signal[c0:c1], dtype=np.float64)) + 1e-30)
                assert level > limit, (seconds, split, seed, level)


def test_digitally_silent_folder_still_builds(tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(48000), 48000)
    plan = make_plan(0.5, sources={"train": [str(tmp_path)], "test": ["builtin:mix-test"]})
    p = build_program(plan, "train", 0)  # gaps are shortened before sound, but none comes: it still ends
    c0, c1 = p.content
    assert c1 - c0 == 24000
    assert not np.any(p.signal[c0:c1])
