"""Capability probes: what a backend can do, shown by doing it, not taken from documentation.

Run by `storebench run` after a backend's timing, on the same provisioned store. Each probe
answers yes / no / n/a with the evidence (a count or a message) and goes into the backend's
results entry as `capabilities: {probe: {result, evidence, figures}}`.

The probes only use the `Store` interface and the `Target`, and the second clients are child
processes (bench/capabilities/probe_client.py). So a new backend gets every probe
without code of its own. A backend may refine two of them with `Store` hooks it declares in
its `capabilities` (backends/base.py):

- `second_device_target(target, workdir) -> Target` (`capabilities.second_device`): what
  another device would be given (default: the URL and token only, plus a fresh private folder
  for any local file);
- `backup(target, dest: Path) -> None` (`capabilities.backup`): write a SQLite copy of the
  live store to `dest` (without it: SQLite's online backup API on `target.path`, when there is
  one; else a libSQL server's `/dump` endpoint at the URL, when it serves one).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from storebench.backends.base import Settings, Store, StoreError, Target
from storebench.capabilities import netns
from storebench.capabilities.probe_client import conversation
from storebench.core.workload import EPOCH_MS, checksum
from storebench.model.secrets import redact_url, scrub
from storebench.servers.managed import data_holders
from storebench.servers.processes import pipes, stop_processes_naming

PROBES = ("cross_device", "auth_enforced", "process_crash", "concurrent_writers", "online_backup")
YES, NO, NA = "yes", "no", "n/a"
CHILD_TIMEOUT_S = 30
CRASH_ACKS = 25  # acknowledged writes to wait for before the SIGKILL...
CRASH_SECONDS = 1.0  # ...or, after the first one, this long (a WAN backend acknowledges slowly)
CRASH_MAX_WRITES = 100_000  # the writer's bound if it is never killed
CONCURRENT_WRITES = 100  # per writer (more until the other has begun); each is one create + one add_message
CONCURRENT_SECONDS = 1.0  # ...and for at most this long, so a slow (WAN) backend stays bounded


def outcome(result: str, evidence: str, **figures) -> dict:
    return {"result": result, "evidence": evidence, "figures": figures}


class Child:
    """A probe client process; its stdout lines arrive on a queue so every wait has a deadline."""

    def __init__(self, name: str, target: Target, settings: Settings, action: str, wrapper: Sequence[str] = (),
                 **args) -> None:
        """`wrapper` runs the client elsewhere (`ip netns exec NAME`: on another host)."""
        request = {"backend": name, "target": asdict(target), "settings": asdict(settings), "action": action, **args}
        self.secrets = [target.auth_token]
        # stderr goes to a file, not a pipe: a chatty driver can then never block the child.
        self.stderr = tempfile.TemporaryFile(mode="w+")
        # Its own temporary folder, removed by us: a child killed on purpose (the crash probe)
        # cannot remove what it made there (a browser backend's Chromium profile, 2.5 MB). A
        # short name: Chromium's socket path below it must stay within the 107 bytes of a
        # Unix socket address.
        self.tmp = tempfile.mkdtemp(prefix="sb-probe-")
        self.proc = subprocess.Popen(
            [*wrapper, sys.executable, "-m", "storebench.capabilities.probe_client"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, text=True, bufsize=1, env={**os.environ, "TMPDIR": self.tmp},
        )
        self.stdin, self.stdout = pipes(self.proc)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.ended = False
        threading.Thread(target=self._pump, daemon=True).start()
        try:
            self.send(json.dumps(request))
        except BaseException:
            self.close()
            raise

    def _pump(self) -> None:
        for line in self.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, deadline: float) -> str | None:
        """The next stdout line, or None at (and after) end of output; TimeoutError past the deadline."""
        if self.ended:
            return None
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError("probe client did not answer in time") from None
        self.ended = line is None
        return line

    def send(self, line: str) -> None:
        self.stdin.write(line + "\n")
        self.stdin.flush()

    def finish(self, deadline: float) -> tuple[list[str], int, str]:
        """All remaining stdout lines, the exit status and the last stderr line."""
        out = []
        while (line := self.next_line(deadline)) is not None:
            out.append(line)
        code = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        self.stderr.seek(0)
        err = self.stderr.read().strip().splitlines()
        return out, code, scrub(err[-1] if err else "", self.secrets)[:300]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        for stream in (self.stdin, self.stdout, self.stderr):
            try:
                stream.close()
            except OSError:
                pass
        # A killed client's Chromium closes once Playwright's driver sees its client gone,
        # writing its profile as it exits: the folder is removed once nothing uses it.
        stop_processes_naming(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _deadline() -> float:
    return time.monotonic() + CHILD_TIMEOUT_S


def run_child(name: str, target: Target, settings: Settings, action: str, wrapper: Sequence[str] = (),
              **args) -> tuple[list[str], int, str]:
    child = Child(name, target, settings, action, wrapper, **args)
    try:
        return child.finish(_deadline())
    finally:
        child.close()


def _present(cls: type[Store], target: Target, settings: Settings, ids: list[str]) -> int:
    store = cls.opened(target, settings)
    try:
        stored = {c.id for c in store.load_all()}
    finally:
        store.close()
    return sum(1 for i in ids if i in stored)


def _tag() -> str:
    return f"probe-{uuid.uuid4().hex[:8]}-"


def _loopback_server(target: Target) -> tuple[str, int] | None:
    parts = urlsplit(target.url or "")
    return (parts.hostname, parts.port) if parts.hostname in netns.LOOPBACK_HOSTS and parts.port else None


def _read_from_other_host(cls: type[Store], remote: Target, settings: Settings, cid: str) -> tuple[tuple, dict]:
    """The second client's read, from another network namespace when one can be made here,
    else from another process on loopback; returns (run_child's answer, what it ran on)."""
    reason = netns.unavailable_reason()
    if reason is None:
        try:
            with netns.OtherHost() as host:
                answer = run_child(cls.name, host.target(remote), settings, "read", host.command(), find=cid,
                                   server=_loopback_server(remote))
            return answer, {"client_network": "namespace", "client_address": host.address}
        except netns.NetnsError as exc:
            reason = str(exc)
    return run_child(cls.name, remote, settings, "read", find=cid), {"client_network": "loopback",
                                                                      "why_not_namespace": reason}


def probe_cross_device(cls: type[Store], target: Target, settings: Settings, workdir: Path) -> dict:
    """Can a client on another host, given only the URL (and token), see what the first wrote?
    The client runs in a network namespace of its own (bench/capabilities/netns.py); where none can be made,
    the answer is what it is: reachable by URL + token from another process, on loopback."""
    remote = cls.second_device_target(target, workdir)
    if remote is None:
        return outcome(NO, "the store is a local file and the backend exposes no URL: another device cannot reach it")
    cid = _tag() + "xdev"
    store = cls.opened(target, settings)
    try:
        store.create_conversation(conversation(cid, EPOCH_MS))
    finally:
        store.close()
    (out, code, err), where = _read_from_other_host(cls, remote, settings, cid)
    given = f"only the URL{' and token' if remote.auth_token else ''}"
    if where["client_network"] == "namespace":
        client = (f"a client on another host (network namespace, address {where['client_address']}, the server "
                  f"reached through a relay on the link; the host's loopback unreachable from it) given {given}")
    else:
        client = (f"a second process on this host's loopback given {given} (no network namespace here: "
                  f"{where['why_not_namespace']}; this shows reachability by URL + token from another process, "
                  "not from another device)")
    if code != 0:
        return outcome(NO, f"{client} failed: {err}", **where)
    answer = json.loads(out[-1])
    if answer.get("server_loopback_reachable"):
        return outcome(NO, f"{client} could also reach the server's loopback address: not another host", **where)
    if answer["found"]:
        return outcome(YES, f"{client} saw the conversation the first client created "
                            f"({answer['conversations']} conversations)", **where)
    return outcome(NO, f"{client} did not see the new conversation", **where)


def _wrong_key_token() -> str:
    """A well-formed EdDSA JWT with full rights, signed by a key the server does not trust."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return jwt.encode({"a": "rw", "exp": int(time.time()) + 600}, Ed25519PrivateKey.generate(), algorithm="EdDSA")


def probe_auth_enforced(cls: type[Store], target: Target, settings: Settings, workdir: Path) -> dict:
    if not target.auth_token:
        where = "URL" if target.url else "file"
        return outcome(NA, f"the backend uses no auth token: anyone who can reach the {where} can read and write")
    cid = _tag() + "auth"
    refusals, accepted = [], []
    attempts = (("no token", None), ("a token signed by another key", _wrong_key_token()))
    # Both clients at once: a refused embedded replica retries its first sync for seconds.
    children = [Child(cls.name, Target(path=target.path, url=target.url, auth_token=token, extra=target.extra),
                      settings, "read", find=cid) for _, token in attempts]
    try:
        deadline = _deadline()
        answers = [child.finish(deadline) for child in children]
    finally:
        for child in children:
            child.close()
    for (label, _token), (_out, code, err) in zip(attempts, answers):
        if code == 0:
            accepted.append(label)
        else:
            refusals.append(f"{label}: {scrub(err, [target.auth_token])}")
    if accepted:
        return outcome(NO, f"a request with {' and '.join(accepted)} was served", refused=len(refusals))
    return outcome(YES, "refused: " + "; ".join(refusals), refused=len(refusals))


def probe_process_crash(cls: type[Store], target: Target, settings: Settings, workdir: Path) -> dict:
    """Process crash: the process holding the data is SIGKILLed while a writer writes; every
    acknowledged write must be there afterwards. That process is the server for a server this
    run started (sqld, the emulated Turso's sqld, the API-routes server: restarted on the same
    data), else the writer itself (an embedded store lives in its client). A kill leaves the
    OS's page cache intact, so this is no power loss, and cannot tell durability settings apart
    (an embedded store with synchronous=OFF kept every write too); power loss is not measured
    (docs/failures.md)."""
    holders = data_holders(target.url)
    if target.url and not holders:
        return outcome(NA, "the server holding the data was not started by this run (a given URL or a hosted "
                           "service): it cannot be killed here, and killing only the client would not crash it")
    prefix = _tag() + "crash-"
    child = Child(cls.name, target, settings, "write", prefix=prefix, count=CRASH_MAX_WRITES)
    acked: list[str] = []
    killed: list[int] = []
    try:
        acked = _acknowledged(child)
        killed = [holder.server.kill() for holder in holders]  # the server first: the writer still writing
        child.kill()
        rest, _, err = child.finish(_deadline())
        # Acknowledgements printed before the kill but not yet read count too.
        acked += [line[3:] for line in rest if line.startswith("ok ")]
    finally:
        child.close()
        for holder in holders[:len(killed)]:
            holder.restart()
    who = (f"the server holding the data (pid {', '.join(map(str, killed))}; restarted on the same data)"
           if holders else f"the writer, whose process holds the data (synchronous={settings.synchronous})")
    if not acked:
        return outcome(NO, f"the writer acknowledged no write before the kill: {err or 'no output'}",
                       killed="server" if holders else "writer")
    present = (_present_after_restart if holders else _present)(cls, target, settings, acked)
    figures = {"acknowledged": len(acked), "present": present, "killed": "server" if holders else "writer"}
    what = f"after SIGKILL of {who}, mid-write: a process crash, not a power loss (not measured)"
    if present == len(acked):
        return outcome(YES, f"{present}/{len(acked)} acknowledged writes present {what}", **figures)
    return outcome(NO, f"only {present}/{len(acked)} acknowledged writes present {what}", **figures)


def _present_after_restart(cls: type[Store], target: Target, settings: Settings, ids: list[str]) -> int:
    """`_present`, read again (fresh connections) until all are there or CHILD_TIMEOUT_S has
    passed: a restarted server's replicas catch up late (sqld-replica reads from a replica,
    which under load had 14 of 25 a moment after the primary came back). A write lost stays
    lost, so waiting can only cost time, never hide a loss."""
    deadline = _deadline()
    while (present := _present(cls, target, settings, ids)) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return present


def _acknowledged(child: Child) -> list[str]:
    """The writer's acknowledged ids, read until CRASH_ACKS of them, or CRASH_SECONDS after
    the first, or its end."""
    acked: list[str] = []
    deadline = _deadline()
    while len(acked) < CRASH_ACKS:
        try:
            line = child.next_line(deadline)
        except TimeoutError:
            if acked:  # the time bound after the first acknowledgement
                break
            raise
        if line is None:
            break
        if line.startswith("ok "):
            if not acked:
                deadline = min(deadline, time.monotonic() + CRASH_SECONDS)
            acked.append(line[3:])
    return acked


def probe_concurrent_writers(cls: type[Store], target: Target, settings: Settings, workdir: Path) -> dict:
    tags = [_tag() + "w1-", _tag() + "w2-"]
    # Each writer is what a separate client would be: for a networked store, a second device
    # (URL and token, and its own local file if it keeps one, as an embedded replica does);
    # for a file-only store, a second process on the same file.
    targets = [target, cls.second_device_target(target, workdir) or target]
    markers = [str(Path(tempfile.mkdtemp(prefix="writers-", dir=workdir)) / tag) for tag in tags]
    writers = [Child(cls.name, t, settings, "write", prefix=tag, count=CONCURRENT_WRITES,
                     seconds=CONCURRENT_SECONDS, with_message=True, wait_go=True, marker=mine, peer_marker=peer)
               for t, tag, mine, peer in zip(targets, tags, markers, markers[::-1])]
    try:
        deadline = _deadline()
        for w in writers:
            ready = w.next_line(deadline)
            if ready != "ready":
                _, _, err = w.finish(deadline)
                return outcome(NO, f"a second writer process could not open the store: {err or ready}")
        for w in writers:
            w.send("go")
        outputs = [w.finish(_deadline()) for w in writers]
    finally:
        for w in writers:
            w.close()
    ok = [[line[3:] for line in out if line.startswith("ok ")] for out, _, _ in outputs]
    errors = [[line[4:] for line in out if line.startswith("err ")] for out, _, _ in outputs]
    spans = [[float(x) for x in line.split()[1:]] for out, _, _ in outputs for line in out if line.startswith("done ")]
    overlapped = len(spans) == 2 and spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]
    present = _present(cls, target, settings, ok[0] + ok[1])
    n_err = sum(len(e) for e in errors)
    attempted = [len(ok[i]) + len(errors[i]) for i in range(2)]
    figures = {"writes": sum(attempted), "succeeded": len(ok[0]) + len(ok[1]), "errors": n_err,
               "present": present, "overlapped": overlapped}
    summary = (f"two writer processes, {attempted[0]} + {attempted[1]} write pairs (create + message; "
               f"{CONCURRENT_WRITES} each and on until the other had begun, at most {CONCURRENT_SECONDS:g} s), "
               f"{'running at the same time' if overlapped else 'not overlapping in time'}: "
               f"{len(ok[0])} + {len(ok[1])} succeeded, {n_err} errors, {present} present afterwards")
    if n_err or present != len(ok[0]) + len(ok[1]) or len(spans) != 2:
        first = next((e[0] for e in errors if e), outputs[0][2] or outputs[1][2])
        return outcome(NO, f"{summary}; first error: {first}", **figures)
    return outcome(YES, summary, **figures)


def _sqlite_backup(source: str, dest: Path, timeout_s: float) -> None:
    src = sqlite3.connect(source, timeout=timeout_s)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _restored_checksum(cls: type[Store], copy: Path, settings: Settings) -> tuple[str, str]:
    """The copy's checksum read as a plain SQLite file (sqlite3), else through the backend."""
    from storebench import backends

    problems = []
    for reader in (backends.get("sqlite3"), cls):
        try:
            store = reader.opened(Target(path=str(copy)), settings)
            try:
                return checksum(store.load_all()), reader.name
            finally:
                store.close()
        except Exception as exc:
            problems.append(f"{reader.name}: {type(exc).__name__}: {exc}")
    raise RuntimeError("the copy could not be read: " + "; ".join(problems))


