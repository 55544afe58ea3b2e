"""GuitarML Proteus JSON: the RTNeural "SimpleRNN" layout of Automated-GuitarAmpModelling.

`model_data` names the network; `state_dict` holds PyTorch's tensors under the names `rec.*`
(one LSTM layer) and `lin.*` (the Dense head), nested lists in PyTorch's shapes. Proteus feeds
[x, knob1, knob2] (knobs 0..1) to the LSTM, adds x to the Dense output (skip 1) and has LSTMs of
exactly 40 units for 0, 1 or 2 knobs compiled in; it runs the model at 44.1 kHz.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rig.errors import UserError
from rig.session.atomic import write_bytes_atomic

if TYPE_CHECKING:  # frozen.py pulls in torch, needed here for the annotation only
    from rig.export.frozen import LSTMWeights

PROTEUS_HIDDEN = 40
MAX_KNOBS = 2
PROTEUS_RATE = 44100


def check_fits(w: LSTMWeights, n_knobs: int) -> None:
    if n_knobs > MAX_KNOBS:
        raise UserError(
            f"Proteus plays at most {MAX_KNOBS} knobs and this model has {n_knobs}; "
            "capture with fewer sampled knobs (the rest fixed)"
        )
    if w.hidden != PROTEUS_HIDDEN:
        raise UserError(
            f"Proteus plays LSTMs of exactly {PROTEUS_HIDDEN} units and this one has {w.hidden}; "
            "train models/lstm-c-40-proteus.yaml"
        )


def proteus_document(w: LSTMWeights, knobs: list[str], sample_rate: int) -> dict:
    """`w` unfrozen: its inputs are [x, *knobs]. Our b_ih + b_hh go in whole as bias_ih with a
    zero bias_hh: Proteus sums the two, so only the sum matters."""
    hidden = w.hidden
    return {
        "model_data": {
            "model": "SimpleRNN",
            "input_size": w.w_ih.shape[1],
            "skip": 1,
            "output_size": 1,
            "unit_type": "LSTM",
            "num_layers": 1,
            "hidden_size": hidden,
            "bias_fl": True,
        },
        "state_dict": {
            "rec.weight_ih_l0": w.w_ih.tolist(),
            "rec.weight_hh_l0": w.w_hh.tolist(),
            "rec.bias_ih_l0": w.bias.tolist(),
            "rec.bias_hh_l0": [0.0] * (4 * hidden),
            "lin.weight": [w.head_w.tolist()],
            "lin.bias": [w.head_b],
        },
        "rig": {"knobs": knobs, "sample_rate": sample_rate, "note": "knob inputs are 0..1 across each dial's range"},
    }


def write_proteus(path: Path, document: dict) -> Path:
    write_bytes_atomic(path, json.dumps(document).encode())
    return path
