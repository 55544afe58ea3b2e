"""Tampering with a finished session (a real one, recorded with `rig capture --sim`): every
case ends in the expected exit status and message, and no file the rig was given is lost or
changed -- a damaged or unlisted take is moved to takes/.orphans/, never deleted."""

from __future__ import annotations

import io
import json
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from rig.cli.main import main
from rig.session import Session, read_manifest
from rig.train.capture_follower import CaptureFollower
from tests.capture.helpers import rig_run
from tests.session.conftest import assert_nothing_lost, capture, digests


def rig(*args: str) -> SimpleNamespace:
    """The `rig` command in this process (as `rig` would run it, minus the ~2 s start-up of a
    new interpreter): exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def resume(folder: Path, cwd: Path | None = None):
    if cwd is not None:  # a real process started elsewhere
        return capture("--resume", str(folder), cwd=cwd)
    return rig("capture", "--resume", str(folder), "--sim", "--no-train", "--no-dashboard", "--quiet")


def verify(folder: Path):
    return rig("verify", str(folder))


def one_line_error(result, code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("rig: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def assert_complete(folder: Path) -> None:
    """Every setting captured once, every listed take as recorded, `rig verify` clean."""
    session = Session.open(folder)
    ids = [r["setting_id"] for r in read_manifest(folder) if r["split"] != "reference"]
    assert sorted(ids) == sorted(s.id for s in session.settings())
    checked = verify(folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok," in checked.stdout


def manifest_lines(folder: Path) -> list[bytes]:
    return (folder / "manifest.jsonl").read_bytes().split(b"\n")


def take_file(folder: Path, split: str = "train", kind: str = "wet") -> Path:
    return folder / take_record(folder, split)["files"][kind]


def take_record(folder: Path, split: str = "train") -> dict:
    return next(r for r in read_manifest(folder) if r["split"] == split)


def test_a_clean_session_verifies(session):
    result = rig_run("verify", str(session))  # once as a real process
    takes = len(read_manifest(session))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok, {takes} takes" in result.stdout, result.stdout + result.stderr


def test_a_manifest_line_cut_in_the_middle_moves_its_takes_aside(session):
    lines = manifest_lines(session)
    victim = json.loads(lines[1])["take_id"]
    lines[1] = lines[1][:80] + lines[1][200:]
    (session / "manifest.jsonl").write_bytes(b"\n".join(lines))
    before = digests(session)
    checked = verify(session)
    assert checked.returncode == 2
    assert "line 2: damaged" in checked.stdout
    assert checked.stdout.count(f"{victim}.") == 3  # its three files are unlisted
    result = resume(session)
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr
    assert ".orphans" in result.stderr
    assert_nothing_lost(before, session)
    assert len(list((session / "takes" / ".orphans").rglob(f"{victim}.*.wav"))) == 3
    assert_complete(session)


def test_files_that_are_not_the_sessions_are_left_alone(session):
    (session / "takes" / "notes.txt").write_text("mic: SM57, 2 cm off axis")
    (session / "takes" / "other-session").mkdir()
    (session / "takes" / "other-session" / "t0001_X1.wet.wav").write_bytes(b"RIFF")
    before = digests(session)
    result = resume(session)
    assert result.returncode == 0, result.stderr
    assert "not this session's are left alone: notes.txt, other-session" in result.stderr
    assert (session / "takes" / "notes.txt").is_file()
    assert (session / "takes" / "other-session").is_dir()
    assert digests(session) == before


def test_a_torn_last_manifest_line_is_cut_off_and_kept_beside(session):
    data = (session / "manifest.jsonl").read_bytes()
    cut = len(data) - 300
    fragment = data[data.rfind(b"\n", 0, len(data) - 1) + 1 : cut]
    (session / "manifest.jsonl").write_bytes(data[:cut])
    before = digests(session)
    result = resume(session)
    assert result.returncode == 0, result.stderr
    assert "torn line" in result.stderr
    kept = list(session.glob("manifest.jsonl.torn-*"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == fragment
    assert_nothing_lost(before, session)
    assert_complete(session)


def damage_missing(path: Path) -> None:
    path.unlink()


def damage_bit_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def damage_cut_to_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def damage_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("a folder where a take file was")


@pytest.mark.parametrize("damage", [damage_missing, damage_bit_flip, damage_cut_to_half, damage_folder])
def test_a_damaged_take_is_moved_aside_and_recorded_again(session, damage):
    record = take_record(session)
    path = session / record["files"]["wet"]
    good = {p: d for p, d in digests(session).items() if not Path(p).name.startswith(record["take_id"] + ".")}
    damage(path)
    before = digests(session)
    checked = verify(session)
    assert checked.returncode == 2
    assert f"{path.name}" in checked.stdout
    result = resume(session)
    assert result.returncode == 0, result.stderr
    assert f"take {record['take_id']} is damaged" in result.stderr
    assert_nothing_lost(before, session)
    assert {p: d for p, d in digests(session).items() if p in good} == good  # the good takes are untouched
    assert_complete(session)


def test_verify_lists_every_problem_one_line_each(session):
    damage_bit_flip(take_file(session, "train", "wet"))
    damage_missing(take_file(session, "test", "dry"))
    n = len(manifest_lines(session))  # the damaged line's number (the file ends in a newline)
    with open(session / "manifest.jsonl", "ab") as f:
        f.write(b'{"a": 1}\n{"take_id": "t9')
    result = verify(session)
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 4, result.stdout
    assert any("checksum mismatch" in line for line in lines)
    assert any("missing" in line for line in lines)
    assert any(f"line {n}: damaged" in line for line in lines)
    assert any("torn line" in line for line in lines)
    assert "4 problem(s)" in result.stderr


def test_a_manifest_line_without_record_keys_is_skipped_not_a_traceback(session):
    n = len(manifest_lines(session))
    with open(session / "manifest.jsonl", "ab") as f:
        f.write(b'{"take_id": 7, "note": "valid JSON, no record"}\n')
    before = digests(session)
    result = resume(session)
    assert result.returncode == 0, result.stderr
    assert f"line(s) {n} damaged" in result.stderr
    assert "every setting is already captured" in result.stderr
    assert digests(session) == before
    assert_complete(session)


def test_missing_takes_folder_is_one_line(session):
    os.rename(session / "takes", session.parent / "elsewhere")
    assert "takes is missing" in one_line_error(resume(session))
    (session / "takes").symlink_to(session.parent / "not-mounted")
    assert "which is not there" in one_line_error(resume(session))


def test_takes_folder_that_is_a_file_is_one_line(session):
    os.rename(session / "takes", session.parent / "elsewhere")
    (session / "takes").write_text("oops")
    assert "is not a folder" in one_line_error(resume(session))


@pytest.fixture
def read_only(session):
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    takes = session / "takes"
    mounted = subprocess.run(["mount", "--bind", str(takes), str(takes)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    subprocess.run(["mount", "-o", "remount,ro,bind", str(takes)], check=True)
    yield takes
    subprocess.run(["umount", str(takes)], capture_output=True)


def test_a_read_only_takes_folder_is_one_line(session, tmp_path, read_only):
    # The last take's line and files are gone (cleanly): resume has a setting to record, and
    # its WAVs cannot be written; cleaning up after that fails too (EROFS), still one line.
    lines = manifest_lines(session)
    last = json.loads(lines[-3])  # before the end reference
    subprocess.run(["umount", str(read_only)], check=True)
    for rel in last["files"].values():
        os.rename(session / rel, tmp_path / Path(rel).name)
    (session / "manifest.jsonl").write_bytes(b"\n".join(lines[:-3] + lines[-2:]))
    subprocess.run(["mount", "--bind", str(read_only), str(read_only)], check=True)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(read_only)], check=True)
    before = digests(session)
    line = one_line_error(resume(session))
    assert "Read-only file system" in line
    assert f"--resume {session}" in line
    assert digests(session) == before


def edit_session_yaml(folder: Path, change) -> None:
    path = folder / "session.yaml"
    path.write_text(yaml.safe_dump(change(yaml.safe_load(path.read_text())), sort_keys=False))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda info: list(info), "a list, not a mapping"),
        (lambda info: {k: v for k, v in info.items() if k != "route"}, "no route"),
        (
            lambda info: {**info, "plan": {**info["plan"], "take": {**info["plan"]["take"], "seconds": 2.0}}},
            "was edited",
        ),
        (lambda info: {**info, "route": list(reversed(info["route"]))}, "was edited"),
    ],
)
def test_a_damaged_or_edited_session_yaml_is_one_line(session, change, message):
    edit_session_yaml(session, change)
    before = digests(session)
    assert message in one_line_error(resume(session))
    checked = verify(session)
    assert checked.returncode == 2
    assert message in checked.stdout
    assert digests(session) == before


def test_resume_works_from_any_working_directory(session, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    damage_missing(take_file(session))  # something to record, so the run really resumes
    result = resume(Path(os.path.relpath(session, other)), cwd=other)
    assert result.returncode == 0, result.stderr
    assert "is gone" not in result.stderr
    assert_complete(session)


def test_the_trainer_refuses_a_damaged_take_with_an_alert(session):
    damaged_id = take_record(session)["take_id"]
    damage_bit_flip(take_file(session, "train", "wet"))
    follower = CaptureFollower(session, follow=False)
    takes = follower.poll()
    assert damaged_id not in {r["take_id"] for r in takes}
    assert len(takes) == len(read_manifest(session)) - 1
    alerts = [
        json.loads(line)
        for line in (session / "events.jsonl").read_text().splitlines()
        if '"train_take_refused"' in line
    ]
    assert len(alerts) == 1
    assert alerts[0]["take_id"] == damaged_id
    assert "checksum mismatch" in alerts[0]["message"]


def test_an_older_session_with_a_relative_plan_path_still_resumes(session, tmp_path):
    # Sessions written before plan paths were stored absolute: relative to where the capture ran.
    plan = Path(Session.open(session).info["plan_file"])
    (tmp_path / "tiny.yaml").write_text(plan.read_text())
    edit_session_yaml(session, lambda info: {**info, "plan_file": "tiny.yaml"})
    result = resume(session)
    assert result.returncode == 0, result.stderr
    assert "every setting is already captured" in result.stderr


def test_a_shared_takes_folder_keeps_the_other_sessions_takes(session, tmp_path):
    shared = tmp_path / "shared"
    os.rename(session / "takes", shared)
    (session / "takes").symlink_to(shared)
    for kind in ("dry", "loopback", "wet"):  # another session's take (another plan's knobs)
        (shared / f"t0001_B3_M2_T8_G4.{kind}.wav").write_bytes(os.urandom(64))
    (shared / "t0001_B3_M2_T8_G4.wet.wav.partial").write_bytes(b"another capture is writing this")
    damage_missing(take_file(session))  # so resume records a take into the shared folder
    before = digests(session)
    result = resume(session)
    assert result.returncode == 0, result.stderr
    assert "4 file(s)" in result.stderr
    assert "left alone" in result.stderr
    assert_nothing_lost(before, session)
    assert (shared / "t0001_B3_M2_T8_G4.wet.wav.partial").exists()
    assert_complete(session)
