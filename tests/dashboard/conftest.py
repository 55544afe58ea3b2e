from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from rig.dashboard import create_app
from rig.session import Session

from .dashboard_fakes import FakeRun, RecordingControl, make_session

TOKEN = "test-token-123"
BASE = "http://127.0.0.1:8765"  # the app accepts loopback Host names only


@pytest.fixture
def session(tmp_path):
    return make_session(tmp_path / "session")


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """Built once (committing takes fsyncs a lot): eight takes, training under way."""
    fake = FakeRun(make_session(tmp_path_factory.mktemp("template") / "session"))
    fake.start()
    for _ in range(8):
        fake.step()
    return fake.session.folder


@pytest.fixture
def run(recorded, tmp_path):
    """A private copy of `recorded`, with a FakeRun ready to go on from take 8."""
    folder = shutil.copytree(recorded, tmp_path / "session", symlinks=True)
    fake = FakeRun(Session.open(folder))
    fake.fast_forward(8)
    return fake


@pytest.fixture
def control(run):
    return RecordingControl(run)


@pytest.fixture
def client(run, control):
    with TestClient(create_app(run.session.folder, control, TOKEN), base_url=BASE) as c:
        yield c


@pytest.fixture
def readonly_client(run):
    with TestClient(create_app(run.session.folder), base_url=BASE) as c:
        yield c
