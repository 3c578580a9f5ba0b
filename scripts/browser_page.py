"""The real ComfyUI front end in headless Chromium, on a host started with `ComfyHost(..., front_end=True)`.

Used by the browser test (tests/host/test_web_overlay.py) and scripts/screenshot_workflow.py: Debian's chromium
driven by Playwright, background networking off, a fresh profile per run; the page is returned once the app is up
with the pack's extension registered. Imports no pytest.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
#: The pack's front-end extension (web/region_overlay.js).
EXTENSION = "GatedPortrait.RegionOverlay"
#: This user has seen the tutorial: a first visit opens the template browser over the canvas.
FIRST_VISIT_DONE = {"Comfy.TutorialCompleted": True}
#: Seconds the app may take to come up (the front end is a large bundle; the shared test machine is slow).
APP_TIMEOUT_S = 90

#: The app is up with the pack's extension registered and its node types known.
APP_READY = """(extension) => window.comfyAPI?.app?.app?.extensions?.some((e) => e.name === extension)
  && Boolean(window.LiteGraph?.registered_node_types?.RegionMaskFromLandmarks)"""


@dataclass
class FrontEndPage:
    """An open page of the app, and the console errors and page errors it has logged so far."""

    page: object  # playwright.sync_api.Page
    problems: list[str] = field(default_factory=list)

    def extension_problems(self) -> list[str]:
        """The logged errors that come from the pack's extension."""
        return [p for p in self.problems if "extensions/comfyui-gatedportrait" in p.lower() or EXTENSION in p]


def save_settings(host_url: str, settings: dict) -> None:
    """Store front-end settings for the host's user before the page opens (POST /settings/<id>)."""
    for name, value in settings.items():
        request = urllib.request.Request(f"{host_url}/settings/{name}", data=json.dumps(value).encode(), method="POST")
        urllib.request.urlopen(request, timeout=30).close()


@contextmanager
def front_end_page(host_url: str, profile_dir: Path, viewport: tuple[int, int] = (1200, 1000),
                   scale: float = 1.0) -> Iterator[FrontEndPage]:
    """Chromium on `host_url` with a new profile in `profile_dir`; yields once the app and the extension are up.

    `viewport` is (width, height) in CSS pixels, `scale` the device pixel ratio (2 = screenshots at twice the size).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile_dir), executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS,
            viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=scale,
        )
        try:
            opened = FrontEndPage(browser.new_page())
            opened.page.on("console", lambda m: m.type == "error" and opened.problems.append(
                f"{m.text} @ {m.location.get('url')}"))
            opened.page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
            opened.page.goto(host_url)
            opened.page.wait_for_function(APP_READY, arg=EXTENSION, timeout=APP_TIMEOUT_S * 1000)
            yield opened
        finally:
            browser.close()
