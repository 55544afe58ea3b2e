"""Which trained models map exactly onto a plug-in's LSTM, and the LSTM weights they map to.

An LSTM with Concat conditioning sees [x, c1..cn] at every sample; with the knobs held the
control columns of the input weights times c are a constant, so they fold into the bias and
leave a single-input LSTM. TVCond, and every TCN/S4 family, have no such exact form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import torch

from rig.errors import UserError
from rig.train.models.lstm import LSTMModel


@dataclass
class LSTMWeights:
    """One LSTM layer (PyTorch gate order i, f, g, o) and its Linear head, as float64 arrays."""

    w_ih: np.ndarray  # (4H, inputs)
    w_hh: np.ndarray  # (4H, H)
    bias: np.ndarray  # (4H,) = b_ih + b_hh
    head_w: np.ndarray  # (H,)
    head_b: float

    @property
    def hidden(self) -> int:
        return self.w_hh.shape[1]


def family(model: torch.nn.Module) -> str:
    """A short name of the model's family for messages, e.g. 'lstm/concat (tanh head)'."""
    if isinstance(model, LSTMModel):
        cond = "tvcond" if model.tv is not None else "concat"
        head = "tanh head" if model.final_tanh else "linear head"
        return f"lstm/{cond} ({head}{', input skip' if model.skip else ''})"
    return type(model).__name__.lower()


def require_plain_lstm(model: torch.nn.Module, target: str, skip: bool) -> LSTMModel:
    """The model if it is an LSTM-Concat with a linear head and the given skip; else one clear
    UserError naming what maps to `target` and which shipped config to train instead."""
    wanted = "lstm-c-40-proteus" if skip else "lstm-c-32-nam"
    ok = isinstance(model, LSTMModel) and model.tv is None and not model.final_tanh and model.skip == skip
    if not ok:
        layout = "LSTM -> Linear + input" if skip else "LSTM -> Linear"
        raise UserError(
            f"{target} plays only an LSTM with Concat conditioning and a plain Linear head "
            f"({layout}); this model is {family(model)}; train models/{wanted}.yaml for it"
        )
    return cast(LSTMModel, model)  # `ok` checked the isinstance


def lstm_weights(model: LSTMModel, controls: torch.Tensor | None = None) -> LSTMWeights:
    """The model's LSTM and head; with `controls` (n,) the knob inputs fold into the bias."""
    lstm = model.lstm
    # nn.LSTM registers its weights by name at run time: mypy sees Tensor | Module.
    w_ih = cast(torch.Tensor, lstm.weight_ih_l0).detach().double()
    bias = (cast(torch.Tensor, lstm.bias_ih_l0) + cast(torch.Tensor, lstm.bias_hh_l0)).detach().double()
    if controls is not None:
        bias = bias + w_ih[:, 1:] @ controls.double().reshape(-1)
        w_ih = w_ih[:, :1]
    return LSTMWeights(
        w_ih.numpy(),
        cast(torch.Tensor, lstm.weight_hh_l0).detach().double().numpy(),
        bias.numpy(),
        model.out.weight.detach().double().reshape(-1).numpy(),
        float(model.out.bias.item()),
    )
