#!/usr/bin/python3
"""Hostile input to the analysis tools: a real trace, copied and damaged
(truncated stream files, garbage bytes, garbage or truncated metadata, an
empty directory, a directory with only metadata ...), fed to

    babeltrace2 --plugin-path=PLUGINS DIR -c sink.hakmem.report
    hakmem report DIR [--format json]

Neither may crash: every run ends with an exit status below 128 and no
"Segmentation fault" / sanitizer text / Python traceback, within a
timeout. Where the input is plainly unusable (no trace at all, metadata
that is not TSDL) the exit is non-zero with a message on stderr; where the
tool does fail, it says why.

Each damaged trace is first read by babeltrace2 alone (-o dummy: its own
CTF reader, no hakmem code). Some damage makes that reader hang or abort
by itself (Babeltrace 2.0.4: truncated packetized metadata and zeroed
packet sizes loop forever, a garbage packet context trips an assertion).
Those cases are listed as babeltrace2's; for them only 'hakmem report' is
held to its promise, and only with --strict: it must still end, within the
timeout, with a clean error (it runs babeltrace2 with no guard today).

usage: hostile_trace.py --hakmem BUILD/bin/hakmem --plugin-dir DIR
                        --random-mixed BENCH --out DIR
                        [--record-only | --trace DIR | --strict]
  --record-only  record OUT/original (the ctest fixture) and stop; the other
                 modes use OUT/original when it exists, else record it
Exit status: 0 pass, 1 fail, 77 skip (no lttng session daemon).
"""
import argparse
import os
import random
import resource
import shutil
import signal
import subprocess
import sys

SKIP = 77
TIMEOUT = 20
MEM_LIMIT = 2 << 30  # babeltrace2 grows without bound on some damage
failures = []
known = []  # damage babeltrace2's own reader does not survive


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def need(tool, pkg):
    if shutil.which(tool) is None:
        print("FAIL: '%s' is not installed; install it with: apt-get install %s" % (tool, pkg))
        sys.exit(1)


