"""The takes of an active capture (settings.method: active): the held-out test settings
first, then the initial Sobol batch and val, then batch after batch proposed by the trainer
(rig/session/proposals.py) until the take budget is in. A batch waits for its proposal at
most active.proposal_timeout_s, then takes the plan's next Sobol points instead. Each batch
is accepted durably before any of it moves, so a restart records what was accepted and never
accepts a batch twice."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rig.capture.drift import DriftMonitor
from rig.capture.progress import Eta
from rig.capture.takes import Recorder
from rig.plan import Setting
from rig.plan.active import active_block, proposed_takes
from rig.session import read_events
from rig.session.proposals import (
    Proposal,
    ProposalError,
    accept,
    accepted_batches,
    accepted_settings,
    announce,
    next_batch,
    read_proposal,
)

if TYPE_CHECKING:
    from rig.capture.run import CaptureRun

POLL_S = 0.1  # how often a waiting capture looks for the proposal file


class ActiveTakes:
    def __init__(self, run: CaptureRun, recorder: Recorder):
        # all three are set before the takes
        assert run.session is not None
        assert run.events is not None
        assert run.view is not None
        self.capture, self.recorder = run, recorder
        self.session, self.events, self.view = run.session, run.events, run.view
        self.folder, self.plan, self.control = run.session.folder, run.plan, run.control
        self.active = active_block(self.plan)
        self.total = run.prep.total
        self.done = len(self.session.done_setting_ids())
        self.position = run.prep.reference.values  # where the robot is: the start reference leaves it there
        self.since_reference = 0

    def run(self) -> None:
        p, r = self.capture.prep, self.capture
        if not p.todo() and self._unrecorded() == [] and self._left() == 0:
            r._say("every setting is already captured")
            return
        r.eta = Eta(p.estimate_s, self.total)
        records = self.session.manifest()
        r.drift = DriftMonitor.from_manifest(self.folder, records)
        r.references = sum(1 for x in records if x.get("split") == "reference")
        self._reference("start")
        self._announce_lost()
        by_id = p.by_id
        # test settings first, then initial and val, in the stored route's order
        if not self._record_all([by_id[sid] for sid in p.todo()], routed=True):
            return
        # batches accepted before a stop: recorded (the rest of them) before anything new is accepted
        if not self._record_all(self._unrecorded()):
            return
        while self._left() > 0 and not self.control.stopping:
            batch = next_batch(self.folder)
            proposal = self._wait(batch)
            if self.control.stopping:
                return
            accepted = accept(self.folder, batch, proposal, self.events)
            settings = [Setting(s.id, s.values, "train") for s in accepted.settings]
            r._say(f"batch {batch}: {len(settings)} setting(s) from the {accepted.source}")
            if not self._record_all(settings):
                return
        if not self.control.stopping:
            self._reference("end")

    # ---- batches ---------------------------------------------------------------------
    def _announce_lost(self) -> None:
        """A stop between an acceptance line and its event leaves followers without the event."""
        told = {e.get("batch") for e in read_events(self.folder)[0] if e.get("type") == "batch_accepted"}
        for b in accepted_batches(self.folder):
            if b.batch not in told:
                announce(self.events, b, replayed=True)

    def _left(self) -> int:
        return proposed_takes(self.plan) - sum(len(b.settings) for b in accepted_batches(self.folder))

    def _unrecorded(self) -> list[Setting]:
        done = self.session.done_setting_ids()
        return [s for s in accepted_settings(self.folder) if s.id not in done]

    def _wait(self, batch: int) -> Proposal | None:
        """The proposal for `batch`, or None after the timeout (or a stop). Pausing stops the clock."""
        timeout = self.active.proposal_timeout_s
        self.events.emit("waiting", what="proposal", batch=batch, timeout_s=timeout)
        self.view.update(setting=f"waiting for batch {batch}")
        deadline, problem = time.monotonic() + timeout, None
        while True:
            try:
                proposal = read_proposal(self.folder, batch)
            except ProposalError as exc:  # not (yet) a valid file: never consumed, keep looking
                proposal, problem = None, str(exc)
            if proposal is not None:
                return proposal
            if self.control.stopping:
                return None
            if self.control.state == "paused":
                t0 = time.monotonic()
                self.control.wait_while_paused()
                deadline += time.monotonic() - t0
                continue
            now = time.monotonic()
            if now >= deadline:
                break
            time.sleep(min(POLL_S, deadline - now))
        why = f" ({problem})" if problem else ""
        self.capture._alert(
            "warning",
            "proposal_timeout",
            f"no proposal for batch {batch} within {timeout:g} s{why}; recording the plan's next Sobol points",
            batch=batch,
        )
        return None

    def _record_all(self, settings: list[Setting], routed: bool = False) -> bool:
        """Record `settings` (in a route from the robot's position unless `routed`); False once stopping."""
        for setting in settings if routed else self._routed(settings):
            self.control.wait_while_paused()
            if self.control.stopping:
                return False
            outcome = self.capture._one(self.recorder, setting, setting.id)
            self.position = setting.values
            self.done += outcome.ok
            self.capture._announce(outcome, self.done, self.total, self.total - self.done)
            self.since_reference += 1
            every = self.plan.settings.reference_every
            if every and self.since_reference >= every and not self.control.stopping:
                self._reference("interval")
        return not self.control.stopping

    def _routed(self, settings: list[Setting]) -> list[Setting]:
        if len(settings) < 2:
            return settings
        from rig import route as routing

        order = routing.plan_route(self.plan, settings, start=self.position).order
        by_id = {s.id: s for s in settings}
        return [by_id[i] for i in order]

    def _reference(self, when: str) -> None:
        self.capture._reference(self.recorder, when)
        self.position = self.capture.prep.reference.values
        self.since_reference = 0
