"""The real audio path: jackd (dummy driver) + PortAudio through sounddevice + a DUT that is
its own JACK client. Takes record in real time, so these are kept short."""

import os

import numpy as np
import pytest

from rig.errors import UserError
from rig.plan.models import Audio

from .jackrig import DUT_DELAY, PERIOD, jack_rig, jackd_available, take

pytestmark = pytest.mark.skipif(not jackd_available(), reason="jackd is not installed (apt-get install jackd2)")


@pytest.fixture(scope="module")
def rig():
    with jack_rig(f"rigtest{os.getpid()}") as parts:  # private server: other suites may run their own
        yield parts


def test_latency_and_alignment_sample_exact(rig):
    plan, iface, dut, _ = rig
    latencies = []
    for seed in (0, 1):
        _, _, aligned, qc = take(plan, iface, "normal", dut, seed)
        assert aligned is not None, qc
        assert qc.ok, qc  # a synchronous server delays, never drops, a period
        latencies.append(aligned.latency_samples)
        assert aligned.device_delay_samples == DUT_DELAY
        # wet[i] is the DUT's response to dry[i - its delay], to float precision
        expected = np.tanh(3 * aligned.dry[:-DUT_DELAY]) / 3 * 2
        np.testing.assert_allclose(aligned.wet[DUT_DELAY:], expected, atol=1e-6)
        np.testing.assert_array_equal(aligned.loopback, aligned.dry)
    assert latencies == [PERIOD, PERIOD]  # one JACK period, as measured by hand


@pytest.mark.parametrize(("mode", "reason"), [("silent", "return is silent"), ("clip", "wet clipped")])
def test_qc_catches_silent_and_clipped_return(rig, mode, reason):
    plan, iface, dut, _ = rig
    _, _, aligned, qc = take(plan, iface, mode, dut)
    assert aligned is not None, qc
    assert any(reason in r for r in qc.reasons), qc.reasons


@pytest.mark.usefixtures("rig")  # the private server runs
def test_missing_interface_lists_devices():
    from rig.audio.portaudio import PortAudioInterface

    with pytest.raises(UserError, match=r"scarlett-solo' not found.*'system'"):
        PortAudioInterface(Audio(interface="scarlett-solo"))
    with pytest.raises(UserError, match="channel map needs 3 in"):
        PortAudioInterface(Audio(interface="system", channels={"send": 2, "loopback": 1, "return": 3}))


@pytest.mark.usefixtures("rig")  # the private server runs
def test_cli_devices_lists_jack():
    from tests.conftest import run_rig

    out = run_rig("devices")  # the environment names our private server
    assert out.returncode == 0, out.stderr
    assert "system" in out.stdout
    assert "JACK" in out.stdout
