"""What `rig plan` reports about a plan before anything moves."""

from __future__ import annotations

from rig.plan.models import Plan
from rig.plan.sample import Setting, split_counts


def take_seconds(plan: Plan) -> float:
    """Audio length of one take: pre-roll, start impulses, content, end impulses, post-roll."""
    t = plan.take
    impulses = 2 * t.impulses.count * t.impulses.spacing_ms / 1000.0
    return t.pre_roll_s + impulses + t.seconds + t.post_roll_s


def plan_summary(plan: Plan, settings: list[Setting]) -> dict:
    counts = split_counts(settings)
    return {
        "device": plan.device.name,
        "mode": plan.device.mode,
        "knobs": [
            {
                "name": k.name,
                "axis": k.axis,
                "range": [k.min, k.max],
                "rotation_deg": k.rotation_deg,
                "detents": k.detents,
                "fixed": k.fixed,
            }
            for k in plan.knobs
        ],
        "sampling": plan.settings.method,
        "settings": counts,
        "total_settings": len(settings),
        "take_seconds": round(take_seconds(plan), 3),
        "audio_minutes": round(len(settings) * take_seconds(plan) / 60.0, 2),
        "sample_rate": plan.audio.sample_rate,
        "interface": plan.audio.interface,
        "robot_port": plan.robot.port,
        "models": plan.train.models,
    }
