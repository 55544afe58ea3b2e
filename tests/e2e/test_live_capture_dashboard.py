"""End to end: the real `rig capture --sim` command in a subprocess (robot simulator, virtual
audio, trainer child, dashboard served by uvicorn) followed by Debian's Chromium driven by
Playwright. The page must show progress, knob dials and the training curve moving live, and
the Pause/Resume buttons must hold and release the real capture loop."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rig.session import read_events
from tests.browser import chromium, needs_chromium

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_COPY = Path(os.environ.get("RIG_E2E_SCREENSHOT", "/tmp/e2e-dashboard.png"))
URL_RE = re.compile(r"dashboard: (http://127\.0\.0\.1:\d+/\?token=\S+)")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(150),
    needs_chromium,
]

# A TCN small enough for epochs of a few seconds on two shared cores, on 0.1 s segments (the
# shipped configs train on 3 s segments: minutes per epoch here).
TINY_MODEL = """\
name: e2e-tiny-tcn
backbone: tcn
conditioning: film
architecture: {blocks: 2, kernel_size: 3, dilation_growth: 2, channels: 4}
training: {lr: 0.01, segment_s: 0.1}
"""

# Three knobs on motors and a fixed one; 13 settings of 3 s. The simulated motors run at 3x
# (the --sim default of 10x makes a take last ~0.4 s: too fast to watch and pause).
TINY_PLAN = """\
version: 1
device: {name: e2e simulated amp, simulator: amp}
knobs:
  - {name: gain, axis: 0, label: G}
  - {name: bass, axis: 1, label: B}
  - {name: treble, axis: 2, label: T}
  - {name: volume, fixed: 5, label: V}
settings:
  method: random
  count: 12
  seed: 3
  validation_fraction: 0.25
  test: {method: list, settings: [{gain: 3.3, bass: 5.5, treble: 7.7}]}
take:
  seconds: 3
  pre_roll_s: 0.1
  post_roll_s: 0.1
  max_retries: 2
audio: {interface: virtual}
robot: {port: "sim://native?timescale=3", settle_s: 0.05}
train:
  models: [e2e-tiny-tcn.yaml]
  budget_minutes: 0.05
  min_takes: 2
"""
SAMPLED = ("gain", "bass", "treble")

# The trainer child sets torch to one thread per core. On cores shared with the capture, the
# browser and whatever else runs, OpenMP's spin-waiting makes its steps 3-5x slower; a passive
# wait keeps an epoch at a few seconds (the trainer inherits this environment).
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Capture:
    """`python -m rig capture ...` with its output drained by a thread (a full pipe would block it)."""

    def __init__(self, plan: Path, session: Path, port: int):
        self.session = session
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rig",
                "capture",
                "--plan",
                str(plan),
                "--sim",
                "--session",
                str(session),
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=ENV,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def url(self, timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = URL_RE.search(self.output)
            if found:
                return found.group(1)
            assert self.proc.poll() is None, f"rig capture exited ({self.proc.returncode}):\n{self.output}"
            time.sleep(0.1)
        raise AssertionError(f"no dashboard URL within {timeout} s:\n{self.output}")

    def events(self, kind: str | None = None) -> list[dict]:
        found, _ = read_events(self.session)
        return [e for e in found if kind is None or e["type"] == kind]

    def stop(self) -> None:
        """Ctrl-C (stop after the take, stop the trainer), then insist."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)


@pytest.fixture
def capture(tmp_path):
    (tmp_path / "e2e-tiny-tcn.yaml").write_text(TINY_MODEL)
    plan = tmp_path / "e2e.yaml"
    plan.write_text(TINY_PLAN)
    run = Capture(plan, tmp_path / "session", free_port())
    try:
        yield run
    finally:
        run.stop()


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


