"""The active-capture proposer (rig/train/acquisition.py): batches go where the prequential
error is high yet stay apart and away from the test settings, each proposal is written once,
the measurements survive a restart, and the closed loop runs with a real simulated capture and
the trainer the capture starts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rig.capture import CaptureOptions
from rig.capture.run import run_capture
from rig.session import read_events
from rig.session.proposals import accept, accepted_batches, proposal_path, read_proposal
from rig.train.acquisition import GP_SIGNAL, PREQUENTIAL_FILE, ActiveProposer, fingerprint
from rig.train.data import TakePool
from rig.train.models import build_model
from tests.capture.active_helpers import held_out_values, recorded, write_active_plan
from tests.train.active_points import CORNER, active_session, norm, write_points

from .conftest import tiny_config, write_config


@pytest.fixture(autouse=True)
def _one_omp_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the trainer child inherits it: the cores are shared


def min_gap(points: np.ndarray, others: np.ndarray) -> float:
    return float(np.min(np.linalg.norm(points[:, None] - others[None], axis=2)))


def test_a_batch_goes_where_the_error_is_high_yet_stays_apart_and_off_the_test_settings(tmp_path):
    session = active_session(tmp_path, batch=6, budget=30)
    out = session.folder / "train" / "m"
    write_points(out)
    ActiveProposer(session, session.plan(), out).propose_if_due()
    proposal = read_proposal(session.folder, 1)
    assert proposal is not None
    assert proposal.signal == GP_SIGNAL
    assert proposal.based_on_takes == 36
    picks = np.array([norm(s["values"]) for s in proposal.settings[:6]])
    assert len(picks) == 6
    assert np.all(np.linalg.norm(picks - CORNER, axis=1) < 0.5), picks  # a quarter disc: 20 % of the space
    pairwise = [np.linalg.norm(a - b) for i, a in enumerate(picks) for b in picks[i + 1 :]]
    assert min(pairwise) >= 0.1  # diverse: no two within min_distance
    static = session.settings()
    assert min_gap(picks, np.array([norm(s.values) for s in static if s.split == "test"])) >= 0.1
    assert min_gap(picks, np.array([norm(s.values) for s in static if s.split != "test"])) >= 0.1
    scores = [s["score"] for s in proposal.settings]
    assert scores[0] == max(scores)
    assert_map_shows_the_corner(session.folder, proposal.settings)
    # The capture's own filter keeps every one of them.
    accepted = accept(session.folder, 1, proposal)
    assert accepted.source == "trainer"
    assert not accepted.dropped


def assert_map_shows_the_corner(folder: Path, proposed: list[dict]) -> None:
    """The proposal's event carries what the dashboard draws: the proposed settings and the
    surrogate's map, whose error is highest in the CORNER's cell and lowest far from it."""
    (event,) = [e for e in read_events(folder)[0] if e["type"] == "active_proposal"]
    assert event["settings"] == [s["values"] for s in proposed]
    grid = event["map"]
    assert grid["bins"] == 12
    (pair,) = grid["pairs"]
    assert (pair["x"], pair["y"]) == ("gain", "treble")
    error = np.array(pair["error"], dtype=float)
    assert error.shape == (12, 12)
    assert not np.isnan(error).any()  # 4096 candidates fill every cell
    assert np.unravel_index(np.argmax(error), error.shape) in {(11, 11), (11, 10), (10, 11)}
    assert error[11, 11] > 5 * error[0, 0]  # the synthetic surface: e^2.5 ~ 12x at the corner
    std = np.array(pair["std"], dtype=float)
    assert np.all(std >= 0)


def test_a_flat_surface_or_an_untrained_model_spreads_the_batch(tmp_path):
    """Noise-level differences are no reason to pile up, and points measured while the model
    was no better than silence (reference ESR ~1) are not used at all."""
    for case, kw in (("flat", {"height": 0.0}), ("untrained", {"ref": 0.95})):
        (tmp_path / case).mkdir()
        session = active_session(tmp_path / case, batch=6, budget=30)
        out = session.folder / "train" / "m"
        write_points(out, **kw)
        ActiveProposer(session, session.plan(), out).propose_if_due()
        proposal = read_proposal(session.folder, 1)
        assert proposal is not None
        assert proposal.signal.startswith("space-filling") == (case == "untrained")
        picks = np.array([norm(s["values"]) for s in proposal.settings[:6]])
        quadrants = {(bool(x > 0.5), bool(y > 0.5)) for x, y in picks}
        assert len(quadrants) >= 3, (case, picks)
        assert np.sum(np.linalg.norm(picks - CORNER, axis=1) < 0.5) <= 3, (case, picks)


def test_a_proposal_is_written_once_per_batch_and_follows_the_acceptances(tmp_path):
    session = active_session(tmp_path, batch=2, budget=7)
    folder, out = session.folder, session.folder / "train" / "m"
    proposer = ActiveProposer(session, session.plan(), out)
    first = proposer.propose_if_due()
    assert first == proposal_path(folder, 1)
    data = first.read_bytes()
    proposal = read_proposal(folder, 1)
    assert proposal is not None
    assert proposal.signal.startswith("space-filling")
    assert len(proposal.settings) >= 2
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temp file left behind
    assert proposer.propose_if_due() is None  # batch 1 not accepted yet: nothing more to write
    assert ActiveProposer(session, session.plan(), out).propose_if_due() is None  # nor after a restart
    assert first.read_bytes() == data
    batch1 = accept(folder, 1, proposal)
    second = proposer.propose_if_due()
    assert second == proposal_path(folder, 2)
    picked = np.array([norm(s["values"]) for s in read_proposal(folder, 2).settings])  # type: ignore[union-attr]
    assert min_gap(picked, np.array([norm(s.values) for s in batch1.settings])) >= 0.1
    accept(folder, 2, read_proposal(folder, 2))
    assert proposer.propose_if_due() is None  # the budget (4 proposed takes) is used up
    assert sorted(p.name for p in first.parent.iterdir()) == ["accepted.jsonl", "batch-0001.json", "batch-0002.json"]
    logged = [e for e in read_events(folder)[0] if e["type"] == "active_proposal"]
    assert [e["batch"] for e in logged] == [1, 2]
    assert logged[0]["count"] == len(proposal.settings)
    assert logged[0]["based_on_takes"] == 0


def test_prequential_points_are_measured_honestly_and_survive_a_restart(tmp_path):
    session = active_session(tmp_path, batch=2, budget=7, commit=True, knob="tone")
    out = session.folder / "train" / "m"
    model = build_model(tiny_config("tcn"), 2)
    model.train()
    weights = fingerprint(model)
    pool = TakePool(session, "dry", int(model.receptive_field) - 1)
    proposer = ActiveProposer(session, session.plan(), out)
    # The capture's first takes may come before any val take: they wait for a reference.
    train_first = sorted(session.manifest(), key=lambda r: r["split"] == "val")
    got = {t.take_id: proposer.observe(t, model) for t in (pool.add(r) for r in train_first) if t is not None}
    assert model.training
    assert fingerprint(model) == weights  # measured without a step, the trainer's mode restored
    assert len(pool.test_records) == 2  # test takes never reach observe
    assert len(got) == 3
    assert set(got.values()) == {None}  # held at first; the val take is not its own yardstick
    kept = {p.take_id: p for p in proposer.points}
    assert set(kept) == {t.take_id for t in pool.train}  # the val take, same weights, released them
    assert all(p.ref_esr is not None and math.isfinite(p.relative or math.nan) for p in kept.values())
    assert all(p.esr > 0 for p in kept.values())
    proposer.after_epoch(pool)  # the weights move on: what is still held is kept without one
    val = next(p for p in proposer.points if p.split == "val")
    assert val.ref_esr is None
    assert val.relative is None

    again = ActiveProposer(session, session.plan(), out)
    assert again.points == proposer.points
    assert again.observe(pool.train[0], model) is None  # measured once: the first figure is the honest one
    assert len((out / PREQUENTIAL_FILE).read_text().splitlines()) == 3


def test_the_closed_loop_proposes_every_batch_and_never_trains_on_a_test_setting(tmp_path):
    """A real simulated capture of the tiny active plan with the trainer it starts itself
    (`rig train --follow`): every batch after the initial one comes from the trainer."""
    plan = write_active_plan(
        tmp_path, budget=11, timeout=600
    )  # the trainer answers in seconds; slack for slow machines
    write_config(tmp_path, tiny_config("tcn"))
    text = plan.read_text().replace(
        "train: {auto: false}", "train: {models: [tiny-tcn.yaml], budget_minutes: 0.02, min_takes: 1}"
    )
    plan.write_text(text)
    folder = tmp_path / "s"
    opts = CaptureOptions(plan_file=plan, session=folder, sim=True, train=True, dashboard=False, quiet=True)
    assert run_capture(opts) == 0, (folder / "train" / "trainer.log").read_text()

    batches = accepted_batches(folder)
    assert [b.batch for b in batches] == [1, 2, 3, 4]
    assert [b.source for b in batches] == ["trainer"] * 4
    assert all(s.origin == "trainer" for b in batches for s in b.settings)
    events = read_events(folder)[0]
    assert not [e for e in events if e["type"] == "alert" and e.get("kind") == "proposal_timeout"]
    proposals = [e for e in events if e["type"] == "active_proposal"]
    assert [e["batch"] for e in proposals] == [1, 2, 3, 4]
    test_takes = {r["take_id"] for r in recorded(folder) if r["split"] == "test"}
    used = {t["take_id"] for e in events if e["type"] == "train_takes_used" for t in e["takes"]}
    assert len(test_takes) == 2
    assert used
    assert not used & test_takes
    tests = np.array([norm(v) for v in held_out_values(folder)])
    fit = np.array([norm(r["knobs"]) for r in recorded(folder) if r["split"] != "test"])
    assert len(fit) == 11
    assert min_gap(fit, tests) >= 0.1
    measured = (folder / "train" / "tiny-tcn" / PREQUENTIAL_FILE).read_text().splitlines()
    assert {json.loads(x)["take_id"] for x in measured} <= {r["take_id"] for r in recorded(folder)} - test_takes
    assert len(measured) >= 7  # every take recorded before the capture ended, at least the static ones
