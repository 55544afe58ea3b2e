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
        **({"active": active_summary(plan, settings)} if plan.settings.method == "active" else {}),
    }


def active_summary(plan: Plan, settings: list[Setting]) -> dict:
    """What an active capture records before the first proposal, and the budget after it."""
    from rig.plan.active import active_block, batches_needed, budget_takes, proposed_takes, take_slot_s

    a = active_block(plan)
    tests = sum(1 for s in settings if s.split == "test")
    return {
        "budget_takes": budget_takes(plan),
        "budget_minutes": a.budget_minutes,
        "batch": a.batch,
        "batches": batches_needed(plan),
        "proposed_takes": proposed_takes(plan),
        "proposed_s": round(proposed_takes(plan) * take_slot_s(plan), 1),
        "total_takes": budget_takes(plan) + tests,
        "pool": a.pool,
        "proposal_timeout_s": a.proposal_timeout_s,
        "min_distance": a.min_distance,
        "initial": [{"id": s.id, "split": s.split, **s.values} for s in settings if s.split != "test"],
    }
