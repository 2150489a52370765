#!/bin/sh
# What tests/test_browser.py needs on a fresh Debian (12) machine, as root: Debian's Chromium, which
# Playwright drives through executable_path=/usr/bin/chromium (Playwright's own browser download is not
# used: it needs the internet). The Python side (playwright, httpx) is in pyproject's `test` extra:
#     pip install -e '.[test]'
# Without Chromium or playwright the browser test is skipped, with the reason, rather than failing.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core ca-certificates >/dev/null
/usr/bin/chromium --version
