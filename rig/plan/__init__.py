"""Capture plans: load and validate, sample settings, splits."""

from rig.plan.load import load_plan, resolve_path
from rig.plan.models import Knob, Plan
from rig.plan.sample import Setting, reference_setting, sample_settings, split_counts

__all__ = [
    "Knob",
    "Plan",
    "Setting",
    "load_plan",
    "reference_setting",
    "resolve_path",
    "sample_settings",
    "split_counts",
]
