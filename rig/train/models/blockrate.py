"""Block-rate conditioning: pool a feature sequence by `block` samples, run an LSTM over the
pooled frames (plus the controls) and turn its per-block outputs back into a per-sample sequence.

Causality. The reference implementation modulates block j with an LSTM step that has seen the
max of block j itself, i.e. up to 127 samples of the future. Here the value used for block j
comes from blocks < j only: the LSTM first takes a silent lead-in frame (pooled zeros + controls)
whose output conditions block 0, and the pool of block j feeds the value for block j+1.

Streaming. Frames of any size are handled by keeping the running max of the unfinished block,
how many samples it already holds, the LSTM state and the last two block values. The whole-file
forward is the same code run from a fresh state, so both agree to float rounding.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

State = dict


class BlockController(nn.Module):
    """Pooled-feature LSTM. `bottleneck` projects the pooled frame first (TTFiLM's 1x1 conv)."""

    def __init__(self, in_dim: int, n_controls: int, hidden: int, block: int = 128, bottleneck: int = 0):
        super().__init__()
        self.in_dim = in_dim
        self.block = block
        self.hidden = hidden
        self.pre = nn.Linear(in_dim, bottleneck) if bottleneck else None
        self.lstm = nn.LSTM((bottleneck or in_dim) + n_controls, hidden, batch_first=True)

    def _run(self, pooled: Tensor, c: Tensor, hc: tuple[Tensor, Tensor] | None):
        if self.pre is not None:
            pooled = self.pre(pooled)
        ctrl = c.unsqueeze(1).expand(-1, pooled.shape[1], -1)
        return self.lstm(torch.cat([pooled, ctrl], dim=-1), hc)

    def _fresh(self, feat: Tensor, c: Tensor) -> State:
        lead_in = feat.new_zeros(feat.shape[0], 1, self.in_dim)
        out, hc = self._run(lead_in, c, None)
        u = out[:, 0]
        neg_inf = torch.full_like(feat[:, :, 0], float("-inf"))
        return {"n": 0, "max": neg_inf, "hc": hc, "u": u, "u_prev": u}

    def step(self, feat: Tensor, c: Tensor, st: State | None) -> tuple[Tensor, Tensor, int, State]:
        """feat (B, D, F) -> block values U (B, k+1, H) covering the frame, their predecessors
        Uprev (same shape), the frame's offset n0 inside the first block, and the new state."""
        if st is None:
            st = self._fresh(feat, c)
        n0, frame = st["n"], feat.shape[-1]
        total = n0 + frame
        k = total // self.block  # blocks completed inside this frame
        # Stand the unfinished block's running max in for its first n0 samples and pad the end
        # with -inf: one reshape then pools every block, the last (partial) one included.
        if n0 > 0:  # (a zero-width expand would export to ONNX as width 1)
            feat = torch.cat([st["max"].unsqueeze(-1).expand(-1, -1, n0), feat], dim=-1)
        ext = nn.functional.pad(feat, (0, self.block - total % self.block), value=float("-inf"))
        pooled = ext.reshape(ext.shape[0], self.in_dim, k + 1, self.block).amax(-1).transpose(1, 2)
        hc, values = st["hc"], st["u"].unsqueeze(1)
        if k > 0:  # always true for a whole file of at least one block
            out, hc = self._run(pooled[:, :k], c, hc)
            values = torch.cat([values, out], dim=1)
        run_max = pooled[:, k]
        prev = torch.cat([st["u_prev"].unsqueeze(1), values[:, :-1]], dim=1)
        new = {"n": total % self.block, "max": run_max, "hc": hc, "u": values[:, -1], "u_prev": prev[:, -1]}
        return values, prev, n0, new


def expand(values: Tensor, prev: Tensor, n0: int, frame: int, block: int, interpolate: bool) -> Tensor:
    """Block values (B, K, H) -> per-sample (B, H, frame) starting n0 samples into the first block.
    Held: constant per block (the papers). Interpolated: a causal ramp from the previous block's
    value to this block's, reaching it on the block's last sample."""
    b, k, h = values.shape
    if interpolate:
        w = torch.arange(1, block + 1, dtype=values.dtype, device=values.device) / block
        seq = prev.unsqueeze(-1) + (values - prev).unsqueeze(-1) * w  # (B, K, H, block)
        seq = seq.permute(0, 2, 1, 3).reshape(b, h, k * block)
    else:
        seq = values.transpose(1, 2).unsqueeze(-1).expand(b, h, k, block).reshape(b, h, k * block)
    return seq[..., n0 : n0 + frame]
