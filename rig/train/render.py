"""`rig render`: run a trained model over a WAV file at chosen knob values, streaming in
blocks with state (as a plug-in would), which equals processing the whole file at once. It runs
on the same per-frame runtime as `rig play` (rig.play.runtime), so the two agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from rig.errors import UserError
from rig.plan import Knob
from rig.train import checkpoint
from rig.train.config import ModelConfig
from rig.train.models import ParametricModel, build_model


@dataclass
class Loaded:
    model: ParametricModel
    knobs: list[dict]  # [{name, min, max}] of the controls, in model order
    sample_rate: int
    card: dict  # the export's model card (empty for a training checkpoint)
    config: ModelConfig

    @property
    def name(self) -> str:
        return self.config.name


def weights_path(spec: str | Path) -> Path:
    """An export folder, its model.json or model.pt, a train/<model> folder or a checkpoint."""
    path = Path(spec)
    if path.is_dir():
        for candidate in (path / "model.pt", path / "export" / "model.pt", path / checkpoint.BEST):
            if candidate.exists():
                return candidate
        raise UserError(f"{path} holds no model.pt or best.pt; give an export folder or train/<model>")
    if path.suffix == ".json":
        path = path.with_name("model.pt")
    if not path.exists():
        raise UserError(f"model {spec} not found; give an export folder (train/<model>/export) or a .pt file")
    if path.suffix != ".pt":
        raise UserError(
            f"{spec} is not a model file; give an export folder, a train/<model> folder, model.json or a .pt checkpoint"
        )
    return path


def load_model(spec: str | Path) -> Loaded:
    state = checkpoint.load(weights_path(spec))
    cfg = ModelConfig.model_validate(state["config"])
    model = build_model(cfg, state["n_controls"])
    model.load_state_dict(state["model"])
    model.eval()
    card = state.get("card", {})
    return Loaded(model, state["knobs"], card.get("sample_rate", 48000), card, cfg)


def parse_settings(text: str, knobs: list[dict]) -> dict[str, float]:
    """'gain=6,bass=4' -> dial values of every knob; knobs not named sit mid-range."""
    by_name = {k["name"]: k for k in knobs}
    values = {k["name"]: (k["min"] + k["max"]) / 2 for k in knobs}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep:
            raise UserError(f"--set: {part!r} is not name=value; write e.g. --set gain=6,bass=4")
        if name not in by_name:
            raise UserError(f"--set: unknown knob {name!r}; this model has {', '.join(by_name)}")
        try:
            value = float(raw)
        except ValueError:
            raise UserError(f"--set: {name}={raw!r} is not a number; give a dial value") from None
        k = by_name[name]
        if not k["min"] <= value <= k["max"]:
            raise UserError(f"--set: {name}={value:g} is outside the dial range {k['min']:g}..{k['max']:g}")
        values[name] = value
    return values


def controls(values: dict[str, float], knobs: list[dict]) -> torch.Tensor:
    """Dial values as the model's 0..1 controls, normalised as the plan's knobs were."""
    return torch.tensor([[Knob(**k).normalise(values[k["name"]]) for k in knobs]], dtype=torch.float32)


def read_mono(path: Path, sample_rate: int) -> np.ndarray:
    if not Path(path).is_file():
        raise UserError(f"input {path} not found; give a WAV file")
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise UserError(f"cannot read {path} as audio ({exc}); give a WAV/FLAC file") from None
    if sr != sample_rate:
        raise UserError(f"{path} is {sr} Hz but the model runs at {sample_rate} Hz; resample the file first")
    if len(data) == 0:
        raise UserError(f"input {path} holds no samples; give a file with audio in it")
    return data.mean(axis=1)  # the models are mono: fold channels down


def check_output(path: Path) -> None:
    """Refuse, before any work, an output that soundfile could not write."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"output {path} is a folder; give a file name such as {path / 'out.wav'}")
    if path.suffix.lstrip(".").upper() not in sf.available_formats():
        raise UserError(f"output {path} has no audio extension; give a name ending in .wav or .flac")
    if not path.parent.is_dir():
        raise UserError(f"output folder {path.parent} does not exist; create it first")


def render(
    loaded: Loaded, values: dict[str, float], audio: np.ndarray, block: int = 4096, runtime: str | None = None
) -> np.ndarray:
    """`runtime` None: the model family's default, the one `rig play` uses."""
    from rig.play.runtime import Runner, default_kind, process_all

    runner = Runner(loaded.model, block, runtime or default_kind(loaded.config))
    return process_all(runner, np.asarray(audio, np.float32), controls(values, loaded.knobs)[0].numpy())


def render_file(
    model_spec: str | Path, settings: str, in_path: Path, out_path: Path, block: int = 4096, runtime: str | None = None
) -> dict:
    if block < 1:
        raise UserError(f"--block {block} must be at least 1 sample")
    check_output(out_path)
    loaded = load_model(model_spec)
    values = parse_settings(settings, loaded.knobs)
    audio = read_mono(in_path, loaded.sample_rate)
    y = render(loaded, values, audio, block, runtime)
    sf.write(out_path, y, loaded.sample_rate, subtype="FLOAT")
    return {"knobs": values, "samples": len(y), "out": str(out_path)}
