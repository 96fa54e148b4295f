"""The web console's initial download (issue 18): the JavaScript and CSS that index.html loads before
the first screen, gzipped, within 200 kB (screens load on first use, in their own files). Measured on
the build `make test` makes first (`make web`)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
BUDGET_KB = 200


def initial_files() -> list[Path]:
    index = DIST / "index.html"
    if not index.is_file():
        pytest.fail("web/dist is not built: run `make web` (make test does it first)")
    named = re.findall(r'(?:src|href)="/app/(assets/[^"]+\.(?:js|css))"', index.read_text(encoding="utf-8"))
    return [DIST / name for name in named]


def test_the_initial_download_stays_within_its_budget(bar):
    files = initial_files()
    assert any(f.suffix == ".js" for f in files), "index.html loads no script"
    js_kb = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files if f.suffix == ".js") / 1024
    css_kb = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files if f.suffix == ".css") / 1024
    screens = len(list((DIST / "assets").glob("*.js"))) - sum(f.suffix == ".js" for f in files)
    bar(
        "bundle",
        initial_js_gzip_kb=round(js_kb, 1),
        initial_css_gzip_kb=round(css_kb, 1),
        budget_kb=BUDGET_KB,
        lazy_chunks=screens,
    )
    assert js_kb <= BUDGET_KB
    assert screens > 0  # screens load on first use
