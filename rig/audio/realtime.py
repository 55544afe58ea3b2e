"""Real-time hygiene for Python processes that serve a JACK/PortAudio callback, and a probe
of how well this machine keeps real-time deadlines at all.

What was measured (readme_snippets/jack_findings.md): a Python callback misses its
deadline when (1) another Python thread of the same process holds the GIL (CPython lets a
waiting thread take it only after the switch interval, 5 ms by default: a whole 256-frame
period), or (2) the machine stalls even a SCHED_FIFO thread for several ms (a VM's vCPU
descheduled, other real-time processes on the same cores). (1) is fixed here; (2) only a
longer period absorbs, and the probe tells such a machine apart from a regression.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
from contextlib import contextmanager

SWITCH_INTERVAL_S = 0.0002  # how long a GIL holder may keep the callback thread waiting


@contextmanager
def audio_process(promote: bool = True):
    """While a JACK/PortAudio callback of this process runs: other Python threads hand the
    GIL to it within ~0.2 ms instead of 5 ms, and (with `promote`) the calling thread runs
    SCHED_FIFO just above ordinary load, so it is never preempted while holding the GIL the
    callback waits for. Restores all on exit. Yields whether the thread was promoted."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.freeze()  # the start-up heap (numpy, scipy) is not rescanned by collections in the callback
    promoted = promote and _set_policy(os.SCHED_FIFO, 1)
    try:
        yield promoted
    finally:
        if promoted:
            _set_policy(os.SCHED_OTHER, 0)
        gc.unfreeze()
        sys.setswitchinterval(previous)


def _set_policy(policy: int, priority: int) -> bool:
    # Priority 1 stays below JACK's client threads (server priority - 5, at least 5 by default).
    try:
        os.sched_setscheduler(threading.get_native_id(), policy, os.sched_param(priority))
        return True
    except OSError:  # PermissionError included: no real-time rights here, stay as we are
        return False


_PROBE = textwrap.dedent("""
    import json, os, sys, time
    seconds, step = float(sys.argv[1]), float(sys.argv[2])
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5)); rt = True
    except (PermissionError, OSError):
        rt = False
    clock = time.perf_counter
    # Stalls while running: a tight loop sees every moment the CPU was taken away. It spins
    # in 10 ms bursts with equal rests, as an audio thread works and waits: spinning
    # without rest at SCHED_FIFO would use up the kernel's real-time budget
    # (sched_rt_runtime_us, 95 %) and measure its own 50 ms throttle, not the machine.
    end = clock() + seconds / 2
    worst_gap = 0.0
    while clock() < end:
        last = clock(); burst_end = last + 0.010
        while last < burst_end:
            now = clock(); worst_gap = max(worst_gap, now - last); last = now
        time.sleep(0.010)
    # Wake-up latency: how late a sleeping thread runs again.
    late = []
    end = clock() + seconds / 2
    while clock() < end:
        t = clock(); time.sleep(step); late.append(clock() - t - step)
    late.sort()
    print(json.dumps({"realtime": rt, "max_stall_ms": round(worst_gap * 1e3, 3),
                      "wakeup_p99_ms": round(late[int(0.99 * (len(late) - 1))] * 1e3, 3),
                      "wakeup_max_ms": round(late[-1] * 1e3, 3)}))
""")


def measure_jitter(seconds: float = 2.0, step_s: float = 0.001) -> dict:
    """Scheduling jitter of this machine now, measured in a fresh process (no threads of the
    caller's in the way) at SCHED_FIFO priority where allowed. `worst_ms` is the longest time
    a real-time thread could not run: an audio period shorter than that cannot be held."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(seconds), str(step_s)],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    figures = json.loads(out.stdout)
    figures["worst_ms"] = max(figures["max_stall_ms"], figures["wakeup_max_ms"])
    return figures


def holds_period(jitter: dict, period_ms: float) -> bool:
    """True when the measured stalls leave at least half the period for the audio work."""
    return jitter["realtime"] and jitter["worst_ms"] < period_ms / 2
