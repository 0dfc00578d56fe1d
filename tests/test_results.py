"""The results file: schema, atomic writes, and loading errors as one line."""

from __future__ import annotations

import pytest

from storebench.model.results import SCHEMA, ResultsError, load, new_results, validate, write_atomic


def minimal() -> dict:
    data = new_results("smoke", {"conversations": 1}, 1)
    data["backends"].append({"name": "sqlite3", "status": "ok"})
    data["ops"].append({"backend": "sqlite3", "op": "add_message", "n": 2, "errors": 0, "samples_ns": [5, 7]})
    return data


def test_new_results_carries_run_metadata():
    run = new_results("quick", {"a": 1}, 9)["run"]
    assert run["profile"] == "quick" and run["seed"] == 9 and run["params"] == {"a": 1}
    assert set(run["host"]) == {"hostname", "os", "machine", "cpu_model", "cores", "python"}
    assert run["packages"]["numpy"]


def test_write_then_load_round_trips(tmp_path):
    path, data = tmp_path / "r.json", minimal()
    write_atomic(path, data)
    assert load(path) == data
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "not valid JSON"),
        ('{"schema": "storebench.results/1", "run": {', "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"schema": "other"}', "unknown \"schema\""),
        ('{"schema": "storebench.results/9", "run": {}, "backends": [], "ops": []}', "upgrade storebench"),
        ('{"schema": "storebench.results/1", "run": {}, "backends": {}, "ops": []}', "\"backends\" must be a list"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ResultsError) as err:
        load(path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ResultsError, match="run `storebench run` first"):
        load(tmp_path / "nope.json")


def test_samples_must_be_integers():
    data = minimal()
    data["ops"][0]["samples_ns"] = [1.5]
    with pytest.raises(ResultsError, match="samples_ns must be a list of integers"):
        validate(data)


def test_schema_constant():
    assert minimal()["schema"] == SCHEMA == "storebench.results/1"
