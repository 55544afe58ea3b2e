from __future__ import annotations

import pytest

from .sim_helpers import program


@pytest.fixture
def prog():
    return program(1.0)
