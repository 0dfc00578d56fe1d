"""The recommendation answers the document's reader: phase by phase for its Next.js app among
the Node and browser systems of the run, then one line for a Python app (made-up results)."""

from __future__ import annotations

import pytest
from fake_results import drifting

from storebench.reports import outliers, report
from storebench.reports.report import Run

NODE = {"better-sqlite3": 1.0, "node-libsql": 1.2, "nextjs-routes": 3.0, "node-turso": 40.0, "browser-turso": 30.0,
        "drizzle-turso": 45.0, "drizzle": 1.5}
PYTHON = {"apsw": 0.5, "sqlite3": 0.6, "turso": 20.0, "sqlalchemy-orm": 2.0}
KINDS = {"nextjs-routes": "api", "node-turso": "remote", "browser-turso": "remote", "turso": "remote",
         "drizzle-turso": "orm", "drizzle": "orm", "sqlalchemy-orm": "orm"}


def lines(fake) -> list[str]:
    for b in fake.data["backends"]:
        if b["name"] == "drizzle-turso":
            b["overhead_vs"] = "node-turso"  # as its class declares: the typed layer over Turso
    return report.recommend(Run("r", fake.results))


def test_each_phase_for_the_nextjs_app_names_a_node_system_even_where_a_python_client_is_cheaper():
    node1, node2, node3, python, rules = lines(drifting({**NODE, **PYTHON}, drift=0.1, kinds=KINDS))
    assert node1.startswith("**Phase 1, single machine now, for the Next.js app:** `better-sqlite3`, the lowest")
    assert "`better-sqlite3` costs 0.83× `node-libsql` [" in node1
    assert "The document's current design: `nextjs-routes` costs 3.0" in node1
    assert node2.startswith("**Phase 2, cross-device next, for the Next.js app:** `browser-turso`")
    assert node3.startswith("**Phase 3, type safety later, for the Next.js app:** `drizzle-turso`, the lowest-cost "
                            "typed query layer over the cross-device store")
    for line in (node1, node2, node3):  # a Python client may appear only as an outlier's peer
        assert not any(f"`{name}`" in line.split(" Outliers (")[0] for name in PYTHON)
    assert python.startswith("**For a Python app** (the Python clients measured in this run): Phase 1: `apsw`")
    assert "Phase 2: `turso`" in python and "Phase 3: `sqlalchemy-orm`" in python
    assert not any(f"`{name}`" in python for name in NODE)
    assert rules.startswith("Rules:")


def test_without_the_node_tier_the_app_lines_say_so_and_answer_nothing():
    fake = drifting(PYTHON, drift=0.1, kinds=KINDS).status("better-sqlite3", "unavailable", "needs Node 20+")
    node1, node2, node3, python, _ = lines(fake)
    assert node1 == ("**Phase 1, single machine now, for the Next.js app:** not answered: none of its systems of "
                     "this phase ran ok with all five operations measured (`better-sqlite3` unavailable: needs "
                     "Node 20+; `node-libsql` not in this run; `nextjs-routes` not in this run). A Python client is "
                     "not the app's system, so its figures (the line for a Python app) do not answer this phase.")
    assert "not answered" in node2 and "not answered" in node3
    assert "Phase 1: `apsw`" in python


def test_a_system_missing_from_a_phase_is_named_with_what_the_answer_is_based_on():
    fake = drifting({"better-sqlite3": 1.0, "node-libsql": 1.2}, drift=0.1).status(
        "nextjs-routes", "unavailable", "Chromium not found")
    node1 = lines(fake)[0]
    assert node1.endswith("Based on `better-sqlite3`, `node-libsql` only; not in this answer: `nextjs-routes` "
                          "unavailable: Chromium not found.")


def test_no_durability_claim_where_the_probe_did_not_run():
    node1 = lines(drifting({"better-sqlite3": 1.0, "node-libsql": 1.2}, drift=0.1))[0]
    assert "the process-crash probe did not run in this run" in node1 and "kept their" not in node1


@pytest.mark.parametrize("key", ["process_crash", "crash_durability"])  # the older files' key too
def test_a_backend_that_lost_writes_in_the_process_crash_probe_is_left_out(key):
    fake = drifting({"better-sqlite3": 1.0, "node-libsql": 1.2}, drift=0.1)
    for b in fake.data["backends"]:
        result = "no" if b["name"] == "better-sqlite3" else "yes"
        b["capabilities"] = {key: {"result": result, "evidence": "fake", "figures": {}}}
    node1 = lines(fake)[0]
    assert node1.startswith("**Phase 1, single machine now, for the Next.js app:** `node-libsql`, the lowest cost "
                            "among ok backends that kept their acknowledged writes when the process holding the data "
                            "was killed (process crash)")