# ---- reading the page ---------------------------------------------------------------------
SNAPSHOT_JS = """() => {
  const dials = {};
  for (const d of document.querySelectorAll('#dials .dial')) {
    dials[d.dataset.knob] = {value: d.dataset.value, text: d.querySelector('.dial-text').textContent,
                             pointer: d.querySelector('.dial-pointer').getAttribute('transform'),
                             fixed: d.classList.contains('fixed')};
  }
  return {done: Number(document.querySelector('#done').textContent), current: document.querySelector('#current-id').textContent,
          state: document.querySelector('#run-state').className, dials};
}"""

BLUE_PIXELS_JS = """c => {  // pixels of the train-loss colour #4ea1ff
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 78) < 30 && Math.abs(d[i+1] - 161) < 30 && d[i+2] > 220) n++;
  return n;
}"""


def number(page, selector: str) -> float:
    text = page.text_content(selector)
    try:
        return float(text)
    except ValueError:
        return -1.0  # the page's dash (U+2013): nothing yet


def wait_number_above(page, selector: str, than: float, timeout_ms: float) -> None:
    page.wait_for_function(
        "([s, v]) => Number(document.querySelector(s).textContent) > v",
        arg=[selector, than],
        timeout=timeout_ms,
        polling=100,
    )


def canvas_png(page, selector: str) -> str:
    return page.eval_on_selector(selector, "c => c.toDataURL()")


def wait_drawn(page) -> None:
    """Until the panels show every change the page received (rather than sleeping for a frame)."""
    page.wait_for_function(
        "() => { const s = window.rigState(); return document.body.dataset.drawn === `${s.fold}:${s.rev}`; }",
        polling=100,
    )


