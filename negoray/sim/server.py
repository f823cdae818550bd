"""`negoray sim-serve`'s server, in three modules of one idea each: the OpenAI wire format
(`negoray.sim.wire`), the Starlette app with its fault model and counters (`negoray.sim.app`) and
serving it in a thread, a subprocess or the foreground (`negoray.sim.serving`). This module keeps
the names callers import and is the child process's entry point
(``python -m negoray.sim.server CONFIG_JSON [HOST [PORT]]``).
"""

from __future__ import annotations

import sys

from negoray.sim.app import SimServer, Stats, create_app
from negoray.sim.serving import ServerHandle, bind_socket, serve, serve_in_subprocess, serve_in_thread
from negoray.sim.wire import SERVER_ERROR, UNLOADED_ERROR, UNLOADED_STATUS

__all__ = [
    "SERVER_ERROR", "UNLOADED_ERROR", "UNLOADED_STATUS", "ServerHandle", "SimServer", "Stats", "bind_socket",
    "create_app", "serve", "serve_in_subprocess", "serve_in_thread",
]

if __name__ == "__main__":
    from negoray.sim.serving import _main

    _main(sys.argv[1:])
