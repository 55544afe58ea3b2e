"""The real audio path: jackd (dummy driver) + PortAudio through sounddevice + a DUT that is
its own JACK client. Takes record in real time, so these are kept short."""

import os
import threading

import numpy as np
import pytest

from rig.audio import AlignmentError, align_take, build_program, check_take
from rig.errors import UserError
from rig.plan.models import Audio

from .conftest import make_plan
from .jackrig import DUT_DELAY, PERIOD, Dut, Patchbay, jackd_available, restore_env, server_env, set_env, start_jackd

pytestmark = pytest.mark.skipif(not jackd_available(), reason="jackd is not installed (apt-get install jackd2)")


@pytest.fixture(scope="module")
def rig():
    name = f"rigtest{os.getpid()}"  # private server: other suites may run their own
    old = set_env(server_env(name))
    server = start_jackd(name)
    dut = patch = None
    from rig.audio.portaudio import PortAudioInterface, _sounddevice

    try:
        dut, patch = Dut(name), Patchbay(name)
        plan = make_plan(1.0, audio={"interface": "system"})  # PortAudio's JACK device is named 'system'
        yield plan, PortAudioInterface(plan.audio, on_start=patch.wire), dut, patch
    finally:
        if patch:
            patch.close()
        if dut:
            dut.stop()
        sd = _sounddevice()
        sd._terminate()  # PortAudio must let go of the server before it dies, or it aborts at exit
        server.terminate()
        server.wait(timeout=10)
        restore_env(old)
        sd._initialize()


def take(plan, iface, mode, dut, seed=0):
    dut.command(mode)
    program = build_program(plan, "train", seed)
    rec = iface.play_record(program.signal)
    try:
        aligned = align_take(program, rec)
    except AlignmentError as exc:
        return program, rec, None, exc
    return program, rec, aligned, check_take(program, rec, aligned, plan.take)


def good_take(plan, iface, dut, seed):
    """Like capture: re-record a take that an unplanned xrun spoiled (2 shared cores)."""
    for _ in range(4):
        program, rec, aligned, qc = take(plan, iface, "normal", dut, seed)
        if aligned is not None and qc.ok:
            return program, aligned
    pytest.fail(f"no clean take in 4 tries: {qc}")


def test_latency_and_alignment_sample_exact(rig):
    plan, iface, dut, _ = rig
    latencies = []
    for seed in (0, 1):
        program, aligned = good_take(plan, iface, dut, seed)
        latencies.append(aligned.latency_samples)
        assert aligned.device_delay_samples == DUT_DELAY
        # wet[i] is the DUT's response to dry[i - its delay], to float precision
        expected = np.tanh(3 * aligned.dry[:-DUT_DELAY]) / 3 * 2
        np.testing.assert_allclose(aligned.wet[DUT_DELAY:], expected, atol=1e-6)
        np.testing.assert_array_equal(aligned.loopback, aligned.dry)
    assert latencies == [PERIOD, PERIOD]  # one JACK period, as measured by hand (PLATFORM_NOTES)


def test_qc_catches_injected_xrun(rig):
    plan, iface, dut, patch = rig

    def wire_then_stall(i):
        patch.wire(i)
        threading.Timer(0.6, dut.command, ["xrun"]).start()  # mid-content: the DUT overruns once

    iface.on_start = wire_then_stall
    try:
        _, rec, aligned, result = take(plan, iface, "normal", dut)
    finally:
        iface.on_start = patch.wire
    assert rec.status["xruns"] >= 1
    rejected = isinstance(result, AlignmentError) or any("xrun" in r for r in result.reasons)
    assert rejected, result


@pytest.mark.parametrize(("mode", "reason"), [("silent", "return is silent"), ("clip", "wet clipped")])
def test_qc_catches_silent_and_clipped_return(rig, mode, reason):
    plan, iface, dut, _ = rig
    _, _, aligned, qc = take(plan, iface, mode, dut)
    assert aligned is not None, qc
    assert any(reason in r for r in qc.reasons), qc.reasons


def test_missing_interface_lists_devices(rig):
    from rig.audio.portaudio import PortAudioInterface

    with pytest.raises(UserError, match="scarlett-solo' not found.*'system'"):
        PortAudioInterface(Audio(interface="scarlett-solo"))
    with pytest.raises(UserError, match="channel map needs 3 in"):
        PortAudioInterface(Audio(interface="system", channels={"send": 2, "loopback": 1, "return": 3}))


def test_cli_devices_lists_jack(rig):
    from tests.conftest import run_rig

    out = run_rig("devices")  # the environment names our private server
    assert out.returncode == 0, out.stderr
    assert "system" in out.stdout
    assert "JACK" in out.stdout
