"""What a page looks like once laid out, measured in headless Chromium.

The pages carry no script; a copy of the page gets one (probe.js) that
measures the laid-out boxes and writes them into the DOM as JSON, and
chromium --dump-dom prints that DOM. Standard library only."""

import json
import os
import re
import shutil
import subprocess
import tempfile

PROBE_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "probe.js")


def chromium():
    for c in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if c and os.access(c, os.X_OK):
            return c
    return None


def chromium_argv(profile, width, height):
    exe = chromium()
    if exe is None:
        raise AssertionError("chromium is not installed: install the "
                             "chromium package (apt-get install chromium); "
                             "the page layout tests need it")
    return [exe, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars",
            "--user-data-dir=" + profile,
            "--window-size=%d,%d" % (width, height)]


def probe(html_path, width=1400, height=3000):
    """The page at html_path laid out in a window width px wide: a dict
    with viewport, scroll_width, outside (elements past the edges of
    <main>'s column), text_overlaps (text boxes in one chart that
    overlap) and text_on_bars (chart text drawn over a bar)."""
    with open(html_path, encoding="utf-8") as f:
        text = f.read()
    with open(PROBE_JS, encoding="utf-8") as f:
        script = f.read()
    work = tempfile.mkdtemp(prefix="viz-probe-")
    try:
        page = os.path.join(work, "page.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(text.replace("</body>", "<script>%s</script></body>"
                                 % script, 1))
        profile = os.path.join(work, "profile")
        p = subprocess.run(chromium_argv(profile, width, height)
                           + ["--dump-dom", "file://" + page],
                           capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m = re.search(r'<pre id="layout-probe">(.*?)</pre>', p.stdout, re.S)
    if not m:
        raise AssertionError("chromium printed no probe result (exit %d):\n%s"
                             % (p.returncode, p.stderr[-2000:]))
    raw = m.group(1).replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(raw)
