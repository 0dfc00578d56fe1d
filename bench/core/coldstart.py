"""Cold start, run in a fresh process: import the driver, open the store, first `load_all`
(`Store.cold_start`; a store whose cold start is a server's or a browser's times that instead).

The process prints `ready` once the interpreter and the harness are loaded; the parent then
sends {"backend", "target", "settings"} as JSON on stdin (stdin, not argv, so an auth token
never shows in the process list) and reads {"ns", "conversations"}, the next line. Interpreter
start-up is excluded: it is the same for every backend, and the parent starts a backend's
cold-start processes together and times them one at a time once all are ready. The OS page
cache is warm (the file was just written), so this is a cold *process*, as after an app restart.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> int:
    from storebench import backends
    from storebench.backends.base import Settings, Target

    print("ready", flush=True)
    request = json.load(sys.stdin)
    target, settings = Target(**request["target"]), Settings(**request["settings"])
    # The backend's module (and so its driver) is imported inside the timed region on purpose:
    # loading the driver is part of a cold start. The harness's own modules are not.
    t0 = time.perf_counter_ns()
    ns, conversations = backends.get(request["backend"]).cold_start(target, settings, t0)
    json.dump({"ns": ns, "conversations": conversations}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
