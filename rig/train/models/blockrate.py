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

from typing import NamedTuple

import torch
from torch import Tensor, nn

State = dict


class Blocks(NamedTuple):
    """One frame's block values. values (B, K, H): the value of each block the frame touches;
    prev: each block's predecessor; n0: the frame's offset inside its first block; start: with
    per-sample controls, each block's value at the previous step's control (None otherwise)."""

    values: Tensor
    prev: Tensor
    n0: int
    start: Tensor | None

    def sequence(self, frame: int, block: int, interpolate: bool) -> Tensor:
        """Per-sample (B, H, frame): held or ramped between blocks as trained; held with per-sample
        controls ramps from `start` across each block instead (the knob's part moves smoothly)."""
        if self.start is not None and not interpolate:
            return expand(self.values, self.start, self.n0, frame, block, True)
        return expand(self.values, self.prev, self.n0, frame, block, interpolate)


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
        """c: (B, n) for every pooled frame, or (B, K, n) one per pooled frame."""
        if self.pre is not None:
            pooled = self.pre(pooled)
        ctrl = c if c.dim() == 3 else c.unsqueeze(1).expand(-1, pooled.shape[1], -1)
        return self.lstm(torch.cat([pooled, ctrl], dim=-1), hc)

    def _block_controls(self, c: Tensor, n0: int, k: int) -> Tensor:
        """Per-sample controls c (B, n, F) -> (B, k, n): the value on the last sample of each block
        completed in this frame, the moment the LSTM takes that block (so a glided knob reaches
        the LSTM at the same value however the signal is cut into frames)."""
        ends = torch.arange(1, k + 1, device=c.device) * self.block - n0 - 1
        return c[..., ends].transpose(1, 2)

    def _fresh(self, feat: Tensor, c: Tensor) -> State:
        lead_in = feat.new_zeros(feat.shape[0], 1, self.in_dim)
        c0 = c[..., 0] if c.dim() == 3 else c
        out, hc = self._run(lead_in, c0, None)
        u = out[:, 0]
        neg_inf = torch.full_like(feat[:, :, 0], float("-inf"))
        st = {"n": 0, "max": neg_inf, "hc": hc, "u": u, "u_prev": u}
        if c.dim() == 3:  # per-sample controls: the control the last step took, and where its value ramps from
            st.update({"c": c0, "u_start": u})
        return st

    def _glided(self, pooled: Tensor, c: Tensor, n0: int, k: int, st: State):
        """Per-sample controls: each of the k LSTM steps taken at the control on its block's last
        sample (the chain carried on), and the same step again at the previous step's control.
        A held block value then ramps from the second to the first across its block, so a knob
        glide moves the modulation continuously while the input's own block steps stay as
        trained; with a constant control both are the same value (the held model exactly)."""
        ends = self._block_controls(c, n0, k)
        before = torch.cat([st["c"].unsqueeze(1), ends[:, :-1]], dim=1)
        if self.pre is not None:
            pooled = self.pre(pooled)
        b, hc, outs, starts = pooled.shape[0], st["hc"], [], []
        for i in range(k):  # one step at a time: the second evaluation needs each step's state
            p = pooled[:, i : i + 1]
            both = torch.cat([torch.cat([p, ends[:, i : i + 1]], -1), torch.cat([p, before[:, i : i + 1]], -1)])
            out, (h, cell) = self.lstm(both, (hc[0].repeat(1, 2, 1), hc[1].repeat(1, 2, 1)))
            outs.append(out[:b])
            starts.append(out[b:])
            hc = (h[:, :b], cell[:, :b])
        return torch.cat(outs, dim=1), torch.cat(starts, dim=1), hc, ends[:, -1]

    def step(self, feat: Tensor, c: Tensor, st: State | None) -> tuple[Blocks, State]:
        """feat (B, D, F), controls c (B, n) or per sample (B, n, F) -> the frame's block values
        (see Blocks) and the new state."""
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
        new: State = {"n": total % self.block, "max": pooled[:, k]}
        start = None
        if c.dim() == 3:
            start = st["u_start"].unsqueeze(1)
            new.update({"c": st["c"], "u_start": st["u_start"]})
            if k > 0:
                out, starts, hc, new["c"] = self._glided(pooled[:, :k], c, n0, k, st)
                values, start = torch.cat([values, out], dim=1), torch.cat([start, starts], dim=1)
                new["u_start"] = start[:, -1]
        elif k > 0:  # always true for a whole file of at least one block
            out, hc = self._run(pooled[:, :k], c, hc)
            values = torch.cat([values, out], dim=1)
        prev = torch.cat([st["u_prev"].unsqueeze(1), values[:, :-1]], dim=1)
        new.update({"hc": hc, "u": values[:, -1], "u_prev": prev[:, -1]})
        return Blocks(values, prev, n0, start), new


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
