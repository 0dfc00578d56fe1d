"""Honest names and honest ranks: a Python stand-in never carries a Node system's name alone,
emulated backends say so wherever they are named, every backend keeps one colour, every p50
shown has its interval, and differences within the noise are ties."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
from fake_results import FakeResults, durable_twins
from matplotlib.colors import to_rgb
from rich.console import Console
from scipy.stats import binom

from storebench import backends
from storebench.cli import main
from storebench.model import stats
from storebench.model.results import BackendResult, OpResult
from storebench.reports import labels, plots, ranking, report, summary
from storebench.reports.report import Run

NODE_BACKENDS = ("node-libsql", "node-sqld", "node-turso", "drizzle", "drizzle-turso", "prisma", "better-sqlite3",
                 "nextjs-routes", "browser-turso")
EMULATED = "Turso emulated on loopback: sqld behind a 20 ms RTT proxy"


def entries(fake: FakeResults) -> dict[str, BackendResult]:
    return {b.name: b for b in fake.results.backends}


# ---------------------------------------------------------------- labels


def test_python_equivalents_are_labelled_in_every_seed_row_that_points_at_them():
    fake = (FakeResults().backend("sqlalchemy-core", 0.05, kind="orm").backend("sqlalchemy-orm", 0.08, kind="orm")
            .backend("apsw", 0.02).backend("sqlite3", 0.02).backend("api-routes", 0.5, kind="api"))
    rows = {row.backend: row.option for row in labels.rows(entries(fake))}
    assert rows["sqlalchemy-core"] == "Drizzle — Python equivalent: `sqlalchemy-core`"
    assert rows["sqlalchemy-orm"] == "Prisma — Python equivalent: `sqlalchemy-orm`"
    assert rows["apsw"] == "better-sqlite3 — Python equivalent: `apsw`"
    assert rows["sqlite3"] == "better-sqlite3 — Python equivalent: `sqlite3`"
    assert rows["api-routes"] == "Current (file + API routes) — Python equivalent: `api-routes`"
    # No row anywhere shows a Python backend under the Node system's name alone.
    for row in labels.rows(entries(fake)):
        if row.backend in labels.EQUIVALENT_OF:
            assert "Python equivalent" in row.option


def test_a_seed_row_prefers_the_real_system_when_it_ran_and_falls_back_when_it_failed():
    fake = FakeResults().backend("sqlalchemy-core", 0.05, kind="orm").backend("drizzle", 0.04, kind="orm")
    shown = [(r.option, r.backend) for r in labels.rows(entries(fake)) if r.column == "Drizzle"]
    assert shown == [("Drizzle", "drizzle"), ("Drizzle — Python equivalent: `sqlalchemy-core`", "sqlalchemy-core")]
    assert labels.representative("Drizzle", entries(fake)) == "drizzle"

    failed = FakeResults().backend("sqlalchemy-core", 0.05, kind="orm").status("drizzle", "failed", "npm missing")
    assert labels.representative("Drizzle", entries(failed)) == "sqlalchemy-core"


def test_the_decision_matrix_and_the_recommendation_name_equivalents_as_such(tmp_path):
    fake = FakeResults().backend("apsw", 0.01).backend("sqlalchemy-orm", 0.05, kind="orm")
    out = tmp_path / "reports"
    report.write_reports([fake.write(tmp_path / "r.json")], out)
    matrix = (out / "decision-matrix.md").read_text()
    assert "| better-sqlite3 | `apsw` (Python equivalent) | ok |" in matrix
    assert "| Prisma | `sqlalchemy-orm` (Python equivalent) | ok |" in matrix
    assert "`apsw` (Python equivalent of better-sqlite3)" in matrix  # the phase-1 line
    assert "`sqlalchemy-orm` (Python equivalent of Prisma)" in matrix  # the phase-3 line
    page = (out / "index.html").read_text()
    assert "<code>apsw</code> (Python equivalent)" in page
    assert "better-sqlite3 — Python equivalent: <code>apsw</code>" in page  # the seed's factors


def test_plot_legends_and_axes_say_emulated_and_python_equivalent(monkeypatch, tmp_path):
    fake = FakeResults().backend("sqlalchemy-core", 0.05, kind="orm").backend("turso", 21.0, emulated=EMULATED)
    seen: list[str] = []
    monkeypatch.setattr(plots, "_save", lambda fig, path, handles=None, title=None: seen.extend(
        [h.get_label() for h in handles or []] + [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]))
    plots.cdf_plot(fake.results, tmp_path / "cdf.png")
    plots.percentiles_plot(fake.results, tmp_path / "p.png")
    assert "sqlalchemy-core (Python equivalent of Drizzle)" in seen and "turso (emulated)" in seen
    assert not {"sqlalchemy-core", "turso"} & set(seen)  # never the bare name


def test_storebench_backends_marks_emulated_backends_and_equivalents(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^turso\* ", out, re.M) and re.search(r"^sqlalchemy-core~ ", out, re.M)
    assert re.search(r"^\* emulated: turso: ", out, re.M)
    assert "~ Python equivalent of a Node system: " in out and "sqlalchemy-core = Drizzle" in out


def test_terminal_summary_at_80_columns_cuts_no_figure_and_explains_its_marks():
    fake = (FakeResults().backend("sqlalchemy-core", 10.123, kind="orm").backend("turso-replica", 1234.5,
                                                                                 emulated=EMULATED)
            .backend("sqlite3", 0.02).status("pyturso", "unavailable", "not installed"))
    console = Console(width=80, record=True, color_system=None)
    summary.print_summary(console, fake.results)
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for o in fake.data["ops"]:
        assert summary.fmt_ms(o["p50_ms"]) in text
    assert "turso-replica*" in text and "sqlalchemy-core~" in text
    assert f"* emulated: turso-replica: {EMULATED}" in " ".join(text.split())
    assert "pyturso: unavailable: not installed" in text


# ---------------------------------------------------------------- palette


def _lab(color: str) -> np.ndarray:
    rgb = np.array(to_rgb(color))
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.maximum(xyz / np.array([0.95047, 1.0, 1.08883]), 0.008856))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_backend_has_its_own_clearly_distinct_colour():
    names = list(dict.fromkeys([*backends.names(), *NODE_BACKENDS]))
    assert all(name in labels.PALETTE for name in names)
    colours = [labels.color(n) for n in names]
    assert len(set(colours)) == len(names)
    closest = min(np.linalg.norm(_lab(a) - _lab(b)) for a, b in itertools.combinations(colours, 2))
    assert closest >= 25  # CIE76 ΔE: apsw and turso-replica were nearly the same orange before


def test_a_backend_keeps_its_colour_whatever_else_is_plotted():
    assert plots.colors(["apsw", "turso-replica"])["apsw"] == plots.colors(["turso-replica", "sqld", "apsw"])["apsw"]
    assert labels.color("brand-new") == labels.color("brand-new")  # an unknown name still gets a stable one


# ---------------------------------------------------------------- intervals and ties


@pytest.mark.parametrize("n", [6, 7, 10, 20, 50, 101, 1000])
def test_the_p50_interval_has_at_least_95_percent_coverage_and_is_the_narrowest_symmetric_one(n):
    lo, hi = stats.median_ci_ranks(n)
    assert hi == n - 1 - lo
    assert binom.cdf(hi, n, 0.5) - binom.cdf(lo, n, 0.5) >= 0.95
    assert binom.cdf(hi - 1, n, 0.5) - binom.cdf(lo + 1, n, 0.5) < 0.95


def test_too_few_samples_give_no_interval_rather_than_a_false_one():
    assert stats.median_ci_ranks(5) is None and stats.p50_ci_ms([1, 2, 3, 4, 5]) is None
    low, high = stats.p50_ci_ms([i * 1_000_000 for i in range(1, 101)])
    assert low <= stats.summarize([i * 1_000_000 for i in range(1, 101)])["p50_ms"] <= high


def test_a_recorded_interval_is_used_and_the_between_process_spread_widens_it():
    entry = OpResult(backend="b", op="o", p50_ms=1.0, p50_ci_low_ms=0.98, p50_ci_high_ms=1.03, samples_ns=[])
    assert ranking.p50_figure(entry) == ranking.Figure(1.0, 0.98, 1.03)
    entry.between_process_cv = 0.1
    assert ranking.p50_figure(entry) == ranking.Figure(1.0, 0.9, 1.1)


def python_phase1(fake) -> str:
    return report.recommend(Run("r", fake.results))[3].split(" Phase 2:")[0]


def test_backends_within_each_others_interval_tie_in_the_recommendation():
    phase1 = python_phase1(durable_twins(0.3, 1.01))
    assert re.search(r"`apsw` \(Python equivalent of better-sqlite3\) and `sqlite3` \(Python equivalent of "
                     r"better-sqlite3\) tie \(", phase1)
    assert re.search(r"`sqlite3` costs 1\.\d\d× `apsw` \[[\d.]+–[\d.]+\] \(paired over \d+ blocks", phase1)


def test_a_difference_beyond_the_noise_is_ranked():
    phase1 = python_phase1(durable_twins(0.05, 1.5))
    assert "tie" not in phase1 and "Phase 1: `apsw` (Python equivalent of better-sqlite3), the lowest cost" in phase1


def test_every_p50_shown_has_its_interval(tmp_path):
    fake = FakeResults().backend("sqlite3", 0.02)
    out = tmp_path / "reports"
    report.write_reports([fake.write(tmp_path / "r.json")], out)
    latency = (out / "latency.md").read_text()
    for o in fake.results.ops:
        figure = ranking.p50_figure(o)
        assert ranking.fmt_interval(figure, report.fmt_ms) in latency


# ---------------------------------------------------------------- store size, RTT model, sweeps


def test_load_all_shows_the_store_it_returned(tmp_path):
    fake = FakeResults().backend("sqlite3", 0.02)
    fake.entry("sqlite3", "load_all").update(store_conversations_min=98, store_conversations_max=102,
                                             store_messages_min=1960, store_messages_max=2000)
    run = Run("r", fake.results)
    assert "store: 98–102 conv. / 1,960–2,000 msg" in report.latency_cell(run, "sqlite3", "load_all").tip
    table = report.op_table(run, "load_all")
    assert "store load_all returned" in table.headers
    assert any(c.text == "98–102 conv. / 1,960–2,000 msg" for c in table.rows[0])


def _model_rows(fake: FakeResults) -> dict[str, list[str]]:
    [_, table] = report.rtt_model(Run("r", fake.results))
    return {f"{row[0].text} {row[1].text}": [c.text for c in row[2:]] for row in table.rows}


def test_the_round_trip_model_never_prints_an_impossible_local_figure():
    fake = FakeResults().backend("turso", 21.0, emulated=EMULATED, round_trips=3.0)  # 3 × 20 ms > the p50
    fake.data["run"]["params"]["settings"]["rtt_ms"] = 20.0
    rows = _model_rows(fake)
    for cells in rows.values():
        assert cells[1].startswith("not derivable: the p50") and "pipelined" in cells[1]
        assert cells[2:] == ["–"] * len(report.MODEL_RTTS_MS)
        assert not any(re.fullmatch(r"0(\.0+)?", c) for c in cells)


def test_the_round_trip_model_derives_what_it_can_and_says_why_not_otherwise():
    fake = FakeResults().backend("turso", 21.0, emulated=EMULATED, round_trips=1.0).backend(
        "sqld", 1.0, kind="server", round_trips=1.0)
    sqld = next(b for b in fake.data["backends"] if b["name"] == "sqld")
    sqld["target"] = {"url": "http://127.0.0.1:8080"}
    local = _model_rows(fake)
    p50 = fake.entry("turso", "add_message")["p50_ms"]
    assert local["`turso` (emulated) `add_message`"][1] == report.fmt_ms(p50 - 20.0)
    assert local["`sqld` `add_message`"][1] == report.fmt_ms(fake.entry("sqld", "add_message")["p50_ms"])

    sqld["target"] = {"url": "libsql://db.example.turso.io"}
    cells = _model_rows(fake)["`sqld` `add_message`"]
    assert cells[1] == ("not derivable: it ran over a real network to db.example.turso.io, whose round-trip time "
                        "was not measured")


def test_growth_exponents_say_which_sizes_they_were_fitted_over():
    sweep = {"param": "conversations", "values": [10, 100, 1000], "fixed": {"messages": 20}, "page_size": 20,
             "load_all_limit_ms": 100,
             "backends": [{"backend": "sqlite3", "load_all_limit": {"size": None, "basis": "not reached"},
                           "points": [], "ops": {"load_all": {"p50_ms": [0.1, 1.0, None], "growth_exponent": 1.0}}}]}
    fake = FakeResults().backend("sqlite3", 0.02)
    fake.data["sweeps"] = [sweep]
    blocks = report.sweep_blocks(Run("r", fake.results))
    table = blocks[-1]
    assert table.headers[-1] == "fitted over conversations"
    assert table.rows[0][-1].text == "10–100 (2 sizes: 10, 100)"  # the failed point is not in the fit


# ---------------------------------------------------------------- the page and other inputs


def test_the_page_fits_narrow_screens_and_uses_words_not_emoji(tmp_path):
    out = tmp_path / "reports"
    report.write_reports([FakeResults().backend("sqlite3", 0.02).write(tmp_path / "r.json")], out)
    page = (out / "index.html").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert page.count("<table>") == page.count('<div class="scroll"><table>')
    assert not re.search("[✅❌⚠]", page)
    assert "good: Easy" in page and "bad: No" in page


def test_report_accepts_pytest_benchmark_json_like_check(tmp_path, capsys):
    raw = {"machine_info": {"system": "Linux", "cpu": {"brand_raw": "cpu", "count": 2}, "python_version": "3.11"},
           "commit_info": {}, "datetime": "2026-01-01T00:00:00", "version": "5.1.0",
           "benchmarks": [{"name": "test_add", "fullname": "benchmarks/test_ops.py::test_add", "group": None,
                           "extra_info": {"backend": "sqlite3", "op": "add_message"},
                           "stats": {"data": [2e-5 + i * 1e-7 for i in range(50)], "rounds": 50, "iterations": 1}}]}
    path = tmp_path / "pb.json"
    path.write_text(json.dumps(raw))
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 0
    latency = (tmp_path / "out" / "latency.md").read_text()
    assert "`sqlite3` (Python equivalent of better-sqlite3) | ok | no | 50 | 0 | 0.0224 [" in latency
