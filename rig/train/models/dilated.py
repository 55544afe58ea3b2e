"""A dilated Conv1d whose input gradient is a plain forward convolution.

On a CPU, oneDNN's backward-data pass for dilated 1-D convolutions is several times slower than
the forward pass (measured on tcn-*-45 at 8 x 14047 samples: ~90 ms vs ~20 ms on one thread),
and it is most of a TCN training step. The input gradient of a valid convolution is the
convolution of the zero-padded output gradient with the flipped, transposed kernel: same
maths, the fast kernel. The weight gradient keeps ATen's own routine.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class _DilatedConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, dilation: int) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.dilation, ctx.has_bias = dilation, bias is not None
        return F.conv1d(x, weight, bias, dilation=dilation)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        d, grad = ctx.dilation, grad.contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            span = (weight.shape[-1] - 1) * d
            grad_x = F.conv1d(F.pad(grad, (span, span)), weight.flip(-1).transpose(0, 1), dilation=d)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            _, grad_w, grad_b = torch.ops.aten.convolution_backward(
                grad,
                x,
                weight,
                [weight.shape[0]] if ctx.has_bias else None,
                [1],
                [0],
                [d],
                False,
                [0],
                1,
                [False, ctx.needs_input_grad[1], ctx.needs_input_grad[2]],
            )
        return grad_x, grad_w, grad_b, None


def _taps_matmul(x: Tensor, weight: Tensor, bias: Tensor | None, d: int) -> Tensor:
    """One voice: gather the kernel taps as a strided view and do one matrix product. For a
    single stream of a few hundred samples ATen picks its slow dilated kernel (~180 us a layer
    on tcn-*-45 at 512 samples); this is a copy and a GEMM."""
    out_ch, in_ch, k = weight.shape
    x = x.contiguous()
    frame = x.shape[-1] - (k - 1) * d
    cols = x.as_strided((x.shape[0], in_ch, k, frame), (x.stride(0), x.stride(1), d, 1))
    y = torch.matmul(weight.reshape(out_ch, in_ch * k), cols.reshape(x.shape[0], in_ch * k, frame))
    return y if bias is None else y + bias.view(-1, 1)


def dilated_conv(x: Tensor, conv: nn.Conv1d) -> Tensor:
    """`conv(x)` for an unpadded, ungrouped, stride-1 Conv1d. On the CPU: the faster backward
    when a gradient will be taken, a GEMM for one streamed voice; the plain op otherwise, on
    other devices and when traced."""
    d = conv.dilation[0]
    if x.device.type != "cpu" or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return F.conv1d(x, conv.weight, conv.bias, dilation=d)  # GPU kernels (and autocast) as they are
    if torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad):
        return _DilatedConv.apply(x, conv.weight, conv.bias, d)
    if x.shape[0] == 1:
        return _taps_matmul(x, conv.weight, conv.bias, d)
    return F.conv1d(x, conv.weight, conv.bias, dilation=d)
