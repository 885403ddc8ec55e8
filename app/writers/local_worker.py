"""The local model worker process: `llama_cpp.server`, tied to the app that started it.

Run as ``python -m app.writers.local_worker PARENT_PID <llama_cpp.server arguments>`` by
`app.writers.local_server.LocalServer`. A watchdog thread ends the worker when its parent is gone
(even
after kill -9), so no orphaned 1.1 GB model keeps a port and two cores busy. (Linux's
PR_SET_PDEATHSIG is no substitute: it fires when the *thread* that started the child exits,
and the supervisor restarts crashed workers from a short-lived thread.)
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _watch(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(1.0)


def main() -> None:
    parent = int(sys.argv[1])
    threading.Thread(target=_watch, args=(parent,), name="kv-parent-watch", daemon=True).start()
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
