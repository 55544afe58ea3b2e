"""Per-frame model runtimes shared by `rig play` and `rig render`: eager PyTorch, TorchScript and
ONNX Runtime, each carrying the model's streaming state from one frame to the next.

A graph runtime traces `forward_stream` with the state flattened into tensors. The state's shape
must be the same after every frame: true for every family once the first frame has run, when the
frame is a multiple of the 128-sample modulation block (the block-rate controllers then restart
at a block boundary each frame). So the first frame runs eagerly and builds the state, and the
graph runs every later frame; a frame size that does not fit falls back to eager.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch.utils import _pytree as pytree

from rig.train.models import ParametricModel

KINDS = ("onnx", "torchscript", "eager")
CHECK_TOLERANCE = 1e-4
# Measured with `rig bench play` (48 kHz, 256-sample periods, one thread, under the CPU lock):
# the faster runtime per family. ONNX Runtime wins by 2-4x wherever a call is cheap (LSTM,
# TCN); for S4 (one call per period) TorchScript is ahead on two of three. Unlisted: ONNX.
DEFAULT_BY_FAMILY = {
    "lstm/concat": "onnx",
    "lstm/tvcond": "onnx",
    "tcn/film": "onnx",
    "tcn/tfilm": "onnx",
    "tcn/ttfilm": "onnx",
    "tcn/tvfilm": "onnx",
    "s4/film": "torchscript",
    "s4/tfilm": "onnx",
    "s4/tvfilm": "torchscript",
}


class NotGraphable(Exception):
    """The model's streaming state does not keep one shape at this frame size."""


def family(cfg) -> str:
    return f"{cfg.backbone}/{cfg.conditioning}"


def default_kind(cfg) -> str:
    return DEFAULT_BY_FAMILY.get(family(cfg), "onnx")


