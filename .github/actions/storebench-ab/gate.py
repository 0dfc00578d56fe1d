"""What the `storebench-ab` action does, runnable on your machine: base checked out beside head,
each side installed into its own virtual environment, then `storebench ab` between them.

    python .github/actions/storebench-ab/gate.py --base-ref main --backends my-store \\
        [--backend-module src/mystore.py:MyStore] [--metric p50] [--budget 5m] \\
        [--repo .] [--work DIR] [--summary ab.md] [--out ab.json] [-- more ab options]

Each environment gets storebench (this script's checkout: the action's own version) and, when
the side's checkout is a Python project (pyproject.toml or setup.py), that side's project, so
entry points declared there are found on that side only. `--backend-module` paths are relative
to each side's checkout. Exit status is ab's: 0 no regression, 1 regression, 2 bad input,
3 inconclusive (the action reports 3 as neutral). Only the standard library is used here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

STOREBENCH = Path(__file__).resolve().parents[3]
SIDES = ("base", "head")


def run(command: list[str], cwd: Path | None = None) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, check=True)


def check_out_base(repo: Path, ref: str, folder: Path) -> None:
    """The base commit in a worktree beside head (fetched first when a shallow clone lacks it)."""
    known = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{ref}^{{commit}}"], capture_output=True)
    if known.returncode != 0:
        run(["git", "-C", str(repo), "fetch", "--no-tags", "--depth=1", "origin", ref])
        ref = "FETCH_HEAD"
    run(["git", "-C", str(repo), "worktree", "add", "--detach", str(folder), ref])


def site_packages(python: str) -> list[str]:
    out = subprocess.run([python, "-c", "import site; print('\\n'.join(site.getsitepackages()))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def install(side_dir: Path, venv: Path, deps_from: str | None) -> Path:
    """A virtual environment holding storebench and the side's project; its python."""
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    if deps_from:  # offline: the dependencies are another environment's, only the two projects installed
        (Path(site_packages(str(python))[0]) / "_storebench_deps.pth").write_text(
            "\n".join(site_packages(deps_from)) + "\n")
        pip += ["--no-index", "--no-deps", "--no-build-isolation"]
    run([*pip, str(STOREBENCH)])
    if (side_dir / "pyproject.toml").exists() or (side_dir / "setup.py").exists():
        run([*pip, str(side_dir)])
    return python


def ab_command(args: argparse.Namespace, python: dict[str, Path], dirs: dict[str, Path]) -> list[str]:
    command = [str(python["head"].parent / "storebench"), "ab", "--no-progress",
               "--base-python", str(python["base"]), "--head-python", str(python["head"]),
               "--backends", args.backends, "--metric", args.metric,
               "--summary", str(args.summary), "--out", str(args.out)]
    if args.budget:
        command += ["--budget", args.budget]
    for module in args.backend_module:
        command += ["--backend-module", module]
    if args.backend_module:
        command += ["--base-dir", str(dirs["base"]), "--head-dir", str(dirs["head"])]
    return command + args.ab_options


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-ref", required=True, help="the commit the change is compared with")
    parser.add_argument("--repo", type=Path, default=Path("."), help="head's checkout (default .)")
    parser.add_argument("--work", type=Path, help="folder for base's worktree and the two environments "
                                                  "(default: a temporary folder, removed after)")
    parser.add_argument("--backends", required=True)
    parser.add_argument("--backend-module", action="append", default=[])
    parser.add_argument("--metric", default="p50")
    parser.add_argument("--budget", default="")
    parser.add_argument("--summary", type=Path, default=Path("results/ab.md"))
    parser.add_argument("--out", type=Path, default=Path("results/ab.json"))
    parser.add_argument("--deps-from", metavar="PYTHON",
                        help="offline: take storebench's dependencies from this python's environment")
    parser.add_argument("ab_options", nargs="*", help="after --: more storebench ab options")
    args = parser.parse_args()
    args.summary, args.out = args.summary.absolute(), args.out.absolute()
    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory(prefix="storebench-ab-gate-") as tmp:
        work = (args.work or Path(tmp)).resolve()
        dirs = {"base": work / "base", "head": repo}
        check_out_base(repo, args.base_ref, dirs["base"])
        try:
            python = {side: install(dirs[side], work / f"venv-{side}", args.deps_from) for side in SIDES}
            command = ab_command(args, python, dirs)
            print("+", " ".join(command), flush=True)
            return subprocess.run(command, cwd=repo).returncode
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(dirs["base"])],
                           capture_output=True)


if __name__ == "__main__":
    raise SystemExit(main())
