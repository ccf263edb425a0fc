"""The run overview opens in a real browser from disk: no console errors, every link resolves."""

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium not installed (`apt-get install chromium`; .ci/run installs it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (dev extra)"
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def visit(browser, path: Path) -> dict:
    """Open a page from disk; collect console errors, page errors, network requests and links."""
    page = browser.new_page()
    seen = {"errors": [], "remote": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on(
        "request",
        lambda r: (
            seen["remote"].append(r.url) if not r.url.startswith(("file:", "data:")) else None
        ),
    )
    page.goto(path.as_uri(), wait_until="load")
    seen["title"] = page.title()
    seen["links"] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    seen["images"] = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    page.close()
    return seen


def test_index_and_reports_render_offline(browser, finished_run):
    root, result = finished_run
    index = root / "reports" / result.run_id / "index.html"
    pages, todo = {}, [index]
    while todo:
        path = todo.pop()
        if path in pages:
            continue
        seen = visit(browser, path)
        pages[path] = seen
        assert not seen["errors"], f"{path.name}: console errors {seen['errors']}"
        assert not seen["remote"], f"{path.name} requested {seen['remote']}"
        assert all(w > 0 for w in seen["images"]), f"{path.name} has a broken image"
        for link in seen["links"]:
            url = urlparse(link)
            if url.scheme != "file":
                continue
            target = Path(unquote(url.path))
            assert target.exists(), f"{path.name} links to missing {target.name}"
            if target.suffix == ".html":
                todo.append(target)
    assert {p.name for p in pages} >= {
        "index.html",
        "01-objectives.html",
        "02-data-collection.html",
    }
    assert pages[index]["title"].startswith("Customer segmentation")
