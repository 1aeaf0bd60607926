"""Matplotlib set-up and the conversion of a figure into SVG markup that can
be pasted inline into the HTML page: no XML prolog, no external DTD, no
metadata links, and element ids made unique per chart. Also the helpers
every chart shares: tick format and plain numbers for the data islands."""

import io
import math
import re

import matplotlib

# Headless: no display, and the SVG backend needs nothing else.
matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#8C8C8C",
}

matplotlib.rcParams.update({
    # Text stays text: selectable, searchable and small; the browser picks
    # DejaVu Sans or the next sans-serif in the stack.
    "svg.fonttype": "none",
    # Stable ids, so the same JSON gives the same HTML.
    "svg.hashsalt": "hakmem-viz",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "axes.prop_cycle": matplotlib.cycler(color=[
        OKABE_ITO[k] for k in ("blue", "vermillion", "green", "orange",
                               "purple", "sky", "yellow", "black")]),
})

_ID = re.compile(r'\bid="([^"]+)"')


def new_figure(width_in, height_in, **subplots):
    """A figure with constrained layout, so labels never overlap."""
    return plt.subplots(figsize=(width_in, height_in), layout="constrained",
                        **subplots)


def to_svg(fig, prefix, label):
    """The figure as inline <svg>...</svg>, then closed to free memory.

    prefix namespaces every id (matplotlib reuses "figure_1", "axes_1",
    clip-path and marker ids in every figure; several charts share one
    page). label becomes the accessible name of the image."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # The Dublin Core metadata carries links to matplotlib.org and
    # purl.org: not needed, and a ticket attachment must point nowhere.
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # SVG 2 href replaces xlink:href in every current browser, which lets
    # the xlink namespace declaration go too.
    text = text.replace('xmlns:xlink="http://www.w3.org/1999/xlink" ', "")
    text = text.replace("xlink:href=", "href=")
    ids = set(_ID.findall(text))
    text = _ID.sub(lambda m: 'id="%s-%s"' % (prefix, m.group(1)), text)

    def local(m):
        ref = m.group(2)
        return m.group(1) + (prefix + "-" + ref if ref in ids else ref)
    text = re.sub(r'(href="#|url\(#)([^")]+)', local, text)
    label = (label.replace("&", "&amp;").replace('"', "&quot;")
             .replace("<", "&lt;"))
    return text.replace("<svg ", '<svg role="img" aria-label="%s" ' % label,
                        1).strip()


def untangle_xticklabels(fig, ax, gap_em=0.6):
    """Slant the x tick labels just enough that neighbours no longer
    touch: 0, 30, 45, 60 or 90 degrees, judged on the text extents
    matplotlib measures (the page's font is matplotlib's, DejaVu Sans)."""
    fig.draw_without_rendering()   # lays out the text, so it has extents
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    if len(labels) < 2:
        return 0
    boxes = sorted((t.get_window_extent() for t in labels),
                   key=lambda b: b.x0)
    em = labels[0].get_fontsize() * fig.dpi / 72
    if all(a.x1 + gap_em * em <= b.x0 for a, b in zip(boxes, boxes[1:])):
        return 0
    # Slanted labels are parallel strips one line high: they clear each
    # other when the tick spacing times sin(angle) exceeds a line.
    xs = sorted(ax.transData.transform((x, 0))[0] for x in ax.get_xticks())
    spacing = min(b - a for a, b in zip(xs, xs[1:])) or 1
    need = boxes[0].height * (1 + gap_em) / spacing
    angle = next((a for a in (30, 45, 60) if math.sin(math.radians(a))
                  >= need), 90)
    for t in labels:
        t.set_rotation(angle)
        t.set_horizontalalignment("right" if angle < 90 else "center")
        t.set_rotation_mode("anchor" if angle < 90 else "default")
    return angle


def count_format(v, _pos=None):
    """Tick labels with thousands separators; small rates keep a decimal."""
    if v == 0 or abs(v) >= 10:
        return "{:,.0f}".format(v)
    return "{:.2g}".format(v)


COUNTS = FuncFormatter(count_format)


def plain(obj):
    """numpy scalars -> Python numbers, integral floats -> ints, so the
    data island compares equal to the JSON it came from."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and obj.is_integer() and abs(obj) < 2 ** 53:
        return int(obj)
    return obj
