"""Model configurations (`models/*.yaml`): which backbone, which conditioning, its size, and the
training scheme the papers used for it (Comunità et al. 2025, table 5). Unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rig.errors import UserError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

Backbone = Literal["lstm", "tcn", "s4"]
Conditioning = Literal["concat", "tvcond", "film", "tfilm", "ttfilm", "tvfilm"]

_ALLOWED = {
    "lstm": {"concat", "tvcond"},
    "tcn": {"film", "tfilm", "ttfilm", "tvfilm"},
    "s4": {"film", "tfilm", "ttfilm", "tvfilm"},
}
_NEEDS = {
    "lstm": {"hidden"},
    "tcn": {"blocks", "kernel_size", "dilation_growth", "channels"},
    "s4": {"blocks", "state_dim", "channels"},
}
_OPTIONAL = {"lstm": {"final_tanh", "skip"}, "tcn": {"exact_crop"}, "s4": set()}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Architecture(Strict):
    """Size of the backbone; which fields apply depends on `backbone` (checked below)."""

    hidden: int | None = Field(None, ge=1, le=1024, description="LSTM hidden size")
    blocks: int | None = Field(None, ge=1, le=32, description="TCN/S4 residual blocks")
    kernel_size: int | None = Field(None, ge=2, le=64, description="TCN kernel size")
    dilation_growth: int | None = Field(None, ge=1, le=16, description="TCN dilation of block n = growth**n")
    channels: int | None = Field(None, ge=1, le=256, description="TCN/S4 channels")
    state_dim: int | None = Field(None, ge=1, le=256, description="S4D complex modes per channel")
    exact_crop: bool | None = Field(
        None, description="TCN: residual aligned to the same sample; the reference adds it one sample late"
    )
    final_tanh: bool | None = Field(
        None, description="LSTM: tanh after the Linear head (default true); false maps exactly to NAM's LSTM"
    )
    skip: bool | None = Field(None, description="LSTM: add the input to the output (the layout Proteus plays)")


class Conditioner(Strict):
    block_size: int = Field(128, ge=1, le=8192, description="samples per modulation step")
    interpolate: bool = Field(False, description="ramp modulation between blocks instead of holding it")
    tv_hidden: int = Field(32, ge=1, le=256, description="TVFiLM controller LSTM size")
    tvcond_channels: int = Field(16, ge=1, le=256, description="TVCond controller LSTM size")


class LossWeights(Strict):
    l1: float = Field(10.0, ge=0)
    mrstft: float = Field(1.0, ge=0)
    esr: float = Field(0.0, ge=0, description="error-to-signal ratio over the batch: the metric the test reports")


class Training(Strict):
    lr: float = Field(gt=0, le=1.0)
    loss: LossWeights = Field(default_factory=LossWeights)
    segment_s: float = Field(3.0, gt=0, le=60)
    tbptt_samples: int | None = Field(None, ge=64, description="LSTM: backprop every N samples")
    grad_clip_norm: float = Field(10.0, gt=0)
    schedule: Literal["plateau", "cosine"] = Field(
        "plateau",
        description="plateau: halve the LR after plateau_patience epochs without progress; "
        "cosine: warm-up, then cosine decay over the training budget (rig/train/schedule.py)",
    )
    warmup_steps: int = Field(0, ge=0, description="cosine: steps of linear LR warm-up")
    final_lr_fraction: float = Field(
        0.02, ge=0, le=1, description="cosine: LR at the budget's end, as a fraction of lr"
    )
    plateau_patience: int = Field(20, ge=1, description="epochs before halving the LR")
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    early_stop_patience: int = Field(
        50, ge=1, description="plateau: epochs without a better val loss before stopping (cosine runs to the budget)"
    )


class ModelConfig(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    backbone: Backbone
    conditioning: Conditioning
    architecture: Architecture
    conditioner: Conditioner = Field(default_factory=Conditioner)
    training: Training

    @model_validator(mode="after")
    def _check(self) -> "ModelConfig":
        if self.conditioning not in _ALLOWED[self.backbone]:
            allowed = ", ".join(sorted(_ALLOWED[self.backbone]))
            raise ValueError(
                f"conditioning: {self.conditioning} is not available for {self.backbone}; use one of {allowed}"
            )
        given = {k for k, v in self.architecture.model_dump().items() if v is not None}
        for key in sorted(_NEEDS[self.backbone] - given):
            raise ValueError(f"architecture.{key}: required for a {self.backbone} backbone; add it")
        for key in sorted(given - _NEEDS[self.backbone] - _OPTIONAL[self.backbone]):
            raise ValueError(f"architecture.{key}: not used by a {self.backbone} backbone; remove it")
        return self


def load_model_config(path: str | Path) -> ModelConfig:
    path = Path(path)
    data = _read_yaml(path)
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        raise UserError(_describe(path, exc)) from None


def named_configs() -> dict[str, Path]:
    """The shipped configurations in models/, by name (file stem)."""
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.yaml"))}


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(
            f"model config {path} not found; use one of the files in models/ (e.g. models/tcn-f-45-s-16.yaml)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}; check the file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}{where}: not valid YAML; fix the syntax") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a model config must be a YAML mapping with name, backbone, conditioning, ...")
    return data


def _describe(path: Path, exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling"
    elif err["type"] == "missing":
        msg = "required field is missing; add it"
    elif err["type"] != "value_error" and "input" in err:
        msg = f"{msg} (got {repr(err['input'])[:60]})"
    return f"{path}: {field}: {msg}" if field else f"{path}: {msg}"
