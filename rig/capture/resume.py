"""Before a resumed capture records anything: repair what a crash, a full disk or a person
left in the session, and check every listed take. Nothing is deleted except this session's
own temporary files (*.partial): damaged takes and unlisted take files are moved to
takes/.orphans/<time>/, foreign files are left where they are. Each finding is returned as
one line for a warning that --quiet does not hide."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rig.capture.naming import setting_tag, take_id
from rig.errors import UserError
from rig.plan import Plan, Setting, reference_setting
from rig.session import EVENTS_FILE, MANIFEST_FILE, TAKES_DIR, Session
from rig.session.atomic import TMP_SUFFIX, repair_torn_tail
from rig.session.integrity import take_problems
from rig.session.manifest import TAKE_KINDS, note_damage, scan_manifest, unnoted_damage
from rig.session.proposals import accepted_path, accepted_settings, repair_accepted


def prepare_session(session: Session, plan: Plan, reference: Setting) -> list[str]:
    """Repair and check `session` for resuming; returns the warnings to show."""
    try:
        _check_takes_folder(session.folder)
        notes = _repair_logs(session.folder) + _repair_accepted(session.folder)
        session.finish_commits()
        notes += _check_takes(session)
        notes += _sweep(session, our_names(plan, all_settings(session), reference))
    except OSError as exc:
        where = exc.filename or session.folder
        raise UserError(
            f"cannot check {session.folder} before resuming: {exc.strerror} ({where}); "
            f"make the session folder writable, then resume again"
        ) from None
    return notes


def _check_takes_folder(folder: Path) -> None:
    takes = folder / TAKES_DIR
    if takes.is_symlink() and not takes.exists():
        raise UserError(
            f"{takes} links to {os.readlink(takes)}, which is not there (a disk not mounted?); "
            "make it reachable, then resume again"
        )
    if not takes.exists():
        raise UserError(
            f"{takes} is missing, so every take of this session is gone from it; restore the folder, "
            f"or create an empty {takes} to record every take again"
        )
    if not takes.is_dir():
        raise UserError(f"{takes} is not a folder; move that file away and restore the takes folder, then resume again")


def _repair_logs(folder: Path) -> list[str]:
    notes = []
    for name in (MANIFEST_FILE, EVENTS_FILE):
        kept = repair_torn_tail(folder / name)
        if kept:
            notes.append(
                f"{name} ended in a torn line (a write cut short by a crash or a full disk); "
                f"cut it off before appending, the fragment is kept in {kept}"
            )
    damaged = unnoted_damage(folder, scan_manifest(folder))
    if damaged:
        note_damage(folder, damaged)
        shown = ", ".join(map(str, damaged[:10])) + (" ..." if len(damaged) > 10 else "")
        notes.append(
            f"{MANIFEST_FILE} line(s) {shown} damaged (not a take record); those takes count as not "
            f"captured and are recorded again; the lines stay in the file (rig verify lists them)"
        )
    return notes


def _repair_accepted(folder: Path) -> list[str]:
    kept = repair_accepted(folder)  # an acceptance cut short was never made: the batch is decided again
    if not kept:
        return []
    return [
        f"{accepted_path(folder).name} ended in a torn line; cut it off (kept in {kept}), that batch is decided again"
    ]


def all_settings(session: Session) -> list[Setting]:
    """session.yaml's settings and, for an active capture, those accepted from proposals."""
    return session.settings() + accepted_settings(session.folder)


def _check_takes(session: Session) -> list[str]:
    """Size, length and sha256 of every listed take; a damaged one is moved aside and retracted,
    so its setting is captured again in this run."""
    notes = []
    for record in session.manifest():
        problems = take_problems(session.folder, record)
        if not problems:
            continue
        present = [
            p for p in (session.folder / rel for rel in record["files"].values()) if p.exists() or p.is_symlink()
        ]
        moved = f"its files are moved to {session.move_aside(present)}" if present else "no file of it is left"
        session.retract(record["take_id"], problems[0])
        again = "recorded again" if record.get("split") != "reference" else "not needed again (a reference)"
        notes.append(f"take {record['take_id']} is damaged ({'; '.join(problems)}); {moved}; it is {again}")
    return notes


def stored_reference(session: Session, plan: Plan) -> Setting:
    """The reference setting session.yaml stores (older sessions: the plan's)."""
    ref = (session.info.get("reference") or {}).get("values")
    return Setting(-1, ref, "reference") if ref else reference_setting(plan)


def session_names(session: Session) -> re.Pattern:
    """our_names for an existing session, from what session.yaml stores."""
    plan = session.plan()
    return our_names(plan, all_settings(session), stored_reference(session, plan))


def our_names(plan: Plan, settings: list[Setting], reference: Setting) -> re.Pattern:
    """File names this session's capture writes: its take ids with a kind, maybe a temp suffix."""
    ids = [re.escape(take_id(s.id, plan, s.values)) for s in settings]
    ids.append(r"r\d{4,}_" + re.escape(setting_tag(plan, reference.values)))
    kinds = "|".join(TAKE_KINDS)
    return re.compile(rf"(?:{'|'.join(ids)})\.(?:{kinds})\.wav(?:{re.escape(TMP_SUFFIX)})?")


def _sweep(session: Session, ours: re.Pattern) -> list[str]:
    takes = session.folder / TAKES_DIR
    unlisted, foreign = [], []
    for path in session.unlisted_files(session.manifest()):
        name = path.name
        if not ours.fullmatch(name):
            foreign.append(name)
        elif name.endswith(TMP_SUFFIX) and path.is_file() and not path.is_symlink():
            path.unlink()  # a temp file of a take that was never committed: the only thing deleted
        else:
            unlisted.append(path)
    notes = []
    if unlisted:
        dest = session.move_aside(unlisted)
        notes.append(
            f"{len(unlisted)} take file(s) in {takes} that no manifest line lists are moved to {dest} "
            "(nothing is deleted); their settings are recorded again"
        )
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        notes.append(f"{len(foreign)} file(s) in {takes} that are not this session's are left alone: {shown}")
    return notes
