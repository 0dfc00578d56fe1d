"""`browser-turso`: the design document's phase 2, for real. No routes: the app's page in
headless Chromium uses `@libsql/client/web` with a token, straight to the `turso` target —
real Turso with `TURSO_DATABASE_URL` and `TURSO_AUTH_TOKEN`, else the emulated one (the real
sqld with Ed25519 JWT auth behind the delaying proxy, `backends/turso.py`), labelled emulated.

The page is served by the same Next.js app (`next start`) as `nextjs-routes`, so it is another
origin than the database: every request is a CORS request, and those with a JSON body and the
Authorization header are preflighted (sqld answers preflights without a max-age, so Chromium
keeps each for 5 s). Round trips are counted on the wire by the proxy, one op per
`page.evaluate`, so preflights and new connections count as the page pays them.

Cold start: a fresh browser (started untimed, as a user's browser is already running) opens
the page; the figure is the page's own clock (time since navigation start) when its first load
answers: page, scripts, the client's import and its first request, preflight included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from storebench.backends.api_routes import encode_conversation
from storebench.backends.base import Capabilities, Conversation, Settings, Target
from storebench.backends.browser import BrowserStore, chromium, open_page, read_package_version
from storebench.backends.hrana_batch import SERVER_SETTINGS_NOTE
from storebench.backends.turso import TursoTarget, turso_target, wire_counter
from storebench.model.secrets import redact_url
from storebench.servers.next_server import running_next


class BrowserTursoStore(TursoTarget, BrowserStore):
    name = "browser-turso"
    kind = "remote"
    capabilities = Capabilities(
        second_device=True, emulated=True, required_modules=("playwright", "jwt"),
        needs=("nextjs", "chromium", "turso"))
    description = ("the design's phase 2: the page in headless Chromium uses @libsql/client/web with a token "
                   "straight to Turso (real or emulated), no routes; timed in the page")
    # As `turso`: every op pays the emulated WAN round trip, so a quarter of the rounds pins it.
    rounds_fraction = 0.25
    chunk_steps = 1  # one op per evaluate, so the proxy's wire count is each op's own

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        # The routes of this app are never called here: its database file stays unopened.
        with turso_target(workdir, settings) as target, \
                running_next("start", workdir / "unused.db", settings, workdir, ready_path="/") as server:
            target.extra["page_url"] = server.url
            yield target

    def _configure_page(self) -> None:
        self.wire = wire_counter(self.target)
        self._evaluate("([url, token, ms]) => window.storebench.useTurso(url, token, ms)",
                       [self.target.url, self.target.auth_token, self.settings.op_timeout_s * 1000])

    def close(self) -> None:
        super().close()
        if self.wire is not None:
            self.wire.close()
            self.wire = None

    def _wire_round_trips(self) -> int | None:
        return self.wire.read()[0] if self.wire is not None else None

    def round_trips(self) -> int:
        """On the wire (the proxy's count, preflights included) when emulated; else the page's requests."""
        wire = self._wire_round_trips()
        return wire if wire is not None else super().round_trips()

    def setup_schema(self) -> None:
        self._call("setup_schema")

    def preload(self, conversations: list[Conversation]) -> None:
        # Bulk through the same client, 500 statements per batch (set-up, not timed).
        self._evaluate("([c]) => window.storebench.call('preload', [c])",
                       [[encode_conversation(c) for c in conversations]])

    def describe(self) -> dict:
        info = self._call("describe")
        return {
            "driver_version": read_package_version("@libsql/client"),
            "sqlite_version": info["sqlite_version"],
            "settings": {**info["settings"], "transactions": "one batch per op (BEGIN … COMMIT in one request)",
                         "note": SERVER_SETTINGS_NOTE},
            "server_version": self.target.extra.get("server_version"),
            "stack": {"client": "@libsql/client/web in the page", "browser": self.page_timing.get("user_agent"),
                      "page_origin": self.page_url(), "database": redact_url(self.target.url),
                      "timing": "performance.now() around each client call in the page"},
        }

    @classmethod
    def cold_start(cls, target: Target, settings: Settings, started_ns: int) -> tuple[int, int]:
        """A fresh browser opens the page: ms since navigation start when the first load answers."""
        with chromium() as browser:
            page = open_page(browser, target.extra["page_url"])
            ms, count = page.evaluate("([url, token, ms]) => window.storebench.coldLoad(url, token, ms)",
                                      [target.url, target.auth_token, settings.op_timeout_s * 1000])
        return round(ms * 1e6), count

