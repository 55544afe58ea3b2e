"""An active capture's knob space on the page, in a real browser: the real proposer writes a
proposal and its map over synthetic prequential points (high error near gain 10, treble 10),
the capture's accept() records batch 1, the proposer writes batch 2; the dashboard folds those
events and the page shades the map behind the settings, rings the accepted batch and marks the
pending proposal."""

from __future__ import annotations

import pytest

from rig.dashboard import create_app, serve_in_thread
from rig.session import EVENTS_FILE, EventLog
from rig.session.proposals import accept, read_proposal
from rig.train.acquisition import ActiveProposer
from tests.browser import chromium, needs_chromium
from tests.train.active_points import active_session, write_points

from .test_dashboard_browser import WIDE, assert_page_equals_server, open_page

pytestmark = needs_chromium

# Mean RGB of one map cell of the route canvas (gain on x, treble on y; cell 0,0 at the origin).
CELL_RGB = """([i, j]) => {
  const c = document.getElementById('route'), dpr = window.devicePixelRatio || 1;
  const box = {x: 44, y: 10, w: c.clientWidth - 56, h: c.clientHeight - 46}, n = 12;
  const x0 = Math.ceil((box.x + i * box.w / n) * dpr), y0 = Math.ceil((box.y + box.h - (j + 1) * box.h / n) * dpr);
  const d = c.getContext('2d').getImageData(x0 + 1, y0 + 1, Math.floor(box.w / n * dpr) - 2, Math.floor(box.h / n * dpr) - 2).data;
  const sum = [0, 0, 0];
  for (let k = 0; k < d.length; k += 4) for (let ch = 0; ch < 3; ch++) sum[ch] += d[k + ch];
  return sum.map((v) => v / (d.length / 4));
}"""


@pytest.fixture
def active_folder(tmp_path):
    session = active_session(tmp_path, batch=4, budget=30)
    out = session.folder / "train" / "m"
    write_points(out)
    proposer = ActiveProposer(session, session.plan(), out)
    proposer.propose_if_due()
    accept(session.folder, 1, read_proposal(session.folder, 1), EventLog(session.folder / EVENTS_FILE))
    proposer.propose_if_due()
    return session.folder


def test_the_page_shows_the_knob_space_map_batches_and_proposal(active_folder):
    handle = serve_in_thread(create_app(active_folder), "127.0.0.1", 0)
    try:
        with chromium() as browser:
            page = open_page(browser, handle.url, WIDE)
            assert page.is_visible("#active-view")
            note = page.text_content("#active-note") or ""
            assert "batch 1: 4 setting(s) from the trainer" in note
            assert "batch 2 proposed (prequential-gp-ucb, 36 prequential points)" in note
            active = page.evaluate("() => rigState().active")
            assert [b["batch"] for b in active["batches"]] == [1]
            assert active["proposal"]["batch"] == 2
            assert len(active["proposal"]["settings"]) == 6  # the batch of 4 and 2 spares
            accepted_ids = set(active["batches"][0]["ids"])
            assert accepted_ids <= {s["id"] for s in page.evaluate("() => rigState().settings")}
            assert_page_equals_server(page)

            weak, strong = page.evaluate(CELL_RGB, [11, 11]), page.evaluate(CELL_RGB, [0, 0])
            assert weak[0] > strong[0] + 60, (weak, strong)  # red where the error is high
            assert strong[2] > weak[2] + 40, (weak, strong)  # blue where it is low
            page.select_option("#route-map", "off")
            # the redraw comes on the next frame: wait for the blue shading to go, however busy the machine
            page.wait_for_function(f"() => ({CELL_RGB})([0, 0])[2] < {strong[2] - 40}", timeout=15_000)
            off_weak, off_strong = page.evaluate(CELL_RGB, [11, 11]), page.evaluate(CELL_RGB, [0, 0])
            assert off_weak[0] < weak[0] - 60, (off_weak, weak)  # the shading is gone, the marks stay
            assert off_strong[2] < strong[2] - 40, (off_strong, strong)
            assert not page.errors
    finally:
        handle.stop()
