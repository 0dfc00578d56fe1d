"""Text from results files is data: no name, error message or evidence opens a tag, a link,
an attribute or a table cell in index.html or in the Markdown reports, and none crashes the
renderer or the plots."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fake_results import FakeResults
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from storebench.model.results import Results
from storebench.reports import document as doc
from storebench.reports import report
from storebench.reports.report import Run

HOSTILE = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
           "[x](\x01javascript:alert(document.domain))", "[x](//evil.invalid/x)", '"><b onclick=x>', "`", "``",
           "**", "|", "\n", "\r\n# heading", "\\", "$x$", "https://evil.invalid/a", "www.evil.invalid", "a@b.invalid",
           "&lt;script&gt;", "](", "<!--", "-->", "\x00", "\u2028", "'", '"', "<a id=\"x\" href=\"http://e\">", "~~",
           "![i](x.png)", "<https://evil.invalid>", "\\[x\\](javascript:y)")
hostile_text = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=6), min_size=1, max_size=5).map("".join)

# Everything the report itself writes: tags, and for each attribute what its value may be.
TAGS = {"html", "head", "meta", "title", "style", "body", "nav", "main", "header", "section", "h1", "h2", "h3",
        "h4", "p", "ul", "li", "div", "table", "thead", "tbody", "tr", "th", "td", "a", "b", "code", "span",
        "figure", "img", "figcaption", "details", "summary", "em", "strong"}
SLUG = re.compile(r"^[A-Za-z0-9_.-]+$")
ATTRIBUTES = {
    "id": SLUG.match, "class": re.compile(r"^[a-z0-9 -]+$").match, "title": lambda v: True,
    "href": re.compile(r"^(?!/)[A-Za-z0-9/#._~%-]+$").match, "alt": lambda v: True,
    "src": lambda v: v.startswith("data:image/png;base64,") or re.match(r"^[a-z0-9.-]+\.png$", v),
    "lang": "en".__eq__, "charset": "utf-8".__eq__, "name": "viewport".__eq__, "content": lambda v: True,
    "open": lambda v: True, "loading": "lazy".__eq__, "width": str.isdigit, "height": str.isdigit,
    "colspan": str.isdigit, "scope": lambda v: v in ("row", "col"),
}


class Markup(HTMLParser):
    """Every tag and attribute in a page, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            check = ATTRIBUTES.get(name)
            if check is None or not check(value or ""):
                self.problems.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"<!--{data}-->")


def markup_problems(page: str) -> list[str]:
    """Tags and attributes the report did not write; its own script (opening the <details> a
    link points into) is the one script allowed, verbatim."""
    parser = Markup()
    parser.feed(page.replace(f"<script>{doc.SCRIPT}</script>", "", 1))
    parser.close()
    return parser.problems


def markdown_as_html(text: str) -> str:
    """What a code-hosting site makes of a Markdown report (raw HTML kept, as CommonMark does)."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(text)


def hostile_run(names: list[str], error: str, evidence: str) -> Results:
    fake = FakeResults()
    for k, name in enumerate(names):
        fake.backend(name, 0.02 * (k + 1), capabilities={"cross_device": {"result": "no", "evidence": evidence}})
        fake.entry(name, "add_message").update(errors=2, error_examples=[error, evidence])
    fake.backend("sqld", 1.0, kind="server", round_trips=1.0, status="failed")
    fake.data["backends"][-1]["reason"] = error
    fake.data["backends"][0]["observations"] = {error: evidence}
    return fake.results


def rendered_documents(results: Results, source: str = "results.json") -> dict[str, str]:
    """The three documents without plots (the plots are covered below), as HTML to inspect."""
    run = Run(source, results)
    matrix, latency = report.matrix_blocks(run), report.latency_blocks([run], [])
    return {
        report.INDEX: doc.render_html("storebench report", [("decision-matrix", matrix), ("latency", latency)],
                                      Path(".")),
        report.MATRIX: markdown_as_html(doc.render_markdown(matrix, report.MATRIX)),
        report.LATENCY: markdown_as_html(doc.render_markdown(latency, report.LATENCY)),
    }


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(hostile_text, min_size=1, max_size=3, unique=True), error=hostile_text,
       evidence=hostile_text, source=hostile_text)
def test_hostile_names_and_error_texts_render_as_text_everywhere(names, error, evidence, source):
    for name, page in rendered_documents(hostile_run(names, error, evidence), source).items():
        assert markup_problems(page) == [], name


def test_the_issue_s_injections_stay_text():
    error = "[x](\x01javascript:alert(document.domain)) [y](//evil.invalid/x) <script>alert(1)</script>"
    name = 'x"><img src=x onerror=alert(1)>'
    pages = rendered_documents(hostile_run([name], error, "<img src=x onerror=alert(2)>"))
    for page in pages.values():
        assert markup_problems(page) == []
        assert "javascript:" not in re.findall(r'href="([^"]*)"', page)
    parser = Markup()
    parser.feed(pages[report.INDEX])
    text = "".join(parser.text)
    assert "[x](javascript:alert(document.domain))" in text and "<script>alert(1)</script>" in text
    assert 'x"><img src=x onerror=alert(1)>' in text  # shown as written


def test_a_backend_name_cannot_break_out_of_its_anchor():
    name = 'a"></a><script>x</script><a id="'
    pages = rendered_documents(hostile_run([name], "e", "e"))
    for page in pages.values():
        assert markup_problems(page) == []
    ids = re.findall(r'<a id="([^"]*)"></a>', pages[report.LATENCY])
    assert report.lat_anchor(name, "load_all") in ids and all(SLUG.match(i) for i in ids)
    assert report.lat_anchor(name, "load_all") != report.lat_anchor(name + "!", "load_all")


@pytest.mark.slow
def test_names_with_dollars_and_braces_render_in_the_plots(tmp_path):
    names = ["$x^2$", "a$b$c", r"$\frac{1}{0}$", "<b>", "{}%s"]
    fake = FakeResults()
    for k, name in enumerate(names):
        fake.backend(name, 0.02 * (k + 1))
    path = fake.write(tmp_path / "r.json")
    written = report.write_reports([path], tmp_path / "out")
    assert all(p.stat().st_size > 0 for p in written)
