"""Parametric black-box models of Comunità et al. 2025 and NablAFx (LSTM, TCN, S4D with Concat, TVCond, FiLM,
TFiLM, TTFiLM, TVFiLM). `build_model(cfg, n_controls)` is the entry point."""

from __future__ import annotations

from rig.train.config import ModelConfig
from rig.train.models.base import ParametricModel, detach_state
from rig.train.models.lstm import LSTMModel
from rig.train.models.s4 import S4
from rig.train.models.tcn import TCN

__all__ = ["ParametricModel", "build_model", "detach_state"]


def build_model(cfg: ModelConfig, n_controls: int) -> ParametricModel:
    if n_controls < 0:
        raise ValueError("n_controls must be >= 0")
    a, k = cfg.architecture, cfg.conditioner
    # ModelConfig's validator rejects a config without the sizes its backbone needs.
    if cfg.backbone == "lstm":
        assert a.hidden is not None
        return LSTMModel(
            n_controls,
            cfg.conditioning,
            hidden=a.hidden,
            block_size=k.block_size,
            interpolate=k.interpolate,
            tvcond_channels=k.tvcond_channels,
            final_tanh=a.final_tanh is not False,
            skip=bool(a.skip),
        )
    if cfg.backbone == "tcn":
        assert a.blocks is not None
        assert a.kernel_size is not None
        assert a.dilation_growth is not None
        assert a.channels is not None
        return TCN(
            n_controls,
            cfg.conditioning,
            blocks=a.blocks,
            kernel_size=a.kernel_size,
            dilation_growth=a.dilation_growth,
            channels=a.channels,
            exact_crop=bool(a.exact_crop),
            block_size=k.block_size,
            interpolate=k.interpolate,
            tv_hidden=k.tv_hidden,
        )
    assert a.blocks is not None
    assert a.state_dim is not None
    assert a.channels is not None
    return S4(
        n_controls,
        cfg.conditioning,
        blocks=a.blocks,
        state_dim=a.state_dim,
        channels=a.channels,
        block_size=k.block_size,
        interpolate=k.interpolate,
        tv_hidden=k.tv_hidden,
    )
