#!/usr/bin/python3
"""Smoke tests of bench/: they check that things run and print what the
drivers parse, never how fast anything is (timing is for bench/compare,
as medians, not for tests).

  smoke.py program KEYS EXE ARGS...
      Runs EXE with ARGS under glibc and under each library in the
      BENCH_PRELOADS environment variable (colon-separated). Each run
      must exit 0 and end with one "NAME key=value ..." line, NAME being
      EXE's file name, that has every comma-separated key of KEYS.
  smoke.py compare COMPARE OUTDIR [WORKLOAD]
      compare --quick --runs 1 --only WORKLOAD --json, --html: exit 0,
      the JSON has the keys viz and users rely on, every allocator that
      is installed took part, and the page was written.
  smoke.py rows COMPARE WORKLOAD,...
      compare --quick --runs 1 on those workloads under hakmem-release
      and glibc: exit 0, and every run of every workload ok with a table
      row, so a row's argv that its program rejects is caught.
  smoke.py ab AB
      ab in its fixed-size and random_mixed (WS list) forms, tiny: exit
      0 and one table row per size or working set.
  smoke.py callgrind CALLGRIND_PAIRS
      callgrind_pairs on a tiny N for hakmem-release and glibc: exit 0
      and a positive count per allocator (exit 77, skipped, without
      valgrind).
  smoke.py trace_cost TRACE_COST
      trace_cost --quick --json: exit 0, a table row per workload with a
      figure in every column, every run ok in the JSON, and each traced
      run's discarded events (hakmem trace's count) and its events on
      both channels read back from the trace (exit 77 without lttng or
      python3-bt2)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PEER_LIBS = {
    "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
    "mimalloc": "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
}


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(argv, env_extra=None, timeout=600):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(env_extra or {})
    proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                          timeout=timeout)
    where = " ".join(argv) + (f" (LD_PRELOAD={env_extra['LD_PRELOAD']})"
                              if env_extra and "LD_PRELOAD" in env_extra
                              else "")
    check(proc.returncode == 0,
          f"{where}: exit status {proc.returncode}\n{proc.stderr}")
    check("cannot be preloaded" not in proc.stderr,
          f"{where}: the preload failed:\n{proc.stderr}")
    return proc.stdout


def parse_line(line):
    words = line.split()
    return words[0], dict(w.partition("=")[::2] for w in words[1:])


def program(keys, exe, args):
    name = os.path.basename(exe)
    preloads = [None] + [p for p in
                         os.environ.get("BENCH_PRELOADS", "").split(":") if p]
    for lib in preloads:
        out = run([exe] + args, {"LD_PRELOAD": lib} if lib else None)
        lines = out.strip().splitlines()
        check(lines, f"{name}: printed nothing")
        bench, values = parse_line(lines[-1])
        check(bench == name,
              f"{name}: last line starts with '{bench}': {lines[-1]}")
        for k in keys:
            check(k in values, f"{name}: no {k}= in: {lines[-1]}")
            float(values[k])  # a number, whatever its size
        print(f"ok {'glibc' if not lib else os.path.basename(lib)}: "
              f"{lines[-1]}")


def compare(script, outdir, workload):
    js = os.path.join(outdir, "compare-smoke.json")
    html = os.path.join(outdir, "compare-smoke.html")
    for f in (js, html):
        if os.path.exists(f):
            os.unlink(f)
    out = run([script, "--quick", "--runs", "1", "--only", workload,
               "--json", js, "--html", html])
    print(out)
    with open(js) as f:
        data = json.load(f)
    for k in ("tool", "meta", "allocators", "workloads"):
        check(k in data, f"JSON: no top-level '{k}'")
    check(data["meta"].get("runs") == 1 and data["meta"].get("quick") is True,
          f"JSON: meta says runs={data['meta'].get('runs')}, "
          f"quick={data['meta'].get('quick')}")
    names = [a["name"] for a in data["allocators"]]
    want = ["hakmem-release", "hakmem-full", "glibc"] + [
        n for n, lib in PEER_LIBS.items() if os.path.isfile(lib)]
    for n in want:
        check(n in names, f"JSON: allocator {n} missing from {names}")
    check(len(data["workloads"]) == 1,
          f"JSON: {len(data['workloads'])} workloads, expected 1")
    w = data["workloads"][0]
    for k in ("name", "argv", "metric", "label", "higher_is_better",
              "compare", "results"):
        check(k in w, f"JSON: workload has no '{k}'")
    check(w["name"] == workload, f"JSON: workload is {w['name']}")
    for n in names:
        check(n in w["results"], f"JSON: no results for {n}")
        r = w["results"][n]
        for k in ("runs", "median", "vs_glibc", "vs_best_peer", "best_peer"):
            check(k in r, f"JSON: {n} has no '{k}'")
        check(len(r["runs"]) == 1 and r["runs"][0]["ok"],
              f"JSON: {n}: runs {r['runs']}")
        for k in (w["metric"], "minflt", "maxrss_kb"):
            check(isinstance(r["median"].get(k), (int, float)),
                  f"JSON: {n}: median {k} is {r['median'].get(k)!r}")
        # A row of the markdown table per allocator.
        check(f"| {workload} | {n} |" in out, f"table: no row for {n}")
    check(w["results"]["glibc"]["vs_glibc"] == 1.0,
          "JSON: glibc against itself is not 1.0")
    with open(html, encoding="utf-8") as f:
        page = f.read()
    check(page.startswith("<!DOCTYPE html") and "<svg" in page
          and workload in page, "HTML: not a page with charts")


def rows(script, workloads):
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "rows.json")
        out = run([script, "--quick", "--runs", "1", "--only",
                   ",".join(workloads + ["hakmem-release", "glibc"]),
                   "--json", js])
        with open(js) as f:
            data = json.load(f)
    print(out)
    got = [w["name"] for w in data["workloads"]]
    check(got == workloads, f"JSON: workloads {got}, expected {workloads}")
    for w in data["workloads"]:
        for n in ("hakmem-release", "glibc"):
            r = w["results"].get(n)
            check(r and len(r["runs"]) == 1 and r["runs"][0]["ok"],
                  f"{w['name']} under {n}: {r and r['runs']}")
            check(f"| {w['name']} | {n} |" in out,
                  f"table: no row for {w['name']} under {n}")


def ab(script):
    out = run([script, "", "HAKMEM_SMALLMID=1", "--runs", "1", "--cycles",
               "20000", "--sizes", "256,1024"])
    print(out)
    rows = [ln for ln in out.splitlines() if ln.startswith("| ")]
    check(len(rows) == 3, f"ab: expected header + 2 rows:\n{out}")
    check(rows[1].startswith("| 256 |") and rows[2].startswith("| 1024 |"),
          f"ab: rows are not the sizes:\n{out}")
    out = run([script, "HAKMEM_SMALLMID=0", "HAKMEM_SMALLMID=1", "--runs",
               "1", "--cycles", "20000", "--workload", "random_mixed",
               "--ws", "256,512", "--range", "256,1024"])
    print(out)
    rows = [ln for ln in out.splitlines() if ln.startswith("| ")]
    check(len(rows) == 3 and rows[0].startswith("| WS |")
          and rows[1].startswith("| 256 |") and rows[2].startswith("| 512 |"),
          f"ab --workload random_mixed: expected a WS row each:\n{out}")
    check("random_mixed 20000 WS 42 256 1024" in out,
          f"ab: the command line is not shown:\n{out}")


def callgrind(script):
    out = run([script, "--n", "2000", "--only", "hakmem-release,glibc"])
    print(out)
    rows = {ln.split("|")[1].strip(): ln for ln in out.splitlines()
            if ln.startswith("| ") and not ln.startswith("| allocator")}
    for n in ("hakmem-release", "glibc"):
        check(n in rows, f"callgrind_pairs: no row for {n}:\n{out}")
        per_pair = float(rows[n].split("|")[3])
        check(per_pair > 0, f"callgrind_pairs: {n}: {per_pair} per pair")


def trace_cost(script):
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "trace_cost.json")
        out = run([script, "--quick", "--json", js], timeout=900)
        with open(js) as f:
            data = json.load(f)
    print(out)
    rows = [ln for ln in out.splitlines() if ln.startswith("| ")]
    check(len(rows) == 3 and rows[0].startswith("| workload |"),
          f"trace_cost: expected header + 2 rows:\n{out}")
    number = r"\d[\d,]*(\.\d+)?"
    cell = {"s": number, "ratio": number + r"x", "range": number + r"x \(" +
            number + r"\.\." + number + r"\)", "pair": number + " / " + number,
            "count": number + r"( \(.*\))*"}  # losses under load say more
    kinds = ["s", "s", "ratio", "range", "pair", "pair", "pair", "count"]
    for row, name in zip(rows[1:], ("random_mixed", "larson")):
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        check(len(cells) == 9 and cells[0] == name,
              f"trace_cost: the {name} row has not 9 cells: {row}")
        for c, kind in zip(cells[1:], kinds):
            check(re.fullmatch(cell[kind], c),
                  f"trace_cost: {name}: {c!r} is not a {kind}: {row}")
    check(data["meta"]["rounds"] == 3 and data["meta"]["mode"] == "quick",
          f"JSON: meta {data['meta']}")
    for w in data["workloads"]:
        check(len(w["runs"]) == 6 and all(r["ok"] for r in w["runs"]),
              f"JSON: {w['name']}: runs not all ok: {w['runs']}")
        for r in w["runs"]:
            check(r["values"]["seconds"] > 0, f"JSON: {w['name']}: {r}")
            if r["side"] != "traced":
                continue
            check(isinstance(r["discarded_events"], int),
                  f"JSON: {w['name']} round {r['round']}: hakmem trace's "
                  f"discarded count not read: {r}")
            ev = r["events"]
            check(ev and ev["counted"] > 0 and ev["not_counted"] > 0,
                  f"JSON: {w['name']} round {r['round']}: events on both "
                  f"channels: {ev}")


def main(argv):
    try:
        if len(argv) >= 3 and argv[0] == "program":
            program([k for k in argv[1].split(",") if k], argv[2], argv[3:])
        elif len(argv) in (3, 4) and argv[0] == "compare":
            compare(argv[1], argv[2], argv[3] if len(argv) == 4 else
                    "fixed-64")
        elif len(argv) == 3 and argv[0] == "rows":
            rows(argv[1], [w for w in argv[2].split(",") if w])
        elif len(argv) == 2 and argv[0] == "ab":
            ab(argv[1])
        elif len(argv) == 2 and argv[0] == "callgrind":
            if not shutil.which("valgrind"):
                print("valgrind not installed: skipped")
                return 77
            callgrind(argv[1])
        elif len(argv) == 2 and argv[0] == "trace_cost":
            missing = [t for t in ("lttng", "lttng-sessiond")
                       if not shutil.which(t)]
            try:
                import bt2  # noqa: F401
            except ImportError:
                missing.append("python3-bt2")
            if missing:
                print(f"{', '.join(missing)} not installed: skipped")
                return 77
            trace_cost(argv[1])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
