"""Run the dashboard with uvicorn in a background thread, so `rig capture` can serve it
beside the capture loop and tests can drive it from a real browser."""

from __future__ import annotations

import errno
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from rig.errors import UserError

START_TIMEOUT_S = 10.0


@dataclass
class ServerHandle:
    url: str  # base URL, e.g. http://127.0.0.1:8765/
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def url_with_token(self, token: str | None) -> str:
        return f"{self.url}?token={token}" if token else self.url

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 8765) -> ServerHandle:
    """Bind first (so a busy port is a clear error here, and port 0 picks a free one), then
    serve from a daemon thread. Returns once the server accepts connections."""
    sock = _bind(host, port)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, ws_ping_interval=20, timeout_graceful_shutdown=2, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="rig-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise UserError(f"the dashboard server did not start on {host}:{port}; see the messages above")
        time.sleep(0.01)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return ServerHandle(f"http://{shown}:{bound_port}/", server, thread)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is busy; pass --port with a free port (or 0 for any)") from None
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); check --host") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
