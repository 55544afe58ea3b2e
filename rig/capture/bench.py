"""`rig bench capture`: where the time of a take goes on the simulated rig (move, settle,
record, checks, write) as a fraction of the take's audio time, against the route's prediction."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import yaml

from rig.capture.options import CaptureOptions
from rig.capture.run import run_capture
from rig.plan import load_plan, resolve_path
from rig.plan.summary import take_seconds
from rig.route import capture_breakdown
from rig.session import Session, read_events

DEFAULT_PLAN = "capture_plans/demo.yaml"
PHASES = ("program", "move", "settle", "record", "checks", "write")


def bench_capture(plan: str | Path | None = None, quick: bool = False) -> dict:
    """Capture `plan` (default the demo plan) on the simulated rig, training off; `quick`:
    6 settings of 3 s."""
    plan_path = Path(plan or DEFAULT_PLAN)
    with tempfile.TemporaryDirectory(prefix="rig-bench-capture-") as tmp:
        plan_file = _bench_plan(plan_path, Path(tmp), quick)
        folder = Path(tmp) / "session"
        t0 = time.monotonic()
        rc = run_capture(
            CaptureOptions(plan_file=plan_file, session=folder, sim=True, train=False, dashboard=False, quiet=True)
        )
        wall = time.monotonic() - t0
        return _figures(folder, load_plan(plan_file), wall, rc)


def _bench_plan(path: Path, tmp: Path, quick: bool) -> Path:
    """A copy of the plan with training off (and fewer, shorter takes with --quick)."""
    data = yaml.safe_load(path.read_text())
    data.setdefault("train", {})["auto"] = False
    if quick:
        data.setdefault("settings", {})["count"] = 6
        data.setdefault("take", {})["seconds"] = 3
    # Files the plan names relative to itself must still be found from the copy.
    train = data["train"]
    train["models"] = [str(resolve_path(path, m) or m) for m in train.get("models", ["models/tcn-tvf-45-s-16.yaml"])]
    for split, names in data.get("take", {}).get("sources", {}).items():
        data["take"]["sources"][split] = [
            n if n.startswith("builtin:") else str(resolve_path(path, n) or n) for n in names
        ]
    out = tmp / path.name
    out.write_text(yaml.safe_dump(data))
    return out


def _figures(folder: Path, plan, wall: float, rc: int) -> dict:
    events, _ = read_events(folder)
    takes = [e for e in events if e["type"] == "take_recorded" and e.get("split") != "reference"]
    audio_s = take_seconds(plan)
    per_phase = {p: _median([e.get("seconds", {}).get(p) for e in takes]) for p in PHASES}
    # Overhead: everything but playing the audio (on a real rig recording takes the audio time).
    overhead = sum(per_phase[p] or 0.0 for p in PHASES if p != "record")
    session = Session.open(folder)
    info = session.info
    # a stand-in Route: the breakdown reads only route.order
    b = capture_breakdown(plan, session.settings(), SimpleNamespace(order=info["route"]))  # type: ignore[arg-type]
    predicted = (b["moves_s"] + b["overhead_s"]) / b["takes"]  # per take: move + settle + fixed overhead
    scale = _timescale(info["rig"]["robot_port"])
    # The simulated motors run `scale` times faster: at real speed moves and settles take longer.
    real = overhead + ((per_phase["move"] or 0.0) + (per_phase["settle"] or 0.0)) * (scale - 1)
    return {
        "plan": info.get("plan_file"),
        "robot_timescale": scale,
        "overhead_fraction_at_real_robot_speed": round(real / audio_s, 4),
        "exit_status": rc,
        "takes": len(takes),
        "wall_s": round(wall, 2),
        "take_audio_s": round(audio_s, 3),
        "per_take_median_s": {p: _round(v) for p, v in per_phase.items()},
        "overhead_per_take_s": round(overhead, 4),
        "overhead_fraction_of_audio": round(overhead / audio_s, 4),
        "record_wall_fraction_of_audio": _round((per_phase["record"] or 0.0) / audio_s),
        "route_predicted_overhead_per_take_s": round(predicted, 4),
        "route_predicted_overhead_fraction": round(predicted / audio_s, 4),
        "wall_per_take_s": round(wall / max(len(takes), 1), 3),
    }


def _timescale(port: str) -> float:
    from urllib.parse import parse_qsl, urlsplit

    return float(dict(parse_qsl(urlsplit(port).query)).get("timescale", 1.0))


def _median(values) -> float | None:
    values = [v for v in values if isinstance(v, int | float)]
    return statistics.median(values) if values else None


def _round(v):
    return round(v, 4) if isinstance(v, int | float) else v


def bench_capture_jack(plan: str | Path | None = None, quick: bool = False) -> dict:
    """`rig bench capture --jack`: xruns per minute of the `--sim --jack` audio path (private
    jackd, the simulated device as a JACK client, PortAudio), recording 10 s takes of noise for
    1 minute (`quick`: 20 s), next to this machine's scheduling jitter measured just before."""
    import numpy as np

    from rig.audio.realtime import holds_period, measure_jitter
    from rig.capture.jackpath import PERIOD, open_jack_audio

    plan_path = Path(plan or DEFAULT_PLAN)
    loaded = load_plan(plan_path)
    sr = loaded.audio.sample_rate
    period_ms = PERIOD / sr * 1e3
    jitter = measure_jitter()
    take_s, seconds = 10.0, 20.0 if quick else 60.0
    signal = (0.3 * np.random.default_rng(0).standard_normal(int(take_s * sr))).astype(np.float32)
    totals = {"xruns": 0, "overflow": 0, "underflow": 0}
    recorded = 0.0
    audio = open_jack_audio(loaded, plan_path, None)
    try:
        while recorded < seconds:
            rec = audio.play_record(signal)
            for k in totals:
                totals[k] += int(rec.status.get(k, 0))
            recorded += len(rec.loopback) / sr
    finally:
        audio.close()
    return {
        "bench": "capture --jack",
        "plan": str(plan_path),
        "jack_period_frames": PERIOD,
        "period_ms": round(period_ms, 2),
        "recorded_s": round(recorded, 1),
        **totals,
        "xruns_per_minute": round(totals["xruns"] / recorded * 60, 2),
        "jitter": jitter,
        "machine_holds_period": holds_period(jitter, period_ms),
    }
