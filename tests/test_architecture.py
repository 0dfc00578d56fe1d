"""The package's shape, checked: declared capabilities agree with what each backend
implements; the import graph has no cycle; backends/ holds adapters only."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

from storebench import backends
from storebench.backends.base import Capabilities, Store


def registered() -> list[type[Store]]:
    classes = []
    for name in backends.names():
        try:
            classes.append(backends.get(name))
        except ImportError:  # a driver missing here: its module cannot even be imported
            pass
    return classes


def defined_below_store(cls: type[Store], attribute: str) -> bool:
    """Whether `cls` gets `attribute` from a class of its own rather than from `Store`."""
    return next(k for k in cls.__mro__ if attribute in vars(k)) is not Store


@pytest.mark.parametrize("cls", registered(), ids=lambda cls: cls.name)
def test_declared_hooks_are_exactly_the_ones_implemented(cls):
    declared = cls.capabilities
    assert isinstance(declared, Capabilities)
    assert declared.backup == defined_below_store(cls, "backup")
    assert declared.second_device == defined_below_store(cls, "second_device_target")
    assert declared.paging == defined_below_store(cls, "load_page")
    assert declared.emulated == defined_below_store(cls, "emulated")


@pytest.mark.parametrize("cls", [c for c in registered() if c.capabilities.required_modules], ids=lambda cls: cls.name)
def test_a_missing_required_module_makes_the_backend_unavailable(cls, monkeypatch):
    for module in cls.capabilities.required_modules:
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
            reason = cls.unavailable_reason()
        assert reason is not None, f"{cls.name} runs without {module}, which it declares it needs"


def test_needs_are_from_the_known_list():
    with pytest.raises(ValueError, match="unknown needs"):
        Capabilities(needs=("rqlite",))


# --- the import graph -----------------------------------------------------------------------

CHECKOUT = Path(__file__).resolve().parent.parent
PACKAGES = {"storebench": CHECKOUT / "bench", "storebench.backends": CHECKOUT / "backends"}


def module_files() -> dict[str, Path]:
    """Every module of the `storebench` package (pyproject's package-dir mapping) by name."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The storebench modules `name` imports when it is itself imported: module-level
    imports (`if TYPE_CHECKING:` blocks and function bodies, which run later, left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    resolved = set()
    for target in names:
        while target and target not in known:  # `from pkg import name`: name may be an attribute
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_storebench_modules_import_each_other_without_a_cycle():
    known = module_files()
    graph = {name: imported(name, path, known) for name, path in known.items()}
    assert "storebench.core.timing" in graph["storebench.core.runner"]  # the graph sees imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_names_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_backends_holds_adapters_only():
    """Every module in backends/ defines a Store (infrastructure lives in bench/servers)."""
    for name, path in module_files().items():
        if not name.startswith("storebench.backends.") or name == "storebench.backends.base":
            continue
        module = importlib.import_module(name)
        stores = [v for v in vars(module).values()
                  if isinstance(v, type) and issubclass(v, Store) and v.__module__ == name]
        assert stores, f"{path.relative_to(CHECKOUT)} defines no Store: it belongs in bench/ (e.g. bench/servers)"


# Starting a server is bench/servers' job (`ManagedServer`): a backend module asks for one
# (`running_sqld`, `running_api_routes`, `running_next`) and is the client only. The exception is
# the Node runner: its child *is* the client (the store's driver runs in Node and times itself
# there), so starting it is the adapter's own work, not a server the adapter talks to.
CHILD_IS_THE_CLIENT = {"storebench.backends.node_runner"}
# A process that outlives the call, or a listening socket (`from subprocess import Popen` too).
STARTS_A_PROCESS_OR_SERVER = {"Popen", "subprocess.Popen", "ManagedServer", "os.fork", "os.posix_spawn",
                              "multiprocessing.Process", "socket.create_server"}


def calls(path: Path) -> set[str]:
    """What a module calls, as written (`subprocess.Popen`, `Popen`, `os.fork`)."""
    return {ast.unparse(node.func) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call)}


def test_no_backend_module_starts_a_process_or_a_server_itself():
    for name, path in module_files().items():
        if name.startswith("storebench.backends.") and name not in CHILD_IS_THE_CLIENT:
            started = calls(path) & STARTS_A_PROCESS_OR_SERVER
            assert not started, (f"{path.relative_to(CHECKOUT)} calls {sorted(started)}: start servers with "
                                 "storebench.servers (ManagedServer), and keep the backend an adapter")


def test_the_check_sees_a_server_started_in_a_module(tmp_path):
    module = tmp_path / "adapter.py"
    module.write_text("import subprocess\ndef start():\n    return subprocess.Popen(['sqld'])\n")
    assert "subprocess.Popen" in calls(module) & STARTS_A_PROCESS_OR_SERVER
