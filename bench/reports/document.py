"""A tiny document model rendered to both Markdown and HTML, so the two outputs of a report
always carry the same cells, links and anchors.

Inline text may use `code`, **bold** and [text](href); a link to another report file
(`latency.md#x`) becomes an in-page link (`#x`) in the single HTML page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MEASURED, DOCUMENTED = "measured", "documented"
MARKS = {MEASURED: "(m)", DOCUMENTED: "(d)"}


@dataclass
class Cell:
    """One table cell. `source` says where the value comes from: measured in this run (then
    `href` points at the evidence and `key` names the results-file value) or documented
    (taken from the seed document); None for labels."""

    text: str
    source: str | None = None
    href: str | None = None
    key: str | None = None
    anchor: str | None = None  # an id other cells can link to


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]


@dataclass
class Heading:
    level: int
    text: str
    anchor: str | None = None


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]
    anchors: Sequence[str | None] = field(default_factory=list)


@dataclass
class Image:
    file: str  # a PNG next to the report
    alt: str


Block = Heading | Para | Bullets | Table | Image


# ---------------------------------------------------------------- text from results files
# Names, error messages and evidence come from results files: data, never markup. `text` and
# `code` turn such a string into inline markup that both renderers show literally, so an error
# message cannot open a tag, a link or a table cell in either output.

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What CommonMark/GFM could read as inline markup: escaped with a backslash, which both renderers
# undo. "://", "www." and "@" are where GFM would turn a bare address into a link.
MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~]|:(?=//)|(?<=www)\.|@)")


def plain_text(value: object) -> str:
    """One line without control characters (a newline would end a table row or a list item)."""
    return CONTROL.sub(lambda m: " " if m.group(0) in "\n\r\t" else "", str(value))


def text(value: object) -> str:
    """Data shown as literal text in both outputs."""
    return MD_SPECIAL.sub(r"\\\1", plain_text(value))


def code(value: object) -> str:
    """Data shown as a code span: a fence longer than any run of backticks inside it."""
    s = plain_text(value)
    if not s.strip():
        return text(s) or "(empty)"
    run = max((len(r) for r in re.findall("`+", s)), default=0)
    if run == 0:
        return f"`{s}`"
    fence = "`" * (run + 1)
    return f"{fence} {s} {fence}"


def slug(value: str) -> str:
    """An id for an anchor: only letters, digits and `-_.`; a name that needed changing gets a
    short hash of itself, so two different names never share an id."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "-", value)
    if clean == value:
        return value
    return f"{clean}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"


def safe_href(href: str) -> str | None:
    """A link the report made (a file next to it, a fragment), percent-encoded so that no
    character of a file name can end the link; None for anything else: a scheme (also one a
    browser would find after stripping control characters), `/…`, `//host`, a backslash."""
    if not href or re.search(r"[\x00-\x1f\x7f-\x9f\\]", href) or href.startswith("/") \
            or re.match(r"^[^/?#]*:", href):
        return None
    return urllib.parse.quote(href, safe="/#.-_~")


# ---------------------------------------------------------------- Markdown


def _md_escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_href(href: str, doc: str) -> str:
    """A link relative to `doc`: same-document links keep only the fragment."""
    target, _, fragment = href.partition("#")
    return f"#{fragment}" if target == doc and fragment else href


def _md_title(key: str) -> str:
    return ' "' + re.sub(r'([\\"<>\[\]()`*_|~&])', r"\\\1", plain_text(key)) + '"'


def _md_cell(cell: Cell, doc: str) -> str:
    text = _md_escape_cell(cell.text)
    href = safe_href(cell.href) if cell.href else None
    if href:
        title = _md_title(cell.key) if cell.key else ""
        text = f"[{text}]({_md_href(href, doc)}{title})"
    if cell.source:
        text += f" {MARKS[cell.source]}"
    if cell.anchor:
        text = f'<a id="{slug(cell.anchor)}"></a>{text}'
    return text


def _md_anchor(anchor: str | None) -> str:
    return f'<a id="{slug(anchor)}"></a>' if anchor else ""


