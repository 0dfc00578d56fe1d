"""Streaming bulk preload: large data sets generated and inserted batch by batch.

`Workload` keeps its whole initial state in memory (twice: the model and the snapshot), which
is right for checking a run but not for 100,000 conversations with 1,000,000 messages (about
a gigabyte of text). Here each batch is generated, inserted in one transaction through
`Store.preload`, and dropped. The data is the same as `Workload(params, seed).initial_state`
would hold, conversation for conversation, because both draw from `DataGenerator(seed)`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from storebench.backends.base import Conversation, Store
from storebench.core.workload import DataGenerator

BATCH = 10_000  # conversations per transaction: fewer, bigger commits and checkpoints; ~90 MB in memory


@dataclass
class PreloadTiming:
    conversations: int
    messages: int
    content_bytes: int
    generate_s: float
    insert_s: float

    @property
    def total_s(self) -> float:
        return self.generate_s + self.insert_s


def batches(seed: int, conversations: int, messages: int, batch: int = BATCH) -> Iterator[list[Conversation]]:
    """The conversations of `Workload(..., seed).initial_state`, `batch` at a time."""
    gen = DataGenerator(seed)
    for start in range(0, conversations, batch):
        yield [gen.conversation(messages) for _ in range(min(batch, conversations - start))]


def bulk_preload(store: Store, seed: int, conversations: int, messages: int, batch: int = BATCH) -> PreloadTiming:
    """Insert the data in transactions of `batch` conversations; time generation and insertion apart."""
    timing = PreloadTiming(0, 0, 0, 0.0, 0.0)
    clock = time.perf_counter
    source = batches(seed, conversations, messages, batch)
    while True:
        t0 = clock()
        chunk = next(source, None)
        t1 = clock()
        timing.generate_s += t1 - t0
        if chunk is None:
            return timing
        store.preload(chunk)
        timing.insert_s += clock() - t1
        timing.conversations += len(chunk)
        timing.messages += sum(len(c.messages) for c in chunk)
        timing.content_bytes += sum(len(m.content.encode()) for c in chunk for m in c.messages)
