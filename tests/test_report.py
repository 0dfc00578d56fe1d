"""The reports are pure functions of results files: what they show, where each cell comes
from, and how bad input is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fake_results import FakeResults

from storebench.cli import main
from storebench.model.results import OpResult, Results
from storebench.reports import labels, report
from storebench.reports.report import Run

pytestmark = pytest.mark.slow  # most tests render every plot

ALL_FILES = {"decision-matrix.md", "latency.md", "index.html", "latency-percentiles.png", "latency-cdf.png",
             "cold-start.png"}


def write(tmp_path: Path, data: dict, name: str = "results.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def full_run() -> FakeResults:
    return (FakeResults()
            .backend("sqlite3", 0.02)
            .backend("apsw", 0.015)
            .backend("sqld", 1.0, kind="server", round_trips=1.0)
            .backend("turso", 21.0, kind="remote", emulated="20 ms RTT proxy", round_trips=1.0)
            .backend("sqlalchemy-orm", 0.05, kind="orm")
            .backend("pyturso", 0.3, status="unavailable"))


def rendered(data: dict, tmp_path: Path) -> dict[str, str]:
    out = tmp_path / "reports"
    report.write_reports([write(tmp_path, data)], out)
    return {name: (out / name).read_text() for name in ("decision-matrix.md", "latency.md", "index.html")}


def cell_text(run: Run, backend: str, op: str) -> str:
    return report.latency_cell(run, backend, op).text


def test_report_writes_every_file(tmp_path):
    written = report.write_reports([write(tmp_path, full_run().data)], tmp_path / "out")
    assert {p.name for p in written} == ALL_FILES
    assert all((tmp_path / "out" / name).stat().st_size > 0 for name in ALL_FILES)


def test_html_is_self_contained_with_both_tables_and_all_plots(tmp_path):
    page = rendered(full_run().data, tmp_path)["index.html"]
    assert "Decision matrix" in page and "Per-operation detail" in page
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from anywhere
    assert 'href="#lat-sqlite3-load_all"' in page and 'id="lat-sqlite3-load_all"' in page


def test_matrix_has_a_row_for_every_measured_system_and_folds_the_others_into_one_line(tmp_path):
    files = rendered(full_run().data, tmp_path)
    matrix = files["decision-matrix.md"]
    measured = [row for row in labels.rows(Run("r", full_run().results).entries())]
    for row in measured:
        if row.backend in {b["name"] for b in full_run().data["backends"]}:
            assert f"| `{row.backend}`" in matrix
    not_in_run = next(line for line in matrix.splitlines() if line.startswith("Not in this run: "))
    assert "Current (file + API routes) — Python equivalent: `api-routes` (`api-routes`)" in not_in_run
    assert "Turso from a browser page (`browser-turso`)" in not_in_run
    assert "| Current (file + API routes) |" not in matrix  # no row for an option nothing stood for
    assert "| `pyturso` | unavailable | – |" in matrix
    # every seed option is still in the seed's documented table, in the detail document
    for option in labels.SEED_OPTIONS:
        assert f"| {option.option}" in files["latency.md"]


def test_a_backend_the_mapping_does_not_know_gets_its_own_row(tmp_path):
    matrix = rendered(FakeResults().backend("brand-new", 0.1).data, tmp_path)["decision-matrix.md"]
    assert "| not in the seed | `brand-new` |" in matrix


def test_measured_cells_link_to_evidence_and_name_their_results_key(tmp_path):
    data = full_run().data
    run = Run("r.json", Results.from_dict(data))
    cell = report.latency_cell(run, "sqlite3", "load_all")
    index = next(i for i, o in enumerate(data["ops"]) if (o["backend"], o["op"]) == ("sqlite3", "load_all"))
    assert cell.source == "measured"
    assert cell.href == "latency.md#lat-sqlite3-load_all"
    assert cell.key == f"r.json ops[{index}].p50_ms, ops[{index}].p95_ms"
    cap = report.capability_cell(run, "sqld", "cross_device")
    assert (cap.source, cap.href) == ("measured", "latency.md#cap-sqld-cross_device")
    assert cell.key in cell.tip and "p50 " in cell.tip and "p95 " in cell.tip  # the tooltip: interval, p95, key


def test_changing_a_value_in_the_results_changes_its_cell(tmp_path):
    fake = full_run()
    before = rendered(fake.data, tmp_path)
    op = fake.entry("sqlite3", "load_all")
    assert cell_text(Run("r", fake.results), "sqlite3", "load_all") == report.fmt_p50(op["p50_ms"])
    assert report.latency_cell(Run("r", fake.results), "sqlite3", "load_all").tip.startswith(
        f"load_all: p50 {report.p50_text(OpResult.from_dict(op))} ms, p95 {report.fmt_ms(op['p95_ms'])} ms")

    op["p50_ms"], op["p95_ms"], op["p50_ci_low_ms"], op["p50_ci_high_ms"] = 4.321, 8.765, 4.2, 4.4
    fake.data["backends"][2]["capabilities"]["process_crash"] = {
        "result": "no", "evidence": "3/5 present", "figures": {"acknowledged": 5, "present": 3}}
    after = rendered(fake.data, tmp_path)
    row = "| `sqlite3` (Python equivalent) | ok | 4.32 |"
    assert row not in before["decision-matrix.md"] and row in after["decision-matrix.md"]
    tip = 'title="load_all: p50 4.32 [4.20–4.40] ms, p95 8.77 ms, n 50; store: size not recorded;'
    assert tip not in before["index.html"] and tip in after["index.html"]
    assert "| no (3/5 kept) |" in after["decision-matrix.md"]
    assert 'href="#cap-sqld-process_crash" title="3/5 present;' in after["index.html"]
    assert "**process crash: acknowledged writes kept: no**: 3/5 present" in after["latency.md"]


def test_an_older_files_crash_probe_is_shown_as_what_it_was(tmp_path):
    """Files before the process-crash probe have `crash_durability`: then only the writing
    client was killed, so the server of a server backend kept running."""
    fake = full_run()
    caps = fake.data["backends"][2]["capabilities"]
    caps["crash_durability"] = {"result": "yes", "evidence": "5/5 present after SIGKILL of the writer",
                                "figures": {"acknowledged": 5, "present": 5}}
    caps.pop("process_crash", None)
    pages = rendered(fake.data, tmp_path)
    assert "| yes (5/5 kept) (older probe: only the writing client was killed) |" in pages["decision-matrix.md"]
    assert 'href="#cap-sqld-crash_durability"' in pages["index.html"]
    assert "(older probe: only the writing client was killed): 5/5 present after SIGKILL" in pages["latency.md"]


def test_the_reports_say_power_loss_is_not_measured(tmp_path):
    page = rendered(full_run().data, tmp_path)["decision-matrix.md"]
    assert "Power loss (a crash that drops data the OS had not yet written to disk) is not measured" in page


def test_writes_the_run_could_not_check_read_as_unknown_not_as_none_lost(tmp_path):
    fake = full_run()
    sqld = fake.data["backends"][2]
    # An older file: `lost` was [] although the store was not checked.
    sqld["writes"] = {"acknowledged": 10, "lost": []}
    sqld["checks"]["after_run"] = "not checked: the store could not be read after the run (refused)"
    page = rendered(fake.data, tmp_path)["decision-matrix.md"]
    capabilities = page.split("Measured capabilities", 1)[1].split("\n#", 1)[0]
    row = next(line for line in capabilities.splitlines() if line.startswith("| `sqld` |"))
    assert "unknown: not checked" in row and "none of" not in row


def test_documented_cells_come_from_the_seed_and_say_so(tmp_path):
    run = Run("r", full_run().results)
    table = report.seed_table(run)
    turso = next(row for row in table.rows if row[1].text == "`turso`")
    cross_device = turso[3 + report.SEED_FACTORS.index("Cross-device")]
    assert (cross_device.text, cross_device.source) == ("good: Yes", "documented")  # the seed's ✅ as a word


def test_latency_report_shows_every_op_with_percentiles_round_trips_and_emulation(tmp_path):
    latency = rendered(full_run().data, tmp_path)["latency.md"]
    for op in ("load_all", "create_conversation", "add_message", "update_title", "delete_conversation", "cold_start"):
        assert f"## <a id=\"op-{op}\"></a>`{op}`" in latency
    assert "| n | errors | p50 [95 % CI] | p90 | p95 | p99 | max | ops/s | round trips |" in latency
    assert "yes: 20 ms RTT proxy" in latency
    assert "p50 60 ns" in latency  # the harness overhead floor
    assert "initial load 83 ms (with compilation)" in latency and "create conversation 57–67 ms" in latency
    assert "at 50 ms RTT" in latency  # the round-trip model for backends that count round trips


def test_orm_overhead_ratio_is_shown_when_present(tmp_path):
    fake = full_run()
    fake.entry("sqlalchemy-orm", "add_message").update(overhead_ratio=2.4, overhead_vs="libsql")
    latency = rendered(fake.data, tmp_path)["latency.md"]
    assert "2.40× libsql" in latency


def test_recommendation_follows_the_data(tmp_path):
    fake = full_run().cycles()
    for b in fake.data["backends"]:
        b["capabilities"]["cross_device"]["result"] = "yes" if b["name"] in ("sqld", "turso") else "no"
    python = report.recommend(Run("r", fake.results))[3]
    assert python.startswith("**For a Python app** (the Python clients measured in this run): Phase 1: `apsw` "
                             "(Python equivalent of better-sqlite3)")
    assert "Phase 2: `sqld`" in python and "Phase 3: `sqlalchemy-orm`" in python

    for op in report.OPS:  # make turso the fastest remote option: the recommendation moves
        entry = fake.entry("turso", op)
        entry["p50_ms"], entry["samples_ns"] = 0.001, [1000] * len(entry["samples_ns"])
    assert "Phase 2: `turso` (emulated" in report.recommend(Run("r", fake.results))[3]


def test_recommendation_says_when_no_backend_qualifies():
    unreachable = {"cross_device": {"result": "no", "evidence": "fake: not reached"}}
    fake = FakeResults().backend("sqlite3", 0.02).backend("sqld", 1.0, kind="server", capabilities=unreachable)
    python = report.recommend(Run("r", fake.results))[3]
    assert "Phase 2: no backend in it was reached by a second client" in python
    assert "Phase 3: no Python backend of this phase (kind orm) ran ok" in python


def test_a_minimal_older_results_file_still_renders(tmp_path):
    minimal = {"schema": "storebench.results/1", "run": {}, "backends": [{"name": "sqlite3", "status": "ok"}],
               "ops": [{"backend": "sqlite3", "op": "load_all", "n": 2, "errors": 0, "p50_ms": 0.1}]}
    files = rendered(minimal, tmp_path)
    assert "No capability probes in this run" in files["decision-matrix.md"]
    assert ('<a id="lat-sqlite3-load_all"></a>`sqlite3` (Python equivalent of better-sqlite3) | ok | no | 2 | 0 | '
            '0.1 [no interval: too few samples] |') in files["latency.md"]


def test_several_files_add_a_comparison(tmp_path):
    first = write(tmp_path, FakeResults(seed=1).backend("sqlite3", 0.02).data, "a.json")
    second = write(tmp_path, FakeResults(seed=2).backend("sqlite3", 0.03).data, "b.json")
    written = report.write_reports([first, second], tmp_path / "out")
    assert "comparison.png" in {p.name for p in written}
    assert "Runs compared" in (tmp_path / "out" / "latency.md").read_text()


def test_cli_report_writes_the_reports(tmp_path, capsys):
    path = write(tmp_path, full_run().data)
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 0
    assert {Path(line).name for line in capsys.readouterr().out.split()} == ALL_FILES


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"schema": "storebench.results/9", "run": {}, "backends": [], "ops": []}', "not supported"),
    ('{"schema": "something-else"}', "unknown \"schema\""),
    ('{"schema": "storebench.results/1", "run": {}, "backends": [{"name": "x", "status": "weird"}], "ops": []}',
     "status must be one of"),
])
def test_cli_report_refuses_bad_files_in_one_line_with_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_report_on_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json"), "--out", str(tmp_path / "out")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_measured_answer_that_contradicts_the_seed_is_called_out():
    fake = full_run()
    for b in fake.data["backends"]:
        if b["name"] == "sqld":
            b["capabilities"]["cross_device"]["result"] = "no"
    [bullets] = report.seed_disagreements(Run("r", fake.results))
    sqld = "Self-hosted libSQL → `sqld`: the seed says good: Yes; measured: [no]"
    assert any(item.startswith(sqld) for item in bullets.items)
    # apsw stands for better-sqlite3 here; its "yes" came from another process on loopback: no claim either way
    [apsw] = [item for item in bullets.items if item.startswith("better-sqlite3 — Python equivalent: `apsw`")]
    assert "the seed says bad: No; measured: [yes]" in apsw
    assert "not from another device: no evidence either way" in apsw

    fake.data["backends"][1]["capabilities"]["cross_device"]["figures"] = {"client_network": "namespace"}
    [bullets] = report.seed_disagreements(Run("r", fake.results))
    assert any(item.startswith("better-sqlite3 — Python equivalent: `apsw`: the seed says bad: No; measured: [yes]")
               and "(a client in another network namespace;" in item for item in bullets.items)


def test_cli_report_into_an_unwritable_folder_exits_2(tmp_path, capsys):
    path = write(tmp_path, FakeResults().backend("sqlite3", 0.02).data)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["report", str(path), "--out", str(blocker / "reports")]) == 2
    assert "cannot write reports" in capsys.readouterr().err


def test_html_links_only_within_the_report():
    from storebench.reports.document import inline_html

    assert inline_html("see [row](latency.md#lat-x)") == 'see <a href="#lat-x">row</a>'
    assert "<a" not in inline_html("[click](javascript:alert(1)) <b>")
    assert "&lt;b&gt;" in inline_html("<b>")


def test_an_op_beyond_the_workload_gets_its_own_section_and_panel(tmp_path):
    from storebench.core.runner import op_entry

    fake = FakeResults().backend("turso-replica", 0.05, kind="replica")
    fake.data["ops"].append(op_entry("turso-replica", "sync", [2_000_000, 2_500_000, 3_000_000]))
    latency = rendered(fake.data, tmp_path)["latency.md"]
    assert '## <a id="op-sync"></a>`sync`' in latency and '<a id="lat-turso-replica-sync"></a>' in latency
