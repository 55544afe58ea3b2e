"""Model config files: the shipped ones load; bad ones give one line naming file, field, fix."""

from __future__ import annotations

import pytest

from rig.errors import UserError
from rig.train.config import load_model_config, named_configs

GOOD = """\
name: t
backbone: tcn
conditioning: film
architecture: {blocks: 2, kernel_size: 3, dilation_growth: 2, channels: 4}
training: {lr: 0.005}
"""


@pytest.mark.parametrize("name", sorted(named_configs()))
def test_named_configs_load(name):
    cfg = load_model_config(named_configs()[name])
    assert cfg.name == name
    assert cfg.training.segment_s == (0.25 if cfg.backbone == "tcn" else 0.5)  # CPU defaults (papers: 3.0)
    assert (cfg.training.tbptt_samples == 4800) == (cfg.backbone == "lstm")
    assert cfg.training.lr == {"tcn": 0.005, "s4": 0.01}.get(cfg.backbone, cfg.training.lr)
    assert cfg.conditioner.interpolate is False
    assert not cfg.architecture.exact_crop


def test_defaults(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(GOOD)
    cfg = load_model_config(path)
    assert cfg.conditioner.block_size == 128
    assert cfg.training.loss.l1 == 10.0
    assert cfg.training.segment_s == 3.0  # the papers' value stays the field default


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        (GOOD + "colour: red\n", "colour", "unknown key"),
        (GOOD.replace("conditioning: film", "conditioning: concat"), "conditioning", "not available for tcn"),
        (GOOD.replace("channels: 4", "channels: 0"), "architecture.channels", "greater than or equal to 1"),
        (GOOD.replace("channels: 4", "channels: four"), "architecture.channels", "integer"),
        (GOOD.replace(", channels: 4", ""), "architecture.channels", "required for a tcn backbone"),
        (GOOD.replace("channels: 4", "channels: 4, hidden: 8"), "architecture.hidden", "not used by a tcn"),
        (GOOD.replace("training: {lr: 0.005}", "training: {}"), "training.lr", "missing"),
        (GOOD.replace("backbone: tcn", "backbone: gru"), "backbone", "'lstm', 'tcn' or 's4'"),
    ],
)
def test_bad_config_is_one_line_user_error(tmp_path, text, field, hint):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        load_model_config(path)
    msg = str(err.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    assert field in msg, msg
    assert hint in msg, msg


@pytest.mark.parametrize("text", ["name: [unclosed\n", "- a list\n"])
def test_not_a_mapping_or_not_yaml(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=str(path)):
        load_model_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_model_config(tmp_path / "nope.yaml")
