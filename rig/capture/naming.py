"""Names on disk: take ids and the default session folder."""

from __future__ import annotations

import time
from pathlib import Path

from rig.plan import Plan


def compact(value: float) -> str:
    """6.5 -> '6.5', 5.0 -> '5', 3.3330 -> '3.333' (values are sampled to 3 decimals)."""
    text = f"{round(float(value), 3):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def setting_tag(plan: Plan, values: dict[str, float]) -> str:
    # Fixed knobs never change within a session, so they would only lengthen every name.
    return "_".join(f"{k.tag}{compact(values[k.name])}" for k in plan.sampled_knobs)


def take_id(index: int, plan: Plan, values: dict[str, float], prefix: str = "t") -> str:
    return f"{prefix}{index:04d}_{setting_tag(plan, values)}"


def default_session_folder(plan_file: Path, root: Path = Path("sessions")) -> Path:
    return root / f"{Path(plan_file).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
