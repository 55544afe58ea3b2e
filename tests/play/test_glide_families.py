"""The knob glide reaches every family per sample: a knob step while a sine streams through the
player leaves no high-pass residual above -60 dBFS against the ideal per-sample glide through
the whole-file model, and per-sample controls that never move give the output of per-frame ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rig.play.core import PlayerCore
from rig.train.config import load_model_config, named_configs
from rig.train.models import build_model
from rig.train.render import Loaded

from .conftest import KNOBS, PERIOD, RATE, hp_residual_dbfs, ideal_glide, sine

FAMILIES = ["tcn-f-45-s-16", "tcn-tvf-45-s-16", "tcn-ttf-45-s-16", "s4-f-s-16", "s4-tf-s-16"]
START, END = {"gain": 2.0, "tone": 5.0}, {"gain": 9.0, "tone": 5.0}


def spread(name: str) -> Loaded:
    """A tiny shipped config with weights spread wide, so the knobs change the sound a lot."""
    cfg = load_model_config(named_configs()[name])
    torch.manual_seed(0)
    model = build_model(cfg, len(KNOBS)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.4 * torch.randn_like(p))
    return Loaded(model, KNOBS, RATE, {}, cfg)


def play(loaded: Loaded, x: np.ndarray, at_period: int, runtime: str, glide_s: float | None) -> np.ndarray:
    core = PlayerCore(loaded, START, PERIOD, runtime, glide_s=glide_s)
    assert core.runner.kind == runtime, core.runner.why
    out = []
    for i in range(len(x) // PERIOD):
        if i == at_period:
            core.request({"gain": END["gain"]})
        out.append(core.period(x[i * PERIOD : (i + 1) * PERIOD]))
    return np.concatenate(out)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("runtime", ["onnx", "torchscript"])
def test_knob_step_while_streaming_is_glided(name, runtime):
    loaded = spread(name)
    x = sine(0.4, amp=0.3)
    at_period = 30
    at = at_period * PERIOD
    ideal = ideal_glide(loaded, START, END, x, at)
    glided = play(loaded, x, at_period, runtime, None)
    assert hp_residual_dbfs(glided, ideal[: len(glided)], at) < -60
    stepped = play(loaded, x, at_period, runtime, 0.0)  # the same change unglided: the measure sees it
    assert hp_residual_dbfs(stepped, ideal[: len(stepped)], at) > -40


@pytest.mark.parametrize("name", [*FAMILIES, "tcn-tf-45-s-16", "s4-tvf-s-16", "lstm-tvc-32"])
def test_constant_per_sample_controls_equal_per_frame_controls(name):
    model = spread(name).model
    x = 0.4 * torch.randn(1, 1, 1500, generator=torch.Generator().manual_seed(1))
    c = torch.tensor([[0.3, 0.8]])
    with torch.no_grad():
        held = model(x, c)
        per_sample = model(x, c.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
    torch.testing.assert_close(per_sample, held, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["tcn-tvf-45-s-16", "s4-tf-s-16", "tcn-f-45-s-16"])
def test_moving_per_sample_controls_stream_as_the_whole_file(name):
    model = spread(name).model
    n = 1500
    x = 0.4 * torch.randn(1, 1, n, generator=torch.Generator().manual_seed(2))
    c = torch.stack([torch.linspace(0.1, 0.9, n), torch.linspace(0.7, 0.2, n)])[None]
    with torch.no_grad():
        whole = model(x, c)
        state, parts = model.init_state(1), []
        for a in range(0, n, 300):  # frames that do not line up with the 128-sample blocks
            y, state = model.forward_stream(x[..., a : a + 300], c[..., a : a + 300], state)
            parts.append(y)
    torch.testing.assert_close(torch.cat(parts, -1), whole, atol=1e-5, rtol=0)
