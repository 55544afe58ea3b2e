"""Export round trips (TorchScript and ONNX equal the eager model), streaming render equal to
whole-file processing, and the render command's one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import soundfile as sf
import torch

from rig.cli.main import main
from rig.train.export import export_model
from rig.train.models import build_model
from rig.train.render import Loaded, controls, load_model, parse_settings, render

from .conftest import tiny_config

KNOBS = [{"name": "gain", "min": 0.0, "max": 10.0}, {"name": "tone", "min": 0.0, "max": 10.0}]


def _exported(tmp_path, kind: str):
    cfg = tiny_config(kind)
    torch.manual_seed(0)
    model = build_model(cfg, 2).eval()
    card = {"config": cfg.model_dump(mode="json"), "knobs": KNOBS, "sample_rate": 48000}
    return model, export_model(model, tmp_path / kind, card)


@pytest.mark.parametrize("kind", ["tcn", "tcn-tf", "lstm"])
def test_exports_reproduce_the_eager_model(tmp_path, kind):
    model, files = _exported(tmp_path, kind)
    x, c = 0.3 * torch.randn(2, 1, 8192), torch.rand(2, 2)  # batch 2: not the traced example
    ts = torch.jit.load(files["torchscript"])
    with torch.no_grad():
        want = model(x, c).numpy()
        np.testing.assert_allclose(ts(x, c).numpy(), want, atol=1e-5)
    onnx = ort.InferenceSession(files["onnx"], providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(onnx.run(None, {"x": x.numpy(), "c": c.numpy()})[0], want, atol=1e-4)
    card = json.loads(open(files["card"]).read())
    assert card["export"]["onnx"]["max_abs_err"] <= 1e-4
    assert card["knobs"] == KNOBS


@pytest.mark.parametrize("kind", ["tcn-tf", "lstm"])
def test_streaming_render_equals_whole_file(tmp_path, kind):
    _exported(tmp_path, kind)  # writes the folder load_model reads
    loaded = load_model(tmp_path / kind)
    audio = (0.3 * np.random.default_rng(0).standard_normal(20000)).astype(np.float32)
    values = parse_settings("gain=6,tone=4", loaded.knobs)
    streamed = render(loaded, values, audio, block=1000)  # 1000: not a multiple of the 128-sample block
    with torch.no_grad():
        whole = loaded.model(torch.from_numpy(audio)[None, None], controls(values, loaded.knobs))[0, 0].numpy()
    np.testing.assert_allclose(streamed, whole, atol=1e-5)
    assert isinstance(loaded, Loaded)
    assert loaded.sample_rate == 48000


def test_render_command_writes_the_file(tmp_path, capsys):
    _exported(tmp_path, "tcn")
    sf.write(tmp_path / "in.wav", np.zeros(4800, np.float32), 48000, subtype="FLOAT")
    assert (
        main(
            [
                "render",
                "--model",
                str(tmp_path / "tcn"),
                "--set",
                "gain=6",
                str(tmp_path / "in.wav"),
                str(tmp_path / "out.wav"),
            ]
        )
        == 0
    )
    out, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    assert sr == 48000
    assert len(out) == 4800
    assert "gain=6, tone=5" in capsys.readouterr().out  # unnamed knobs sit mid-range


@pytest.fixture(scope="module")
def render_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("render")
    _exported(folder, "tcn")
    sf.write(folder / "in.wav", np.zeros(480, np.float32), 48000)
    sf.write(folder / "in44.wav", np.zeros(441, np.float32), 44100)
    return folder


@pytest.mark.parametrize(
    ("settings", "model", "infile", "message"),
    [
        ("drive=3", "tcn", "in.wav", "unknown knob 'drive'"),
        ("gain=11", "tcn", "in.wav", "outside the dial range 0..10"),
        ("gain", "tcn", "in.wav", "is not name=value"),
        ("gain=6", "tcn", "missing.wav", "missing.wav not found"),
        ("gain=6", "nowhere", "in.wav", "model"),
        ("gain=6", "tcn", "in44.wav", "44100 Hz"),
    ],
)
def test_render_errors_are_one_line_exit_2(render_dir, capsys, settings, model, infile, message):
    argv = [
        "render",
        "--model",
        str(render_dir / model),
        "--set",
        settings,
        str(render_dir / infile),
        str(render_dir / "out.wav"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rig: error:")
    assert message in err
    assert err.count("\n") == 1


def test_render_error_from_the_real_command_has_no_traceback(render_dir):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rig",
            "render",
            "--model",
            str(render_dir / "tcn"),
            "--set",
            "drive=3",
            str(render_dir / "in.wav"),
            str(render_dir / "out.wav"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("rig: error: --set: unknown knob 'drive'")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("model", "infile", "outfile", "message"),
    [
        ("tcn", "empty.wav", "out.wav", "holds no samples"),
        ("tcn", "in.wav", "outdir", "is a folder"),
        ("tcn", "in.wav", "out", "has no audio extension"),
        ("in.wav", "in.wav", "out.wav", "is not a model file"),  # issue 16: once advised "delete it"
    ],
)
def test_render_bad_files_are_one_line_exit_2(render_dir, capsys, model, infile, outfile, message):
    sf.write(render_dir / "empty.wav", np.zeros(0, np.float32), 48000)
    (render_dir / "outdir").mkdir(exist_ok=True)
    before = (render_dir / "in.wav").read_bytes()
    argv = ["render", "--model", str(render_dir / model), str(render_dir / infile), str(render_dir / outfile)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rig: error:")
    assert message in err
    assert err.count("\n") == 1
    assert "delete" not in err
    assert (render_dir / "in.wav").read_bytes() == before
    assert not (render_dir / "out").exists()