class Runner:
    """Runs `model` frame by frame from a fresh state. `kind` is what actually runs: a graph
    runtime that cannot be built or does not match the eager model becomes "eager", and `why`
    says why."""

    def __init__(self, model: ParametricModel, frame: int, kind: str = "onnx"):
        if kind not in KINDS:
            raise ValueError(f"runtime {kind!r}: use one of {', '.join(KINDS)}")
        self.model, self.frame, self.requested = model.eval(), frame, kind
        self.per_sample = bool(getattr(model, "per_sample_controls", False))  # c may be (n, frame)
        self.why = ""
        self.graph = None
        self.kind = kind
        if kind != "eager":
            try:
                self.graph = _build_graph(model, frame, kind, self.per_sample)
            except NotGraphable as exc:
                self.kind, self.why = "eager", str(exc)
        self.reset()

    def reset(self) -> None:
        self.state = self.model.init_state(1)
        self.leaves: list | None = None  # flat tensors once the first frame has run

    def warm_up(self, c: np.ndarray) -> None:
        """Run the eager and the graph path on silence, then start over from a fresh state: their
        one-time costs (allocations, kernel choice, ONNX Runtime's first run: a 37 ms period was
        measured at 256 frames) are paid here, not inside the first real-time periods."""
        silence = np.zeros(self.frame, np.float32)
        for _ in range(3):
            self.process(silence, c)
        self.reset()

    @torch.inference_mode()
    def process(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """One frame of `frame` samples (float32) at controls c in 0..1: (n,) for the frame, or
        (n, frame) per sample where the model takes that (`per_sample`)."""
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(1, 1, -1)
        c = np.asarray(c, np.float32)
        if self.per_sample and c.ndim == 1:
            c = np.repeat(c[:, None], xt.shape[-1], axis=1)  # one graph input shape for both
        ct = torch.from_numpy(np.ascontiguousarray(c)).reshape(1, *c.shape)
        if self.graph is None or self.leaves is None:
            y, self.state = self.model.forward_stream(xt, ct, self.state)
            if self.graph is not None:
                self.leaves = self.graph.leaves(self.state)
            return y.reshape(-1).numpy()
        y, self.leaves = self.graph.run(xt, ct, self.leaves)
        return y


class _Step(torch.nn.Module):
    """forward_stream with the state as flat tensors; None/int leaves are constants."""

    def __init__(self, model, spec, constants: dict[int, object], n_leaves: int):
        super().__init__()
        self.model, self.spec, self.constants, self.n_leaves = model, spec, constants, n_leaves

    def forward(self, x, c, *tensors):
        it = iter(tensors)
        leaves = [self.constants[i] if i in self.constants else next(it) for i in range(self.n_leaves)]
        y, state = self.model.forward_stream(x, c, pytree.tree_unflatten(leaves, self.spec))
        new = pytree.tree_leaves(state)  # a traced int (a block position) would be a tensor here: skip constants
        return (y, *[v for i, v in enumerate(new) if i not in self.constants])


class _Graph:
    """A compiled step: run(x, c, state tensors) -> (y as numpy, new state tensors)."""

    def __init__(self, run):
        self.run = run

    @staticmethod
    def leaves(state) -> list:
        return [v for v in pytree.tree_leaves(state) if isinstance(v, torch.Tensor)]


def _stable_state(model, frame: int, per_sample: bool):
    """Run three eager frames; the state after the first must keep its shape and constants."""
    gen = torch.Generator().manual_seed(0)
    c = (
        torch.rand(1, model.n_controls, frame, generator=gen)
        if per_sample
        else torch.rand(1, model.n_controls, generator=gen)
    )
    frames = [0.3 * torch.randn(1, 1, frame, generator=gen) for _ in range(3)]
    state, states, outs = model.init_state(1), [], []
    with torch.inference_mode():
        for x in frames:
            y, state = model.forward_stream(x, c, state)
            states.append(state)
            outs.append(y)
    specs = [pytree.tree_flatten(s) for s in states]
    consts = [{i: v for i, v in enumerate(leaves) if not isinstance(v, torch.Tensor)} for leaves, _ in specs]
    shapes = [[tuple(v.shape) for v in leaves if isinstance(v, torch.Tensor)] for leaves, _ in specs]
    if not (
        specs[0][1] == specs[1][1] == specs[2][1]
        and consts[0] == consts[1] == consts[2]
        and shapes[0] == shapes[1] == shapes[2]
    ):
        raise NotGraphable(
            f"the streaming state changes shape between {frame}-sample frames "
            "(use a multiple of the 128-sample modulation block)"
        )
    return states[0], consts[0], frames, c, outs


def _build_graph(model, frame: int, kind: str, per_sample: bool) -> _Graph:
    state1, consts, frames, c, outs = _stable_state(model, frame, per_sample)
    leaves, spec = pytree.tree_flatten(state1)
    step = _Step(model, spec, consts, len(leaves)).eval()
    tensors = [v.clone() for v in _Graph.leaves(state1)]
    example = (frames[1], c, *tensors)
    try:
        run = _torchscript(step, example) if kind == "torchscript" else _onnx(step, example, len(tensors))
    except Exception as exc:  # noqa: BLE001 - the tracers raise many kinds for what they cannot express
        raise NotGraphable(f"{kind} cannot express the streaming step ({type(exc).__name__})") from None
    graph = _Graph(run)
    try:
        y, new = graph.run(frames[1], c, tensors)
        y2, _ = graph.run(frames[2], c, new)
    except Exception as exc:  # noqa: BLE001 - a graph that cannot run its own example (any runtime's error)
        raise NotGraphable(f"the {kind} step does not run ({type(exc).__name__})") from None
    err = max(np.abs(y - outs[1].reshape(-1).numpy()).max(), np.abs(y2 - outs[2].reshape(-1).numpy()).max())
    if not err <= CHECK_TOLERANCE:
        raise NotGraphable(f"the {kind} step differs from the eager model by {err:.2g}")
    return graph


def _torchscript(step, example):
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings: _build_graph checks the result
        traced = torch.jit.freeze(torch.jit.trace(step, example, check_trace=False).eval())

    def run(x, c, leaves):
        with torch.no_grad():
            out = traced(x, c, *leaves)
        return out[0].reshape(-1).numpy(), list(out[1:])

    return run


def _onnx(step, example, n_state: int):
    import onnxruntime as ort

    names_in = ["x", "c"] + [f"s{i}" for i in range(n_state)]
    names_out = ["y"] + [f"o{i}" for i in range(n_state)]
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            step,
            example,
            buf,  # type: ignore[arg-type]  # a file object is accepted (torch's stub says path only)
            opset_version=17,
            input_names=names_in,
            output_names=names_out,
            dynamo=False,
        )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # one frame is small: threads cost more than they give
    opts.inter_op_num_threads = 1
    # No pool threads spin waiting for work between periods (they would take the CPU that the
    # other real-time threads, jackd's included, need on a 2-core machine).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])

    used = {i.name for i in session.get_inputs()}  # the exporter drops state the step never reads

    def run(x, c, leaves):
        feeds = {"x": x.numpy(), "c": c.numpy()}
        feeds.update(
            {
                f"s{i}": (v.numpy() if isinstance(v, torch.Tensor) else v)
                for i, v in enumerate(leaves)
                if f"s{i}" in used
            }
        )
        out = session.run(None, feeds)
        return out[0].reshape(-1), out[1:]

    return run


def process_all(runner: Runner, audio: np.ndarray, c: np.ndarray) -> np.ndarray:
    """A whole signal through `runner` from a fresh state, in its frames (the last one padded
    with silence, as a player's last period is)."""
    runner.reset()
    frame, n = runner.frame, len(audio)
    padded = np.zeros(-(-n // frame) * frame, np.float32)
    padded[:n] = audio
    out = [runner.process(padded[a : a + frame], c) for a in range(0, len(padded), frame)]
    return np.concatenate(out)[:n] if out else np.zeros(0, np.float32)
