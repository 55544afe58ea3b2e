"""The firmware builds for the ATmega328P with room to spare, and its core's host unit tests
pass (run through make, exactly as CI and developers run them)."""

import re
import shutil

import pytest

from rig.knobs.simulator import make


def test_core_unit_tests_pass():
    res = make("test", timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "FAIL" not in res.stdout
    m = re.search(r"(\d+)/(\d+) tests passed", res.stdout)
    assert m, res.stdout
    assert m.group(1) == m.group(2), res.stdout
    assert int(m.group(2)) >= 12, res.stdout


@pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="gcc-avr not installed")
def test_avr_image_fits_the_328p():
    res = make("all", timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    flash = int(re.search(r"Program:\s+(\d+) bytes", res.stdout).group(1))
    ram = int(re.search(r"Data:\s+(\d+) bytes", res.stdout).group(1))
    assert flash <= 32256 - 512  # leave the Optiboot bootloader its 512 bytes
    assert ram <= 2048 - 768  # static RAM; the rest is stack for ISRs and the main loop
