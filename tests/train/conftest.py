"""Shared helpers for the trainer tests: tiny model configs, synthetic sessions, one thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from rig.session import read_events
from rig.train.config import ModelConfig
from rig.train.testing import make_session, synthetic_plan
from rig.train.trainer import TrainOptions

TINY = {
    "tcn": dict(
        name="tiny-tcn",
        backbone="tcn",
        conditioning="film",
        architecture=dict(blocks=2, kernel_size=3, dilation_growth=2, channels=4),
    ),
    "tcn-tf": dict(
        name="tiny-tcn-tf",
        backbone="tcn",
        conditioning="tfilm",
        architecture=dict(blocks=2, kernel_size=3, dilation_growth=2, channels=4),
    ),
    "lstm": dict(name="tiny-lstm", backbone="lstm", conditioning="concat", architecture=dict(hidden=8)),
}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # the test machine's cores are shared


def tiny_config(kind: str = "tcn", **training) -> ModelConfig:
    data = {**TINY[kind], "training": {"lr": 0.01, "segment_s": 0.1, **training}}
    return ModelConfig.model_validate(data)


def write_config(folder: Path, cfg: ModelConfig) -> Path:
    path = folder / f"{cfg.name}.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_none=True)))
    return path


def quick_options(**kw) -> TrainOptions:
    base = dict(batch_size=4, epoch_segments=8, epoch_steps=1, max_epochs=3, progress=False, val_segments=8)
    return TrainOptions(**{**base, **kw})


def events(folder: Path, kind: str | None = None) -> list[dict]:
    found, _ = read_events(folder)
    return [e for e in found if kind is None or e["type"] == kind]


@pytest.fixture
def session(tmp_path):
    """8 train/val settings and 2 held-out test settings, one 1-second take each."""
    return make_session(tmp_path / "session", synthetic_plan(count=8, test_count=2, validation_fraction=0.25))
