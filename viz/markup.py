"""HTML building blocks and the page shell with its stylesheet.

The output is HTML5 that is also well-formed XML (void elements closed,
only numeric character references, data islands with < and & escaped),
so that a strict parser and every browser read it the same way."""

import json

CSS = """
:root { --ink: #1b1b1b; --muted: #5b5b5b; --rule: #d9d9d9; --band: #f5f5f2;
        --warn: #fff4d6; --warn-rule: #E69F00; --bad: #fde7e1;
        --bad-rule: #D55E00; --link: #0059a0; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 6px; padding-top: 14px;
     border-top: 3px solid var(--ink); }
h3 { font-size: 17px; margin: 28px 0 8px; }
a { color: var(--link); }
p.sub, .muted { color: var(--muted); }
p.sub { margin: 0 0 16px; font-size: 14px; }
.headline { font-size: 19px; line-height: 1.45; margin: 14px 0 10px;
            padding: 12px 16px; background: var(--band);
            border-left: 6px solid #0072B2; }
.details { margin: 0 0 12px 0; padding-left: 22px; }
.banner { padding: 8px 14px; margin: 10px 0; border-left: 6px solid;
          font-size: 14px; }
.banner.warn { background: var(--warn); border-color: var(--warn-rule); }
.banner.bad { background: var(--bad); border-color: var(--bad-rule); }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill,
           minmax(165px, 1fr)); gap: 8px; margin: 14px 0; }
dl.facts div { background: var(--band); padding: 8px 12px; }
dl.facts dt { font-size: 12px; color: var(--muted); text-transform: uppercase;
              letter-spacing: .04em; }
dl.facts dd { margin: 0; font-size: 20px; font-weight: bold; }
dl.facts dd small { display: block; font-size: 13px; font-weight: normal;
                    color: var(--muted); }
figure.chart { margin: 18px 0 26px; }
figure.chart svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
.row2 { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
@media (max-width: 900px) { .row2 { grid-template-columns: 1fr; } }
table { border-collapse: collapse; width: 100%; margin: 8px 0 18px;
        font-size: 14px; }
th, td { text-align: left; padding: 5px 9px; border-bottom: 1px solid
         var(--rule); vertical-align: top; }
th { background: var(--band); font-size: 13px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
td small { color: var(--muted); }
tr.fail td { background: var(--bad); }
tr.rss-over td:nth-child(4), tr.rss-over td:nth-child(7) {
  background: var(--warn); font-weight: bold; }
table.results td:nth-child(-n+2) { white-space: nowrap; }
table.recs td:first-child { min-width: 190px; }
table.recs td code { white-space: normal; }
code { font: 13.5px/1.3 "DejaVu Sans Mono", Consolas, monospace;
       background: #eef2f6; padding: 1px 5px; border-radius: 3px;
       white-space: nowrap; }
.note { font-size: 14px; color: var(--muted); font-style: italic; }
footer { margin-top: 40px; font-size: 12px; color: var(--muted);
         border-top: 1px solid var(--rule); padding-top: 8px; }
@media print { h2 { page-break-before: always; } figure { break-inside: avoid; } }
"""


class Raw(str):
    """Markup that is already safe: inserted as is."""


def esc(text):
    if isinstance(text, Raw):
        return text
    # &#39; and &#34; rather than named entities: valid in XML as well.
    return Raw(str(text).replace("&", "&amp;").replace("<", "&lt;")
               .replace(">", "&gt;").replace('"', "&#34;")
               .replace("'", "&#39;"))


def tag(name, *children, **attrs):
    """<name attrs>children</name>; class_ stands for class, and
    data_x for data-x."""
    parts = [name]
    for k, v in attrs.items():
        if v is None or v is False:
            continue
        k = k.rstrip("_").replace("_", "-")
        parts.append('%s="%s"' % (k, esc(v)))
    return Raw("<%s>%s</%s>" % (" ".join(parts),
                                "".join(esc(c) for c in children
                                        if c is not None), name))


def join(*parts):
    return Raw("".join(esc(p) for p in parts if p is not None))


def code(text):
    return tag("code", text)


def setting(env):
    """An environment setting in <code>, breakable only after its commas
    (HAKMEM_PREWARM=1039:14,783:11,...)."""
    parts = env.split(",")
    return tag("code", *[join(p, "," if i + 1 < len(parts) else "",
                              Raw("<wbr />") if i + 1 < len(parts) else None)
                         for i, p in enumerate(parts)])


def data_island(obj):
    """A JSON data block the browser never runs: the numbers a chart
    plotted, for tests and for anyone who wants to re-plot them."""
    text = json.dumps(obj, sort_keys=True, allow_nan=False)
    # Escaped as JSON, so the block can hold neither "</script>" nor a
    # raw & or <, which XML would reject.
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))
    return Raw('<script type="application/json" class="chart-data">%s'
               "</script>" % text)


def table(headers, rows, numeric=(), row_classes=None, class_=None):
    """headers: column titles; rows: lists of cells (text or Raw);
    numeric: indexes of right-aligned columns."""
    head = tag("tr", *[tag("th", h, class_="n" if i in numeric else None,
                           scope="col") for i, h in enumerate(headers)])
    body = []
    for r, row in enumerate(rows):
        cls = row_classes[r] if row_classes else None
        body.append(tag("tr", *[tag("td", c, class_="n" if i in numeric
                                    else None) for i, c in enumerate(row)],
                        class_=cls))
    return tag("table", tag("thead", head), tag("tbody", *body),
               class_=class_)


def facts(items):
    """Key figures: (label, value, small print or None)."""
    cells = []
    for label, value, small in items:
        dd = tag("dd", value, join(" ", tag("small", small)) if small
                 else None)
        cells.append(tag("div", tag("dt", label), dd))
    return tag("dl", *cells, class_="facts")


def chart(chart_id, kind, svg, data, caption, **attrs):
    """A figure holding the inline SVG, its caption and its data."""
    return tag("figure", Raw(svg), data_island(data),
               tag("figcaption", caption), class_="chart", id=chart_id,
               data_chart=kind, **attrs)


def page(title, body, footer):
    return Raw("<!DOCTYPE html>\n" + tag(
        "html",
        tag("head",
            Raw('<meta charset="utf-8" />'),
            Raw('<meta name="viewport" content="width=device-width, '
                'initial-scale=1" />'),
            Raw('<meta name="generator" content="hakmem viz" />'),
            tag("title", title),
            tag("style", Raw(CSS))),
        tag("body", tag("main", body, tag("footer", footer))),
        lang="en") + "\n")
