"""Export a trained model for use outside rig: TorchScript, ONNX (opset 17), a model card
(JSON), and the eager weights (model.pt) that `rig render` streams with.

Both graphs are traced from the whole-sequence `forward(x (B,1,T), c (B,n))`. A traced graph
can freeze lengths the Python code computed (block counts of the 128-sample modulation), so
every export is checked against the eager model at the traced length *and* at another length;
the card says whether other lengths work (`dynamic_length`) or the graph needs exactly
`frame_samples` samples.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import cast

import numpy as np
import torch

from rig.session.atomic import write_bytes_atomic
from rig.train import checkpoint

TRACE_SAMPLES = 8192
OTHER_SAMPLES = 5000  # not a multiple of the 128-sample block: exposes frozen lengths
TOLERANCE = 1e-4  # outputs are tanh-bounded, so an absolute tolerance suffices
OPSET = 17


class ExportError(Exception):
    pass


class OnnxUnsupported(ExportError):
    """The ONNX exporter cannot express the model (an operator without an ONNX form)."""


def export_model(model: torch.nn.Module, folder: Path, card: dict, seed: int = 0) -> dict[str, str]:
    """Write model.pt, model.ts, model.onnx and model.json into `folder`; returns their paths.
    Raises ExportError when a graph does not reproduce the eager model; a model the ONNX
    exporter cannot express gets no model.onnx and the card says why."""
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    n = cast(int, model.n_controls)  # a ParametricModel's; nn.Module's __getattr__ hides its type
    trace_in = _example(TRACE_SAMPLES, n, gen)
    other_in = _example(OTHER_SAMPLES, n, gen)
    files = {
        "weights": folder / "model.pt",
        "torchscript": folder / "model.ts",
        "onnx": folder / "model.onnx",
        "card": folder / "model.json",
    }
    checkpoint.save(
        files["weights"],
        {"config": card["config"], "n_controls": n, "knobs": card["knobs"], "model": model.state_dict(), "card": card},
    )
    checks = {"torchscript": _check(_torchscript(model, trace_in, files["torchscript"]), model, trace_in, other_in)}
    try:
        checks["onnx"] = _check(_onnx(model, trace_in, files["onnx"]), model, trace_in, other_in)
    except OnnxUnsupported as exc:  # an operator without an ONNX form: TorchScript still serves
        checks["onnx"] = {"error": str(exc)}
        for stale in (files.pop("onnx"), folder / "model.onnx.tmp"):  # never leave an old or half file
            stale.unlink(missing_ok=True)
    card = {**card, "frame_samples": TRACE_SAMPLES, "export": checks}
    write_bytes_atomic(files["card"], json.dumps(card, indent=2, default=_jsonable).encode())
    return {k: str(p) for k, p in files.items()}


def _example(samples: int, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return 0.5 * torch.randn(1, 1, samples, generator=gen), torch.rand(1, n, generator=gen)


def _torchscript(model, example, path: Path):
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about frozen shapes: _check measures them
        traced = torch.jit.trace(model, example, check_trace=False)
        buf = io.BytesIO()
        torch.jit.save(traced, buf)  # deprecated in favour of torch.export, still the portable format
        write_bytes_atomic(path, buf.getvalue())
        loaded = torch.jit.load(str(path))
    return lambda x, c: loaded(x, c).numpy()


def _onnx(model, example, path: Path):
    import onnxruntime as ort

    tmp = path.with_name(path.name + ".tmp")
    dims = {0: "batch", 2: "samples"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model,
                example,
                str(tmp),
                opset_version=OPSET,
                input_names=["x", "c"],
                output_names=["y"],
                dynamic_axes={"x": dims, "c": {0: "batch"}, "y": dims},
                dynamo=False,
            )
        except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds for unsupported ops
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise OnnxUnsupported(f"ONNX export failed: {type(exc).__name__}: {first}") from None
    write_bytes_atomic(path, tmp.read_bytes())
    tmp.unlink()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda x, c: session.run(None, {"x": x.numpy(), "c": c.numpy()})[0]


@torch.no_grad()
def _check(run, model, trace_in, other_in) -> dict:
    """Max |export - eager| at the traced length (must pass) and at another length."""
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, RuntimeException

    err = _max_err(run, model, trace_in)
    if not err <= TOLERANCE:
        raise ExportError(f"export differs from the eager model by {err:.3g} (tolerance {TOLERANCE})")
    try:
        other = _max_err(run, model, other_in)
    except (RuntimeError, Fail, InvalidArgument, RuntimeException):
        # a graph with frozen shapes may refuse other lengths outright (TorchScript raises
        # RuntimeError, ONNX Runtime its own kinds: a failing Reshape is a Fail)
        other = float("inf")
    return {
        "max_abs_err": err,
        "dynamic_length": bool(other <= TOLERANCE),
        "max_abs_err_other_length": other if np.isfinite(other) else None,
    }


def _max_err(run, model, example) -> float:
    want = model(*example).numpy()
    got = run(*example)
    return float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)
