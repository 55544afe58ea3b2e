"""A fake but realistic session for dashboard tests: session.yaml from the demo plan, WAV
takes committed the way the capture commits them, and the events a capture and a trainer
append over time (optionally from a background thread)."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from rig.errors import UserError
from rig.plan import Plan, load_plan, sample_settings
from rig.session import Session

ROOT = Path(__file__).resolve().parents[2]
DEMO_PLAN = ROOT / "capture_plans" / "demo.yaml"
TAKE_SAMPLES = 2400  # 50 ms: enough for a player, small on disk


def demo_plan(count: int | None = None) -> Plan:
    try:
        plan = load_plan(DEMO_PLAN)
    except UserError:  # models/*.yaml not written yet: validate the plan without the file check
        plan = Plan.model_validate(yaml.safe_load(DEMO_PLAN.read_text()))
    if count is not None:
        plan = plan.model_copy(update={"settings": plan.settings.model_copy(update={"count": count})})
    return plan


def make_session(folder: Path, count: int | None = None) -> Session:
    plan = demo_plan(count)
    settings = sample_settings(plan)
    return Session.create(folder, plan, DEMO_PLAN, settings, [s.id for s in settings])


class FakeRun:
    """Emits what a capture (and the trainer following it) would, one take per `step()`.
    `paused` is honoured like the real loop: no takes while it is set."""

    def __init__(self, session: Session, seed: int = 0, audio: bool = True):
        self.session = session
        self.log = session.events
        self.plan = session.plan()
        self.settings = {s.id: s for s in session.settings()}
        self.route = list(session.info["route"])
        self.rng = np.random.default_rng(seed)
        self.audio = audio
        self.done = 0
        self.epoch = 0
        self.paused = threading.Event()
        self.holding = threading.Event()  # the background loop saw `paused` and records nothing
        self.stopped = threading.Event()

    def fast_forward(self, done: int) -> None:
        """Go on from a copy of a session already `done` takes in (epochs start at take 3)."""
        self.done, self.epoch = done, max(0, done - 2)

    def start(self) -> None:
        knobs = [{"name": k.name, "min": k.min, "max": k.max} for k in self.plan.knobs]
        self.log.emit(
            "run_started",
            plan_name="demo",
            device=self.plan.device.name,
            knobs=knobs,
            total=len(self.route),
            route=self.route,
            dashboard=None,
            done=self.done,
        )
        self.log.emit("robot", state="homing")
        self.log.emit("robot", state="homed", knobs={k.name: 0.0 for k in self.plan.knobs})

    def step(self) -> bool:
        """Record the next take; False when the route is done."""
        if self.done >= len(self.route):
            return False
        setting = self.settings[self.route[self.done]]
        self.log.emit("moved", setting_id=setting.id, knobs=setting.values, seconds=1.2)
        self._levels(clip=self.done % 7 == 3)
        retries = 1 if self.done % 5 == 2 else 0
        if retries:
            self.log.emit("take_failed", setting_id=setting.id, attempt=1, reason="xrun during recording")
            self.log.emit("alert", level="warning", kind="xrun", message=f"xrun on setting {setting.id}; re-recording")
        self._take(setting, retries)
        self.done += 1
        self.log.emit("progress", done=self.done, total=len(self.route), eta_s=(len(self.route) - self.done) * 12.0)
        self._train()
        return True

    def finish(self) -> None:
        self.log.emit("finished", done=self.done, total=len(self.route))
        model = self.plan.train.models[0]
        self.log.emit("train_test", model=model, esr=0.031, per_setting=[])
        self.log.emit("train_exported", model=model, files=["train/export/model.nam", "train/export/model.onnx"])
        self.log.emit("train_finished", model=model, best_val_loss=0.02, test_esr=0.031)

    def _levels(self, clip: bool) -> None:
        base = -18 + self.rng.normal(0, 2)
        self.log.emit(
            "levels",
            send_dbfs=round(base, 1),
            loopback_dbfs=round(base - 0.4, 1),
            return_dbfs=round(-0.05 if clip else base + 6, 1),
            clipped={"send": False, "loopback": False, "return": clip},
        )

    def _take(self, setting, retries: int) -> None:
        index = self.done
        take_id = f"t{index:04d}_" + "_".join(f"{k.tag}{setting.values[k.name]:g}" for k in self.plan.sampled_knobs)
        snr = round(float(55 + self.rng.normal(0, 4)), 1)
        qc = {"ok": True, "reasons": ["return peak -0.1 dBFS"] if index % 7 == 3 else [], "snr_db": snr}
        record = {
            "take_id": take_id,
            "setting_id": setting.id,
            "split": setting.split,
            "knobs": setting.values,
            "sample_rate": 48000,
            "samples": TAKE_SAMPLES,
            "latency_samples": 256 + 37,
            "device_delay_samples": 37,
            "qc": qc,
            "retries": retries,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if self.audio:
            self._write_wavs(take_id)
            self.session.commit_take(record)
        self.log.emit(
            "take_recorded",
            take_id=take_id,
            setting_id=setting.id,
            index=index,
            split=setting.split,
            knobs=setting.values,
            latency_samples=293,
            snr_db=snr,
            retries=retries,
            qc=qc,
        )

    def _write_wavs(self, take_id: str) -> None:
        t = np.arange(TAKE_SAMPLES) / 48000
        dry = (0.3 * np.sin(2 * math.pi * 220 * t)).astype(np.float32)
        signals = {"dry": dry, "loopback": dry, "wet": np.tanh(4 * dry).astype(np.float32)}
        for kind, final in self.session.take_files(take_id).items():
            sf.write(self.session.temp_path(final), signals[kind], 48000, subtype="FLOAT", format="WAV")

    def _train(self) -> None:
        """The trainer starts after a few takes and runs an epoch per take."""
        model = self.plan.train.models[0]
        if self.done < 3:
            return
        if self.epoch == 0:
            self.log.emit("train_started", model=model, params=14_873)
        self.epoch += 1
        loss = 0.6 * math.exp(-self.epoch / 6) + 0.02
        self.log.emit(
            "train_epoch",
            model=model,
            epoch=self.epoch,
            train_loss=round(loss, 5),
            val_loss=round(loss * 1.15, 5),
            val_esr=round(loss * 1.3, 5),
            lr=round(3e-3 * 0.95**self.epoch, 7),
            takes_used=self.done,
        )

    # ---- background thread ----------------------------------------------------------------
    def run_in_thread(self, interval_s: float, finish: bool = False) -> threading.Thread:
        def loop() -> None:
            self.start()
            while not self.stopped.is_set():
                if self.paused.is_set():
                    self.holding.set()
                    time.sleep(0.05)
                    continue
                self.holding.clear()
                if not self.step():
                    break
                self.stopped.wait(interval_s)
            if finish and not self.stopped.is_set():
                self.finish()

        thread = threading.Thread(target=loop, daemon=True, name="fake-capture")
        thread.start()
        return thread


class RecordingControl:
    """RunControl test double: records calls and, like the capture, logs paused/resumed."""

    def __init__(self, run: FakeRun | None = None):
        self.calls: list[str] = []
        self.state = "running"
        self.run = run

    def pause(self) -> None:
        self.calls.append("pause")
        self.state = "paused"
        if self.run:
            self.run.paused.set()
            self.run.log.emit("paused")

    def resume(self) -> None:
        self.calls.append("resume")
        self.state = "running"
        if self.run:
            self.run.paused.clear()
            self.run.log.emit("resumed")

    def abort(self) -> None:
        self.calls.append("abort")
        self.state = "aborting"
        if self.run:
            self.run.stopped.set()
            self.run.log.emit("aborted", reason="aborted from the dashboard")
