#!/usr/bin/python3
"""Render hakmem JSON as one self-contained HTML file.

  render.py REPORT_JSON -o OUT.html [--title T]
      the JSON of sink.hakmem.report (hakmem report --format json)
  render.py --bench COMPARE_JSON -o OUT.html [--title T]
      the JSON of bench/compare --json
  render.py --tune TUNE_JSON -o OUT.html [--title T]
      the JSON of hakmem tune --json

The page needs no network: charts are inline SVG, the stylesheet is
inline, and there is no script. Exit status: 0 written, 2 bad input or
arguments (the message names the problem), 1 the file could not be
written."""

import argparse
import os
import sys
import tempfile

# Run as a script from share/hakmem/viz: its sibling modules come first,
# and no __pycache__ is left in an installed (package-owned) directory.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from model import InputError  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="render.py",
        description="Render sink.hakmem.report JSON (or, with --bench, "
                    "bench/compare JSON) as one self-contained HTML file.")
    ap.add_argument("json", metavar="JSON_FILE", nargs="?",
                    help="the JSON of hakmem report --format json")
    ap.add_argument("--bench", metavar="COMPARE_JSON",
                    help="render bench/compare --json output instead")
    ap.add_argument("--tune", metavar="TUNE_JSON",
                    help="render hakmem tune --json output instead")
    ap.add_argument("-o", "--output", metavar="OUT.html", required=True,
                    help="the HTML file to write")
    ap.add_argument("--title", metavar="T", help="the page title")
    args = ap.parse_args(argv)
    if [bool(args.json), bool(args.bench), bool(args.tune)].count(True) != 1:
        ap.error("give one of JSON_FILE, --bench COMPARE_JSON and --tune TUNE_JSON")
    return args


def build(args):
    """The HTML text; InputError when the JSON is not what it should be."""
    # Imported here so that --help and argument errors stay fast: pulling
    # in matplotlib takes most of a second.
    import model
    if args.bench:
        import bench
        data = model.load_json(args.bench, "bench/compare --json output")
        return bench.render(bench.check(data), args.title, args.bench)
    if args.tune:
        import tune
        data = model.load_json(args.tune, "hakmem tune --json output")
        return tune.render(tune.check(data), args.title, args.tune)
    data = model.load_json(args.json, "the JSON of hakmem report "
                           "--format json")
    report = model.check_report(data)
    import page
    return page.render(report, args.title, args.json)


def write(path, text):
    """Write through a temporary file, so a failure leaves no half page."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".render-", suffix=".html", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        html = build(args)
    except InputError as e:
        print("render.py: %s" % e, file=sys.stderr)
        return 2
    try:
        write(args.output, html)
    except OSError as e:
        print("render.py: cannot write %s: %s" % (args.output,
                                                  e.strerror or e),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
