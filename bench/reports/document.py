"""A tiny document model rendered to both Markdown and HTML, so the two outputs of a report
always carry the same cells, links and anchors.

Inline text may use `code`, **bold** and [text](href); a link to another report file
(`latency.md#x`) becomes an in-page link (`#x`) in the single HTML page.
"""

from __future__ import annotations

import base64
import html
import re
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


# ---------------------------------------------------------------- Markdown


def _md_escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_href(href: str, doc: str) -> str:
    """A link relative to `doc`: same-document links keep only the fragment."""
    target, _, fragment = href.partition("#")
    return f"#{fragment}" if target == doc and fragment else href


def _md_cell(cell: Cell, doc: str) -> str:
    text = _md_escape_cell(cell.text)
    if cell.href:
        title = f' "{cell.key}"' if cell.key else ""
        text = f"[{text}]({_md_href(cell.href, doc)}{title})"
    if cell.source:
        text += f" {MARKS[cell.source]}"
    if cell.anchor:
        text = f'<a id="{cell.anchor}"></a>{text}'
    return text


def render_markdown(blocks: list[Block], doc: str) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            anchor = f'<a id="{block.anchor}"></a>' if block.anchor else ""
            out += [f"{'#' * block.level} {anchor}{block.text}", ""]
        elif isinstance(block, Para):
            out += [_md_links(block.text, doc), ""]
        elif isinstance(block, Bullets):
            anchors = block.anchors or [None] * len(block.items)
            for item, item_anchor in zip(block.items, anchors):
                prefix = f'<a id="{item_anchor}"></a>' if item_anchor else ""
                out.append(f"- {prefix}{_md_links(item, doc)}")
            out.append("")
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_md_escape_cell(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            for row in block.rows:
                out.append("| " + " | ".join(_md_cell(c, doc) for c in row) + " |")
            out.append("")
        elif isinstance(block, Image):
            out += [f"![{block.alt}]({block.file})", ""]
    return "\n".join(out).rstrip() + "\n"


LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _md_links(text: str, doc: str) -> str:
    return LINK.sub(lambda m: f"[{m.group(1)}]({_md_href(m.group(2), doc)})", text)


# ---------------------------------------------------------------- HTML


def _page_href(href: str) -> str:
    _, sep, fragment = href.partition("#")
    return f"#{fragment}" if sep else href


def inline_html(text: str) -> str:
    """Escape `text`, then turn `code`, **bold** and [text](href) into HTML."""
    s = html.escape(text, quote=True)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)
    return LINK.sub(_html_link, s)


def _html_link(m: re.Match) -> str:
    """Only links within the report become links: text from results (error messages) could
    carry a `javascript:` or remote URL, which stays plain text."""
    href = html.unescape(m.group(2))
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):
        return m.group(0)
    return f'<a href="{html.escape(_page_href(href))}">{m.group(1)}</a>'



def _html_cell(cell: Cell) -> str:
    body = inline_html(cell.text)
    if cell.href:
        title = f' title="{html.escape(cell.key)}"' if cell.key else ""
        body = f'<a href="{html.escape(_page_href(cell.href))}"{title}>{body}</a>'
    if cell.source:
        body += f' <span class="mark">{MARKS[cell.source]}</span>'
    cls = f' class="{cell.source}"' if cell.source else ""
    return f"<td{cls}{_id(cell.anchor)}>{body}</td>"


def _id(anchor: str | None) -> str:
    return f' id="{html.escape(anchor)}"' if anchor else ""


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
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
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
