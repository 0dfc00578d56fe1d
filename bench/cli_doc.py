"""The CLI reference, docs/cli.md, generated from the argparse parser of `storebench.cli`:
every subcommand with its arguments, options and help. `python -m storebench.cli_doc >
docs/cli.md` regenerates it; tests/test_cli_doc.py fails when the committed file is stale.

Built from the parser's actions rather than `format_help()`, whose line wrapping follows the
terminal's width: the text must not depend on where it was generated.
"""

from __future__ import annotations

import argparse

from storebench.cli import build_parser

HEADER = """# Command-line reference

Generated from the parser (`python -m storebench.cli_doc > docs/cli.md`); do not edit by
hand. Bad input to any command is one line on stderr and exit status 2, before anything runs.
"""


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of each subcommand, in the order they were added."""
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
    return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]


def argument(action: argparse.Action) -> str:
    """How the argument is written: its option strings and the value it takes."""
    if action.choices is not None:
        value = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        value = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`" + (" ..." if action.nargs in ("*", "+") else "")
    if isinstance(action, argparse.BooleanOptionalAction):
        return " / ".join(f"`{o}`" for o in action.option_strings)
    if action.nargs == 0:
        return ", ".join(f"`{o}`" for o in action.option_strings)
    return ", ".join(f"`{o} {value}`" for o in action.option_strings)


def help_text(action: argparse.Action) -> str:
    text = (action.help or "") % {"default": action.default, "prog": ""} if action.help else ""
    required = " (required)" if action.required and action.option_strings else ""
    return " ".join(text.split()).replace("|", "\\|") + required


def table(parser: argparse.ArgumentParser) -> list[str]:
    rows = [a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]
    lines = ["| argument | meaning |", "|---|---|"]
    return lines + [f"| {argument(a)} | {help_text(a)} |" for a in rows]


def render() -> str:
    parser = build_parser()
    lines = [HEADER, "## storebench", "", parser.description or "", "", *table(parser), ""]
    for name, summary, sub in subcommands(parser):
        lines += [f"## storebench {name}", "", summary[:1].upper() + summary[1:] + ".", "", *table(sub), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
