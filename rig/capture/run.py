"""The capture run. Order matters for safety: every check that can fail (plan, disk, robot
banner, audio device) happens before the session exists and before anything moves; every
take is committed atomically, so any stop -- Ctrl-C, SIGKILL, disk full -- leaves a session
that `--resume` continues without losing or duplicating a take."""

from __future__ import annotations

import contextlib
import time

from rig.capture import report
from rig.capture.control import Aborted, CaptureControl, SignalGuard, eprint
from rig.capture.drift import DriftMonitor
from rig.capture.live_levels import live_levels
from rig.capture.naming import take_id
from rig.capture.options import CaptureOptions
from rig.capture.parts import Robot, RobotError, open_audio, robot_port
from rig.capture.preflight import Prepared, prepare
from rig.capture.progress import Eta, ProgressView, fmt_seconds
from rig.capture.takes import Outcome, Recorder, disk_error
from rig.capture.trainer_process import TrainerProcess
from rig.errors import UserError
from rig.session import EventLog, Session

EXIT_OK, EXIT_SKIPPED, EXIT_INTERRUPTED = 0, 1, 130


def run_capture(opts: CaptureOptions) -> int:
    prep = prepare(opts)
    run = CaptureRun(prep, opts)
    try:
        return run.execute()
    finally:
        if run.session:
            run.session.unlock()


