"""Cold start of a Node backend, run in a fresh Python process like `bench.coldstart`: spawn
`node node/runner.mjs`, which imports the system, opens the store and does the first
`load_all`; timed from the spawn to the answer line (Node's start-up is part of what a user
pays). The answer carries only the number of conversations, so encoding the data for the
harness is not timed; decoding the answer is not either.

Same protocol as `bench.coldstart`: {"backend", "target", "settings"} on stdin, {"ns",
"conversations"} on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time


def main() -> int:
    import backends
    from backends.base import Settings, Target
    from backends.node_runner import NODE_DIR, RUNNER
    from backends.processes import die_with_parent

    request = json.load(sys.stdin)
    store = backends.get(request["backend"])(Target(**request["target"]), Settings(**request["settings"]))
    lines = [store.open_request(), {"op": "call", "name": "load_all", "args": [], "reply": "count"}, {"op": "close"}]
    payload = "".join(json.dumps(line) + "\n" for line in lines).encode()
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(["node", str(RUNNER)], cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            preexec_fn=die_with_parent)
    proc.stdin.write(payload)  # read by the runner as soon as it has started
    proc.stdin.close()
    opened = proc.stdout.readline()
    loaded = proc.stdout.readline()
    t1 = time.perf_counter_ns()
    proc.stdout.read()
    proc.wait()
    for line in (opened, loaded):
        answer = json.loads(line or b'{"ok": false, "error": "the Node runner exited without answering"}')
        if not answer["ok"]:
            print(answer["error"], file=sys.stderr)
            return 1
    json.dump({"ns": t1 - t0, "conversations": json.loads(loaded)["value"]}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
