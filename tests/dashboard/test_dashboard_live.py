"""Live levels from the recording path (rig/audio/meter.py -> live_levels.json -> the
WebSocket -> the page's meters), `rig capture --allow-remote` / `--no-train`, and the Play
panel driving a real player core through `rig play --dashboard`'s link."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from rig.audio.meter import BlockMeter, attach_meter
from rig.audio.virtual import VirtualInterface
from rig.capture import run_capture
from rig.capture.live_levels import LevelPublisher
from rig.cli.main import main
from rig.dashboard import create_app, serve_in_thread
from rig.dashboard.state import SessionFollower
from rig.plan.models import QC
from rig.session import read_manifest
from rig.session.live import read_live_levels, write_live_levels
from tests.capture.helpers import sim_options, write_plan

from .conftest import BASE, TOKEN
from .test_dashboard_browser import PHONE, SHOTS, WIDE, browser, open_page  # noqa: F401 (browser: the fixture)


class _Gain:
    """A block device that only scales: the expected levels are known exactly."""

    sample_rate = 48000
    knob_names = ()

    def __init__(self, gain: float):
        self.gain = gain

    def process(self, block):
        return block * self.gain

    def set_knobs(self, values):
        pass

    def reset(self):
        pass


def _sine(amp: float, seconds: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * 440 * np.arange(int(48000 * seconds)) / 48000)).astype(np.float32)


def test_meter_gives_peak_and_rms_of_the_recorded_blocks_and_counts_clipping():
    iface = VirtualInterface(_Gain(0.5), noise_dbfs=-200, tail_s=0.0)
    meter = BlockMeter(QC().clip_level)
    assert attach_meter(iface, meter)
    iface.play_record(_sine(0.5))
    levels = meter.take()
    assert levels is not None
    assert meter.take() is None  # taken once
    assert levels.peak_dbfs["loopback"] == pytest.approx(-6.02, abs=0.05)  # 0.5 full scale
    assert levels.peak_dbfs["return"] == pytest.approx(-12.04, abs=0.05)  # through the 0.5 gain
    assert levels.rms_dbfs["return"] == pytest.approx(-12.04 - 3.01, abs=0.1)  # a sine: peak - 3 dB
    assert levels.clipped == {"loopback": 0, "return": 0}
    iface.inject("clip")  # the return driven 20 dB hotter: clipped blocks
    iface.play_record(_sine(0.5))
    clipped = meter.take()
    assert clipped.clipped["return"] > 0
    assert clipped.peak_dbfs["return"] == pytest.approx(0.0, abs=0.01)


def test_publisher_writes_one_small_object_and_goes_idle(tmp_path):
    meter = BlockMeter(QC().clip_level)
    pub = LevelPublisher(tmp_path, meter)
    meter.feed(_sine(0.25)[:256], _sine(1.0)[:256])
    assert pub.publish_once()
    first = read_live_levels(tmp_path)
    assert first["active"]
    assert first["seq"] == 1
    assert first["clipped"]["return"] > 0
    assert not pub.publish_once()  # nothing new: one idle record, then silence
    assert read_live_levels(tmp_path) == {"seq": 2, "t": read_live_levels(tmp_path)["t"], "active": False}
    pub.publish_once()
    assert read_live_levels(tmp_path)["seq"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["live_levels.json"]  # no temp files left, no log
    meter.feed(_sine(0.25)[:256], _sine(0.5)[:256])
    pub.close()  # the last window, then exactly one idle record
    assert read_live_levels(tmp_path)["seq"] == 4
    assert read_live_levels(tmp_path)["active"] is False


def test_sim_capture_publishes_levels_while_takes_record(tmp_path):
    """A real --sim capture: levels arrive during the takes, and their peak matches the takes'."""
    plan = write_plan(tmp_path, count=3, seconds=2.0)
    folder = tmp_path / "s"
    seen: list[dict] = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            d = read_live_levels(folder)
            if d and (not seen or seen[-1]["seq"] != d["seq"]):
                seen.append(d)
            time.sleep(0.002)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        code = run_capture(sim_options(plan, folder))
    finally:
        done.set()
        poller.join()
    assert code == 0
    active = [d for d in seen if d["active"]]
    assert len(active) >= 3  # at least one per take
    assert not seen[-1]["active"]  # idle at the end
    live_peak = max(d["peak_dbfs"]["return"] for d in active)
    wets = [sf.read(folder / "takes" / f"{r['take_id']}.wet.wav", dtype="float32")[0] for r in read_manifest(folder)]
    take_peak = 20 * np.log10(max(float(np.max(np.abs(w))) for w in wets))
    assert abs(live_peak - take_peak) < 1.5, (live_peak, take_peak)
    assert not (folder / "events.jsonl").read_text().count('"live')  # never in the event log


