"""The closing report: what was captured, how it checked out, how the model did, where it is."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from rig.session import read_events, read_manifest


@dataclass
class RunTally:
    ok: int = 0
    failed: list[dict] = field(default_factory=list)  # {setting_id, reasons}
    retried: int = 0
    drift_max: float | None = None


def summarise(folder: Path, tally: RunTally, total: int, drift_limit: float) -> dict:
    records = read_manifest(folder)
    takes = [r for r in records if r.get("split") != "reference"]
    snrs = [r["qc"]["snr_db"] for r in takes if isinstance(r.get("qc", {}).get("snr_db"), int | float)]
    events, _ = read_events(folder)
    return {
        "session": str(folder),
        "settings_total": total,
        "takes_stored": len(takes),
        "references_stored": len(records) - len(takes),
        "takes_this_run": tally.ok,
        "retried_this_run": tally.retried,
        "failed_this_run": tally.failed,
        "snr_db_median": round(statistics.median(snrs), 1) if snrs else None,
        "snr_db_min": round(min(snrs), 1) if snrs else None,
        "drift_esr_max": tally.drift_max,
        "drift_esr_limit": drift_limit,
        "model": _model_results(events),
    }


def _model_results(events: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for ev in events:
        if ev.get("type") == "train_test":
            out.setdefault(ev.get("model", "?"), {})["test_esr"] = ev.get("esr")
        elif ev.get("type") == "train_finished":
            slot = out.setdefault(ev.get("model", "?"), {})
            slot["best_val_loss"] = ev.get("best_val_loss")
            if ev.get("test_esr") is not None:
                slot["test_esr"] = ev.get("test_esr")
        elif ev.get("type") == "train_exported":
            out.setdefault(ev.get("model", "?"), {})["files"] = ev.get("files")
    return [{"model": name, **v} for name, v in out.items()]


def render(summary: dict) -> list[str]:
    folder = summary["session"]
    lines = [
        f"takes: {summary['takes_stored']}/{summary['settings_total']} settings stored "
        f"({summary['takes_this_run']} this run, {summary['retried_this_run']} needed a re-record, "
        f"{len(summary['failed_this_run'])} failed), {summary['references_stored']} reference takes",
    ]
    if summary["snr_db_median"] is not None:
        lines.append(f"QC: SNR median {summary['snr_db_median']} dB, lowest {summary['snr_db_min']} dB")
    if summary["drift_esr_max"] is not None:
        lines.append(
            f"drift: largest reference ESR {summary['drift_esr_max']:.4g} (alert above {summary['drift_esr_limit']:g})"
        )
    for f in summary["failed_this_run"]:
        lines.append(f"failed: setting {f['setting_id']}: {f['reasons'][-1] if f['reasons'] else '?'}")
    for m in summary["model"]:
        esr = m.get("test_esr")
        lines.append(
            f"model {m['model']}: test ESR on unseen settings "
            + (f"{esr:.4f}" if isinstance(esr, int | float) else "n/a")
        )
    lines.append(
        f"files: {folder}/takes (audio), {folder}/manifest.jsonl, {folder}/events.jsonl, "
        f"{folder}/train (models, report.md)"
    )
    return lines
