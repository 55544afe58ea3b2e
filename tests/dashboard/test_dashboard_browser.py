"""The page in a real browser (Debian's Chromium driven by Playwright) during a simulated
capture and training run: live updates equal to /api/state key for key, pause/resume, audio,
reconnect and the offline overlay, phases and their ETAs, a shrunk event log, and the phone
layout. Screenshots go to $RIG_DASHBOARD_SHOTS (default /tmp)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rig.dashboard import create_app, serve_in_thread
from rig.session import EVENTS_FILE
from tests.browser import chromium, needs_chromium

from .conftest import TOKEN
from .dashboard_fakes import ROOT, FakeRun, RecordingControl, make_session

SHOTS = Path(os.environ.get("RIG_DASHBOARD_SHOTS", "/tmp"))
WIDE, PHONE = {"width": 1400, "height": 1000}, {"width": 390, "height": 844}

pytestmark = needs_chromium


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def live(tmp_path):
    """A capture of 34 settings, one take every 0.25 s, with the trainer following."""
    session = make_session(tmp_path / "session", count=30)
    run = FakeRun(session)
    control = RecordingControl(run)
    handle = serve_in_thread(create_app(session.folder, control, TOKEN), "127.0.0.1", 0)
    yield run, control, handle
    run.stopped.set()
    handle.stop()


def open_page(browser, url: str, viewport=WIDE):
    page = browser.new_page(viewport=viewport)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.goto(url)
    page.wait_for_selector("#conn.live")
    page.wait_for_selector("#run-state[data-phase]")  # the first frame is drawn
    return page


def number(page, selector: str) -> float:
    return float(page.locator(selector).text_content())


def wait_more(page, selector: str, than: float, timeout=10_000) -> None:
    page.wait_for_function(
        "([s, v]) => Number(document.querySelector(s).textContent) > v", arg=[selector, than], timeout=timeout
    )


def canvas_png(page, selector: str) -> str:
    return page.eval_on_selector(selector, "c => c.toDataURL()")


SERVER_STATE = "async () => (await fetch('/api/state', {cache: 'no-store'})).json()"


def assert_page_equals_server(page) -> None:
    """The page's merged copy equals a fresh /api/state, key for key (`now` aside)."""
    page.wait_for_function(
        f"async () => {{ const s = await ({SERVER_STATE})(); const p = window.rigState();"
        " return s.fold === p.fold && s.rev === p.rev; }",
        polling=200,
        timeout=10_000,
    )
    mine, server = page.evaluate(f"async () => [window.rigState(), await ({SERVER_STATE})()]")
    mine.pop("now"), server.pop("now")
    assert sorted(mine) == sorted(server)
    for key in server:
        assert mine[key] == server[key], key


def wait_drawn(page) -> None:
    """Until the panels show the server's latest revision (rather than sleeping for a frame)."""
    page.wait_for_function(
        f"async () => {{ const s = await ({SERVER_STATE})();"
        " return document.body.dataset.drawn === `${s.fold}:${s.rev}`; }",
        polling=200,
        timeout=10_000,
    )


def eta_seconds(page) -> float:
    return float(page.get_attribute("#eta", "data-seconds"))


def wait_eta_written_after(page, seconds: float) -> None:
    """Until the page has rewritten the ETA (it does every tick) `seconds` after this call."""
    start = page.evaluate("""() => {
        window.etaWrites = [];
        new MutationObserver(() => window.etaWrites.push(Date.now()))
            .observe(document.querySelector('#eta'), {attributes: true, attributeFilter: ['data-seconds']});
        return Date.now(); }""")
    page.wait_for_function("t => window.etaWrites.some((w) => w >= t)", arg=start + seconds * 1000, timeout=10_000)


