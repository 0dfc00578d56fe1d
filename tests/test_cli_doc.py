"""docs/cli.md is generated from the parser: the committed file is what the parser says now."""

from __future__ import annotations

from pathlib import Path

from storebench import cli_doc
from storebench.cli import build_parser

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_the_committed_cli_reference_is_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == cli_doc.render(), \
        "docs/cli.md is stale: python -m storebench.cli_doc > docs/cli.md"


def test_every_subcommand_and_option_is_in_the_reference():
    text = cli_doc.render()
    for name, _, sub in cli_doc.subcommands(build_parser()):
        assert f"## storebench {name}\n" in text
        for action in sub._actions[1:]:  # after -h, --help
            for option in action.option_strings:
                assert f"`{option}" in text, f"{name} {option}"