def dump_url(url: str) -> str:
    """The libSQL server's `/dump` endpoint (SQL text of the whole database) for a client URL."""
    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    scheme = {"ws": "http", "wss": "https", "libsql": "http" if local else "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/dump", "", ""))


def fetch_dump(target: Target) -> str | None:
    """The server's SQL dump, or None when the URL serves none (not a libSQL server)."""
    headers = {"Authorization": f"Bearer {target.auth_token}"} if target.auth_token else {}
    request = urllib.request.Request(dump_url(target.require_url()), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=CHILD_TIMEOUT_S) as response:
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 405):
            return None
        raise
    return text if "CREATE TABLE" in text else None


def _restore_dump(target: Target, dest: Path) -> None:
    """The server's SQL dump as of now, loaded into a new SQLite file at `dest`."""
    sql = fetch_dump(target)
    if sql is None:
        raise StoreError("the server's /dump endpoint stopped serving a SQL dump")
    conn = sqlite3.connect(dest)
    try:
        conn.executescript(sql)
    finally:
        conn.close()


def _backup_method(cls: type[Store], target: Target, settings: Settings) -> tuple[str, Callable[[Path], None]] | str:
    """How a copy of this store can be taken, or why it cannot."""
    if cls.capabilities.backup:
        return "the backend's backup hook", lambda dest: cls.backup(target, dest)
    if target.path and os.path.exists(target.path):
        timeout_s = settings.busy_timeout_ms / 1000
        return "SQLite's online backup API", lambda dest: _sqlite_backup(target.path, dest, timeout_s)
    if target.url and urlsplit(target.url).scheme in ("http", "https", "ws", "wss", "libsql"):
        if fetch_dump(target) is not None:
            return ("the server's /dump endpoint (restored with executescript)",
                    lambda dest: _restore_dump(target, dest))
        return f"no database file, no backup hook, and {redact_url(dump_url(target.url))} serves no SQL dump"
    return "no database file and no backup hook: the backend's client exposes no backup"