def test_live_run_matches_the_server_key_for_key(browser, live):
    run, control, handle = live
    run.run_in_thread(0.25, finish=True)
    page = open_page(browser, handle.url_with_token(TOKEN))
    assert "token" not in page.url  # moved to session storage
    page.wait_for_function("() => document.title.startsWith('capture')")

    # Progress, dials and the loss curve move while events are appended.
    done = number(page, "#done")
    dial = page.get_attribute(".dial[data-knob=bass]", "data-value")
    wait_more(page, "#done", done + 2)
    page.wait_for_function("v => document.querySelector('.dial[data-knob=bass]').dataset.value !== v", arg=dial)
    epoch = "#models tbody tr td:nth-child(4)"
    page.wait_for_function(f"() => Number(document.querySelector('{epoch}')?.textContent) > 0")
    loss = canvas_png(page, "#loss")
    wait_more(page, epoch, number(page, epoch))
    page.wait_for_function("png => document.querySelector('#loss').toDataURL() !== png", arg=loss, polling=100)
    assert canvas_png(page, "#loss") != loss
    assert number(page, "#total") == len(run.route)

    # Pause (the token came from session storage): a fresh tab rebuilds the same view.
    page.click("#btn-pause")
    page.wait_for_selector("#run-state.paused")
    assert control.calls == ["pause"]
    assert page.is_enabled("#btn-resume")
    assert not page.is_enabled("#btn-pause")
    assert run.holding.wait(10)  # the take in flight (if any) is logged
    wait_drawn(page)
    held = number(page, "#done")
    other = open_page(browser, handle.url)  # another tab, no token: read view, buttons disabled
    for sel in ("#done", "#total", "#failed", "#run-state", epoch):
        assert other.text_content(sel) == page.text_content(sel), sel
    assert other.locator("#takes tbody tr").count() == page.locator("#takes tbody tr").count()
    assert other.is_disabled("#btn-resume")
    assert "token" in other.text_content("#control-note")
    other.close()
    page.click("#btn-resume")
    page.wait_for_selector("#run-state.capture")
    wait_more(page, "#done", held)

    # Audio: a player appears on demand and its file is served.
    page.click("#takes tbody tr:last-child button.play:has-text('wet')")
    audio = page.locator("#takes tbody tr:last-child audio")
    assert audio.evaluate("a => fetch(a.src, {cache: 'no-store'}).then(r => r.status)") == 200

    # The server goes away: the stale view is dimmed under an overlay with the last update time.
    port = int(handle.url.rsplit(":", 1)[1].strip("/"))
    handle.stop()
    page.wait_for_selector("#offline:not([hidden])", timeout=15_000)
    assert "offline" in page.text_content("#offline")
    assert "ago" in page.text_content("#offline-when")
    assert page.evaluate("document.body.classList.contains('stale')")
    restarted = serve_in_thread(create_app(run.session.folder, control, TOKEN), "127.0.0.1", port)
    try:
        page.wait_for_selector("#conn.live", timeout=15_000)
        page.wait_for_selector("#offline", state="hidden")
        page.wait_for_selector("#run-state[data-phase=done]", timeout=30_000)
        page.wait_for_function("() => document.querySelector('#models td.links').textContent.includes('onnx')")
        assert number(page, "#done") == len(run.route)
        assert page.locator("#takes tbody tr").count() == len(run.route)
        assert page.title().startswith("done")
        assert_page_equals_server(page)
        page.evaluate("window.scrollTo(0, 0)")
        page.mouse.move(*hover_point(page))
        page.wait_for_selector("#loss-tip:not([hidden])")
        assert "val ESR" in page.text_content("#loss-tip")
        page.screenshot(path=str(SHOTS / "dashboard_1400.png"), full_page=True)
    finally:
        restarted.stop()
    # Reconnect attempts while the server was down are logged by the browser itself.
    assert [e for e in page.errors if "ERR_CONNECTION_REFUSED" not in e] == []


def hover_point(page) -> tuple[float, float]:
    box = page.locator("#loss").bounding_box()
    return box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2


def write_events(folder: Path, events: list[tuple[float, str, dict]]) -> None:
    with open(folder / EVENTS_FILE, "a") as f:
        for t, kind, fields in events:
            f.write(json.dumps({"t": round(t, 3), "type": kind, **fields}) + "\n")


def test_a_run_paused_for_a_while_keeps_a_correct_eta(browser, tmp_path):
    session = make_session(tmp_path / "session", count=6)
    total = len(session.info["route"])
    t0 = time.time() - 640
    events = [(t0, "run_started", {"total": total})]
    for i, t in enumerate((10, 20, 30, 640)):  # ten minutes paused after the third take
        events += [
            (t0 + t, "take_recorded", {"take_id": f"t{i:04d}", "setting_id": i, "index": i, "split": "train"}),
            (t0 + t, "progress", {"done": i + 1, "total": total}),
        ]
        if t == 30:
            events += [(t0 + 30, "paused", {}), (t0 + 630, "resumed", {})]
    write_events(session.folder, events)
    handle = serve_in_thread(create_app(session.folder), "127.0.0.1", 0)
    try:
        page = open_page(browser, handle.url)
        # 10 s a take, paused time left out, counted down since the last take (at the page's clock:
        # the ETA it shows was computed at its last tick)
        page.wait_for_function(
            "([left, since]) => Math.abs(Number(document.querySelector('#eta').dataset.seconds)"
            " - (left - (Date.now() / 1000 - since))) < 3",
            arg=[(total - 4) * 10, t0 + 640],
        )
        assert page.text_content("#rate") == "360.0 takes/h"

        write_events(session.folder, [(time.time(), "paused", {})])
        page.wait_for_selector("#run-state.paused")
        frozen = eta_seconds(page)
        wait_eta_written_after(page, 2.0)  # a running ETA would have dropped by then
        assert eta_seconds(page) == frozen
        write_events(session.folder, [(time.time(), "resumed", {})])
        page.wait_for_function("v => Number(document.querySelector('#eta').dataset.seconds) < v - 0.5", arg=frozen)
        assert page.errors == []
    finally:
        handle.stop()


