"""An xrun on the real audio path is caught by the take's QC. This needs the asynchronous
server a sound card imposes (a late client loses its period), unlike the synchronous one the
other JACK tests use to stay sample-exact under load."""

import os
import threading

import pytest

from rig.audio import AlignmentError

from .jackrig import jack_rig, jackd_available, take

pytestmark = pytest.mark.skipif(not jackd_available(), reason="jackd is not installed (apt-get install jackd2)")


@pytest.fixture(scope="module")
def rig():
    with jack_rig(f"rigxrun{os.getpid()}", sync=False) as parts:
        yield parts


def test_qc_catches_injected_xrun(rig):
    plan, iface, dut, patch = rig

    def wire_then_stall(i):
        patch.wire(i)
        threading.Timer(0.6, dut.command, ["xrun"]).start()  # mid-content: the DUT overruns once

    iface.on_start = wire_then_stall
    try:
        _, rec, _, result = take(plan, iface, "normal", dut)
    finally:
        iface.on_start = patch.wire
    assert rec.status["xruns"] >= 1
    rejected = isinstance(result, AlignmentError) or any("xrun" in r for r in result.reasons)
    assert rejected, result
