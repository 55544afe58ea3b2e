"""The end-of-training report: train/<model>/report.md with loss curves, the per-test-setting
ESR table in NAM's quality bands, target vs prediction on a test take (waveform and
spectrogram) and short audio examples; train/report.md gathers the models' sections."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf
import torch

from rig.train.losses import esr, quality_band

EXAMPLE_S = 5.0


def write_report(trainer, test: dict | None) -> Path:
    out = trainer.out
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"## {trainer.cfg.name}",
        "",
        f"{trainer.model.n_params()} parameters, receptive field {int(trainer.model.receptive_field)} samples; "
        f"{trainer.state.epoch} epochs of {trainer.steps_per_epoch} steps "
        f"({trainer.opts.batch_size} x {trainer.segment / trainer.pool.sample_rate:g} s segments), "
        f"best epoch {trainer.state.best_epoch}, stopped by {trainer.state.stop_reason or 'n/a'}; "
        f"{trainer.pool.takes_used} train/val takes, {trainer.state.recoveries} divergence recoveries.",
        "",
    ]
    if trainer.state.history:
        plot_curves(trainer.state.history, out / "loss_curves.png")
        lines += ["![loss curves](loss_curves.png)", ""]
    lines += esr_table(test)
    examples = getattr(trainer, "test_examples", [])
    if examples:
        take, pred = _median_example(examples)
        rate = trainer.pool.sample_rate
        plot_example(take, pred, rate, out / "test_example.png")
        wavs = write_examples(take, pred, rate, out / "examples")
        lines += [
            f"Test take {take.take_id} ({_knobs(take.knobs)}):",
            "",
            "![target vs prediction](test_example.png)",
            "",
            "Audio: " + ", ".join(f"[{p.stem}](examples/{p.name})" for p in wavs),
            "",
        ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def write_index(train_dir: Path, reports: list[Path]) -> Path:
    """train/report.md: every model's section, links rebased to train/."""
    parts = ["# Training report", ""]
    for rep in reports:
        rel = rep.parent.name
        text = rep.read_text().replace("](", f"]({rel}/")
        parts += [text, ""]
    path = train_dir / "report.md"
    path.write_text("\n".join(parts))
    return path


def esr_table(test: dict | None) -> list[str]:
    if not test:
        return ["No test takes: the plan held out no settings, so generalisation is not measured.", ""]
    rows = ["| setting | knobs | ESR | quality |", "| --- | --- | --- | --- |"]
    for r in test["per_setting"]:
        rows.append(f"| {r['setting_id']} | {_knobs(r['knobs'])} | {r['esr']:.4f} | {quality_band(r['esr'])} |")
    rows.append(f"| **mean** | | **{test['esr']:.4f}** | {quality_band(test['esr'])} |")
    return [
        f"Test on {len(test['per_setting'])} unseen settings: ESR {test['esr']:.4f}, "
        f"MAE {test['mae']:.4g}, MAPE {test['mape']:.4g}, MR-STFT {test['mrstft']:.4g}.",
        "",
        *rows,
        "",
        "Bands (NAM): < 0.01 great, < 0.035 not bad, < 0.1 may sound ok, < 0.3 probably not great.",
        "",
    ]


def _knobs(knobs: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in knobs.items())


def _median_example(examples):
    esrs = [esr(torch.from_numpy(p), torch.from_numpy(t.y[t.offset :])) for t, p in examples]
    return examples[int(np.argsort(esrs)[len(esrs) // 2])]


def plot_curves(history: list[dict], path: Path) -> None:
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax1.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    val = [(h["epoch"], h["val_loss"]) for h in history if h["val_loss"] is not None]
    if val:
        ax1.plot(*zip(*val), label="val loss")
        ax2.plot(*zip(*[(h["epoch"], h["val_esr"]) for h in history if h["val_esr"] is not None]), label="val ESR")
    ax2.plot(epochs, [h["lr"] for h in history], label="learning rate", linestyle=":")
    for ax in (ax1, ax2):
        ax.set_yscale("log")
        ax.legend()
        ax.grid(alpha=0.3)
    ax2.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_example(take, pred: np.ndarray, rate: int, path: Path) -> None:
    target = take.y[take.offset :]
    n = min(len(target), int(0.02 * rate))  # 20 ms: a few cycles, so the waveform is readable
    mid = len(target) // 2
    t = np.arange(n) / rate * 1000
    fig, axes = plt.subplots(3, 1, figsize=(9, 8))
    axes[0].plot(t, target[mid : mid + n], label="target")
    axes[0].plot(t, pred[mid : mid + n], label="prediction", linestyle="--")
    axes[0].set_xlabel("ms")
    axes[0].legend()
    for ax, signal, title in ((axes[1], target, "target"), (axes[2], pred, "prediction")):
        ax.specgram(signal[: int(EXAMPLE_S * rate)], NFFT=2048, Fs=rate, noverlap=1536, cmap="magma", vmin=-140)
        ax.set_title(f"{title} spectrogram")
        ax.set_ylabel("Hz")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_examples(take, pred: np.ndarray, rate: int, folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    n = int(EXAMPLE_S * rate)
    o = take.offset
    out = []
    for kind, signal in (("dry", take.x[o : o + n]), ("target", take.y[o : o + n]), ("prediction", pred[:n])):
        path = folder / f"{take.take_id}.{kind}.wav"
        sf.write(path, signal, rate, subtype="FLOAT")
        out.append(path)
    return out
