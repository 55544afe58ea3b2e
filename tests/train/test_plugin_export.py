"""Models taken to plug-ins: `.nam` snapshots read back by the neural-amp-modeler package's own
loader, Proteus JSON read by an independent reader written from the format, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rig.cli.main import main
from rig.train.config import load_model_config, named_configs
from rig.train.export import export_model
from rig.train.models import build_model
from rig.train.render import controls

KNOBS = [{"name": "gain", "min": 0.0, "max": 10.0}, {"name": "tone", "min": 0.0, "max": 10.0}]
RATE = 48000


def exported(tmp_path: Path, name: str, n_knobs: int = 2, knobs=KNOBS, **card) -> tuple[torch.nn.Module, Path]:
    """A model of a shipped config with weights spread wide (a strongly nonlinear LSTM, unlike a
    fresh init), exported like the trainer does."""
    cfg = load_model_config(named_configs()[name])
    torch.manual_seed(0)
    model = build_model(cfg, n_knobs).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.4 * torch.randn_like(p))
    info = {
        "config": cfg.model_dump(mode="json"),
        "knobs": knobs[:n_knobs],
        "sample_rate": RATE,
        "device": "Sim amp",
        "levels_dbu": {"send": 4.0, "return": 10.5},
        "metrics": {"test": {"esr": 0.031}},
        **card,
    }
    folder = tmp_path / name / "export"
    export_model(model, folder, info)
    return model, folder


def probe_signal(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    sweep = np.sin(2 * np.pi * (80 + 400 * t) * t) * np.linspace(0.05, 1.5, t.size)  # quiet to driven
    noise = 0.2 * np.random.default_rng(1).standard_normal(t.size)
    return (sweep + noise).astype(np.float32)


def ours(model, values: dict, x: np.ndarray, knobs=KNOBS) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)[None, None], controls(values, knobs))[0, 0].numpy()


def test_nam_snapshot_round_trips_through_the_nam_package(tmp_path, capsys):
    nam_models = pytest.importorskip("nam.models")
    model, folder = exported(tmp_path, "lstm-c-32-nam")
    assert main(["export", "--nam", "--set", "gain=6,tone=4", "--gear-type", "amp", str(folder)]) == 0
    path = folder / "nam" / "lstm-c-32-nam_gain6_tone4.nam"
    assert f"wrote {path}" in capsys.readouterr().out
    doc = json.loads(path.read_text())
    x = probe_signal(10.0)
    with torch.no_grad():
        theirs = nam_models.init_from_nam(doc).eval()(torch.from_numpy(x)).numpy()
    want = ours(model, {"gain": 6.0, "tone": 4.0}, x)
    assert np.abs(want).max() > 0.5  # a loud, nonlinear output: the comparison means something
    np.testing.assert_allclose(theirs, want, atol=1e-4)
    meta = doc["metadata"]
    assert (doc["architecture"], doc["sample_rate"], doc["version"]) == ("LSTM", 48000.0, "0.5.4")
    assert meta["gear_type"] == "amp"
    assert meta["input_level_dbu"] == 4.0
    assert meta["output_level_dbu"] == 10.5
    assert meta["rig"]["knobs"] == {"gain": 6.0, "tone": 4.0}
    assert meta["training"]["validation_esr"] == 0.031
    assert meta["name"] == "Sim amp gain=6 tone=4"


def test_nam_sweep_writes_a_pack_with_the_knobs_in_metadata_and_name(tmp_path):
    nam_models = pytest.importorskip("nam.models")
    model, _ = exported(tmp_path / "session" / "train", "lstm-c-32-nam")  # as a session holds it
    out = tmp_path / "pack"
    assert (
        main(
            [
                "export",
                "--nam",
                "--set",
                "tone=2",
                "--sweep",
                "gain=0:10:3",
                "--out",
                str(out),
                str(tmp_path / "session"),
                "--model",
                "lstm-c-32-nam",
            ]
        )
        == 0
    )
    files = sorted(out.glob("*.nam"))
    assert [f.name for f in files] == [f"lstm-c-32-nam_gain{g}_tone2.nam" for g in (0, 10, 5)]
    x = probe_signal(0.3)
    outputs = []
    for f in files:
        doc = json.loads(f.read_text())
        values = doc["metadata"]["rig"]["knobs"]
        with torch.no_grad():
            got = nam_models.init_from_nam(doc).eval()(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(got, ours(model, values, x), atol=1e-4)
        outputs.append(got)
    assert np.abs(outputs[0] - outputs[1]).max() > 1e-2  # the knob really is frozen in


@pytest.mark.parametrize(
    ("name", "why"),
    [("lstm-c-32", "lstm/concat (tanh head)"), ("tcn-f-45-s-16", "is tcn"), ("lstm-tvc-32", "lstm/tvcond")],
)
def test_nam_refuses_models_without_an_exact_nam_form(tmp_path, capsys, name, why):
    _, folder = exported(tmp_path, name)
    assert main(["export", "--nam", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert why in err
    assert "models/lstm-c-32-nam.yaml" in err
    assert not (folder / "nam").exists() or not any((folder / "nam").iterdir())


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--sweep", "gain=0:10"], "name=start:stop:count"),
        (["--sweep", "gain=0:20:3"], "outside the dial range"),
        (["--sweep", "drive=0:1:2"], "unknown knob"),
        (["--sweep", "gain=0:10:2", "--sweep", "gain=1:2:2"], "swept twice"),
        (["--set", "gain"], "not name=value"),
    ],
)
def test_nam_bad_settings_are_one_line(tmp_path, capsys, args, hint):
    _, folder = exported(tmp_path, "lstm-c-32-nam")
    assert main(["export", "--nam", *args, str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert hint in err


# --- Proteus -------------------------------------------------------------------------------


def read_proteus(doc: dict):
    """An LSTM player written from the RTNeural/Proteus layout (not from our writer): per sample,
    gates = W_ih [x, knobs] + W_hh h + b_ih + b_hh in the order i, f, g, o; y = lin(h) + x."""
    md, sd = doc["model_data"], doc["state_dict"]
    assert (md["unit_type"], md["num_layers"], md["output_size"], md["skip"]) == ("LSTM", 1, 1, 1)
    w_ih, w_hh = np.array(sd["rec.weight_ih_l0"]), np.array(sd["rec.weight_hh_l0"])
    b = np.array(sd["rec.bias_ih_l0"]) + np.array(sd["rec.bias_hh_l0"])
    lin_w, lin_b = np.array(sd["lin.weight"]).reshape(-1), np.array(sd["lin.bias"]).reshape(-1)[0]
    hidden = md["hidden_size"]
    assert w_ih.shape == (4 * hidden, md["input_size"])
    assert w_hh.shape == (4 * hidden, hidden)

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    def play(x: np.ndarray, knobs: list[float]) -> np.ndarray:
        h, c, out = np.zeros(hidden), np.zeros(hidden), np.empty(len(x))
        for n, s in enumerate(x.astype(np.float64)):
            z = w_ih @ np.array([s, *knobs]) + w_hh @ h + b
            i, f, g, o = (
                sigmoid(z[:hidden]),
                sigmoid(z[hidden : 2 * hidden]),
                np.tanh(z[2 * hidden : 3 * hidden]),
                sigmoid(z[3 * hidden :]),
            )
            c = f * c + i * g
            h = o * np.tanh(c)
            out[n] = lin_w @ h + lin_b + s
        return out

    return play


@pytest.mark.parametrize("n_knobs", [1, 2])
def test_proteus_json_played_by_an_independent_reader(tmp_path, n_knobs):
    model, folder = exported(tmp_path, "lstm-c-40-proteus", n_knobs)
    out = tmp_path / "proteus" / "fuzz.json"
    assert main(["export", "--proteus", "--out", str(out), str(folder)]) == 0
    doc = json.loads(out.read_text())
    assert doc["model_data"]["input_size"] == 1 + n_knobs
    assert doc["model_data"]["hidden_size"] == 40
    x = probe_signal(0.1)
    values = {"gain": 7.0, "tone": 2.5}
    want = ours(model, {k["name"]: values[k["name"]] for k in KNOBS[:n_knobs]}, x, KNOBS[:n_knobs])
    got = read_proteus(doc)(x, [values[k["name"]] / 10.0 for k in KNOBS[:n_knobs]])  # Proteus knobs are 0..1
    assert np.abs(want - x).max() > 0.2  # the LSTM part is not negligible next to the skip
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "n_knobs", "hint"),
    [
        ("lstm-c-32-nam", 2, "lstm-c-40-proteus"),  # no input skip
        ("lstm-c-40-proteus", 3, "at most 2 knobs"),
    ],
)
def test_proteus_refusals_are_one_line(tmp_path, capsys, name, n_knobs, hint):
    _, folder = exported(tmp_path, name, n_knobs, knobs=[*KNOBS, {"name": "mid", "min": 0.0, "max": 10.0}])
    assert main(["export", "--proteus", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert hint in err
