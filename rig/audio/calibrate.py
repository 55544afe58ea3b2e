"""Level calibration: send a tone and a sweep at the program's peak level and report what
comes back on the loopback and return inputs, the headroom, and a suggested level."""

from __future__ import annotations

import numpy as np

from rig.audio.qc import db, rms
from rig.plan.models import Plan

TARGET_RETURN_DBFS = -6.0  # leaves room for a louder-than-expected block without clipping
CLIP_DBFS = -0.1


def test_signal(sample_rate: int, peak_dbfs: float) -> tuple[np.ndarray, int]:
    """Silence (noise floor), a 1 kHz tone, a 50 Hz-10 kHz log sweep; returns (signal, silence samples)."""
    sr = sample_rate
    silence = int(0.3 * sr)
    t = np.arange(sr) / sr
    tone = np.sin(2 * np.pi * 1000 * t)
    ts = np.arange(2 * sr) / sr
    k = np.log(10000 / 50)
    sweep = np.sin(2 * np.pi * 50 * 2 / k * (np.exp(ts / 2 * k) - 1))
    fade = np.minimum(1, np.minimum(np.arange(len(sweep)), np.arange(len(sweep))[::-1]) / (0.01 * sr))
    body = np.concatenate([tone * fade[: len(tone)], np.zeros(int(0.1 * sr)), sweep * fade])
    signal = np.concatenate([np.zeros(silence), body * 10 ** (peak_dbfs / 20), np.zeros(int(0.2 * sr))])
    return signal.astype(np.float32), silence


def calibrate(plan: Plan, iface) -> dict:
    peak = max(plan.take.peak_dbfs, 20 * np.log10(plan.take.impulses.amplitude))  # the loudest the program sends
    signal, silence = test_signal(plan.audio.sample_rate, peak)
    rec = iface.play_record(signal)
    quiet = slice(0, silence - int(0.05 * plan.audio.sample_rate))
    chans = {"send": signal, "loopback": rec.loopback, "return": rec.wet}
    report = {
        "send_peak_dbfs": round(float(peak), 2),
        "levels": {k: _levels(x, silence, len(signal)) for k, x in chans.items()},
        "noise_floor_dbfs": {k: db(rms(chans[k][quiet])) for k in ("loopback", "return")},
        "xruns": rec.status.get("xruns", 0),
    }
    for k in ("loopback", "return"):
        report["levels"][k]["headroom_db"] = round(-report["levels"][k]["peak_dbfs"], 2)
    report["suggestion"] = suggest(plan, report)
    _add_dbu(plan, report)
    return report


def _levels(x: np.ndarray, start: int, end: int) -> dict:
    return {"peak_dbfs": db(float(np.max(np.abs(x)))), "rms_dbfs": db(rms(x[start:end]))}


def suggest(plan: Plan, report: dict) -> dict:
    ret = report["levels"]["return"]["peak_dbfs"]
    loop = report["levels"]["loopback"]["peak_dbfs"]
    notes = []
    if loop >= CLIP_DBFS:
        notes.append("loopback clips: lower input 1 gain")
    elif loop < report["send_peak_dbfs"] - 20:
        notes.append("loopback is far below the send: check the cable from output 1 to input 1 and input 1 gain")
    if ret <= -100:
        notes.append("no return signal: check the device is on and cabled to input 2")
        return {"take.peak_dbfs": plan.take.peak_dbfs, "change_db": 0.0, "notes": notes}
    change = TARGET_RETURN_DBFS - ret
    if ret >= CLIP_DBFS:
        notes.append("return clips: lower the device output or input 2 gain")
    # Assumes the device is roughly linear at this level; a saturating amp needs a re-check.
    new_peak = float(np.clip(plan.take.peak_dbfs + change, -40.0, 0.0))
    notes.append(
        f"for a return peak near {TARGET_RETURN_DBFS} dBFS set take.peak_dbfs to {new_peak:.1f} "
        f"(or change input 2 gain by {change:+.1f} dB); re-run calibrate to confirm"
    )
    return {"take.peak_dbfs": round(new_peak, 1), "change_db": round(change, 1), "notes": notes}


def _add_dbu(plan: Plan, report: dict) -> None:
    """audio.send_dbu / return_dbu: the dBu that reads 0 dBFS on that path (NAM stores these)."""
    if plan.audio.send_dbu is not None:
        report["send_peak_dbu"] = round(report["send_peak_dbfs"] + plan.audio.send_dbu, 2)
    if plan.audio.return_dbu is not None:
        report["return_peak_dbu"] = round(report["levels"]["return"]["peak_dbfs"] + plan.audio.return_dbu, 2)
