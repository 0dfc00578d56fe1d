"""pyturso's file lock: a second process cannot open the file while our store is open, and
can once it is closed (how cold_start runs after the parent closed its store)."""

from __future__ import annotations

from storebench import backends
from storebench.backends.base import Conversation, Settings, Target
from storebench.core.runner import cold_starts
from storebench.core.workload import EPOCH_MS


def test_a_fresh_process_opens_the_file_only_after_the_store_is_closed(tmp_path):
    settings = Settings()
    target = Target(path=str(tmp_path / "turso.db"))
    store = backends.get("pyturso")(target, settings)
    store.open()
    store.setup_schema()
    store.create_conversation(Conversation("c1", "t", EPOCH_MS, EPOCH_MS, []))

    samples, problems = cold_starts("pyturso", target, settings, 1)
    assert samples == [] and "locked by another process" in problems[0]

    store.close()
    samples, problems = cold_starts("pyturso", target, settings, 1)
    assert problems == [] and len(samples) == 1
