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
    tip: str | None = None  # HTML only: the tooltip (the figure's interval, p95, results-file key …)
    md_link: bool = True  # False: plain text in Markdown (the compact matrix links once per row)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    cls: str | None = None  # HTML: a class for the table ("matrix": the compact decision matrix)


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


@dataclass
class Details:
    """Evidence on demand: collapsed in HTML (opened by a link to anything inside it), a
    heading and its blocks in Markdown."""

    summary: str
    blocks: list[Block]
    anchor: str | None = None
    level: int = 2


@dataclass
class Answer:
    """The report's answer: the first thing on the page, set apart."""

    items: list[str]
    anchor: str | None = None


Block = Heading | Para | Bullets | Table | Image | Details | Answer


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
    href = safe_href(cell.href) if cell.href and cell.md_link else None
    if href:
        title = _md_title(cell.key) if cell.key else ""
        text = f"[{text}]({_md_href(href, doc)}{title})"
    if cell.source and not cell.tip:  # a compact cell: its table's heading says where it comes from
        text += f" {MARKS[cell.source]}"
    if cell.anchor:
        text = f'<a id="{slug(cell.anchor)}"></a>{text}'
    return text


def _md_anchor(anchor: str | None) -> str:
    return f'<a id="{slug(anchor)}"></a>' if anchor else ""


def render_markdown(blocks: list[Block], doc: str) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Details):
            out += [f"{'#' * block.level} {_md_anchor(block.anchor)}{_md_links(block.summary, doc)}", "",
                    render_markdown(block.blocks, doc)]
        elif isinstance(block, Answer):
            out += [f"- {_md_anchor(block.anchor) if k == 0 else ''}{_md_links(item, doc)}"
                    for k, item in enumerate(block.items)] + [""]
        elif isinstance(block, Heading):
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
            fence = "`" * (len(s) - i - len(s[i:].lstrip("`")))
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
    tip = cell.tip or cell.key
    title = f' title="{html.escape(plain_text(tip))}"' if tip else ""
    if href:
        body = f'<a href="{html.escape(_page_href(href))}"{title}>{body}</a>'
        title = ""
    if cell.source and not cell.tip:
        body += f' <span class="mark">{MARKS[cell.source]}</span>'
    cls = f' class="{cell.source}"' if cell.source else ""
    return f"<td{cls}{title}{_id(cell.anchor)}>{body}</td>"


def _id(anchor: str | None) -> str:
    return f' id="{slug(anchor)}"' if anchor else ""


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html_blocks(blocks: list[Block], image_dir: Path) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Details):
            out.append(f"<details{_id(block.anchor)}><summary>{inline_html(block.summary)}</summary>"
                       f"{render_html_blocks(block.blocks, image_dir)}</details>")
        elif isinstance(block, Answer):
            items = "".join(f"<li>{inline_html(i)}</li>" for i in block.items)
            out.append(f'<div class="answer"{_id(block.anchor)}><ul>{items}</ul></div>')
        elif isinstance(block, Heading):
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
            cls = f' class="{block.cls}"' if block.cls else ""
            out.append(f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
                       "</div>")
        elif isinstance(block, Image):
            # The picture is in the page (it works when the page is mailed alone); the link opens
            # the full-size file beside it.
            link = safe_href(block.file) or ""
            out.append(f'<figure><div class="plot"><a href="{html.escape(link)}"><img alt="{html.escape(block.alt)}" '
                       f'src="{_data_uri(image_dir / block.file)}"></a></div>'
                       f"<figcaption>{html.escape(block.alt)} (click for the full-size image)</figcaption></figure>")
    return "\n".join(out)


# Narrow screens: the page itself never scrolls sideways; a wide table scrolls inside its own
# box (.scroll), a plot inside its .plot box at a size whose text stays legible, and long words
# (paths, backend names in prose) break instead of overflowing.
STYLE = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d5d9e0; --measured: #eef6ef; --documented: #f6f1e6; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 0.75rem 1.25rem 3rem;
       color: var(--ink); overflow-wrap: anywhere; }
nav { font-size: 0.85rem; color: var(--muted); margin-bottom: 0.5rem; }
nav a { margin-right: 1rem; }
h1 { font-size: 1.5rem; margin: 0.4rem 0; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 0.5rem; padding-bottom: 0.2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
p, li { max-width: 95ch; }
.answer { background: #eef3fb; border-left: 4px solid #2f5fb3; padding: 0.4rem 1rem; margin: 0.5rem 0 0.75rem; }
.answer ul { padding-left: 1.1rem; margin: 0.3rem 0; }
.answer li { margin: 0.3rem 0; max-width: none; }
.answer li:last-child { color: var(--muted); font-size: 0.85rem; }
.facts { color: var(--muted); font-size: 0.85rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.4rem 0 1rem; overflow-wrap: normal; }
th, td { border: 1px solid var(--line); padding: 0.2rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #f1f3f6; }
td.measured { background: var(--measured); white-space: nowrap; }
td.documented { background: var(--documented); }
.matrix td.measured { text-align: right; font-variant-numeric: tabular-nums; }
.matrix td:first-child { min-width: 12rem; max-width: 22rem; }
.matrix code { white-space: nowrap; }
/* The backend stays in view while the figures scroll sideways. */
.matrix td:nth-child(2) { position: sticky; left: 0; background: #fff; }
.matrix th:nth-child(2) { position: sticky; left: 0; }
.mark { color: var(--muted); font-size: 0.75em; }
.scroll { overflow-x: auto; max-width: 100%; }
code { background: #f2f3f5; padding: 0 0.2em; border-radius: 3px; }
a { color: #1f4fa0; }
td a { text-decoration: none; color: inherit; border-bottom: 1px dotted #7a8699; }
details { border: 1px solid var(--line); border-radius: 4px; margin: 0.5rem 0; padding: 0 0.75rem; }
details[open] { padding-bottom: 0.5rem; }
summary { cursor: pointer; padding: 0.45rem 0; font-weight: 600; }
details h2 { font-size: 1.05rem; border: 0; }
figure { margin: 0.75rem 0 1.25rem; }
.plot { overflow-x: auto; max-width: 100%; }
.plot img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.85rem; }
@media (max-width: 700px) {
  body { padding: 0.5rem 0.6rem 2rem; font-size: 14px; }
  .matrix th:first-child, .matrix td:first-child { display: none; }  /* the backend names the row */
  .plot img { max-width: none; width: 900px; }  /* scrolls in its box: text stays legible */
}
@media print {
  nav, figcaption { display: none; }
  details { border: 0; padding: 0; }
  details > summary { list-style: none; }
  .scroll, .plot { overflow: visible; }
  .plot img { max-width: 100%; width: auto; }
  a { color: inherit; border: 0; }
}
"""
# A link to evidence inside a collapsed <details> opens it (and every <details> around it).
SCRIPT = """
function openTarget() {
  var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  for (var node = target; node; node = node.parentElement) { if (node.tagName === "DETAILS") node.open = true; }
  if (target) target.scrollIntoView();
}
window.addEventListener("hashchange", openTarget);
window.addEventListener("DOMContentLoaded", openTarget);
"""


def render_html(title: str, sections: list[tuple[str, list[Block]]], image_dir: Path) -> str:
    """One self-contained page: inline CSS, images as data URIs, no external resource."""
    nav = "".join(f'<a href="#{anchor}">{html.escape(anchor)}</a>' for anchor, _ in sections)
    body = "\n".join(f'<section id="{anchor}">{render_html_blocks(blocks, image_dir)}</section>'
                     for anchor, blocks in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body><nav>{nav}</nav>\n{body}\n</body></html>\n")