def test_dashboard_follows_a_real_simulated_capture(capture, browser, tmp_path):
    t0 = time.monotonic()
    url = capture.url()
    base = url.split("?", 1)[0]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(url)
    page.wait_for_selector("#conn.live", timeout=20_000)
    wait_drawn(page)  # live may come before the first frame paints the loaded state
    state = page.request.get(base + "api/state").json()
    settings = {s["id"]: s["v"] for s in state["settings"]}
    knob_names = [k["name"] for k in state["knobs"]]
    total = len(state["route"])
    assert knob_names == [*SAMPLED, "volume"]
    assert total == 13
    assert number(page, "#total") == total
    epoch_at_load, loss_before = number(page, "#t-epoch"), canvas_png(page, "#loss")

    # 1. Progress and dials move while the robot works through the route. Every dial reading
    #    must be the setting named beside it (what the robot is moving to or recording).
    seen: set[tuple] = set()

    def look() -> dict:
        snap = page.evaluate(SNAPSHOT_JS)
        dials = snap["dials"]
        assert dials["volume"]["fixed"]
        assert dials["volume"]["text"] == "5.00"
        m = re.match(r"#(\d+) · (\w+)", snap["current"])
        if m and int(m.group(1)) in settings and all(dials[k]["value"] for k in knob_names):
            values = [float(dials[k]["value"]) for k in knob_names]
            want = settings[int(m.group(1))]
            if values == pytest.approx(want, abs=1e-6):  # both drawn by the same frame
                seen.add(tuple(values))
                for k in SAMPLED:
                    assert dials[k]["text"] == f"{float(dials[k]['value']):.2f}"
        return snap

    wait_number_above(page, "#done", 0, 30_000)
    first = snap = look()
    deadline = time.monotonic() + 30
    while (len(seen) < 3 or snap["done"] < first["done"] + 2) and time.monotonic() < deadline:
        page.wait_for_timeout(150)
        snap = look()
    assert snap["done"] >= first["done"] + 2, f"takes done stuck at {snap['done']}"
    assert len(seen) >= 3, f"dials showed only {seen}"
    assert any(first["dials"][k]["pointer"] != snap["dials"][k]["pointer"] for k in SAMPLED), "dial pointers still"
    assert page.locator("#bar-fill").evaluate("e => parseFloat(e.style.width)") > 0
    assert page.locator("#takes tbody tr").count() >= snap["done"]

    # 2. Pause: the badge says paused, a `paused` event lands in the log, and after the take in
    #    flight no take is recorded for a few seconds.
    page.click("#btn-pause")
    page.wait_for_selector("#run-state.paused", timeout=10_000)
    assert page.is_enabled("#btn-resume")
    assert not page.is_enabled("#btn-pause")
    assert capture.events("paused"), "no paused event in events.jsonl"
    at_pause, paused_t = number(page, "#done"), time.monotonic()
    held, steady_since = at_pause, time.monotonic()
    while True:  # the take in flight lands (or none was), then nothing for 3 s
        page.wait_for_timeout(200)
        now = number(page, "#done")
        if now != held:
            held, steady_since = now, time.monotonic()
        log = capture.events()
        paused_at = max(i for i, e in enumerate(log) if e["type"] == "paused")
        in_flight_done = any(e["type"] == "progress" for e in log[paused_at:]) or time.monotonic() - paused_t > 8
        if in_flight_done and time.monotonic() - steady_since >= 3.0:
            break
        assert time.monotonic() - paused_t < 20, "the done counter never settled while paused"
    assert held <= at_pause + 1, "more than the take in flight was recorded while paused"
    assert sum(e["type"] == "take_recorded" for e in log[paused_at:]) <= 1
    assert sum(e["type"] == "moved" for e in log[paused_at:]) <= 1, "the robot kept moving while paused"
    assert held == max(e["done"] for e in log if e["type"] == "progress")
    page.screenshot(path=str(tmp_path / "e2e-dashboard-paused.png"))
    shutil.copyfile(
        tmp_path / "e2e-dashboard-paused.png", SCREENSHOT_COPY.with_name(SCREENSHOT_COPY.stem + "-paused.png")
    )
    assert page.text_content("#run-state") == "capture paused"

    # 3. Resume: the run continues.
    page.click("#btn-resume")
    page.wait_for_selector("#run-state.capture", timeout=10_000)
    wait_number_above(page, "#done", held, 20_000)
    assert capture.events("resumed")

    # 4. Training: epochs arrive while (or just after) the takes are captured, and the loss
    #    canvas is redrawn with each; after two epochs a train-loss line is on it.
    #    An epoch after the page loaded, whether or not the trainer had started by then.
    wait_number_above(page, "#t-epoch", max(epoch_at_load, 0), 45_000)
    wait_drawn(page)
    epoch = number(page, "#t-epoch")
    loss_one = canvas_png(page, "#loss")
    assert loss_one != loss_before, "a new epoch did not redraw the loss canvas"
    wait_number_above(page, "#t-epoch", epoch, 45_000)
    wait_drawn(page)
    assert canvas_png(page, "#loss") != loss_one
    assert page.eval_on_selector("#loss", BLUE_PIXELS_JS) > 20
    assert number(page, "#t-takes") >= 2
    assert re.fullmatch(r"\d\.\d\de[-+]\d+", page.text_content("#t-lr"))

    # 5. The capture finishes; the trainer then tests and exports, and the page shows it.
    page.wait_for_selector(
        "#run-state:is([data-phase=training], [data-phase=export], [data-phase=done])", timeout=45_000
    )
    assert number(page, "#done") == total
    assert page.text_content("#eta") == "done"
    assert not page.is_enabled("#btn-pause")
    assert not page.is_enabled("#btn-resume")
    page.wait_for_function(
        "() => document.querySelector('#t-export').textContent.includes('onnx')", timeout=45_000, polling=250
    )
    assert number(page, "#t-test-esr") > 0
    page.evaluate("window.scrollTo(0, 0)")
    wait_drawn(page)
    shot = tmp_path / "e2e-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copyfile(shot, SCREENSHOT_COPY)
    assert errors == [], errors

    # The command itself ends well: every setting stored, the trainer done.
    assert capture.proc.wait(30) == 0, capture.output
    assert "13/13 settings stored" in capture.output
    print(f"e2e: {time.monotonic() - t0:.1f} s; screenshot {SCREENSHOT_COPY}")
