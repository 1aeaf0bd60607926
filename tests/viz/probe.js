// Injected into a copy of a viz page by layout.py: measures the laid-out
// page and writes the result as JSON into a pre element (layout-probe).
(function () {
  "use strict";
  function box(r) {
    return [r.left, r.top, r.right, r.bottom].map(function (v) {
      return Math.round(v * 10) / 10;
    });
  }
  function overlap(a, b) {
    var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return w > 1 && h > 1 ? w * h : 0;
  }
  // A text's outline on screen: its box in its own (rotated) frame,
  // mapped through the text's transform: four corners.
  function corners(t) {
    var b = t.getBBox(), m = t.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height],
            [b.x, b.y + b.height]].map(function (c) {
      return [m.a * c[0] + m.c * c[1] + m.e, m.b * c[0] + m.d * c[1] + m.f];
    });
  }
  // How deep two convex quadrilaterals cut into each other (separating
  // axis theorem): 0 when some edge direction separates them.
  function depth(p, q) {
    var least = Infinity;
    [p, q].forEach(function (poly) {
      for (var i = 0; i < 4; i++) {
        var a = poly[i], b = poly[(i + 1) % 4];
        var nx = a[1] - b[1], ny = b[0] - a[0];
        var len = Math.hypot(nx, ny);
        if (!len) continue;
        nx /= len; ny /= len;
        var proj = function (pts) {
          var v = pts.map(function (c) { return c[0] * nx + c[1] * ny; });
          return [Math.min.apply(null, v), Math.max.apply(null, v)];
        };
        var s = proj(p), t = proj(q);
        least = Math.min(least, Math.min(s[1], t[1]) - Math.max(s[0], t[0]));
      }
    });
    return Math.max(0, least);
  }
  function describe(el) {
    var d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    if (el.className && typeof el.className === "string")
      d += "." + el.className.split(/\s+/).join(".");
    return d;
  }
  function white(colour) {
    return colour === "rgb(255, 255, 255)" || colour === "none" ||
      colour === "rgba(0, 0, 0, 0)";
  }

  var out = {
    viewport: window.innerWidth,
    scroll_width: document.documentElement.scrollWidth,
    column: null, outside: [], text_overlaps: [], text_on_bars: []
  };
  var main = document.querySelector("main");
  var mr = main.getBoundingClientRect();
  var cs = getComputedStyle(main);
  var left = mr.left + parseFloat(cs.paddingLeft);
  var right = mr.right - parseFloat(cs.paddingRight);
  out.column = [Math.round(left), Math.round(right)];

  // Outermost elements that reach past the column (children of one that
  // does are not listed again). SVG internals are the charts' business.
  var reported = [];
  main.querySelectorAll("*").forEach(function (el) {
    var tag = el.tagName.toLowerCase();
    if (tag === "script" || tag === "style") return;
    if (el.closest("svg") && tag !== "svg") return;
    for (var i = 0; i < reported.length; i++)
      if (reported[i].contains(el)) return;
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return;
    if (r.right > right + 0.5 || r.left < left - 0.5) {
      reported.push(el);
      out.outside.push({element: describe(el), box: box(r),
                        text: (el.textContent || "").slice(0, 80)});
    }
  });

  document.querySelectorAll("figure").forEach(function (fig) {
    var texts = [];
    fig.querySelectorAll("svg text").forEach(function (t) {
      var r = t.getBoundingClientRect();
      if (t.textContent.trim() && r.width > 0)
        texts.push({el: t, r: r, text: t.textContent, quad: corners(t)});
    });
    for (var i = 0; i < texts.length; i++)
      for (var j = i + 1; j < texts.length; j++)
        if (depth(texts[i].quad, texts[j].quad) > 1)
          out.text_overlaps.push({figure: fig.id, a: texts[i].text,
                                  b: texts[j].text, a_box: box(texts[i].r),
                                  b_box: box(texts[j].r)});
    // Bars: filled patches that are neither a background (white) nor
    // part of a legend. Text drawn in white is meant to sit on a bar.
    var bars = [];
    fig.querySelectorAll("svg g[id*='-patch_'] > path").forEach(function (p) {
      if (p.closest("g[id*='-legend_']")) return;
      var fill = getComputedStyle(p).fill;
      var r = p.getBoundingClientRect();
      if (!white(fill) && r.width > 0 && r.height > 0)
        bars.push({r: r, fill: fill});
    });
    texts.forEach(function (t) {
      if (white(getComputedStyle(t.el).fill)) return;
      for (var k = 0; k < bars.length; k++)
        if (overlap(t.r, bars[k].r) > 2) {
          out.text_on_bars.push({figure: fig.id, text: t.text,
                                 text_box: box(t.r), bar: box(bars[k].r),
                                 fill: bars[k].fill});
          return;
        }
    });
  });

  var pre = document.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
