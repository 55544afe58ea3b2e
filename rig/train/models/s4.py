"""S4 backbone with diagonal state (S4D, seed 001 fig. 5a/b): per block Linear over channels ->
tanh -> S4D -> modulation -> tanh, plus a depthwise 1x1 residual; Linear in/out and tanh.

S4D: per channel h, N complex modes lambda_n = exp(dt*A_n) (zero-order hold) driven by the input.
Training uses the convolution form (kernel K[l] = 2 Re sum_n C'_n lambda_n^l, FFT convolution);
streaming carries the modes' state between frames, which is the recurrent form applied a frame
at a time: y = K[:F] * u + 2 Re sum_n C'_n lambda_n^(j+1) s_n, s <- lambda^F s + sum u lambda^(F-1-j).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rig.train.models.base import ParametricModel
from rig.train.models.conditioning import ConvConditioning


class S4D(nn.Module):
    def __init__(self, channels: int, state_dim: int, dt_min: float = 1e-3, dt_max: float = 1e-1):
        super().__init__()
        h, n = channels, state_dim
        self.log_dt = nn.Parameter(torch.rand(h) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.c = nn.Parameter(torch.randn(h, n, 2) * math.sqrt(0.5))  # complex normal, unit variance
        self.log_a_re = nn.Parameter(torch.full((h, n), math.log(0.5)))  # S4D-Lin init
        self.a_im = nn.Parameter(math.pi * torch.arange(n, dtype=torch.float32).expand(h, n).clone())
        self.d = nn.Parameter(torch.randn(h))

    def _modes(self) -> tuple[Tensor, Tensor]:
        a = torch.complex(-self.log_a_re.exp(), self.a_im)
        dta = a * self.log_dt.exp().unsqueeze(-1)
        return dta, torch.view_as_complex(self.c) * (dta.exp() - 1) / a

    def _tables(self, frame: int, device) -> tuple[Tensor, Tensor, Tensor]:
        """Output weights C', powers lambda^0..F (H, N, F+1) and the kernel's spectrum."""
        dta, cc = self._modes()
        powers = (dta.unsqueeze(-1) * torch.arange(frame + 1, device=device)).exp()
        kernel = 2 * torch.einsum("hn,hnl->hl", cc, powers[..., :frame]).real
        return cc, powers, torch.fft.rfft(kernel, 2 * frame)

    def _cached_tables(self, frame: int, device) -> tuple[Tensor, Tensor, Tensor]:
        # Streaming inference recomputes identical tables every frame; reuse them while the
        # parameters are untouched (their version counters change on any in-place update).
        if self.training or torch.is_grad_enabled() or torch.jit.is_tracing():
            return self._tables(frame, device)
        key = (frame, str(device), tuple(p._version for p in self.parameters()))
        if getattr(self, "_cache_key", None) != key:
            self._cache_key, self._cache = key, self._tables(frame, device)
        return self._cache

    def forward(self, u: Tensor, s: Tensor | None, keep_state: bool) -> tuple[Tensor, Tensor | None]:
        """u (B, H, F); s (B, H, N) complex mode state after the previous sample, None for zeros."""
        frame = u.shape[-1]
        cc, powers, kernel_f = self._cached_tables(frame, u.device)
        n_fft = 2 * frame
        y = torch.fft.irfft(torch.fft.rfft(u, n_fft) * kernel_f, n_fft)[..., :frame]
        y = y + self.d.unsqueeze(-1) * u
        if s is not None:
            y = y + 2 * torch.einsum("bhn,hnf->bhf", s * cc, powers[..., 1:]).real
        if not keep_state:
            return y, None
        s_new = torch.einsum("bhf,hnf->bhn", u.to(powers.dtype), powers[..., :frame].flip(-1))
        if s is not None:
            s_new = s_new + s * powers[..., frame]
        return y, s_new


class S4Block(nn.Module):
    def __init__(self, channels: int, state_dim: int):
        super().__init__()
        self.linear = nn.Linear(channels, channels)
        self.s4 = S4D(channels, state_dim)
        self.res = nn.Conv1d(channels, channels, 1, groups=channels, bias=False)

    def forward(self, x: Tensor, mod: nn.Module, ctx: dict, mst, s, keep_state: bool):
        h = self.linear(x.transpose(1, 2)).transpose(1, 2).tanh()
        h, s = self.s4(h, s, keep_state)
        h, mst = mod(h, ctx, mst)
        return h.tanh() + self.res(x), mst, s


class S4(ParametricModel):
    def __init__(self, n_controls: int, conditioning: str, blocks: int = 4, state_dim: int = 4,
                 channels: int = 16, block_size: int = 128, interpolate: bool = False, tv_hidden: int = 32):
        super().__init__(n_controls)
        self.expand = nn.Linear(1, channels)
        self.blocks = nn.ModuleList(S4Block(channels, state_dim) for _ in range(blocks))
        self.cond = ConvConditioning(conditioning, n_controls, channels, blocks, block_size, interpolate, tv_hidden)
        self.contract = nn.Linear(channels, 1)

    def init_state(self, batch: int) -> dict:
        n = len(self.blocks)
        return {"s4": [None] * n, "mod": [None] * n, "tv": None}

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        # The whole-file pass never needs the final mode state: skip computing it.
        return self._run(x, c, self.init_state(x.shape[0]), keep_state=False)[0]

    def forward_stream(self, x: Tensor, c: Tensor, state: dict) -> tuple[Tensor, dict]:
        return self._run(x, c, state, keep_state=True)

    def _run(self, x: Tensor, c: Tensor, state: dict, keep_state: bool):
        ctx, tv = self.cond.context(x, c, state["tv"])
        h = self.expand(x.transpose(1, 2)).transpose(1, 2)
        s4s, mods = [], []
        for block, mod, mst, s in zip(self.blocks, self.cond.mods, state["mod"], state["s4"]):
            h, mst, s = block(h, mod, ctx, mst, s, keep_state)
            s4s.append(s)
            mods.append(mst)
        y = self.contract(h.transpose(1, 2)).transpose(1, 2).tanh()
        return y, {"s4": s4s, "mod": mods, "tv": tv}
