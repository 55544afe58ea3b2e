"""Session directories: layout, manifest, event log, atomic writes, resume."""

from rig.session.events import EVENTS_FILE, EventLog, read_events
from rig.session.store import (
    MANIFEST_FILE,
    ORPHANS_DIR,
    SESSION_FILE,
    TAKES_DIR,
    TRAIN_DIR,
    Session,
    plan_hash,
    read_manifest,
)

__all__ = [
    "EVENTS_FILE",
    "MANIFEST_FILE",
    "ORPHANS_DIR",
    "SESSION_FILE",
    "TAKES_DIR",
    "TRAIN_DIR",
    "EventLog",
    "Session",
    "plan_hash",
    "read_events",
    "read_manifest",
]
