"""The results file: the typed model, its one index, round trips that keep every key, atomic
writes, loading errors as one line, and the schema document generated from the model."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from storebench.model import schema_doc
from storebench.model.pytest_benchmark_json import load_any
from storebench.model.results import SCHEMA, OpResult, Results, ResultsError, validate

ROOT = Path(__file__).resolve().parent.parent


def minimal() -> dict:
    data = Results.new("smoke", {"conversations": 1}, 1).to_dict()
    data["backends"].append({"name": "sqlite3", "status": "ok"})
    data["ops"].append({"backend": "sqlite3", "op": "add_message", "n": 2, "errors": 0, "samples_ns": [5, 7]})
    return data


def test_new_results_carries_run_metadata():
    run = Results.new("quick", {"a": 1}, 9).run
    assert run.profile == "quick" and run.seed == 9 and run.params == {"a": 1}
    assert set(run.host.to_dict()) == {"hostname", "os", "machine", "cpu_model", "cores", "python"}
    assert run.packages["numpy"]


def test_new_results_has_the_keys_of_every_file():
    data = Results.new("smoke", {}, 1).to_dict()
    assert list(data) == ["schema", "complete", "run", "overhead", "backends", "ops"]
    assert list(data["run"]) == ["id", "started_at", "finished_at", "profile", "params", "seed", "host", "packages",
                                 "git_commit"]
    assert data["schema"] == SCHEMA and data["complete"] is False and data["overhead"] is None


def test_dump_then_load_round_trips(tmp_path):
    path, data = tmp_path / "r.json", minimal()
    Results.from_dict(data).dump(path)
    assert Results.load(path).to_dict() == data
    assert json.loads(path.read_text()) == data
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_dump_gives_the_file_the_mode_open_would(tmp_path):
    path = tmp_path / "r.json"
    Results.from_dict(minimal()).dump(path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_the_committed_results_file_is_written_back_byte_for_byte(tmp_path):
    source = ROOT / "results" / "baseline.json"
    results = Results.load(source)
    results.dump(tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(source.read_text())
    assert list(results.to_dict()["ops"][0]) == list(json.loads(source.read_text())["ops"][0])  # key order too


def test_an_older_file_without_the_later_keys_loads_and_keeps_its_shape():
    old = {"schema": SCHEMA, "complete": True, "run": {"id": "x", "profile": "smoke"}, "overhead": None,
           "backends": [{"name": "sqlite3", "status": "ok"}],
           "ops": [{"backend": "sqlite3", "op": "load_all", "n": 1, "errors": 0, "p50_ms": 1.0, "samples_ns": [10]}]}
    results = Results.from_dict(old)
    assert results.op("sqlite3", "load_all").timeouts is None and results.run.load_average is None
    assert results.to_dict() == old


def test_keys_this_version_does_not_know_are_kept():
    data = minimal()
    data["future_section"] = {"a": 1}
    data["ops"][0]["p999_ms"] = 3.5
    data["backends"][0]["capabilities"] = {"probe": {"result": "yes", "evidence": "e", "figures": {}, "new": 1}}
    results = Results.from_dict(data)
    assert results.extra == {"future_section": {"a": 1}} and results.ops[0].extra == {"p999_ms": 3.5}
    assert results.to_dict() == data


def test_setting_an_optional_key_writes_it_even_when_null():
    results = Results.from_dict(minimal())
    results.ops[0].overhead_ratio = None
    assert results.to_dict()["ops"][0]["overhead_ratio"] is None
    assert "overhead_ratio" not in OpResult(backend="b", op="o").to_dict()  # never set: not written


def test_one_index_finds_entries_by_backend_and_op():
    results = Results.from_dict(minimal())
    assert results.op("sqlite3", "add_message") is results.ops[0]
    assert results.op("sqlite3", "load_all") is None and results.backend("nope") is None
    assert results.backend("sqlite3").status == "ok" and results.where(results.ops[0]) == "ops[0]"
    results.ops.append(OpResult(backend="apsw", op="load_all", n=0))  # producers append: the index follows
    assert results.op("apsw", "load_all") is results.ops[1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "not valid JSON"),
        ('{"schema": "storebench.results/1", "run": {', "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"schema": "other"}', "unknown \"schema\""),
        ('{"schema": "storebench.results/9", "run": {}, "backends": [], "ops": []}', "upgrade storebench"),
        ('{"schema": "storebench.results/1", "run": {}, "backends": {}, "ops": []}', "\"backends\" must be a list"),
        ('{"schema": "storebench.results/1", "run": {"host": 3}, "backends": [], "ops": []}',
         "run.host must be an object"),
        ('{"schema": "storebench.results/1", "run": {}, "backends": [], "ops": [], "sweeps": [1]}',
         "sweeps[0] must be an object"),
        ('{"schema": "storebench.results/1", "run": {}, "backends": [], "ops": [], "sweeps": [{"values": []}]}',
         'sweeps[0] has no "param"'),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ResultsError) as err:
        Results.load(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ResultsError, match="run `storebench run` first"):
        Results.load(tmp_path / "nope.json")


def test_samples_must_be_integers():
    data = minimal()
    data["ops"][0]["samples_ns"] = [1.5]
    with pytest.raises(ResultsError, match="samples_ns must be a list of non-negative integers"):
        validate(data)


def test_pytest_benchmark_json_loads_as_the_model(tmp_path):
    raw = {"machine_info": {"system": "Linux"}, "commit_info": {}, "datetime": "2026-01-01T00:00:00", "version": "5",
           "benchmarks": [{"name": "test_add", "group": "sqlite3",
                           "extra_info": {"backend": "sqlite3", "op": "add_message"},
                           "stats": {"data": [0.001, 0.002], "rounds": 2, "iterations": 1}}]}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(raw))
    results = load_any(path)
    assert results.op("sqlite3", "add_message").samples_ns == [1_000_000, 2_000_000]
    assert results.op("sqlite3", "add_message").source == "pytest-benchmark" and results.run.host.os == "Linux"


def test_schema_constant():
    assert minimal()["schema"] == SCHEMA == "storebench.results/1"


def test_the_schema_document_is_generated_from_the_model():
    committed = (ROOT / "docs" / "results-schema.md").read_text(encoding="utf-8")
    assert committed == schema_doc.generate(), "run: python -m storebench.model.schema_doc > docs/results-schema.md"


def test_every_record_of_the_model_is_in_the_schema_document():
    text = schema_doc.generate()
    for cls in schema_doc.records():
        assert f"## {cls.__name__}:" in text
    assert "| `samples_ns` |" in text and "| `between_process_cv` |" in text
