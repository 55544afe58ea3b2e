"""Fixtures for the capture tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.capture.helpers import write_plan


@pytest.fixture
def tiny_plan(tmp_path: Path) -> Path:
    return write_plan(tmp_path)