def test_live_levels_are_pushed_over_the_websocket_not_in_the_state(run):
    write_live_levels(run.session.folder, {"seq": 7, "t": 1.0, "active": True, "peak_dbfs": {"return": -3.0}})
    with TestClient(create_app(run.session.folder), base_url=BASE) as c:
        state = c.get("/api/state").json()
        assert "live" not in state
        with c.websocket_connect(f"ws://127.0.0.1:8765/api/live?fold={state['fold']}&rev={state['rev']}") as ws:
            for _ in range(10):
                msg = ws.receive_json()
                if "live" in msg:
                    break
            assert msg["live"]["seq"] == 7
            assert msg["live"]["peak_dbfs"]["return"] == -3.0


def test_clip_lamp_latches_for_two_seconds_or_until_clicked(browser, run):  # noqa: F811
    folder = run.session.folder
    handle = serve_in_thread(create_app(folder), "127.0.0.1", 0)
    try:
        page = open_page(browser, handle.url, WIDE)
        levels = {
            "active": True,
            "peak_dbfs": {"loopback": -6.0, "return": -0.0},
            "rms_dbfs": {"loopback": -9.0, "return": -3.0},
        }
        write_live_levels(folder, {"seq": 1, "t": time.time(), **levels, "clipped": {"loopback": 0, "return": 3}})
        page.wait_for_selector('.meter[data-channel="return"][data-clip="1"]')
        assert page.locator('.meter[data-channel="loopback"]').get_attribute("data-clip") == "0"
        assert float(page.locator('.meter[data-channel="loopback"]').get_attribute("data-peak")) == -6.0
        page.click('.meter[data-channel="return"] .clip')  # a click clears it at once
        assert page.locator('.meter[data-channel="return"]').get_attribute("data-clip") == "0"
        write_live_levels(folder, {"seq": 2, "t": time.time(), **levels, "clipped": {"loopback": 0, "return": 1}})
        page.wait_for_selector('.meter[data-channel="return"][data-clip="1"]')
        t0 = time.monotonic()
        write_live_levels(folder, {"seq": 3, "t": time.time(), **levels, "clipped": {"loopback": 0, "return": 0}})
        page.wait_for_selector('.meter[data-channel="return"][data-clip="0"]', timeout=10_000)
        assert time.monotonic() - t0 > 1.0  # held, not dropped with the next clean window
        assert page.errors == []
    finally:
        handle.stop()


# ---- rig capture host options and --no-train --------------------------------------------------
def test_capture_refuses_a_remote_host_without_allow_remote_before_the_session(tmp_path, capsys):
    plan = write_plan(tmp_path, count=2)
    folder = tmp_path / "s"
    code = main(["capture", "--plan", str(plan), "--session", str(folder), "--sim", "--host", "0.0.0.0"])
    assert code == 2
    assert not folder.exists()
    assert "--allow-remote" in capsys.readouterr().err


def test_capture_allow_remote_serves_and_warns_what_is_exposed(tmp_path, capsys):
    plan = write_plan(tmp_path, count=2)
    folder = tmp_path / "s"
    remote = ["--host", "0.0.0.0", "--allow-remote", "--port", "0"]
    code = main(["capture", "--plan", str(plan), "--session", str(folder), "--sim", "--no-train", "--quiet", *remote])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: --allow-remote" in err
    assert "take audio" in err
    assert "pause and abort" in err


