"""`sqld-ws`: the same sqld as `sqld`, through `libsql-client` over Hrana WebSocket, so the
two rows show what the client and transport cost. Each op is one Hrana batch (see
`backends/hrana_batch.py`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from storebench.backends.base import Capabilities, Settings, Target
from storebench.backends.hrana_batch import HranaBatchStore
from storebench.servers import sqld_server


class SqldWsStore(HranaBatchStore):
    name = "sqld-ws"
    kind = "server"
    capabilities = Capabilities(paging=True, required_modules=("libsql_client",), needs=("sqld",))
    description = "the same sqld via libsql-client over Hrana WebSocket, one batch request per op"
    not_in_all = ("a transport variant of `sqld` (WebSocket instead of HTTP), left out of the default run "
                  "to keep it within 120 s")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or sqld_server.unavailable_reason()

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        with sqld_server.sqld_for_run(workdir) as server:
            yield Target(url="ws" + server.url.removeprefix("http"),
                         extra={"server_version": sqld_server.server_version(server.url)})

    def describe(self) -> dict:
        return {**super().describe(), "server_version": self.target.extra.get("server_version")}