def test_a_backend_not_crash_probed_is_a_candidate_named_as_not_probed():
    fake = drifting({"better-sqlite3": 1.0, "node-libsql": 1.2}, drift=0.1)
    for b in fake.data["backends"]:
        result = "n/a" if b["name"] == "better-sqlite3" else "yes"
        b["capabilities"] = {"process_crash": {"result": result, "evidence": "fake", "figures": {}}}
    node1 = lines(fake)[0]
    assert "`better-sqlite3`" in node1 and "where probed (not probed: `better-sqlite3`)" in node1


def test_a_thin_figure_is_named_with_why():
    fake = drifting({"node-turso": 40.0, "browser-turso": 30.0}, drift=0.1, kinds=KINDS)
    load = fake.entry("browser-turso", "load_all")
    load["samples_ns"], load["n"], load["processes"] = load["samples_ns"][:12], 12, 1
    load["chunks"] = [[0, 0, 5], [1, 0, 5], [2, 0, 2]]
    fake.data["backends"][1]["rounds"] = {"timed": 50, "fraction": 0.25, "load_every": 4}
    node2 = lines(fake)[1]
    assert ("Thin figures (fewer than 20 samples or from one process): `browser-turso` load_all 12 samples from "
            "1 process (it ran 50 rounds, 0.25 of the profile's, load_all in one round in 4).") in node2


def test_a_backend_thin_on_every_op_is_named_once():
    fake = drifting({"better-sqlite3": 1.0, "node-libsql": 1.2}, drift=0.1)
    for o in fake.data["ops"]:
        o["processes"] = 1
    node1 = lines(fake)[0]
    assert "`better-sqlite3` every op 300 samples from 1 process; `node-libsql` every op 300 samples from 1 process." \
        in node1


def test_enough_samples_from_two_processes_is_not_thin():
    assert "Thin" not in lines(drifting({"node-turso": 40.0, "browser-turso": 30.0}, drift=0.1, kinds=KINDS))[1]


def test_an_outlier_carries_its_documented_reason_in_the_line_and_under_its_table(tmp_path):
    fake = drifting({"node-turso": 40.0, "browser-turso": 30.0, "turso": 20.0}, drift=0.1, kinds=KINDS)
    load = fake.entry("node-turso", "load_all")
    load["samples_ns"] = [s * 20 for s in load["samples_ns"]]
    load["p50_ms"] *= 20  # 800 ms against browser-turso's 30 ms
    found = outliers.find(fake.results, "node-turso", "load_all")
    assert (found.peer, found.reason) == ("browser-turso", outliers.KNOWN[("node-turso", "load_all")])
    assert outliers.find(fake.results, "browser-turso", "load_all") is None  # the cheap one is no outlier
    report.write_reports([fake.write(tmp_path / "r.json")], tmp_path / "out")
    latency = (tmp_path / "out" / "latency.md").read_text()
    line = next(x for x in latency.splitlines() if x.startswith("- Outlier: `node-turso` load_all p50 "))
    assert "× its closest peer `browser-turso` (" in line
    assert line.endswith(outliers.KNOWN[("node-turso", "load_all")] + ".")
    ratio = load["p50_ms"] / fake.entry("browser-turso", "load_all")["p50_ms"]
    assert outliers.text(fake.results, ["node-turso"], ["load_all"]) == (  # a line naming it says so briefly
        " Outliers (p50 over 3× the closest peer of the same kind; the reasons are under each op's table in "
        f"latency.md): `node-turso` load_all {ratio:.1f}× `browser-turso`.")


def test_an_outlier_without_a_documented_reason_is_explained_by_its_counted_round_trips():
    fake = drifting({"turso": 20.0, "turso-replica": 80.0}, drift=0.1, kinds={"turso": "remote",
                                                                             "turso-replica": "remote"})
    fake.entry("turso", "create_conversation")["round_trips"] = 2.0
    fake.entry("turso-replica", "create_conversation")["round_trips"] = 88.0
    found = outliers.find(fake.results, "turso-replica", "create_conversation")
    assert found.reason.startswith("88 network round trips counted per call against 2 for `turso`")
    assert outliers.find(fake.results, "turso-replica", "load_all").reason == \
        "no reason is known (not explained by the round trips counted)"
