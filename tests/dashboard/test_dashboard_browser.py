"""The page in a real browser (Debian's Chromium driven by Playwright) during a simulated
capture and training run: live updates, pause/resume, audio, reload, reconnect."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rig.dashboard import create_app, serve_in_thread

from .conftest import TOKEN
from .dashboard_fakes import FakeRun, RecordingControl, make_session

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path(os.environ.get("RIG_DASHBOARD_SCREENSHOT", "/tmp/dashboard.png"))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt install chromium)")


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


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


def number(page, selector: str) -> float:
    return float(page.locator(selector).text_content())


def wait_more(page, selector: str, than: float, timeout=10_000) -> None:
    page.wait_for_function("([s, v]) => Number(document.querySelector(s).textContent) > v", arg=[selector, than],
                           timeout=timeout)


def canvas_png(page, selector: str) -> str:
    return page.eval_on_selector(selector, "c => c.toDataURL()")


def test_dashboard_follows_a_capture_live(browser, live):
    run, control, handle = live
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    run.run_in_thread(0.25, finish=True)
    page.goto(handle.url_with_token(TOKEN))
    page.wait_for_selector("#conn.live")

    # Progress, dials and the loss curve move while events are appended.
    done = number(page, "#done")
    dial = page.get_attribute(".dial[data-knob=bass]", "data-value")
    wait_more(page, "#done", done + 2)
    page.wait_for_function("v => document.querySelector('.dial[data-knob=bass]').dataset.value !== v", arg=dial)
    page.wait_for_function("() => Number(document.querySelector('#t-epoch').textContent) > 0")
    loss = canvas_png(page, "#loss")
    wait_more(page, "#t-epoch", number(page, "#t-epoch"))
    page.wait_for_timeout(300)  # one frame
    assert canvas_png(page, "#loss") != loss
    assert number(page, "#total") == len(run.route)
    assert page.locator("#bar-fill").evaluate("e => parseFloat(e.style.width)") > 0

    # Pause: the run stops logging takes; a fresh tab rebuilds the same view from /api/state.
    page.click("#btn-pause")
    page.wait_for_selector("#run-state.paused")
    assert control.calls == ["pause"] and page.is_enabled("#btn-resume") and not page.is_enabled("#btn-pause")
    page.wait_for_timeout(700)
    held = number(page, "#done")
    page.screenshot(path=str(SCREENSHOT.with_name(SCREENSHOT.stem + "-paused.png")))
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(handle.url)  # no token: read view, buttons disabled
    other.wait_for_selector("#conn.live")
    other.wait_for_timeout(300)
    for sel in ("#done", "#total", "#t-epoch", "#failed"):
        assert other.text_content(sel) == page.text_content(sel), sel
    assert other.locator("#takes tbody tr").count() == page.locator("#takes tbody tr").count() == held
    assert other.is_disabled("#btn-resume") and "token" in other.text_content("#control-note")
    other.close()
    assert number(page, "#done") == held

    page.click("#btn-resume")
    page.wait_for_selector("#run-state.running")
    wait_more(page, "#done", held)
    assert control.calls == ["pause", "resume"]

    # Audio: a player appears on demand and its file is served.
    page.click("#takes tbody tr:last-child button.play:has-text('wet')")
    audio = page.locator("#takes tbody tr:last-child audio")
    assert audio.evaluate("a => fetch(a.src, {cache: 'no-store'}).then(r => r.status)") == 200
    page.wait_for_function("() => document.querySelector('#takes audio').readyState >= 1")

    # The server goes away (laptop asleep, dashboard restarted): the page reconnects and catches up.
    port = int(handle.url.rsplit(":", 1)[1].strip("/"))
    handle.stop()
    page.wait_for_selector("#conn.reconnecting")
    behind = number(page, "#done")
    time.sleep(0.6)
    restarted = serve_in_thread(create_app(run.session.folder, control, TOKEN), "127.0.0.1", port)
    try:
        page.wait_for_selector("#conn.live", timeout=15_000)
        wait_more(page, "#done", behind)
        page.wait_for_selector("#run-state.finished", timeout=20_000)
        page.wait_for_function("() => document.querySelector('#t-export').textContent.includes('onnx')")
        assert number(page, "#done") == len(run.route)
        assert page.locator("#takes tbody tr").count() == len(run.route)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(400)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    finally:
        restarted.stop()
    assert errors == []