def test_abort_during_training_shows_aborted_in_training_now_and_later(browser, tmp_path):
    session = make_session(tmp_path / "session", count=6)
    run = FakeRun(session)
    run.start()
    while run.step():
        pass
    run.log.emit("finished", done=run.done, total=len(run.route))
    run._train()  # one more epoch after the capture
    handle = serve_in_thread(create_app(session.folder, RecordingControl(run), TOKEN), "127.0.0.1", 0)
    try:
        page = open_page(browser, handle.url_with_token(TOKEN))
        page.wait_for_selector("#run-state[data-phase=training]")
        assert page.title().startswith("training")
        assert page.is_disabled("#btn-pause")
        asked = []
        page.on("dialog", lambda d: (asked.append(d.message), d.accept()))
        page.click("#btn-abort")
        page.wait_for_selector("#run-state[data-phase=aborted]")
        assert asked
        assert asked[0].startswith("Stop training?")
        page.reload()
        page.wait_for_selector("#run-state[data-phase]")
        assert page.text_content("#run-state").startswith("aborted in training")
        assert page.locator("#phases tr[data-phase=training] td").nth(3).text_content() == "stopped"
    finally:
        handle.stop()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # later: `rig dashboard SESSION`
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig", "dashboard", str(session.folder), "--port", "0"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        later = open_page(browser, url)
        assert later.text_content("#run-state").startswith("aborted in training")
        assert later.title().startswith("aborted in training")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def test_a_shrunk_event_log_resyncs_once(browser, live):
    run, _control, handle = live
    run.start()
    for _ in range(10):
        run.step()
    page = open_page(browser, handle.url)
    fold = page.evaluate("window.rigState().fold")
    fetches, sockets = [], []
    page.on("request", lambda r: "/api/state" in r.url and fetches.append(r.url))
    page.on("websocket", lambda ws: sockets.append(ws))
    events = run.session.folder / EVENTS_FILE
    lines = events.read_bytes().splitlines(keepends=True)
    os.truncate(events, len(b"".join(lines[: len(lines) // 3])))  # one truncate, never seen half-written
    page.wait_for_function("f => window.rigState().fold !== f", arg=fold, timeout=10_000)
    page.wait_for_selector("#conn.live")
    # A looping page would fetch and reconnect again after its 2 s reload gap: the new socket
    # must still be there for a heartbeat (every 5 s) past it.
    resynced = time.monotonic()
    sockets[0].wait_for_event("framereceived", predicate=lambda _: time.monotonic() - resynced > 2.5, timeout=15_000)
    assert len(fetches) == 1
    assert len(sockets) == 1
    assert_page_equals_server(page)
    assert page.errors == []


def test_phone_layout_fits_390_px(browser, run):
    run.finish()
    handle = serve_in_thread(create_app(run.session.folder), "127.0.0.1", 0)
    try:
        page = open_page(browser, handle.url, PHONE)
        wait_drawn(page)
        sizes = page.evaluate("""() => ({
            doc: document.documentElement.scrollWidth, view: window.innerWidth,
            header: document.querySelector('header').getBoundingClientRect().height,
            wide: [...document.querySelectorAll('main *')].filter(e => e.scrollWidth > e.clientWidth + 1
                   && getComputedStyle(e).overflowX !== 'visible').map(e => e.id || e.className),
            dialRows: new Set([...document.querySelectorAll('.dial')].map(d => d.offsetTop)).size,
        })""")
        assert sizes["doc"] == sizes["view"] == 390
        assert sizes["wide"] == []  # no nested horizontal scrolling
        assert sizes["header"] < 130
        assert sizes["dialRows"] == 1
        page.screenshot(path=str(SHOTS / "dashboard_390.png"), full_page=True)
        assert page.errors == []
    finally:
        handle.stop()
