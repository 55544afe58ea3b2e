"""Every dashboard endpoint through FastAPI's TestClient, refusals included."""

from __future__ import annotations

import json
import os

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from rig.dashboard import create_app
from rig.dashboard.security import take_path
from rig.dashboard.state import SessionFollower
from rig.session import EVENTS_FILE, MANIFEST_FILE

from .conftest import BASE, TOKEN
from .dashboard_fakes import FakeRun, make_session

WS = BASE.replace("http", "ws")  # TestClient's own default host is not a loopback name


def first_take(run: FakeRun) -> str:
    return run.session.manifest()[0]["take_id"]


# ---- page, health -------------------------------------------------------------------------
def test_page_and_assets_are_served_offline_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text
    assert "https://" not in page.text
    for asset in ("app.js", "state.js", "draw.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200


def test_health(client, readonly_client, run):
    body = client.get("/api/health").json()
    assert body["ok"]
    assert body["session"] == "session"
    assert body["read_only"] is False
    assert body["events_bytes"] == (run.session.folder / EVENTS_FILE).stat().st_size
    assert readonly_client.get("/api/health").json()["read_only"] is True


def test_foreign_host_header_is_refused_unless_remote_is_allowed(run):
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    with TestClient(create_app(run.session.folder), base_url="http://evil.example:8765") as c:
        assert c.get("/api/state").status_code == 400
    with TestClient(create_app(run.session.folder, allowed_hosts=None), base_url="http://evil.example") as c:
        assert c.get("/api/state").status_code == 200


# ---- state ----------------------------------------------------------------------------------
def test_state_is_rebuilt_from_the_session(client, run):
    s = client.get("/api/state").json()
    assert s["device"]["name"] == run.plan.device.name
    assert s["plan"]["name"] == "demo"
    assert [k["name"] for k in s["knobs"]] == ["bass", "middle", "treble", "gain"]
    assert s["progress"]["done"] == 8
    assert s["progress"]["total"] == len(run.route) == len(s["route"])
    assert s["progress"]["failed"] == 2  # takes 2 and 7 needed a retry
    assert s["current"]["setting_id"] == run.route[7]
    assert s["current"]["knobs"] == run.settings[run.route[7]].values
    assert s["levels"]["clip_count"] == {"return": 1}  # take 3 clipped the return
    takes = s["takes"]
    assert len(takes) == 8
    assert all(t["audio"] for t in takes)
    assert takes[3]["qc"] == "warn"
    assert takes[3]["qc_reasons"]
    assert takes[2]["retries"] == 1
    assert takes[0]["latency_ms"] == pytest.approx(293 / 48, abs=1e-3)
    assert s["alert_counts"]["warning"] == 2
    assert s["alerts"][0]["kind"] == "xrun"
    model = s["training"]["models"][s["training"]["active"]]
    assert model["epoch"] == [1, 2, 3, 4, 5, 6]
    assert model["takes_used"] == 8
    assert len(model["val"]) == 6
    assert s["run"] == {
        "state": "running",
        "reason": None,
        "t": s["run"]["t"],
        "control": True,
        "control_state": "running",
        "player": None,
    }
    assert s["rev"] > 0
    assert s["fold"]
    capture = s["phase"]["capture"]
    assert s["phase"]["name"] == "capture"
    assert capture["state"] == "running"
    assert capture["rate_per_h"] > 0
    assert capture["eta_s"] > 0
    assert capture["active_s"] > 0
    assert s["phase"]["training"]["state"] == "pending"  # training during capture is not the phase yet


def test_state_follows_appended_events_and_matches_a_fresh_rebuild(client, run):
    client.get("/api/state")
    for _ in range(5):
        run.step()
    run.finish()
    live = client.get("/api/state").json()
    assert live["progress"]["done"] == 13
    assert live["run"]["state"] == "finished"
    model = live["training"]["models"][live["training"]["active"]]
    assert model["status"] == "finished"
    assert model["test_esr"] == 0.031
    assert len(model["exported"]) == 2
    with TestClient(create_app(run.session.folder), base_url=BASE) as fresh:
        rebuilt = fresh.get("/api/state").json()
    for key in ("now", "run", "fold", "rev"):
        live.pop(key), rebuilt.pop(key)
    assert live == rebuilt


def test_state_is_gzipped_for_clients_that_accept_it(client):
    res = client.get("/api/state", headers={"Accept-Encoding": "gzip"})
    assert res.headers["content-encoding"] == "gzip"
    assert res.json()["progress"]["done"] == 8


def test_takes_whose_events_were_lost_come_from_the_manifest(run):
    (run.session.folder / EVENTS_FILE).unlink()
    with TestClient(create_app(run.session.folder), base_url=BASE) as c:
        s = c.get("/api/state").json()
    assert len(s["takes"]) == 8
    assert s["progress"]["done"] == 8
    assert s["run"]["state"] == "waiting"
    assert s["takes"][0]["snr_db"] is not None  # from the manifest's qc figures


def test_the_fold_does_not_depend_on_when_the_manifest_was_read(run):
    """A run resumed after its events were lost: a follower that read the manifest's takes
    before `run_started` and a cold fold that reads them after every event agree."""
    (run.session.folder / EVENTS_FILE).unlink()
    early = SessionFollower(run.session.folder)  # has folded the manifest's 8 takes
    run.start()
    for _ in range(3):
        run.step()
    early_view, cold_view = early.snapshot(), SessionFollower(run.session.folder).snapshot()
    assert (
        early_view["progress"]
        == cold_view["progress"]
        == {"done": 11, "total": len(run.route), "base_done": 8, "failed": 0}
    )
    assert early_view["phase"] == cold_view["phase"]


def test_an_empty_session_has_a_waiting_state(session):
    with TestClient(create_app(session.folder), base_url=BASE) as c:
        s = c.get("/api/state").json()
    assert s["run"]["state"] == "waiting"
    assert s["takes"] == []
    assert s["rev"] == 0
    assert s["phase"]["name"] == "waiting"
    assert s["progress"]["total"] == len(session.info["route"])


def test_not_a_session_is_a_user_error(tmp_path):
    from rig.errors import UserError

    with pytest.raises(UserError, match="not a session folder"):
        create_app(tmp_path)


# ---- live stream ----------------------------------------------------------------------------
def live_url(state: dict) -> str:
    return f"{WS}/api/live?fold={state['fold']}&rev={state['rev']}"


def receive_changes(ws, until) -> dict:
    """Merges pushed messages (as the page does) until `until(merged)` holds."""
    merged: dict = {"set": {}, "append": {}}
    while not until(merged):
        msg = ws.receive_json()
        merged["set"].update(msg.get("set", {}))
        for key, rows in msg.get("append", {}).items():
            merged["append"].setdefault(key, []).extend(rows)
    return merged


def test_live_pushes_changed_keys_and_appends_new_takes(client, run):
    state = client.get("/api/state").json()
    with client.websocket_connect(live_url(state)) as ws:
        run.step()
        got = receive_changes(ws, lambda m: m["append"].get("takes"))
    assert [t["take_id"] for t in got["append"]["takes"]] == [run.session.manifest()[-1]["take_id"]]
    assert "takes" not in got["set"]
    assert "knobs" not in got["set"]
    assert "settings" not in got["set"]
    assert got["set"]["progress"]["done"] == 9
    assert got["set"]["rev"] > state["rev"]


def test_a_page_behind_gets_every_key_and_one_from_another_fold_reloads(client):
    state = client.get("/api/state").json()
    with client.websocket_connect(f"{WS}/api/live?fold={state['fold']}&rev=0") as ws:
        msg = ws.receive_json()
    assert set(msg["set"]) == set(state) - {"now"}
    assert msg["append"] == {}
    with client.websocket_connect(f"{WS}/api/live?fold=old-1&rev={state['rev']}") as ws:
        assert ws.receive_json() == {"reload": True}


@pytest.mark.parametrize("how", ["shrunk", "replaced"])
def test_a_shrunk_or_replaced_event_log_is_refolded_and_pages_reload_once(client, run, how):
    state = client.get("/api/state").json()
    events = run.session.folder / EVENTS_FILE
    lines = events.read_bytes().splitlines(keepends=True)
    with client.websocket_connect(live_url(state)) as ws:
        if how == "shrunk":  # one truncate: a rewrite seen half-written would fold another history
            os.truncate(events, len(b"".join(lines[: len(lines) // 2])))
        else:
            replacement = events.with_suffix(".new")
            replacement.write_bytes(b"".join(lines[:-1]))  # same start, last line gone, new inode
            os.replace(replacement, events)
        msg = ws.receive_json()
        while "reload" not in msg:  # heartbeats until the server looks again
            assert set(msg) == {"now"}
            msg = ws.receive_json()
        assert msg == {"reload": True}
    fresh = client.get("/api/state").json()
    assert fresh["fold"] != state["fold"]
    with TestClient(create_app(run.session.folder), base_url=BASE) as other:
        rebuilt = other.get("/api/state").json()
    for key in ("now", "fold", "rev", "run"):
        fresh.pop(key), rebuilt.pop(key)
    assert fresh == rebuilt
    with client.websocket_connect(live_url(client.get("/api/state").json())) as ws:
        run.step()  # the page that reloaded is followed normally again
        assert receive_changes(ws, lambda m: m["append"].get("takes"))


def test_a_rewritten_manifest_drops_deleted_takes(client, run):
    assert len(client.get("/api/state").json()["takes"]) == 8
    manifest = run.session.folder / MANIFEST_FILE
    kept = manifest.read_bytes().splitlines(keepends=True)[:5]
    replacement = manifest.with_suffix(".new")
    replacement.write_bytes(b"".join(kept))
    os.replace(replacement, manifest)
    s = client.get("/api/state").json()
    assert len(s["takes"]) == 5
    assert s["progress"]["done"] == 5


def test_retracted_take_has_no_audio_and_non_records_add_no_rows(client, run):
    take_id = client.get("/api/state").json()["takes"][2]["take_id"]
    with open(run.session.folder / MANIFEST_FILE, "a") as f:  # as resume appends them
        f.write(json.dumps({"take_id": take_id, "retracted": "sha256 differs", "at": "now"}) + "\n")
        f.write(json.dumps({"note": "valid JSON, not a take"}) + "\n")
    s = client.get("/api/state").json()
    assert len(s["takes"]) == 8
    assert [t["audio"] for t in s["takes"] if t["take_id"] == take_id] == [False]
    assert client.get(f"/api/takes/{take_id}/wet.wav").status_code == 404


def test_live_refuses_a_foreign_origin(client):
    with pytest.raises(WebSocketDisconnect) as err:
        with client.websocket_connect(f"{WS}/api/live", headers={"Origin": "http://evil.example"}) as ws:
            ws.receive_json()
    assert err.value.code == 1008
    with client.websocket_connect(f"{WS}/api/live", headers={"Origin": BASE}) as ws:
        assert ws.receive_json() == {"reload": True}  # a page without a fold loads /api/state first


# ---- take audio ----------------------------------------------------------------------------
def test_take_audio_is_served_with_ranges(client, run):
    take = first_take(run)
    res = client.get(f"/api/takes/{take}/wet.wav")
    assert res.status_code == 200
    assert res.headers["content-type"] == "audio/wav"
    assert res.content == (run.session.folder / "takes" / f"{take}.wet.wav").read_bytes()
    part = client.get(f"/api/takes/{take}/dry.wav", headers={"Range": "bytes=0-11"})
    assert part.status_code == 206
    assert part.content[:4] == b"RIFF"
    assert len(part.content) == 12


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/takes/%2e%2e/dry.wav", 403),  # encoded ..
        ("/api/takes/.hidden/dry.wav", 403),
        ("/api/takes/..%2F..%2Fsession.yaml/dry.wav", 404),  # encoded slashes never match a take id
        ("/api/takes/%2Fetc%2Fpasswd/dry.wav", 404),  # absolute path
        ("/api/takes/t9999_B1/dry.wav", 404),  # well formed but unknown
        ("/api/takes/TAKE/session.wav", 404),  # unknown kind
        ("/api/takes/TAKE/..%2F..%2Fsession.wav", 404),
    ],
)
def test_take_audio_refusals(client, run, url, status):
    res = client.get(url.replace("TAKE", first_take(run)))
    assert res.status_code == status
    assert b"plan_hash" not in res.content
    assert b"root:" not in res.content


@pytest.mark.parametrize("take_id", ["..", "../session", "/etc/passwd", "t0000/../../x", ""])
def test_take_path_refuses_path_like_ids(run, take_id):
    with pytest.raises(HTTPException) as err:
        take_path(run.session.folder, take_id, "dry", {take_id})
    assert err.value.status_code == 403


@pytest.mark.parametrize("target", ["outside", "session_yaml"])
def test_take_audio_refuses_symlinks_out_of_the_takes_folder(client, run, tmp_path, target):
    take = first_take(run)
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF secret")
    link = run.session.folder / "takes" / f"{take}.wet.wav"
    link.unlink()
    os.symlink(secret if target == "outside" else run.session.folder / "session.yaml", link)
    res = client.get(f"/api/takes/{take}/wet.wav")
    assert res.status_code == 403
    assert b"secret" not in res.content


def test_take_audio_only_for_committed_takes(client, run):
    # Files on disk that no manifest line lists (a crash mid-take) are not served.
    take = first_take(run)
    orphan = run.session.folder / "takes" / "t0099_orphan.dry.wav"
    orphan.write_bytes((run.session.folder / "takes" / f"{take}.dry.wav").read_bytes())
    assert client.get("/api/takes/t0099_orphan/dry.wav").status_code == 404


def test_take_audio_of_a_committed_but_missing_file_is_404(client, run):
    take = first_take(run)
    (run.session.folder / "takes" / f"{take}.dry.wav").unlink()
    assert client.get(f"/api/takes/{take}/dry.wav").status_code == 404


# ---- control -------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["header", "query"])
def test_control_with_the_token(client, control, how):
    def post(action):
        if how == "header":
            return client.post(f"/api/control/{action}", headers={"X-Rig-Token": TOKEN, "Origin": BASE})
        return client.post(f"/api/control/{action}?token={TOKEN}")

    assert post("pause").json() == {"ok": True, "action": "pause", "state": "paused"}
    assert client.get("/api/state").json()["run"]["state"] == "paused"  # the run logged it
    assert post("resume").json()["state"] == "running"
    assert post("abort").json()["state"] == "aborting"
    assert control.calls == ["pause", "resume", "abort"]
    assert client.get("/api/state").json()["run"]["state"] == "aborted"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # missing token
        ({"X-Rig-Token": "wrong"}, 403),
        ({"X-Rig-Token": TOKEN + "x"}, 403),
        ({"X-Rig-Token": TOKEN, "Origin": "http://evil.example"}, 403),  # foreign origin
        ({"X-Rig-Token": TOKEN, "Origin": "http://127.0.0.1:9999"}, 403),  # other port, other origin
        ({"X-Rig-Token": TOKEN, "Origin": "null"}, 403),  # sandboxed iframe, file://
        ({"X-Rig-Token": TOKEN, "Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
def test_control_refusals(client, control, headers, status):
    assert client.post("/api/control/pause", headers=headers).status_code == status
    assert control.calls == []


def test_control_refuses_unknown_actions_and_reads(client, control):
    assert client.post("/api/control/shutdown", headers={"X-Rig-Token": TOKEN}).status_code == 404
    assert client.get(f"/api/control/pause?token={TOKEN}").status_code == 405
    assert control.calls == []


def test_read_only_dashboard_refuses_control(readonly_client, run):
    assert readonly_client.post("/api/control/pause", headers={"X-Rig-Token": TOKEN}).status_code == 403
    with TestClient(create_app(run.session.folder, None, TOKEN), base_url=BASE) as c:
        res = c.post("/api/control/pause", headers={"X-Rig-Token": TOKEN})
        assert res.status_code == 409
        assert "read-only" in res.json()["detail"]
        assert c.get("/api/state").json()["run"]["control"] is False


def test_make_session_writes_the_contract_files(tmp_path):
    session = make_session(tmp_path / "s", count=6)
    fake = FakeRun(session)
    fake.start()
    fake.step()
    assert (session.folder / MANIFEST_FILE).exists()
    assert session.verify() == []
