"""Browser dashboard: a FastAPI app and a static page that follow a session folder."""

from rig.dashboard.app import create_app
from rig.dashboard.control import RunControl
from rig.dashboard.launch import start_dashboard
from rig.dashboard.security import new_token
from rig.dashboard.server import ServerHandle, serve_in_thread

__all__ = ["RunControl", "ServerHandle", "create_app", "new_token", "serve_in_thread", "start_dashboard"]
