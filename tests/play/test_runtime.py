"""The per-frame runtimes: each graph runtime equals eager streaming for every family, a frame
size that keeps no stable state falls back to eager with a reason, and render equals play."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rig.play.core import PlayerCore
from rig.play.runtime import DEFAULT_BY_FAMILY, Runner, family, process_all
from rig.train.config import load_model_config, named_configs
from rig.train.models import build_model
from rig.train.render import load_model, parse_settings, render

from .conftest import PERIOD, sine


def model_of(name: str):
    cfg = load_model_config(named_configs()[name])
    torch.manual_seed(0)
    return cfg, build_model(cfg, 2).eval()


@pytest.mark.parametrize("name", ["lstm-c-32", "lstm-tvc-32", "tcn-f-45-s-16", "tcn-tvf-45-s-16", "s4-tf-s-16"])
@pytest.mark.parametrize("kind", ["onnx", "torchscript"])
def test_graph_runtimes_equal_eager_streaming(name, kind):
    cfg, model = model_of(name)
    x = (0.4 * np.random.default_rng(0).standard_normal(6 * PERIOD)).astype(np.float32)
    c = np.array([0.2, 0.9], np.float32)
    graph = Runner(model, PERIOD, kind)
    assert graph.kind == kind, graph.why
    np.testing.assert_allclose(process_all(graph, x, c), process_all(Runner(model, PERIOD, "eager"), x, c), atol=1e-4)
    assert family(cfg) in DEFAULT_BY_FAMILY


@pytest.mark.parametrize("name", ["lstm-c-32", "tcn-tvf-45-s-16"])
def test_a_warmed_up_runner_starts_from_a_fresh_state(name):
    _, model = model_of(name)
    x = (0.4 * np.random.default_rng(1).standard_normal(4 * PERIOD)).astype(np.float32)
    c = np.array([0.7, 0.1], np.float32)
    warmed = Runner(model, PERIOD, "onnx")
    warmed.warm_up(c)
    assert warmed.leaves is None  # the next frame builds its state eagerly, as a fresh runner's does
    np.testing.assert_array_equal(process_all(warmed, x, c), process_all(Runner(model, PERIOD, "onnx"), x, c))


def test_unstable_frame_falls_back_to_eager_with_a_reason():
    _, model = model_of("tcn-tvf-45-s-16")
    runner = Runner(model, 100, "onnx")  # not a multiple of the 128-sample modulation block
    assert runner.kind == "eager"
    assert "128-sample" in runner.why


def test_render_equals_the_players_periods(models):
    _, paths = models
    for name in paths:
        loaded = load_model(paths[name])
        values = parse_settings("gain=7", loaded.knobs)
        x = sine(0.2)
        core = PlayerCore(loaded, values, PERIOD, "onnx")
        played = np.concatenate([core.period(x[a : a + PERIOD]) for a in range(0, len(x) - PERIOD + 1, PERIOD)])
        np.testing.assert_allclose(played, render(loaded, values, x)[: len(played)], atol=1e-4)