def record(a):
    """A real trace of bench/random_mixed, as the brief's recipe records it."""
    path = os.path.join(a.out, "original")
    shutil.rmtree(path, ignore_errors=True)
    p = subprocess.run([a.hakmem, "trace", "-o", path, "--", a.random_mixed, "100000", "4096", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if p.returncode != 0:
        err = p.stderr.strip()
        if "sessiond" in err or "session daemon" in err:
            print("SKIP: no LTTng session daemon: " + err)
            sys.exit(SKIP)
        print("FAIL: hakmem trace failed (exit %d): %s" % (p.returncode, err))
        sys.exit(1)
    return path


def stream_dir(trace):
    for root, _dirs, files in os.walk(trace):
        if "metadata" in files:
            return root
    raise SystemExit("FAIL: no metadata under %s" % trace)


def streams(sdir):
    return sorted((f for f in os.listdir(sdir) if os.path.isfile(os.path.join(sdir, f)) and f != "metadata"),
                  key=lambda f: -os.path.getsize(os.path.join(sdir, f)))


def limits():
    os.setsid()
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def execute(argv, timeout=TIMEOUT):
    """(returncode, stdout, stderr), or None on a timeout. The whole process
    group dies on a timeout: 'hakmem report' leaves babeltrace2 behind."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limits)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return None
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def crashed(rc, out, err):
    if rc < 0 or rc >= 128:
        return True
    return any(w in out or w in err for w in ("Segmentation fault", "core dumped", "AddressSanitizer",
                                               "Traceback (most recent call last)"))


def run_tool(a, name, argv):
    """Runs one tool invocation and checks that it did not crash."""
    r = execute(argv)
    if r is None:
        fail("%s: hung (no exit within %d s): %s" % (name, TIMEOUT, " ".join(argv)))
        return None
    rc, out, err = r
    if crashed(rc, out, err):
        fail("%s: crashed (exit %d): %s\n    stderr: %s" % (name, rc, " ".join(argv), err.strip()[-800:]))
    elif rc != 0 and not err.strip():
        fail("%s: exit %d without a message on stderr" % (name, rc))
    return r


def reader_verdict(trace):
    """What babeltrace2's own CTF reader makes of it: ok, hang or crash."""
    r = execute(["babeltrace2", trace, "-o", "dummy"], timeout=10)
    if r is None:
        return "hang"
    rc, out, err = r
    if rc < 0 or rc >= 128 or "Assertion" in err:
        return "crash"
    return "ok"


# The damage that makes babeltrace2 2.0.4 itself loop or abort: what --strict runs.
STRICT_CASES = {"metadata-truncated-40", "metadata-truncated-half", "garbage-sizes-00-noindex", "garbage-packet-context"}


def analyse(a, name, trace, must_fail=False, expect=None):
    """Every tool on one damaged trace."""
    if a.strict and name not in STRICT_CASES:
        return
    if a.strict:
        # known to hang babeltrace2 2.0.4: hakmem report alone, held to a clean end
        r = run_tool(a, "%s [hakmem report, strict]" % name, [a.hakmem, "report", trace])
        print("%-5s %-32s hakmem report: %s" % ("ok" if r else "FAIL", name, "exit %d" % r[0] if r else "hung"))
        return
    verdict = reader_verdict(trace) if os.path.isdir(trace) else "ok"
    hakmem_runs = [
        ("hakmem report/json", [a.hakmem, "report", "--format", "json", trace]),
    ]
    runs = [
        ("babeltrace2", ["babeltrace2", "--plugin-path=" + a.plugin_dir, trace, "-c", "sink.hakmem.report"]),
    ] + hakmem_runs
    if verdict != "ok":
        known.append("%s: babeltrace2's own reader %ss (babeltrace2 %s -o dummy)" % (name, verdict, trace))
        if verdict == "hang" and not a.strict:
            print("known %-32s babeltrace2 itself hangs" % name)
            return
        runs = hakmem_runs[:1]
    codes = []
    for tool, argv in runs:
        r = run_tool(a, "%s [%s]" % (name, tool), argv)
        if r is None:
            continue
        rc, out, err = r
        codes.append(rc)
        if must_fail and rc == 0:
            fail("%s [%s]: exit 0 on unusable input" % (name, tool))
        if must_fail and expect and tool.startswith("hakmem") and not any(e in err for e in expect):
            fail("%s [%s]: message does not say why (want one of %s): %s" % (name, tool, expect, err.strip()))
    print("%-5s %-32s exits %s%s" % ("ok" if verdict == "ok" else "known", name, codes,
                                     "" if verdict == "ok" else "  (babeltrace2 itself %ss)" % verdict))


def variant(a, orig, name):
    v = os.path.join(a.work, name)
    shutil.rmtree(v, ignore_errors=True)
    shutil.copytree(orig, v)
    return v, stream_dir(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hakmem", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--random-mixed", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--trace", help="use this recorded trace instead of recording one")
    ap.add_argument("--record-only", action="store_true",
                    help="record the trace into OUT/original and stop (the ctest fixture)")
    ap.add_argument("--strict", action="store_true",
                    help="also require 'hakmem report' to end cleanly where babeltrace2 itself hangs")
    a = ap.parse_args()
    need("babeltrace2", "babeltrace2")
    os.makedirs(a.out, exist_ok=True)
    if a.record_only:
        need("lttng", "lttng-tools")
        print("recorded", record(a))
        return 0
    if a.trace:
        orig = a.trace
    elif os.path.isdir(os.path.join(a.out, "original")):
        orig = os.path.join(a.out, "original")  # the fixture's recording
    else:
        need("lttng", "lttng-tools")
        orig = record(a)
    rnd = random.Random(20240229)
    # hostile.trace and hostile.trace-strict run side by side: separate copies.
    a.work = os.path.join(a.out, "strict" if a.strict else "damaged")
    os.makedirs(a.work, exist_ok=True)

    # The untouched trace first: the tools must work on it, or the rest proves nothing.
    r = run_tool(a, "original", [a.hakmem, "report", orig])
    if not r or r[0] != 0 or reader_verdict(orig) != "ok":
        fail("the undamaged trace does not analyse")
        return 1
    print("ok   original")

    sdir0 = stream_dir(orig)
    big = streams(sdir0)[0]
    size = os.path.getsize(os.path.join(sdir0, big))

    # 1. Truncated stream files, at several offsets, with and without the index.
    for off in sorted({0, 7, 4097, size // 2 + 1234}):
        if off < 0 or off >= size:
            continue
        for noidx in (False, True):
            name = "truncate-%d%s" % (off, "-noindex" if noidx else "")
            v, sdir = variant(a, orig, name)
            os.truncate(os.path.join(sdir, big), off)
            if noidx:
                shutil.rmtree(os.path.join(sdir, "index"), ignore_errors=True)
            analyse(a, name, v)
            shutil.rmtree(v)

    # 2. Garbage bytes over parts of a stream: the packet header magic, the
    #    packet context, event payloads, a random spray, all of it.
    def over(sdir, at, data):
        with open(os.path.join(sdir, big), "r+b") as f:
            f.seek(at)
            f.write(data)

    cases = [
        ("garbage-magic", lambda s: over(s, 0, b"\xde\xad\xbe\xef")),
        ("garbage-packet-context", lambda s: over(s, 40, bytes(rnd.randrange(256) for _ in range(64)))),
        ("garbage-sizes-ff", lambda s: over(s, 16, b"\xff" * 48)),
        ("garbage-sizes-00", lambda s: over(s, 16, b"\x00" * 48)),
        ("garbage-middle", lambda s: over(s, size // 2, bytes(rnd.randrange(256) for _ in range(4096)))),
        ("garbage-all", lambda s: over(s, 0, bytes(rnd.randrange(256) for _ in range(size)))),
    ]
    for i in range(1):
        offs = [rnd.randrange(size) for _ in range(64)]
        cases.append(("garbage-spray-%d" % i,
                      lambda s, offs=offs: [over(s, o, bytes([rnd.randrange(256)])) for o in offs]))
    for name, mutate in cases:
        for noidx in (False, True):
            n = name + ("-noindex" if noidx else "")
            v, sdir = variant(a, orig, n)
            mutate(sdir)
            if noidx:
                shutil.rmtree(os.path.join(sdir, "index"), ignore_errors=True)
            analyse(a, n, v)
            shutil.rmtree(v)

    # Index files that lie about the stream.
    v, sdir = variant(a, orig, "garbage-index")
    for f in os.listdir(os.path.join(sdir, "index")):
        p = os.path.join(sdir, "index", f)
        with open(p, "r+b") as fh:
            n = os.path.getsize(p)
            fh.seek(min(32, n // 2))
            fh.write(bytes(rnd.randrange(256) for _ in range(max(0, n - 32))))
    analyse(a, "garbage-index", v)
    shutil.rmtree(v)

    # 3. Metadata: garbage, truncated, empty, a syntax error, a packetized
    #    header with nothing after it.
    meta = os.path.join(sdir0, "metadata")
    msize = os.path.getsize(meta)
    meta_cases = [
        ("metadata-garbage", lambda m: open(m, "wb").write(bytes(rnd.randrange(256) for _ in range(msize))), True),
        ("metadata-empty", lambda m: open(m, "wb").close(), True),
        ("metadata-text-garbage", lambda m: open(m, "w").write("/* CTF 1.8 */\nthis is { not ; TSDL\n"), True),
        # bytes that are not UTF-8, which babeltrace2 quotes in its error
        ("metadata-not-utf8", lambda m: open(m, "wb").write(
            b"/* CTF 1.8 */\ntrace { major = 1; minor = 8; byte_order = le; \xff\xfe\xa7 = 1; };\n"), True),
        ("metadata-truncated-40", lambda m: os.truncate(m, 40), True),
        ("metadata-truncated-half", lambda m: os.truncate(m, msize // 2), False),
        ("metadata-truncated-end", lambda m: os.truncate(m, msize - 100), False),
        ("metadata-spray", lambda m: spray(m, rnd, msize), False),
    ]
    for name, mutate, must in meta_cases:
        v, sdir = variant(a, orig, name)
        mutate(os.path.join(sdir, "metadata"))
        analyse(a, name, v, must_fail=must, expect=["corrupt", "truncated", "could not analyse", "no CTF"])
        shutil.rmtree(v)

    # 4. Directories with no trace in them.
    empty = os.path.join(a.work, "empty")
    shutil.rmtree(empty, ignore_errors=True)
    os.makedirs(empty)
    analyse(a, "empty-dir", empty, must_fail=True, expect=["no CTF", "metadata"])
    os.rmdir(empty)

    only = os.path.join(a.work, "only-metadata")
    shutil.rmtree(only, ignore_errors=True)
    os.makedirs(only)
    shutil.copy(meta, os.path.join(only, "metadata"))
    analyse(a, "only-metadata", only)
    shutil.rmtree(only)

    nometa, sdir = variant(a, orig, "streams-without-metadata")
    os.unlink(os.path.join(sdir, "metadata"))
    analyse(a, "streams-without-metadata", nometa, must_fail=True, expect=["no CTF", "metadata"])
    shutil.rmtree(nometa)

    analyse(a, "nonexistent-dir", os.path.join(a.work, "does-not-exist"), must_fail=True,
            expect=["no such", "not"])
    afile = os.path.join(a.work, "a-file")
    with open(afile, "wb") as f:
        f.write(b"\x00" * 100)
    analyse(a, "a-file", afile, must_fail=True, expect=["no such", "not", "no CTF"])
    os.unlink(afile)

    # A stream file that is empty, and one that is a directory.
    v, sdir = variant(a, orig, "empty-stream")
    open(os.path.join(sdir, "hakmem_9"), "wb").close()
    analyse(a, "empty-extra-stream", v)
    shutil.rmtree(v)

    if known:
        print("babeltrace2's own CTF reader (not hakmem) does not survive %d of these:" % len(known))
        for k in known:
            print("  " + k)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("PASS")
    return 0


def spray(path, rnd, n):
    with open(path, "r+b") as f:
        for _ in range(32):
            f.seek(rnd.randrange(n))
            f.write(bytes([rnd.randrange(256)]))


if __name__ == "__main__":
    sys.exit(main())