class CaptureRun:
    def __init__(self, prep: Prepared, opts: CaptureOptions):
        self.prep, self.opts, self.plan = prep, opts, prep.plan
        self.control = CaptureControl(on_change=self._control_event)
        self.tally = report.RunTally()
        self.session: Session | None = prep.session
        self.events: EventLog | None = None
        self.view: ProgressView | None = None
        self.trainer: TrainerProcess | None = None
        self.dashboard_url: str | None = None
        self.summary: dict | None = None

    # ---- the whole run ------------------------------------------------------------
    def execute(self) -> int:
        with contextlib.ExitStack() as stack:
            robot = self._open_robot()
            stack.callback(robot.close)
            iface = open_audio(
                self.plan,
                self.opts.sim,
                self.opts.jack,
                robot,
                self.prep.plan_file,
                self.opts.audio_faults,
                realtime=self.opts.realtime_pace(self.plan),
            )
            stack.callback(_close, iface)
            self._open_session(robot, iface)
            assert self.session is not None  # _open_session made or reopened it
            stack.enter_context(live_levels(self.session.folder, iface, self.plan.take.qc.clip_level))
            stack.enter_context(self._dashboard())
            self._announce_start()
            self._start_trainer()
            stack.callback(self._stop_trainer_if_running)
            stack.enter_context(SignalGuard(self.control, self._say))
            ending = "aborted"
            try:
                ending = self._capture(robot, iface)
                if ending == "finished":
                    self._follow_trainer()
            except Aborted as exc:  # a second Ctrl-C outside the take loop (e.g. while ending)
                self._end("aborted", reason=str(exc), resumable=True)
                ending = "aborted"
                if self.trainer:
                    self.trainer.stop(grace_s=3.0)
            self._print_report(ending)
            return self._exit_code(ending)

    def _capture(self, robot: Robot, iface) -> str:
        """Runs the takes; returns finished | stopped | aborted. Raises UserError (after
        recording why in the event log) for problems the user must fix."""
        assert self.session is not None  # both opened before any take
        assert self.events is not None
        recorder = Recorder(self.plan, self.session, self.events, robot, iface, self.control)
        self.view = ProgressView(self.prep.total, self.prep.done_count(), self.opts.quiet)
        try:
            with self.view:
                self.control.set_state("running")
                self._home(robot)
                self._takes(recorder)
        except Aborted as exc:
            self._end("aborted", reason=str(exc))
            return "aborted"
        except (UserError, OSError) as exc:
            if isinstance(exc, OSError):  # the event log on a full or failing disk, say
                exc = disk_error(exc, self.session.folder)
            traffic = {"traffic": exc.traffic} if isinstance(exc, RobotError) and exc.traffic else {}
            self._alert("error", "stopped", str(exc), show=False, **traffic)  # the CLI prints it, once
            self._end("aborted", reason=str(exc), resumable=True)
            if not isinstance(exc, RobotError):  # a failing robot is best left alone
                self._park(robot)
            if "--resume" not in str(exc):
                self._say(f"nothing is lost; once fixed, continue with: rig capture --resume {self.session.folder}")
            raise exc from None
        except Exception as exc:  # a bug: still tell the followers the run is over
            self._end("aborted", reason=f"internal error: {type(exc).__name__}: {exc}", resumable=True)
            raise
        self._park(robot)
        if self.control.stopping:
            self._end("aborted", reason=self.control.stop_reason, resumable=True)
            return "stopped"
        self._end("finished")
        return "finished"

    # ---- opening things (pre-flight) ------------------------------------------------
    def _open_robot(self) -> Robot:
        return Robot(self.plan, robot_port(self.plan, self.opts.sim, self.opts.robot_faults))

    def _open_session(self, robot: Robot, iface) -> None:
        rig_info = {
            "sim": self.opts.sim,
            "jack": self.opts.jack,
            "robot_port": robot.port,
            "firmware": robot.banner,
            "interface": str(getattr(iface, "name", self.plan.audio.interface)),
        }
        if self.session is None:
            p = self.prep
            self.session = Session.create(
                p.folder,
                p.plan,
                p.plan_file,
                p.settings,
                p.order,
                p.reference,
                extra={"rig": rig_info, "estimate_s": round(p.estimate_s, 1)},
            )
            self.session.lock()
        self.events = self.session.events
        for note in self.prep.notes:  # what resume repaired or moved aside: shown even with --quiet
            self._alert("warning", "resume", note)
        self.rig_info = rig_info

    def _announce_start(self) -> None:
        p, rig_info = self.prep, self.rig_info
        assert self.events is not None  # called after _open_session
        self.events.emit(
            "run_started",
            plan_name=p.plan_file.stem,
            device=self.plan.device.name,
            knobs=[{"name": k.name, "min": k.min, "max": k.max} for k in self.plan.knobs],
            total=p.total,
            route=p.order,
            dashboard=self.dashboard_url,
            resumed=p.session is not None,
            done=p.done_count(),
            estimate_s=round(p.estimate_s, 1),
            rig=rig_info,
            train=bool(self.opts.train and self.plan.train.auto),  # False: no trainer follows this run
        )

    @contextlib.contextmanager
    def _dashboard(self):
        if not self.opts.dashboard:
            yield
            return
        from rig.dashboard import start_dashboard

        assert self.session is not None  # entered after _open_session
        try:
            handle, url = start_dashboard(
                self.session.folder, self.control, self.opts.host, self.opts.port, self.opts.allow_remote
            )
        except UserError as exc:
            if "busy" not in str(exc):
                raise
            handle, url = start_dashboard(self.session.folder, self.control, self.opts.host, 0, self.opts.allow_remote)
            self._say(f"port {self.opts.port} is busy; the dashboard uses {handle.url} instead")
        self.dashboard_url = handle.url  # without the token: the event log is readable by anyone
        self._say(f"dashboard: {url}")
        try:
            yield
        finally:
            handle.stop()

    def _start_trainer(self) -> None:
        if not self.opts.train or not self.plan.train.auto:
            return
        assert self.session is not None  # started after _open_session
        self.trainer = TrainerProcess(self.session.folder, self.opts.train_device)
        self.trainer.start()
        self._say(f"trainer started (log: {self.trainer.log_path})")

    def _stop_trainer_if_running(self) -> None:
        if self.trainer and self.trainer.running:
            self._say("stopping the trainer ...")
            self.trainer.stop()

    # ---- the takes --------------------------------------------------------------------
    def _home(self, robot: Robot) -> None:
        assert self.events is not None  # homing happens inside _capture, after _open_session
        self.events.emit("robot", state="homing")
        robot.home()
        self.events.emit("robot", state="homed")
        if self.plan.robot.warmup_s > 0 and self.prep.session is None:
            self._say(f"warming up for {self.plan.robot.warmup_s:g} s")
            self._sleep(self.plan.robot.warmup_s / robot.time_scale)

    def _takes(self, recorder: Recorder) -> None:
        if self.plan.settings.method == "active":  # the trainer chooses most settings while this runs
            from rig.capture.active import ActiveTakes

            ActiveTakes(self, recorder).run()
            return
        p = self.prep
        todo, total = p.todo(), len(p.order)
        done = total - len(todo)
        if not todo:
            self._say("every setting is already captured")
            return
        self.eta = Eta(p.estimate_s, total)
        assert self.session is not None  # the takes run after _open_session
        records = self.session.manifest()
        self.drift = DriftMonitor.from_manifest(self.session.folder, records)
        self.references = sum(1 for r in records if r.get("split") == "reference")  # numbers the next one
        self._reference(recorder, "start")
        every = self.plan.settings.reference_every
        by_id, position = p.by_id, {sid: i for i, sid in enumerate(p.order)}
        for i, sid in enumerate(todo):
            self.control.wait_while_paused()
            if self.control.stopping:
                return
            outcome = self._one(recorder, by_id[sid], position[sid])
            done += outcome.ok
            self._announce(outcome, done, total, len(todo) - i - 1)
            if every and (i + 1) % every == 0 and i + 1 < len(todo) and not self.control.stopping:
                self._reference(recorder, "interval")
        if not self.control.stopping:
            self._reference(recorder, "end")

    def _one(self, recorder: Recorder, setting, index: int) -> Outcome:
        tid = take_id(setting.id, self.plan, setting.values)
        assert self.view is not None  # both set before the takes
        assert self.events is not None
        self.view.update(setting=tid.split("_", 1)[1])
        outcome = recorder.capture(setting, tid, index)
        self.eta.take_done()
        if outcome.ok:
            self.tally.ok += 1
            self.tally.retried += outcome.retries > 0
            rec = outcome.record
            assert rec is not None  # an ok take is a committed one
            self.events.emit(
                "take_recorded",
                take_id=tid,
                setting_id=setting.id,
                index=index,
                split=setting.split,
                knobs=setting.values,
                latency_samples=rec["latency_samples"],
                snr_db=rec["qc"].get("snr_db"),
                retries=outcome.retries,
                qc=rec["qc"],
                seconds={k: round(v, 3) for k, v in outcome.seconds.items()},
            )
            if self.opts.after_commit:
                self.opts.after_commit(rec)
        elif not self.control.stopping or outcome.retries > self.plan.take.max_retries:
            self.tally.failed.append({"setting_id": setting.id, "reasons": outcome.reasons})
            self._alert(
                "error",
                "take_skipped",
                f"setting {setting.id} ({tid}) failed {len(outcome.reasons)} times, skipped: {outcome.reasons[-1]}",
            )
        return outcome

    def _announce(self, outcome: Outcome, done: int, total: int, left: int) -> None:
        eta = self.eta.remaining(left)
        assert self.view is not None  # both set before the takes
        assert self.events is not None
        self.events.emit("progress", done=done, total=total, eta_s=round(eta, 1))
        verdict = "ok" if outcome.ok else "FAILED"
        if outcome.ok and outcome.retries:
            verdict = f"ok after {outcome.retries} re-record(s)"
        self.view.update(completed=done, eta=fmt_seconds(eta), qc=verdict)

    def _reference(self, recorder: Recorder, when: str) -> None:
        setting = self.prep.reference
        outcome = recorder.capture(setting, take_id(self.references, self.plan, setting.values, prefix="r"), -1)
        if not outcome.ok:
            self._alert("warning", "reference", f"reference take ({when}) failed: {outcome.reasons[-1:]}")
            return
        self.references += 1
        # an ok take is a committed one: store() sets both before ok
        assert outcome.record is not None
        assert outcome.wet_content is not None
        assert self.events is not None
        value = self.drift.check(outcome.wet_content)
        self.events.emit(
            "take_recorded",
            take_id=outcome.take_id,
            setting_id=-1,
            index=-1,
            split="reference",
            knobs=setting.values,
            latency_samples=outcome.record["latency_samples"],
            snr_db=outcome.record["qc"].get("snr_db"),
            retries=outcome.retries,
            qc=outcome.record["qc"],
            drift_esr=value,
        )
        if value is not None:
            self.tally.drift_max = max(self.tally.drift_max or 0.0, value)
            limit = self.plan.take.qc.drift_esr
            if value > limit:
                self._alert("warning", "drift", f"reference take drifted: ESR {value:.4f} vs the first (limit {limit})")

    def _park(self, robot: Robot) -> None:
        assert self.events is not None  # parking happens inside _capture, after _open_session
        try:
            robot.park()
            self.events.emit("robot", state="idle")
        except (RobotError, OSError) as exc:  # parking is a courtesy: the data is already safe
            self._alert("warning", "robot", f"could not park the knobs: {exc}")

    # ---- training after capture -----------------------------------------------------
    def _follow_trainer(self) -> None:
        if not self.trainer:
            return
        from rig.capture.trainer_watch import follow_trainer

        assert self.session is not None  # a trainer only runs once the session exists
        follow_trainer(self.trainer, self.session.folder, self.control, self.opts.quiet, self._say)

    # ---- ending ---------------------------------------------------------------------------
    def _end(self, kind: str, **fields) -> None:
        assert self.session is not None  # every end follows _open_session
        assert self.events is not None
        total = self.prep.total
        done = len(self.session.done_setting_ids())
        with contextlib.suppress(OSError):  # the disk may be full: the manifest is what counts
            if kind == "finished":
                self.events.emit("finished", done=done, total=total, failed=len(self.tally.failed))
            else:
                self.events.emit("aborted", done=done, total=total, **fields)
        self.control.set_state("finished" if kind == "finished" else "stopped")

    def _print_report(self, ending: str) -> None:
        assert self.session is not None  # reports follow _open_session
        self.summary = report.summarise(self.session.folder, self.tally, self.prep.total, self.plan.take.qc.drift_esr)
        if ending != "finished":
            self._say(f"capture stopped; nothing is lost. Continue with: rig capture --resume {self.session.folder}")
        for line in report.render(self.summary):
            self._say(line)

    def _exit_code(self, ending: str) -> int:
        if ending != "finished":
            return EXIT_INTERRUPTED
        return EXIT_SKIPPED if self.tally.failed else EXIT_OK

    # ---- small helpers --------------------------------------------------------------------
    def _control_event(self, kind: str) -> None:
        if self.events:
            self.events.emit(kind)
        self._say(f"capture {kind}")

    def _alert(self, level: str, kind: str, message: str, show: bool = True, **extra) -> None:
        assert self.events is not None  # alerts are raised once the session is open
        with contextlib.suppress(OSError):
            self.events.emit("alert", level=level, kind=kind, message=message, **extra)
        if show and (level != "info" or not self.opts.quiet):
            self._say(f"{level}: {message}")

    def _say(self, msg: str) -> None:
        if self.view:
            self.view.say(msg)
        else:
            eprint(msg)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.control.stopping:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _close(iface) -> None:
    close = getattr(iface, "close", None)
    if close:
        close()
