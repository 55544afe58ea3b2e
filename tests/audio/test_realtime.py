"""The real-time hygiene of rig.audio.realtime, tested by its mechanism rather than by
counting xruns (which depends on the machine): a busy Python thread must hand the GIL to a
waking audio thread within a fraction of a 256-frame period (5.3 ms)."""

import statistics
import threading
import time

from rig.audio.realtime import audio_process, holds_period, measure_jitter

PERIOD_MS = 256 / 48.0


def gil_handover_ms(rounds: int = 40) -> float:
    """Median extra time a thread waking from a 1 ms sleep waits for the GIL while another
    thread spins. Each round also times the same wake-up with the spinner parked, and only the
    difference counts: on a loaded machine the scheduler delays both alike, so the figure is
    the interpreter's hand-over, not the machine's load."""
    stop, spinning = threading.Event(), threading.Event()

    def spin():
        while not stop.is_set():
            if spinning.is_set():
                sum(range(200))
            else:
                spinning.wait(0.005)  # parked: releases the GIL

    def overshoot_ms() -> float:
        t0 = time.perf_counter()
        time.sleep(0.001)
        return (time.perf_counter() - t0 - 0.001) * 1e3

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    extra = []
    try:
        for _ in range(rounds):
            spinning.clear()
            time.sleep(0.002)  # let the spinner park
            idle = overshoot_ms()
            spinning.set()
            time.sleep(0.002)  # let it take the GIL
            extra.append(overshoot_ms() - idle)
    finally:
        stop.set()
        spinning.set()
        t.join()
    return statistics.median(extra)


def test_busy_python_thread_hands_over_the_gil_quickly():
    with audio_process(promote=False):
        fast = gil_handover_ms()
    slow = gil_handover_ms()  # CPython's default: the waiter gets the GIL after 5 ms
    # The requirement is half a 256-frame period (5.3 ms), as holds_period asks of a stall; a
    # quiet machine measures ~0.2 ms, a loaded 2-core one more, since the spinner then takes
    # a core the waking thread would otherwise have.
    assert fast < PERIOD_MS / 2, f"GIL hand-over took {fast:.2f} ms in an audio process"
    assert slow > 2 * max(fast, 0.5), (slow, fast)


def test_audio_process_restores_the_interpreter():
    import gc
    import sys

    before = sys.getswitchinterval()
    with audio_process():
        assert sys.getswitchinterval() < before
    assert sys.getswitchinterval() == before
    assert gc.get_freeze_count() == 0


def test_jitter_probe_reports_figures():
    jitter = measure_jitter(seconds=0.4)
    assert jitter["worst_ms"] >= 0
    assert isinstance(jitter["realtime"], bool)
    assert not holds_period({**jitter, "worst_ms": 50.0}, 21.3)  # a 50 ms stall cannot hold 21 ms