def test_no_train_capture_ends_done_not_training(tmp_path):
    plan = write_plan(tmp_path, count=2)
    folder = tmp_path / "s"
    assert run_capture(sim_options(plan, folder)) == 0
    started = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines() if '"run_started"' in x]
    assert started[-1]["train"] is False
    state = SessionFollower(folder).snapshot()
    assert state["phase"]["name"] == "done"
    assert state["phase"]["training"]["state"] == "pending"
    assert "not trained" in state["phase"]["reason"]
    assert state["training"]["models"] == {}


# ---- the Play panel -----------------------------------------------------------------------------
@pytest.fixture
def player_core(tmp_path):
    from rig.play.core import PlayerCore
    from rig.train.render import load_model
    from tests.play.conftest import export_spread

    path = export_spread(tmp_path, "lstm-c-32-nam")
    return PlayerCore(load_model(path), {"gain": 5.0, "tone": 5.0}, 256, "eager")


def test_play_panel_slider_moves_the_attached_players_knob(browser, run, player_core):  # noqa: F811
    from rig.play.dashboard_link import dashboard_thread

    handle = serve_in_thread(create_app(run.session.folder, None, TOKEN), "127.0.0.1", 0)
    stop = threading.Event()
    said: list[str] = []
    try:
        page = open_page(browser, f"{handle.url}?token={TOKEN}", WIDE)
        assert page.locator("#play-card").is_hidden()  # no player: no panel
        dashboard_thread(f"{handle.url}?token={TOKEN}", player_core, stop, said.append)
        page.wait_for_selector("#play-card:not([hidden])")
        assert page.locator("#play-knobs input").count() == 2
        page.locator('#play-knobs input[data-knob="gain"]').fill("7.5")
        deadline = time.monotonic() + 15
        while (player_core.pending or {}).get("gain") != pytest.approx(7.5, abs=0.06):
            assert time.monotonic() < deadline, (player_core.pending, said)
            time.sleep(0.05)
        player_core.period(np.zeros(256, np.float32))  # the audio thread takes the new target: it glides there
        assert player_core.values["gain"] == pytest.approx(7.5, abs=0.06)
        stop.set()  # the player quits: the panel goes
        page.wait_for_selector("#play-card", state="hidden", timeout=10_000)
        assert page.errors == []
    finally:
        stop.set()
        handle.stop()


def test_play_knobs_need_the_token_and_a_player(run):
    with TestClient(create_app(run.session.folder, None, TOKEN), base_url=BASE) as c:
        assert c.post("/api/play/knobs", json={"gain": 1}).status_code == 401
        assert c.post("/api/play/knobs", json={"gain": 1}, headers={"X-Rig-Token": "bad"}).status_code == 403
        assert c.post("/api/play/knobs", json={"gain": 1}, headers={"X-Rig-Token": TOKEN}).status_code == 409
        with pytest.raises(Exception):  # noqa: B017,PT011 - refused handshake: wrong token
            with c.websocket_connect("ws://127.0.0.1:8765/api/play/attach?token=bad") as ws:
                ws.receive_json()
        with c.websocket_connect(f"ws://127.0.0.1:8765/api/play/attach?token={TOKEN}") as ws:
            ws.send_json({"model": "m", "knobs": [{"name": "gain", "min": 0, "max": 10}], "values": {"gain": 2}})
            deadline = time.monotonic() + 5
            while c.get("/api/state").json()["run"]["player"] is None:
                assert time.monotonic() < deadline
            ok = c.post("/api/play/knobs", json={"gain": 4}, headers={"X-Rig-Token": TOKEN})
            assert ok.status_code == 200
            assert ws.receive_json() == {"set": {"gain": 4.0}}
            bad = c.post("/api/play/knobs", json={"gain": 11}, headers={"X-Rig-Token": TOKEN})
            assert bad.status_code == 400


def test_play_dashboard_url_must_be_local_with_a_token(capsys):
    assert main(["play", "--model", "x", "--dashboard", "http://10.0.0.5:8765/?token=a"]) == 2
    assert "this machine only" in capsys.readouterr().err
    assert main(["play", "--model", "x", "--dashboard", "http://127.0.0.1:8765/"]) == 2
    assert "lacks ?token=" in capsys.readouterr().err
