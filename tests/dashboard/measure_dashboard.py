"""Figures for the notes, not a test: state size and build time for a long session, and the
page's load time in Chromium (normal and with the CPU throttled 4x, a slow laptop).

    .venv/bin/python tests/dashboard/measure_dashboard.py [--takes 500]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dashboard_fakes import FakeRun, make_session

from rig.dashboard import create_app, serve_in_thread
from rig.dashboard.state import SessionFollower
from rig.session import EVENTS_FILE, Session
from tests.browser import CHROMIUM, chromium


def build_session(folder: Path, takes: int) -> FakeRun:
    run = FakeRun(make_session(folder, count=takes), audio=False)
    run.start()
    while run.step():
        pass
    run.finish()
    return run


def measure_state(folder: Path) -> dict:
    started = time.perf_counter()
    Session.open(folder)
    yaml_s = time.perf_counter() - started
    started = time.perf_counter()
    follower = SessionFollower(folder)
    body = json.dumps(follower.snapshot(), separators=(",", ":")).encode()
    cold = time.perf_counter() - started - yaml_s
    started = time.perf_counter()
    follower.snapshot()
    warm = time.perf_counter() - started
    return {
        "events_bytes": (folder / EVENTS_FILE).stat().st_size,
        "state_bytes": len(body),
        "state_gzip_bytes": len(gzip.compress(body, 5)),
        "session_yaml_open_ms": round(yaml_s * 1000, 1),
        "fold_all_events_ms": round(cold * 1000, 1),
        "state_warm_ms": round(warm * 1000, 1),
    }


def measure_page(url: str, throttle: float) -> float | None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        page.goto(url)
        page.wait_for_function(
            "() => document.querySelectorAll('#takes tbody tr').length > 0"
            " && document.querySelector('#conn').textContent === 'live'"
        )
        ms = page.evaluate("performance.now()")
    return round(ms, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--takes", type=int, default=500, help="sampled settings (plus the plan's test ones)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = build_session(Path(tmp) / "session", args.takes)
        figures = {"takes": run.done, **measure_state(run.session.folder)}
        handle = serve_in_thread(create_app(run.session.folder), "127.0.0.1", 0)
        try:
            if Path(CHROMIUM).exists():
                figures["page_ready_ms"] = measure_page(handle.url, 1)
                figures["page_ready_ms_cpu_4x_slower"] = measure_page(handle.url, 4)
        finally:
            handle.stop()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
