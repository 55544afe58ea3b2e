"""The proposal link of an active capture (rig/session/proposals.py) on a real session
folder: atomic proposals, torn files never consumed, acceptance exactly once, and the
filter that keeps test settings and out-of-range values out of training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rig.errors import UserError
from rig.plan import load_plan, sample_settings
from rig.session import Session, read_events
from rig.session.proposals import (
    ProposalError,
    accept,
    accepted_batches,
    accepted_path,
    accepted_problems,
    next_batch,
    proposal_path,
    read_proposal,
    repair_accepted,
    write_proposal,
)
from tests.capture.active_helpers import write_active_plan
from tests.capture.helpers import rig_run

GOOD = [{"gain": 1.0, "treble": 1.0}, {"gain": 5.0, "treble": 9.5}]


@pytest.fixture
def session(tmp_path: Path) -> Path:
    """A fresh session of the tiny active plan (nothing recorded): what accept() reads."""
    plan_file = write_active_plan(tmp_path)
    plan = load_plan(plan_file)
    settings = sample_settings(plan)
    Session.create(tmp_path / "s", plan, plan_file, settings, [s.id for s in settings])
    return tmp_path / "s"


def test_a_written_proposal_reads_back(session):
    write_proposal(session, 1, [{"values": GOOD[0], "score": 0.5}, GOOD[1]], based_on_takes=5, signal="prequential")
    p = read_proposal(session, 1)
    assert p is not None
    assert p.batch == 1
    assert p.based_on_takes == 5
    assert p.signal == "prequential"
    assert [s["values"] for s in p.settings] == GOOD
    assert [s["score"] for s in p.settings] == [0.5, None]
    assert read_proposal(session, 2) is None
    assert not list(proposal_path(session, 1).parent.glob("*.partial"))  # the atomic writer left nothing


def test_a_torn_or_foreign_proposal_is_never_a_batch(session):
    path = proposal_path(session, 1)
    path.parent.mkdir()
    whole = json.dumps({"batch": 1, "settings": [{"values": GOOD[0], "score": 1.0}]}).encode()
    path.write_bytes(whole[: len(whole) // 2])  # a writer that did not write atomically, cut off
    with pytest.raises(ProposalError, match="not complete JSON"):
        read_proposal(session, 1)
    path.write_bytes(json.dumps({"batch": 2, "settings": []}).encode())  # another batch's content
    with pytest.raises(ProposalError, match="not a proposal for batch 1"):
        read_proposal(session, 1)
    path.unlink()
    # the atomic writer's temporary file is not the proposal
    Path(str(proposal_path(session, 1)) + ".partial").write_bytes(whole)
    assert read_proposal(session, 1) is None


def test_a_batch_is_accepted_once_with_stable_ids(session):
    first = accept(session, 1, read_proposal(session, 1))  # no proposal: the plan's Sobol points
    assert first.source == "fallback"
    assert len(first.settings) == 2
    static = Session.open(session).settings()
    assert [s.id for s in first.settings] == [len(static), len(static) + 1]
    assert [s.label for s in first.settings] == ["a01-01", "a01-02"]
    with pytest.raises(UserError, match=r"next batch .* is 2"):
        accept(session, 1, None)
    with pytest.raises(UserError, match=r"next batch .* is 2"):
        accept(session, 3, None)
    write_proposal(session, 2, GOOD)
    second = accept(session, 2, read_proposal(session, 2))
    assert second.source == "trainer"
    assert [s.values["gain"] for s in second.settings] == [1.0, 5.0]
    assert [s.id for s in second.settings] == [len(static) + 2, len(static) + 3]
    with pytest.raises(UserError, match=r"budget .* is used up"):
        accept(session, 3, None)
    assert [b.batch for b in accepted_batches(session)] == [1, 2]
    assert next_batch(session) == 3


def test_a_torn_acceptance_line_is_no_acceptance_and_is_repaired(session):
    accept(session, 1, None)
    path = accepted_path(session)
    with open(path, "ab") as f:  # a crash in the middle of appending batch 2's line
        f.write(b'{"batch":2,"source":"trainer","settings":[{"id":')
    assert [b.batch for b in accepted_batches(session)] == [1]
    assert next_batch(session) == 2
    kept = repair_accepted(session)
    assert kept is not None
    assert kept.read_bytes().startswith(b'{"batch":2')
    assert path.read_bytes().endswith(b"\n")
    again = accept(session, 2, None)  # decided again, once
    assert [b.batch for b in accepted_batches(session)] == [1, 2]
    assert again.batch == 2
    raw = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert [r["batch"] for r in raw] == [1, 2]


def test_verify_reports_what_would_make_a_batch_decided_twice(session):
    """`rig verify` (a real process) names a torn, a damaged and a repeated acceptance line;
    after resume's repair of the torn tail only the damage it cannot repair is left."""
    accept(session, 1, None)
    accept(session, 2, None)
    assert rig_run("verify", str(session)).returncode == 0
    path = accepted_path(session)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b'{"batch": 2, "sett\x00ings"}\n' + lines[0] + b'{"batch":3,"sou')
    result = rig_run("verify", str(session))
    assert result.returncode == 2
    out = result.stdout.splitlines()
    name = f"{session}/proposals/accepted.jsonl"
    assert f"{name}: ends in a torn line of 15 bytes (an acceptance cut short)" in out
    assert any(line.startswith(f"{name} line 2: damaged") for line in out), out
    assert f"{name}: batch 1 is accepted 2 times" in out
    assert len(out) == 3, out
    repair_accepted(session)
    assert accepted_problems(session) == [
        "proposals/accepted.jsonl line 2: damaged (not an accepted batch); its takes may be recorded twice",
        "proposals/accepted.jsonl: batch 1 is accepted 2 times",
    ]


