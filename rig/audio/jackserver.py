"""A private JACK server on the dummy driver (no sound hardware), started one way for the
simulated rig's audio path (`--sim --jack`), the player's bench and the tests; and the one way
clients open on a running server (`open_client`).

`sync=True` runs the server synchronously: each cycle waits for every client (up to
`timeout_ms`) instead of dropping a late client's period. Nothing is played to a real
converter, so waiting costs only wall time, and the audio stays sample-exact on a loaded or
non-real-time machine; a client later than `timeout_ms` is still reported as an xrun."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import IO, Any

from rig.errors import UserError

SYNC_TIMEOUT_MS = 500


def start_dummy_server(
    name: str,
    rate: int,
    period: int,
    sync: bool = False,
    timeout_ms: int = SYNC_TIMEOUT_MS,
    stderr: int | IO[Any] | None = subprocess.DEVNULL,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    """jackd named `name`, answering when this returns; RuntimeError when it exits or does
    not answer within 10 s (callers turn that into their own message)."""
    mode = ["-S", "-t", str(timeout_ms)] if sync else []
    proc = subprocess.Popen(
        ["jackd", "-n", name, *mode, "-d", "dummy", "-r", str(rate), "-p", str(period)],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        preexec_fn=preexec_fn,
    )
    if not wait_for_server(name, 10.0, proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        raise RuntimeError(f"jackd -n {name} -d dummy did not come up (exit status {proc.returncode})")
    return proc


def wait_for_server(servername: str | None, timeout_s: float = 5.0, proc: subprocess.Popen | None = None) -> bool:
    """True once a JACK server answers; False at the deadline or as soon as `proc` exits."""
    import jack

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            jack.Client("rig-probe", no_start_server=True, servername=servername).close()
            return True
        except jack.JackOpenError:
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.05)
    return False


def open_client(client_name: str, servername: str | None):
    """A jack.Client on a running server (never starting one); a clear error when JACK or the
    server is missing."""
    try:
        import jack
    except (ImportError, OSError) as exc:  # OSError: libjack missing
        raise UserError(
            f"cannot use JACK ({exc}); install the JACK library (apt-get install jackd2) and the JACK-Client package"
        ) from None
    try:
        return jack.Client(client_name, no_start_server=True, servername=servername)
    except jack.JackOpenError:
        where = f"'{servername}'" if servername else "(default)"
        raise UserError(
            f"no JACK server {where} is running; start one, e.g. `jackd -d dummy -r 48000 -p 256 &`"
        ) from None
