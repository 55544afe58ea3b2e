"""User mistakes at the `rig capture` command: one line, exit status 2, no traceback."""

from __future__ import annotations

from tests.capture.helpers import rig_run


def one_line_error(result, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rig: error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_no_plan():
    one_line_error(rig_run("capture", "--sim"), "--plan")


def test_missing_plan_file(tmp_path):
    one_line_error(rig_run("capture", "--plan", str(tmp_path / "nope.yaml"), "--sim"), "not found")


def test_resume_of_a_folder_that_is_no_session(tmp_path):
    one_line_error(rig_run("capture", "--resume", str(tmp_path), "--sim"), "not a session folder")


def test_session_and_resume_together(tmp_path, tiny_plan):
    one_line_error(
        rig_run("capture", "--plan", str(tiny_plan), "--session", str(tmp_path / "a"), "--resume", str(tmp_path / "b")),
        "not both",
    )


def test_jack_without_sim(tiny_plan):
    one_line_error(rig_run("capture", "--plan", str(tiny_plan), "--jack"), "--sim")
