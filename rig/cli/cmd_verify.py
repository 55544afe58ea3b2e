"""`rig verify SESSION`: check a session without changing it. Every listed take's three files
(size, WAV length, sha256), the manifest and event log (damaged or torn lines), session.yaml
(readable, its stored plan unedited), files the manifest does not list and, for an active
capture, proposals/accepted.jsonl (torn or damaged lines, batch numbers).
Exit 0: all is well (one summary line). Exit 2: one line per problem on stdout, then a
summary on stderr; `rig capture --resume SESSION` repairs what can be repaired."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="check every take of a session against its checksums (read-only)",
        description="Check a session folder without changing it: every take's size, length and "
        "sha256, the manifest, the event log and session.yaml. Exit 0 when all is well, "
        "exit 2 with one line per problem otherwise.",
    )
    p.add_argument("session", type=Path, metavar="SESSION", help="session folder a capture wrote")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.errors import UserError
    from rig.session import SESSION_FILE, Session

    folder: Path = args.session
    t0 = time.monotonic()
    try:
        session = Session.open(folder)
    except UserError as exc:
        if not (folder / SESSION_FILE).exists():
            raise
        print(f"{folder}/{SESSION_FILE}: {exc}")
        print(f"rig: error: {folder} has 1 problem; the takes were not checked", file=sys.stderr)
        return UserError.exit_code
    from rig.capture.resume import session_names
    from rig.session.proposals import accepted_problems

    problems = session.verify(ours=session_names(session))  # another session's files may share takes/
    problems += accepted_problems(folder)
    seconds = time.monotonic() - t0
    if problems:
        for line in problems:
            print(f"{folder}/{line}")
        print(
            f"rig: error: {len(problems)} problem(s) in {folder}; rig capture --resume {folder} moves damaged "
            f"takes aside and records them again",
            file=sys.stderr,
        )
        return UserError.exit_code
    records = session.manifest()
    size = sum((folder / rel).stat().st_size for r in records for rel in r["files"].values())
    print(f"{folder}: ok, {len(records)} takes ({size / 1e6:.1f} MB) verified in {seconds:.1f} s")
    return 0
