"""The Gradio Space in a real browser (Playwright + Debian's chromium): upload, Upscale, result.

Needs ``/usr/bin/chromium`` (``bash .ci/install-browser.sh``). Without it the test fails when
``CI`` is set and is skipped otherwise. To refresh the screenshot in the Space's README:

    python tests/test_space_browser.py            # writes spaces/screenshot.png

or set ``HUBSR_SPACE_SCREENSHOT=path.png`` when running pytest.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from space_server import EXAMPLES, ROOT, TIMEOUT_S, running_app

pytestmark = pytest.mark.slow  # a real browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXAMPLE = next(path for path in EXAMPLES if "monarch" in path.name)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing; install it with: bash .ci/install-browser.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def upscale_in_browser(url: str, screenshot: Path) -> dict:
    """Upload EXAMPLE, press Upscale, wait for the slider; returns what the page shows."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.set_default_timeout(TIMEOUT_S * 1000)
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#input-image input[type=file]").set_input_files(str(EXAMPLE))
            page.locator("#input-image img").first.wait_for(state="visible")
            page.get_by_role("button", name="Upscale", exact=True).click()
            page.locator("#summary", has_text="px in").wait_for(state="visible")
            slider_images = page.locator("#result-slider img")
            slider_images.last.wait_for(state="visible")
            page.locator("#zoom-crop img").first.wait_for(state="visible")
            page.wait_for_timeout(500)  # let the images finish painting
            page.screenshot(path=str(screenshot), full_page=True)
            return {
                "summary": page.locator("#summary").inner_text(),
                "slider_sources": [
                    slider_images.nth(i).get_attribute("src") for i in range(slider_images.count())
                ],
                "errors": page.locator(".toast-body").all_inner_texts(),
            }
        finally:
            browser.close()


def test_upload_upscale_and_compare(tmp_path):
    _require_chromium()
    screenshot = Path(os.environ.get("HUBSR_SPACE_SCREENSHOT") or tmp_path / "space.png")
    with running_app(tmp_path) as url:
        shown = upscale_in_browser(url, screenshot)
    assert not shown["errors"], shown["errors"]
    assert "256×170 → 768×510 px" in shown["summary"]
    sources = [src for src in shown["slider_sources"] if src]
    assert len(sources) >= 2 and all(".png" in src for src in sources), sources
    assert screenshot.stat().st_size > 10_000


if __name__ == "__main__":  # refresh spaces/screenshot.png
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "spaces" / "screenshot.png"
    with tempfile.TemporaryDirectory() as work, running_app(Path(work)) as app_url:
        print(upscale_in_browser(app_url, target.resolve()))
    print(f"wrote {target}")