def render_markdown(blocks: list[Block], doc: str) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += [f"{'#' * block.level} {_md_anchor(block.anchor)}{_md_links(block.text, doc)}", ""]
        elif isinstance(block, Para):
            out += [_md_links(block.text, doc), ""]
        elif isinstance(block, Bullets):
            anchors = block.anchors or [None] * len(block.items)
            for item, item_anchor in zip(block.items, anchors):
                out.append(f"- {_md_anchor(item_anchor)}{_md_links(item, doc)}")
            out.append("")
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_md_escape_cell(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            for row in block.rows:
                out.append("| " + " | ".join(_md_cell(c, doc) for c in row) + " |")
            out.append("")
        elif isinstance(block, Image):
            if (file := safe_href(block.file)) is not None:
                out += [f"![{text(block.alt)}]({file})", ""]
    return "\n".join(out).rstrip() + "\n"


LINK = re.compile(r"(?<!\\)\[([^\]]+)\]\(([^)\s]+)\)")


def _md_links(text: str, doc: str) -> str:
    """Same-document links keep only the fragment; a link to anywhere else the report does not
    make is shown as its text."""
    def link(m: re.Match) -> str:
        href = safe_href(m.group(2))
        return f"[{m.group(1)}]({_md_href(href, doc)})" if href else m.group(1)
    return LINK.sub(link, text)


# ---------------------------------------------------------------- HTML


def _page_href(href: str) -> str:
    _, sep, fragment = href.partition("#")
    return f"#{fragment}" if sep else href


PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def inline_html(text: str) -> str:
    """The inline Markdown this module writes, as HTML: backslash escapes, `code` spans,
    **bold** and [text](href); everything else is escaped text."""
    return _inline(text, 0, None)[0]


def _inline(s: str, i: int, stop: str | None) -> tuple[str, int, bool]:
    """HTML for s[i:] up to the unescaped `stop` ("**" or "]"), where it ended (after `stop`),
    and whether `stop` came."""
    out: list[str] = []
    while i < len(s):
        if stop and s.startswith(stop, i):
            return "".join(out), i + len(stop), True
        ch = s[i]
        if ch == "\\" and i + 1 < len(s) and s[i + 1] in PUNCTUATION:
            out.append(html.escape(s[i + 1]))
            i += 2
        elif ch == "`":
            fence = re.match("`+", s[i:]).group(0)
            end = _closing_fence(s, i + len(fence), fence)
            if end is None:
                out.append(fence)
                i += len(fence)
            else:
                body = s[i + len(fence):end]
                if len(body) > 2 and body[0] == body[-1] == " ":
                    body = body[1:-1]
                out.append(f"<code>{html.escape(body)}</code>")
                i = end + len(fence)
        elif s.startswith("**", i) and stop != "**":
            body, i, closed = _inline(s, i + 2, "**")
            out.append(f"<b>{body}</b>" if closed else "**" + body)
        elif ch == "[" and stop != "]":
            link, i = _link(s, i)
            out.append(link)
        else:
            out.append(html.escape(ch))
            i += 1
    return "".join(out), i, False


def _closing_fence(s: str, start: int, fence: str) -> int | None:
    """Where the backtick run closing a code span opened by `fence` starts (same length)."""
    for m in re.finditer("`+", s[start:]):
        if m.group(0) == fence:
            return start + m.start()
    return None


def _link(s: str, i: int) -> tuple[str, int]:
    """[text](href) at s[i] as a link when the report could have made it; anything else is text.
    Text from results files never gets here unescaped (`text` escapes its brackets), so this
    check is the second line of defence: no scheme, no `//host`, no control character."""
    body, end, closed = _inline(s, i + 1, "]")
    m = re.match(r"\(([^)\s]+)\)", s[end:]) if closed else None
    if m is None:
        return "[" + body + ("]" if closed else ""), end
    href = safe_href(m.group(1))
    if href is None:
        return f"[{body}]({html.escape(m.group(1))})", end + m.end()
    return f'<a href="{html.escape(_page_href(href))}">{body}</a>', end + m.end()


def _html_cell(cell: Cell) -> str:
    body = inline_html(cell.text)
    href = safe_href(cell.href) if cell.href else None
    if href:
        title = f' title="{html.escape(plain_text(cell.key))}"' if cell.key else ""
        body = f'<a href="{html.escape(_page_href(href))}"{title}>{body}</a>'
    if cell.source:
        body += f' <span class="mark">{MARKS[cell.source]}</span>'
    cls = f' class="{cell.source}"' if cell.source else ""
    return f"<td{cls}{_id(cell.anchor)}>{body}</td>"


def _id(anchor: str | None) -> str:
    return f' id="{slug(anchor)}"' if anchor else ""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html_blocks(blocks: list[Block], image_dir: Path) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}{_id(block.anchor)}>{inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            out.append(f"<p>{inline_html(block.text)}</p>")
        elif isinstance(block, Bullets):
            anchors = block.anchors or [None] * len(block.items)
            items = "".join(f"<li{_id(a)}>{inline_html(i)}</li>" for i, a in zip(block.items, anchors))
            out.append(f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{inline_html(h)}</th>" for h in block.headers)
            rows = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in block.rows)
            out.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
        elif isinstance(block, Image):
            out.append(f'<figure><img alt="{html.escape(block.alt)}" src="{_data_uri(image_dir / block.file)}">'
                       f"<figcaption>{html.escape(block.alt)}</figcaption></figure>")
    return "\n".join(out)


# Narrow screens: the page itself never scrolls sideways; a wide table scrolls inside its own
# box (.scroll), and long words (paths, backend names in prose) break instead of overflowing.
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; padding: 0 1rem; color: #222;
       overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1.5rem; overflow-wrap: normal; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.measured { background: #eef7ee; white-space: nowrap; }
td.documented { background: #f5f2ea; }
.mark { color: #777; font-size: 0.75em; }
.scroll { overflow-x: auto; max-width: 100%; }
code { background: #f4f4f4; padding: 0 0.2em; }
figure { margin: 1rem 0; }
img { max-width: 100%; border: 1px solid #ddd; }
nav a { margin-right: 1rem; }
@media (max-width: 600px) { body { margin: 1rem auto; padding: 0 0.5rem; } }
"""


def render_html(title: str, sections: list[tuple[str, list[Block]]], image_dir: Path) -> str:
    """One self-contained page: inline CSS, images as data URIs, no external resource."""
    nav = "".join(f'<a href="#{anchor}">{html.escape(anchor)}</a>' for anchor, _ in sections)
    body = "\n".join(f'<section id="{anchor}">{render_html_blocks(blocks, image_dir)}</section>'
                     for anchor, blocks in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><nav>{nav}</nav>\n{body}\n</body></html>\n")
