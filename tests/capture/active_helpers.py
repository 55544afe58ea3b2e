"""A tiny active plan (2 sampled knobs, 0.5 s takes) and a reader of what an active capture
stored, for the active-capture tests."""

from __future__ import annotations

from pathlib import Path

from rig.session import Session, read_manifest
from rig.session.proposals import accepted_batches

ACTIVE_PLAN = """\
version: 1
device: {{name: tiny active amp, simulator: amp}}
knobs:
  - {{name: gain, axis: 0, label: G}}
  - {{name: treble, axis: 1, label: T}}
  - {{name: volume, fixed: 5, label: V}}
settings:
  method: active
  seed: 34
  validation_fraction: 0.2
  test: {{method: list, settings: [{{gain: 3.3, treble: 7.7}}, {{gain: 8, treble: 2}}]}}
  active:
    initial: 2
    batch: 2
    budget_takes: {budget}
    proposal_timeout_s: {timeout}
    min_distance: 0.1
take:
  seconds: 0.5
  pre_roll_s: 0.1
  post_roll_s: 0.1
  gain: {{every_s: 0.25}}
  max_retries: 2
audio: {{interface: virtual}}
robot: {{port: sim://native, settle_s: 0.02}}
train: {{auto: false}}
"""


def write_active_plan(folder: Path, budget: int = 7, timeout: float = 0.3) -> Path:
    """budget 7: 2 initial + 1 val (0.2 of 7) + 4 proposed = 2 batches of 2."""
    path = folder / "active_tiny.yaml"
    path.write_text(ACTIVE_PLAN.format(budget=budget, timeout=timeout))
    return path


def recorded(folder: Path) -> list[dict]:
    """The manifest's takes of settings (references aside)."""
    return [r for r in read_manifest(folder) if r["split"] != "reference"]


def held_out_values(folder: Path) -> list[dict]:
    return [s.values for s in Session.open(folder).settings() if s.split == "test"]


def accepted_ids(folder: Path) -> list[int]:
    return [s.id for b in accepted_batches(folder) for s in b.settings]
