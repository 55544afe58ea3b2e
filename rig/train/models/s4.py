"""S4 backbone with diagonal state (S4D, NablAFx, Comunità et al. 2025, fig. 5a/b): per block Linear over channels ->
tanh -> S4D -> modulation -> tanh, plus a depthwise 1x1 residual; Linear in/out and tanh.

S4D: per channel h, N complex modes lambda_n = exp(dt*A_n) (zero-order hold) driven by the input.
Training uses the convolution form (kernel K[l] = 2 Re sum_n C'_n lambda_n^l, FFT convolution);
streaming carries the modes' state between frames, which is the recurrent form applied a frame
at a time: y = K[:F] * u + 2 Re sum_n C'_n lambda_n^(j+1) s_n, s <- lambda^F s + sum u lambda^(F-1-j).

Everything is computed in real arithmetic: complex quantities are (real, imaginary) pairs and
lambda^l = exp(l Re dtA) (cos, sin)(l Im dtA). The only complex tensors are the FFT spectra of
real signals. ONNX (opset 17, legacy exporter) has no FFT, so while exporting to ONNX (or when
`S4D.scan` is True) the convolution is done in chunks instead: a Toeplitz matmul inside each
chunk, the modes' state carried across chunks by a log-depth (doubling) scan. It gives the
FFT path's output to float rounding, with cost and memory linear in the length.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rig.train.models.base import ParametricModel
from rig.train.models.conditioning import ConvConditioning

Pair = tuple[Tensor, Tensor]  # (real, imaginary)

SCAN_CHUNK = 64  # samples per chunk of the export-friendly path
SCAN_STEPS = 24  # doubling steps: the scan reaches back 2**24 chunks (1e9 samples, hours of audio)


def _cmul(a: Pair, b: Pair) -> Pair:
    return a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]


class S4D(nn.Module):
    # Whole-sequence convolution: None picks the chunked scan while exporting to ONNX and the
    # FFT otherwise; True/False force one (set on an instance, e.g. to compare them).
    scan: bool | None = None

    def __init__(self, channels: int, state_dim: int, dt_min: float = 1e-3, dt_max: float = 1e-1):
        super().__init__()
        h, n = channels, state_dim
        self.log_dt = nn.Parameter(torch.rand(h) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.c = nn.Parameter(torch.randn(h, n, 2) * math.sqrt(0.5))  # complex normal (re, im), unit variance
        self.log_a_re = nn.Parameter(torch.full((h, n), math.log(0.5)))  # S4D-Lin init
        self.a_im = nn.Parameter(math.pi * torch.arange(n, dtype=torch.float32).expand(h, n).clone())
        self.d = nn.Parameter(torch.randn(h))

    def _modes(self) -> tuple[Pair, Pair]:
        """dt*A and the output weights C' = C (exp(dt*A) - 1) / A, each (H, N) as (re, im)."""
        a_re, a_im = -self.log_a_re.exp(), self.a_im
        dt = self.log_dt.exp().unsqueeze(-1)
        dta = (a_re * dt, a_im * dt)
        mag = dta[0].exp()
        e_re, e_im = mag * dta[1].cos() - 1, mag * dta[1].sin()
        norm = a_re * a_re + a_im * a_im
        q = ((e_re * a_re + e_im * a_im) / norm, (e_im * a_re - e_re * a_im) / norm)
        return dta, _cmul((self.c[..., 0], self.c[..., 1]), q)

    @staticmethod
    def _powers(dta: Pair, steps: Tensor) -> Pair:
        """lambda^steps: (H, N, len(steps)) as (re, im)."""
        re, im = dta[0].unsqueeze(-1) * steps, dta[1].unsqueeze(-1) * steps
        mag = re.exp()
        return mag * im.cos(), mag * im.sin()

    def _tables(self, frame: int, device, spectrum: bool = True):
        """Output weights C', powers lambda^0..F (H, N, F+1) and the kernel's spectrum."""
        dta, cc = self._modes()
        p = self._powers(dta, torch.arange(frame + 1, device=device))
        if not spectrum:
            return cc, p, None
        kernel = 2 * (
            torch.einsum("hn,hnl->hl", cc[0], p[0][..., :frame]) - torch.einsum("hn,hnl->hl", cc[1], p[1][..., :frame])
        )
        return cc, p, torch.fft.rfft(kernel, 2 * frame)

    def _cached_tables(self, frame: int, device):
        # Streaming inference recomputes identical tables every frame; reuse them while the
        # parameters are untouched (their version counters change on any in-place update).
        if self.training or torch.is_grad_enabled() or torch.jit.is_tracing():
            return self._tables(frame, device)
        key = (frame, str(device), tuple(p._version for p in self.parameters()))
        if getattr(self, "_cache_key", None) != key:
            self._cache_key, self._cache = key, self._tables(frame, device)
        return self._cache

    def _use_scan(self) -> bool:
        return torch.onnx.is_in_onnx_export() if self.scan is None else self.scan

    def _scan_conv(self, u: Tensor) -> Tensor:
        """K * u without an FFT: chunks of L samples, a Toeplitz matmul inside each, the modes'
        state after each chunk from a doubling scan over the chunks (lambda^L per chunk).
        Complex values are stacked (re, im) on a leading axis to keep the exported graph small."""
        b, h, t = u.shape
        L = SCAN_CHUNK
        dta, cc = self._modes()
        p_re, p_im = self._powers(dta, torch.arange(L + 1, device=u.device))  # (H, N, L+1)
        kernel = 2 * (
            torch.einsum("hn,hnl->hl", cc[0], p_re[..., :L]) - torch.einsum("hn,hnl->hl", cc[1], p_im[..., :L])
        )
        lag = torch.arange(L, device=u.device)
        lag = lag.unsqueeze(1) - lag  # (L, L): t - j
        toeplitz = kernel[:, lag.clamp(min=0)] * (lag >= 0).to(u.dtype)  # (H, L, L)
        # Zero-pad to whole chunks. Written as a concatenation and a slice, which keep H static
        # in the ONNX graph (a Pad loses it, and FiLM's BatchNorm needs it).
        zeros = torch.zeros_like(u[..., :1]) * torch.zeros(L, dtype=u.dtype, device=u.device)
        up = torch.cat([u, zeros], dim=-1)[..., : t + (-t) % L]
        uc = up.reshape(b, h, -1, L)  # (B, H, M, L)
        y = torch.einsum("bhmj,htj->bhmt", uc, toeplitz)
        # State after each chunk from its own samples: x_m = sum_j lambda^(L-1-j) u_mj, (2, B, H, N, M).
        x = torch.einsum("bhmj,ihnj->ibhnm", uc, torch.stack([p_re[..., :L], p_im[..., :L]]).flip(-1))
        # Inclusive scan S_m = sum_{i<=m} lambda^(L(m-i)) x_i by doubling: after step k every S_m
        # holds the last 2^(k+1) chunks; steps past the length add zeros. Step k multiplies by
        # lambda^(L 2^k), applied as the real 2x2 matrix [[re, -im], [im, re]].
        w_re, w_im = self._powers(dta, torch.tensor([float(L << k) for k in range(SCAN_STEPS)], device=u.device))
        rot = torch.stack([torch.stack([w_re, -w_im]), torch.stack([w_im, w_re])])  # (2, 2, H, N, K)
        rot = rot.permute(4, 0, 1, 2, 3).unsqueeze(3).unsqueeze(-1)  # (K, 2, 2, 1, H, N, 1)
        zero = torch.zeros_like(x)
        for k in range(SCAN_STEPS):
            s = 1 << k
            shifted = torch.cat([zero[..., :s], x[..., :-s]], dim=-1)  # slices only: no pad by s
            x = x + (rot[k] * shifted.unsqueeze(0)).sum(1)
        # The state entering chunk m is S_(m-1); its response in chunk m is
        # 2 Re C' lambda^(j+1) S = sum_i S_i G_i with G = 2 (Re, -Im)(C' lambda^(j+1)).
        g = _cmul((cc[0].unsqueeze(-1), cc[1].unsqueeze(-1)), (p_re[..., 1:], p_im[..., 1:]))
        prev = torch.cat([zero[..., :1], x[..., :-1]], dim=-1)
        y = y + torch.einsum("ibhnm,ihnj->bhmj", prev, 2 * torch.stack([g[0], -g[1]]))
        return y.reshape_as(up)[..., :t]

    def forward(self, u: Tensor, s: Pair | None, keep_state: bool) -> tuple[Tensor, Pair | None]:
        """u (B, H, F); s (B, H, N) (re, im) mode state after the previous sample, None for zeros."""
        frame = u.shape[-1]
        if self._use_scan():
            y = self._scan_conv(u)
            if s is None and not keep_state:
                return y + self.d.unsqueeze(-1) * u, None
            cc, p, _ = self._tables(frame, u.device, spectrum=False)
        else:
            cc, p, kernel_f = self._cached_tables(frame, u.device)
            n_fft = 2 * frame
            y = torch.fft.irfft(torch.fft.rfft(u, n_fft) * kernel_f, n_fft)[..., :frame]
        y = y + self.d.unsqueeze(-1) * u
        if s is not None:
            w = _cmul(s, cc)
            y = y + 2 * (
                torch.einsum("bhn,hnf->bhf", w[0], p[0][..., 1:]) - torch.einsum("bhn,hnf->bhf", w[1], p[1][..., 1:])
            )
        if not keep_state:
            return y, None
        s_new = (
            torch.einsum("bhf,hnf->bhn", u, p[0][..., :frame].flip(-1)),
            torch.einsum("bhf,hnf->bhn", u, p[1][..., :frame].flip(-1)),
        )
        if s is not None:
            d = _cmul(s, (p[0][..., frame], p[1][..., frame]))
            s_new = (s_new[0] + d[0], s_new[1] + d[1])
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
    per_sample_controls = True  # c may be (B, n, F): a player's knob glide reaches FiLM per sample

    def __init__(
        self,
        n_controls: int,
        conditioning: str,
        blocks: int = 4,
        state_dim: int = 4,
        channels: int = 16,
        block_size: int = 128,
        interpolate: bool = False,
        tv_hidden: int = 32,
    ):
        super().__init__(n_controls)
        self.expand = nn.Linear(1, channels)
        self.blocks = nn.ModuleList(S4Block(channels, state_dim) for _ in range(blocks))
        self.cond = ConvConditioning(conditioning, n_controls, channels, blocks, block_size, interpolate, tv_hidden)
        self.contract = nn.Linear(channels, 1)

    def init_state(self, batch: int) -> dict:  # noqa: ARG002 - the ParametricModel signature; S4 state is made lazily
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