def test_the_acceptance_is_on_disk_before_it_is_announced(session):
    size = []
    accept(session, 1, None, events=_SizeAtEmit(session, size))
    assert size
    assert size[0] == os.path.getsize(accepted_path(session)) > 0


class _SizeAtEmit:
    """An event log that notes accepted.jsonl's size when the first event is emitted."""

    def __init__(self, folder: Path, out: list[int]):
        self.folder, self.out = folder, out

    def emit(self, type: str, **fields) -> dict:
        self.out.append(os.path.getsize(accepted_path(self.folder)))
        return {"type": type, **fields}


def test_test_settings_and_bad_values_are_refused(session):
    s = Session.open(session)
    test = [x.values for x in s.settings() if x.split == "test"]
    initial = next(x.values for x in s.settings() if x.split == "train")
    proposed = [
        {"gain": test[0]["gain"], "treble": test[0]["treble"]},  # a test setting itself
        {"gain": test[1]["gain"] + 0.3, "treble": test[1]["treble"]},  # 0.03 from a test setting
        {"gain": 11.0, "treble": 5.0},  # outside the dial
        {"gain": -0.5, "treble": 5.0},
        {"gain": 5.0},  # a knob missing
        {"gain": 5.0, "treble": 5.0, "bass": 1.0},  # a knob the plan does not have
        {"gain": initial["gain"], "treble": initial["treble"]},  # recorded already (initial batch)
        {"gain": 5.0, "treble": 9.5},  # the one good setting
        {"gain": 5.05, "treble": 9.5},  # too close to the one just taken (diversity)
    ]
    write_proposal(session, 1, proposed)
    batch = accept(session, 1, read_proposal(session, 1), events=s.events)
    assert [x.origin for x in batch.settings] == ["trainer", "fallback"]  # topped up to the batch size
    assert batch.settings[0].values == {"gain": 5.0, "treble": 9.5, "volume": 5.0}
    assert len(batch.dropped) == len(proposed) - 1
    tests = np.array([[t["gain"], t["treble"]] for t in test]) / 10
    for x in batch.settings:
        point = np.array([x.values["gain"], x.values["treble"]]) / 10
        assert np.min(np.linalg.norm(tests - point, axis=1)) >= 0.1
        assert 0 <= x.values["gain"] <= 10
        assert 0 <= x.values["treble"] <= 10
    alerts = [e for e in read_events(session)[0] if e["type"] == "alert"]
    assert alerts
    assert alerts[0]["kind"] == "proposal_filtered"
    assert "test setting" in alerts[0]["message"]
    accepted = [e for e in read_events(session)[0] if e["type"] == "batch_accepted"]
    assert accepted[0]["setting_ids"] == [x.id for x in batch.settings]
    assert accepted[0]["source"] == "trainer"
