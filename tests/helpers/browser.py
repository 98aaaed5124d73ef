"""Headless Chromium via selenium for testing the HTML reports.

Uses the Debian packages (``/usr/bin/chromium``, ``/usr/bin/chromedriver``) with a fresh
profile per session and every background network feature off, so the only requests the
browser makes are the ones the page asks for; those are read from the performance log.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("RAGWACHT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RAGWACHT_CHROMEDRIVER", "/usr/bin/chromedriver")

CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--window-size=1280,1800",
)


def browser_available() -> str | None:
    """None when Chromium and chromedriver are usable, else why not."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for p in (CHROMIUM, CHROMEDRIVER):
        if not (Path(p).exists() or shutil.which(p)):
            return f"{p} not found"
    return None


@contextmanager
def chromium(
    profile_dir: Path, *, javascript: bool = True, width: int = 1280, height: int = 1800
) -> Iterator[Any]:
    """A headless Chromium WebDriver with browser and performance logging; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in CHROME_ARGS:
        opts.add_argument(arg)
    opts.add_argument(f"--window-size={width},{height}")
    opts.add_argument(f"--user-data-dir={profile_dir}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    if not javascript:
        opts.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    service = Service(executable_path=CHROMEDRIVER, log_output=os.devnull)
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.set_page_load_timeout(30)
        # Start from a blank page and drop what the start page logged, so the logs hold only
        # what the page under test does.
        driver.get("about:blank")
        driver.get_log("performance")
        driver.get_log("browser")
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Browser console entries at level SEVERE (errors, CSP violations, failed loads)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page requested, from the DevTools performance log."""
    urls: list[str] = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        method = msg.get("method", "")
        params = msg.get("params", {})
        if method == "Network.requestWillBeSent":
            urls.append(params.get("request", {}).get("url", ""))
        elif method == "Network.webSocketCreated":
            urls.append(params.get("url", ""))
    return urls


def load_time_ms(driver: Any) -> float:
    """navigationStart -> loadEventEnd from the Navigation Timing API, in milliseconds."""
    timing = driver.execute_script(
        "var t = performance.timing;return [t.navigationStart, t.loadEventEnd];"
    )
    return float(timing[1] - timing[0])
