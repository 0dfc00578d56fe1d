"""The report as a person reads it, in the system Chromium: the answer on the first screen at
1400 px, nothing wider than the screen at 400 px (tables and plots scroll in their own boxes),
every image loaded, no console error. Screenshots go to the test's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from storebench.backends import browser
from storebench.reports import report

pytestmark = [pytest.mark.slow, pytest.mark.skipif(browser.browser_unavailable_reason() is not None,
                                                   reason=f"{browser.browser_unavailable_reason()}")]

BASELINE = Path(__file__).resolve().parent.parent / "results" / "baseline.json"  # read only
SCROLLERS = ".scroll, .plot"

# Elements sticking out of the viewport sideways that are not inside a scrolling box.
OVERFLOWING = """(scrollers) => {
  const width = document.documentElement.clientWidth;
  return [...document.body.querySelectorAll("*")].filter((el) => {
    if (el.closest(scrollers) && !el.matches(scrollers)) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
  }).map((el) => el.tagName + (el.id ? "#" + el.id : "") + " " + Math.round(el.getBoundingClientRect().right));
}"""
IMAGES = "() => [...document.images].map((img) => [img.alt, img.complete, img.naturalWidth])"


@pytest.fixture(scope="module")
def page_url(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report")
    report.write_reports([BASELINE], out)
    return (out / report.INDEX).as_uri()


@pytest.fixture(scope="module")
def context():
    with browser.chromium() as ctx:
        yield ctx


def open_report(context, url: str, width: int, height: int, shots: Path) -> tuple:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url, wait_until="load")
    page.screenshot(path=str(shots / f"report-{width}.png"), full_page=True)
    return page, errors


def test_the_answer_is_on_the_first_screen_at_1400(context, page_url, tmp_path):
    page, errors = open_report(context, page_url, 1400, 900, tmp_path)
    box = page.locator("#recommendation").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    assert all(complete and width > 0 for _, complete, width in page.evaluate(IMAGES))
    assert errors == []
    page.close()


def test_nothing_is_wider_than_the_screen_at_400(context, page_url, tmp_path):
    page, errors = open_report(context, page_url, 400, 800, tmp_path)
    assert page.evaluate(OVERFLOWING, SCROLLERS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    images = page.evaluate(IMAGES)
    assert len(images) == 3 and all(complete and width > 0 for _, complete, width in images)
    assert errors == []
    assert (tmp_path / "report-400.png").stat().st_size > 0
    page.close()


def test_a_link_to_evidence_opens_its_collapsed_section(context, page_url, tmp_path):
    page, errors = open_report(context, page_url, 1400, 900, tmp_path)
    assert page.locator("#latency-detail").evaluate("el => el.open") is False
    page.locator('table.matrix a[href="#lat-sqlite3-add_message"]').first.click()
    assert page.locator("#latency-detail").evaluate("el => el.open") is True
    assert page.locator("#lat-sqlite3-add_message").is_visible()
    assert errors == []
    page.close()
