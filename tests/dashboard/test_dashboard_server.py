"""The dashboard served by a real uvicorn in a thread, and the `rig dashboard` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from websockets.sync.client import connect

from rig.dashboard import create_app, serve_in_thread, start_dashboard
from rig.errors import UserError

from .conftest import TOKEN
from .dashboard_fakes import ROOT, RecordingControl


@pytest.fixture
def served(run):
    handle = serve_in_thread(create_app(run.session.folder, RecordingControl(run), TOKEN), "127.0.0.1", 0)
    yield handle
    handle.stop()


def test_serves_state_and_pushes_live_changes_over_a_real_socket(served, run):
    state = httpx.get(served.url + "api/state").json()
    ws_url = served.url.replace("http", "ws") + f"api/live?fold={state['fold']}&rev={state['rev']}"
    with connect(ws_url, open_timeout=5) as ws:
        run.step()
        appended = []
        deadline = time.monotonic() + 5
        while not appended and time.monotonic() < deadline:
            appended += json.loads(ws.recv(timeout=5)).get("append", {}).get("takes", [])
    assert appended
    assert appended[0]["index"] == 8


def test_stop_returns_promptly_with_a_stream_open(run):
    handle = serve_in_thread(create_app(run.session.folder), "127.0.0.1", 0)
    with connect(handle.url.replace("http", "ws") + "api/live", open_timeout=5) as ws:
        ws.recv(timeout=5)
        started = time.monotonic()
        handle.stop()
        assert not handle.alive
        assert time.monotonic() - started < 4


def test_a_busy_port_is_a_user_error(served, run):
    port = int(served.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(UserError, match="busy"):
        serve_in_thread(create_app(run.session.folder), "127.0.0.1", port)


def test_remote_hosts_need_an_explicit_flag(run):
    with pytest.raises(UserError, match="--allow-remote"):
        start_dashboard(run.session.folder, host="0.0.0.0", port=0)


def test_start_dashboard_puts_the_token_in_the_url_only_when_controllable(run):
    handle, url = start_dashboard(run.session.folder, RecordingControl(run), port=0)
    try:
        token = url.split("?token=")[1]
        assert len(token) >= 20
        res = httpx.post(handle.url + "api/control/pause", headers={"X-Rig-Token": token})
        assert res.json()["state"] == "paused"
    finally:
        handle.stop()
    handle, url = start_dashboard(run.session.folder, None, port=0)
    handle.stop()
    assert "token" not in url


def rig_cli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "rig", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def test_cli_serves_a_session_read_only_until_interrupted(run):
    proc = rig_cli("dashboard", str(run.session.folder), "--port", "0")
    try:
        line = proc.stdout.readline()
        assert "read-only" in line
        assert "token" not in line
        url = line.split()[2]
        assert httpx.get(url + "api/health").json()["read_only"] is True
    finally:
        proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_cli_errors_are_one_line(tmp_path, capsys):
    from rig.cli.main import main

    assert main(["dashboard", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not a session folder" in err
    assert main(["dashboard", str(tmp_path), "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_allow_remote_warns_what_it_exposes(run, capsys):
    handle, _url = start_dashboard(run.session.folder, None, "127.0.0.1", 0, allow_remote=True)
    handle.stop()
    err = capsys.readouterr().err
    assert err.startswith("warning: --allow-remote")
    assert err.count("\n") == 1
    for exposed in ("take audio", "event log", "exported model files", "plain HTTP"):
        assert exposed in err


def test_capture_refuses_a_remote_host_before_it_creates_the_session(tmp_path, capsys):
    from rig.cli.main import main

    folder = tmp_path / "s"
    argv = ["capture", "--plan", str(ROOT / "capture_plans" / "demo.yaml"), "--sim", "--session", str(folder)]
    assert main([*argv, "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "add --allow-remote" in err
    assert not folder.exists()
