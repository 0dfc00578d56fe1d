"""Streaming bulk preload and the vectorized message bodies it is made of."""

from __future__ import annotations

import random

import pytest

from storebench.core import workload
from storebench.core.preload import bulk_preload
from storebench.core.workload import WORDS, Params, WordStream, Workload, difference


def test_bulk_preload_inserts_exactly_the_workloads_initial_state(store):
    timing = bulk_preload(store, seed=9, conversations=23, messages=4, batch=5)  # 5 transactions
    expected = Workload(Params(conversations=23, messages=4, iterations=1, warmup=0, cold_starts=0), 9).initial_state
    assert difference(expected, store.load_all()) is None
    assert (timing.conversations, timing.messages) == (23, 92)
    assert timing.content_bytes == sum(len(m.content.encode()) for c in expected for m in c.messages)


@pytest.mark.parametrize("chunk", [8, WordStream.CHUNK])
def test_a_body_is_the_fewest_words_reaching_its_target_size(monkeypatch, chunk):
    """The rule the one-word-at-a-time generator had: add a word while the body is shorter
    than the target. Chunk 8 makes bodies span many chunks."""
    monkeypatch.setattr(WordStream, "CHUNK", chunk)
    stream, rng = WordStream(5), random.Random(2)
    for _ in range(300):
        target = rng.randint(1, 5000)
        words = stream.take(target).split(" ")
        assert all(w in WORDS for w in words)
        assert len(" ".join(words).encode()) >= target > len(" ".join(words[:-1]).encode()) - (len(words) == 1)


def test_words_are_drawn_uniformly():
    stream = WordStream(1)
    counts = {}
    for _ in range(400):
        for w in stream.take(4000).split(" "):
            counts[w] = counts.get(w, 0) + 1
    mean = sum(counts.values()) / len(WORDS)
    assert set(counts) == set(WORDS)
    assert all(abs(c - mean) < 0.15 * mean for c in counts.values())


def test_the_same_seed_gives_the_same_bodies():
    a, b = workload.DataGenerator(4), workload.DataGenerator(4)
    assert [a.content() for _ in range(50)] == [b.content() for _ in range(50)]
