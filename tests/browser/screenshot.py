#!/usr/bin/env python3
"""screenshot.py URL OUT.png [--width 1280] [--max-height 9000] [--scale 1]

Open a genbo dashboard (the `genbo serve` URL or `file://` path of a
`genbo report`) in headless Chromium, wait until it has rendered, print its
console errors and save a full-page PNG. How docs/dashboard.png is made:

    build/genbo run studies/default.ini --db /tmp/demo.db
    build/genbo serve --db /tmp/demo.db --port 8099 &
    /usr/bin/python3 tests/browser/screenshot.py http://127.0.0.1:8099/ docs/dashboard.png
"""
import argparse
import shutil
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("out")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--max-height", type=int, default=9000)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars",
                 "--force-device-scale-factor=%g" % args.scale,
                 "--window-size=%d,1000" % args.width,
                 "--user-data-dir=" + tempfile.mkdtemp(prefix="genbo-chromium-")]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=opts)
    try:
        driver.get(args.url)
        end = time.time() + 30
        while driver.execute_script("return document.body.dataset.ready") != "1":
            if time.time() > end:
                sys.exit("the page did not render within 30 s")
            time.sleep(0.1)
        h = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(args.width, min(h, args.max_height) + 20)
        time.sleep(0.3)
        driver.save_screenshot(args.out)
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        for e in errors:
            print("console error:", e.get("message"))
        print("%s: %d x %d" % (args.out, args.width, min(h, args.max_height) + 20))
        return 1 if errors else 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
