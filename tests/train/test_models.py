"""Models: parameter counts vs the papers, causality, streaming == whole file, conditioning,
export round trips."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import pytest
import torch

from rig.train.config import load_model_config, named_configs
from rig.train.export import export_model
from rig.train.models import build_model, detach_state
from rig.train.models.s4 import S4D

torch.set_num_threads(1)

N_CONTROLS = 4
# NablAFx (Comunità et al. 2025) table 2 and Comunità et al. 2025 table 7 (4 controls); lstm-c-96 and the export variants have no published figure.
PAPER_PARAMS = {
    "lstm-c-32": 5000,
    "lstm-tvc-32": 8000,
    "tcn-f-45-s-16": 15000,
    "tcn-tf-45-s-16": 42000,
    "tcn-ttf-45-s-16": 17300,
    "tcn-tvf-45-s-16": 17700,
    "s4-f-s-16": 8900,
    "s4-tf-s-16": 30000,
    "s4-tvf-s-16": 11600,
}
NAMES = sorted(named_configs())


def make(name: str, seed: int = 0, **options):
    cfg = load_model_config(named_configs()[name])
    if options:
        cfg = cfg.model_copy(
            update={
                "conditioner": cfg.conditioner.model_copy(
                    update={k: v for k, v in options.items() if k != "exact_crop"}
                ),
                "architecture": cfg.architecture.model_copy(
                    update={k: v for k, v in options.items() if k == "exact_crop"}
                ),
            }
        )
    torch.manual_seed(seed)
    return build_model(cfg, N_CONTROLS).eval()


def inputs(batch: int = 2, length: int = 1500, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 1, length, generator=g) * 0.5, torch.rand(batch, N_CONTROLS, generator=g)


# Every named config, plus the options switched on for one model of each backbone.
VARIANTS = [(n, {}) for n in NAMES] + [
    ("tcn-tf-45-s-16", {"interpolate": True, "exact_crop": True}),
    ("tcn-tvf-45-s-16", {"interpolate": True}),
    ("s4-tvf-s-16", {"interpolate": True}),
    ("lstm-tvc-32", {"interpolate": True}),
]
IDS = [n + ("+" + "+".join(o) if o else "") for n, o in VARIANTS]


def test_every_named_config_is_shipped():
    assert set(NAMES) == set(PAPER_PARAMS) | {"lstm-c-96", "lstm-c-32-nam", "lstm-c-40-proteus"}  # export variants


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_param_count_matches_paper(name):
    n = make(name).n_params()
    assert abs(n - PAPER_PARAMS[name]) <= 0.02 * PAPER_PARAMS[name], f"{name}: {n} vs {PAPER_PARAMS[name]}"


def test_options_do_not_change_param_count():
    assert make("tcn-tf-45-s-16", interpolate=True, exact_crop=True).n_params() == make("tcn-tf-45-s-16").n_params()


@pytest.mark.parametrize(("name", "opts"), VARIANTS, ids=IDS)
def test_shapes_and_finite_output(name, opts):
    m = make(name, **opts)
    for length in (100, 1000, 1537):  # below one 128-block, odd lengths
        x, c = inputs(length=length)
        with torch.no_grad():
            y = m(x * 4, c)  # loud input: tanh output must stay finite and bounded
        assert y.shape == (2, 1, length)
        assert y.dtype == torch.float32
        assert torch.isfinite(y).all()
        assert y.abs().max() <= 1 or not getattr(m, "final_tanh", True)


@pytest.mark.parametrize(("name", "opts"), VARIANTS, ids=IDS)
def test_streaming_equals_whole_file(name, opts):
    m = make(name, **opts)
    x, c = inputs(length=1800)
    rng = random.Random(name)
    with torch.no_grad():
        whole = m(x, c)
        state, parts, i = m.init_state(2), [], 0
        while i < x.shape[-1]:
            n = rng.choice([1, 3, 64, 127, 128, 129, 300, 700])
            y, state = m.forward_stream(x[..., i : i + n], c, state)
            parts.append(y)
            i += n
    torch.testing.assert_close(torch.cat(parts, dim=-1), whole, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("name", "opts"), VARIANTS, ids=IDS)
def test_causal(name, opts):
    m = make(name, **opts)
    x, c = inputs(length=1200)
    t0 = 700  # inside a 128-sample block: the pooled conditioners must not see its end
    x2 = x.clone()
    x2[..., t0:] = torch.randn_like(x2[..., t0:])
    with torch.no_grad():
        y1, y2 = m(x, c), m(x2, c)
    torch.testing.assert_close(y2[..., :t0], y1[..., :t0], atol=1e-6, rtol=0)
    assert (y2[..., t0:] - y1[..., t0:]).abs().max() > 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_controls_change_output(name):
    m = make(name)
    x, _ = inputs(length=1000)
    with torch.no_grad():
        y1 = m(x, torch.zeros(2, N_CONTROLS))
        y2 = m(x, torch.ones(2, N_CONTROLS))
    assert (y1 - y2).abs().max() > 1e-3 * y1.abs().max()


def test_tcn_receptive_field_is_tight():
    m = make("tcn-f-45-s-16")  # static conditioning: nothing beyond the convolutions' reach
    rf = m.receptive_field
    assert rf == 2047
    x, c = inputs(batch=1, length=2 * rf + 100)
    x2 = x.clone()
    x2[..., 50] += 1.0
    with torch.no_grad():
        d = (m(x2, c) - m(x, c)).abs()[0, 0]
    assert d[50 + rf :].max() == 0
    assert d[50 : 50 + rf].max() > 0


def test_options_change_output():
    x, c = inputs()
    with torch.no_grad():
        base = make("tcn-tf-45-s-16")(x, c)
        assert (make("tcn-tf-45-s-16", interpolate=True)(x, c) - base).abs().max() > 1e-5
        assert (make("tcn-tf-45-s-16", exact_crop=True)(x, c) - base).abs().max() > 1e-5


def test_truncated_backprop_through_stream_state():
    m = make("lstm-tvc-32").train()
    x, c = inputs(length=960)
    state, loss = m.init_state(2), 0.0
    for i in range(0, 960, 480):
        y, state = m.forward_stream(x[..., i : i + 480], c, state)
        loss = (y - x[..., i : i + 480]).abs().mean()
        loss.backward()
        state = detach_state(state)
    grads = [p.grad for p in m.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", ["tcn-ttf-45-s-16", "s4-tvf-s-16"])
def test_trace_matches_eager_at_other_lengths(name):
    m = make(name)
    x, c = inputs(length=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(m, (x, c))
    x2, c2 = inputs(length=1333, seed=5)
    with torch.no_grad():
        torch.testing.assert_close(traced(x2, c2), m(x2, c2), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["tcn-tvf-45-s-16", "lstm-c-32", "s4-tvf-s-16", "s4-f-s-16"])
def test_onnx_round_trip(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    m = make(name)
    x, c = inputs(batch=1, length=1000)
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            m,
            (x, c),
            str(path),
            opset_version=17,
            dynamo=False,
            input_names=["x", "c"],
            output_names=["y"],
            dynamic_axes={"x": {0: "b", 2: "t"}, "c": {0: "b"}, "y": {0: "b", 2: "t"}},
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for length in (1000, 2345):
        x2, c2 = inputs(batch=1, length=length, seed=length)
        got = session.run(None, {"x": x2.numpy(), "c": c2.numpy()})[0]
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(got), m(x2, c2), atol=1e-5, rtol=0)


def test_s4_stream_tables_follow_new_weights():
    m, other = make("s4-f-s-16", seed=0), make("s4-f-s-16", seed=7)
    x, c = inputs(length=512)
    with torch.no_grad():
        m.forward_stream(x, c, m.init_state(2))  # fills the inference cache
        m.load_state_dict(other.state_dict())
        y, _ = m.forward_stream(x, c, m.init_state(2))
        torch.testing.assert_close(y, other(x, c), atol=1e-5, rtol=0)


@pytest.mark.parametrize("length", [1, 63, 64, 65, 1000, 4097])
def test_s4_scan_path_equals_fft_path(length):
    """The export-friendly chunked scan (used while exporting to ONNX) gives the FFT path's
    output, whole-file and from a carried state, at lengths around the 64-sample chunk."""
    torch.manual_seed(3)
    s4d = S4D(16, 4).eval()
    u = torch.tanh(torch.randn(2, 16, length))
    with torch.no_grad():
        _, state = s4d(torch.tanh(torch.randn(2, 16, 300)), None, True)
        want = [s4d(u, None, False), s4d(u, state, True)]
        s4d.scan = True
        got = [s4d(u, None, False), s4d(u, state, True)]
    for (y_got, _), (y_want, _) in zip(got, want):
        torch.testing.assert_close(y_got, y_want, atol=1e-5, rtol=0)
    torch.testing.assert_close(got[1][1], want[1][1], atol=0, rtol=0)  # the state update is shared code


def test_s4_onnx_export_through_the_exporter(tmp_path):
    """rig.train.export writes model.onnx for S4 (it used to fall back to TorchScript only)."""
    pytest.importorskip("onnxruntime")
    m = make("s4-tvf-s-16")
    cfg = load_model_config(named_configs()["s4-tvf-s-16"])
    card = {"config": cfg.model_dump(mode="json"), "knobs": [], "sample_rate": 48000}
    files = export_model(m, tmp_path, card)
    result = json.loads(Path(files["card"]).read_text())["export"]["onnx"]
    assert "error" not in result
    assert result["max_abs_err"] <= 1e-4
    assert result["dynamic_length"]