def probe_online_backup(cls: type[Store], target: Target, settings: Settings, workdir: Path) -> dict:
    method = _backup_method(cls, target, settings)
    if isinstance(method, str):
        return outcome(NA, method)
    how, take_copy = method
    copy = Path(tempfile.mkdtemp(prefix="backup-", dir=workdir)) / "copy.db"
    store = cls.opened(target, settings)  # the store keeps serving (open) while the copy is taken
    try:
        before = checksum(store.load_all())
        take_copy(copy)
        after = checksum(store.load_all())
    finally:
        store.close()
    restored, reader = _restored_checksum(cls, copy, settings)
    figures = {"checksum": before[:16], "restored_checksum": restored[:16]}
    if before != after:
        return outcome(NO, "the store changed while the copy was taken; no consistent point to compare", **figures)
    if restored == before:
        return outcome(YES, f"copy taken with {how} while the store was open; restored (read with {reader}) "
                            f"to the same checksum {before[:16]}", **figures)
    return outcome(NO, f"the copy taken with {how} restores to checksum {restored[:16]}, "
                   f"the store has {before[:16]}", **figures)


PROBE_FUNCTIONS = {
    "cross_device": probe_cross_device,
    "auth_enforced": probe_auth_enforced,
    "process_crash": probe_process_crash,
    "concurrent_writers": probe_concurrent_writers,
    "online_backup": probe_online_backup,
}


def run_all(cls: type[Store], target: Target, settings: Settings, workdir: Path) -> dict:
    """Every probe on the provisioned store; a probe that breaks answers no, with the error."""
    results = {}
    with cls.reusing():  # the probes open and close several stores of their own, one at a time
        for name in PROBES:
            started = time.monotonic()
            try:
                results[name] = PROBE_FUNCTIONS[name](cls, target, settings, workdir)
            except Exception as exc:
                message = scrub(f"{type(exc).__name__}: {exc}", [target.auth_token]).replace("\n", " ")[:300]
                results[name] = outcome(NO, f"probe failed: {message}")
            results[name]["seconds"] = round(time.monotonic() - started, 2)
    return results

