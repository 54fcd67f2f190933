"""The node's web page (``~hyperbuddy@1.0``) in a real headless browser:
Debian's Chromium (``/usr/bin/chromium``, installed by scripts/install)
driven by Playwright, against a ``hyperbeam serve`` process.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import RunningNode

CHROMIUM = os.environ.get("HB_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.path.exists(CHROMIUM), (
        f"no Chromium at {CHROMIUM}: scripts/install installs Debian's chromium"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, node: RunningNode) -> Iterator[Page]:
    opened = browser.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    opened.close()
    assert errors == [], errors


def test_the_page_shows_the_node(page: Page, node: RunningNode) -> None:
    address = httpx.get(f"{node.url}/~meta@1.0/info").headers["address"]
    page.goto(f"{node.url}/")  # GET / leads to the page
    assert page.url.endswith("/~hyperbuddy@1.0/index")
    expect(page.locator("#address")).to_have_text(address)
    expect(page.locator("#devices")).to_contain_text("meta@1.0")
    expect(page.locator("#settings")).to_contain_text("port")
    expect(page.locator("#metrics")).to_contain_text("HTTP requests")


def test_the_console_resolves_a_path(page: Page, node: RunningNode) -> None:
    page.goto(f"{node.url}/~hyperbuddy@1.0/index")
    page.fill("#console-path", "/~message@1.0&hello=world&n+integer=7")
    page.click("#console-run")
    expect(page.locator("#console-status")).to_contain_text("200")
    keys = page.locator("#console-keys")
    expect(keys).to_contain_text("hello")
    expect(keys).to_contain_text("world")
    # A key of the answer is a link to it.
    page.click('#console-keys a[data-key="hello"]')
    expect(page.locator("#console-body")).to_have_text("world")
    expect(page.locator("#console-path")).to_have_value(
        "/~message@1.0&hello=world&n+integer=7/hello"
    )


def test_the_console_shows_errors(page: Page, node: RunningNode) -> None:
    page.goto(f"{node.url}/~hyperbuddy@1.0/index#/~nope@1.0/x")
    expect(page.locator("#console-status")).to_contain_text("404")
    expect(page.locator("#console-body")).to_contain_text("nope@1.0")
