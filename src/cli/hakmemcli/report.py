"""hakmem report: analyse traces with the sink.hakmem.report Babeltrace2
component, and optionally render the HTML report."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from . import tuneresult
from .common import ArgParser, die, note

HELP = """usage: hakmem report TRACE... [--format text|json] [-o FILE] [--html FILE]
                    [--pid PID] [--process NAME] [--top N]
                    [--storm-window-ms N] [--storm-threshold X] [--storm-min-faults N]
                    [--timeout S] [--tune FILE] [--debug-dir DIR]

Analyses one or more LTTng traces recorded by 'hakmem trace' (a trace
directory, a snapshot directory, or an lttng-relayd output tree holding
several hosts) and says why page faults dominate and what to change.

  --format F     text (default) or json (the input of viz)
  -o FILE        write the report to FILE instead of stdout
  --html FILE    also render a self-contained HTML report to FILE
  --pid PID      only the process PID (all its images, when it exec'd)
  --process NAME only processes whose command name is NAME (as ps shows it)
  --top N        show the N processes with the most faults in full, fold the
                 rest into one line (default: fold those under 5% of all
                 faults and under 1000 faults; --pid and --process fold none)
  --storm-window-ms N, --storm-threshold X
                 storm detection: windows of N ms (1 to 3600000) whose fault
                 rate is more than X (>= 1) times the run's median
                 (defaults 10 and 4)
  --storm-min-faults N
                 a storm holds at least N faults in all (default 256)
  --timeout S    give up on babeltrace2 after S seconds (default: 10 s plus
                 1 s per MiB of trace; 0 waits for ever). Babeltrace 2.0's
                 CTF reader can loop for ever on a damaged trace.
  --tune FILE    show what 'hakmem tune' measured (its --json FILE, or
                 tune.json in its --keep directory) beside each estimate
  --debug-dir DIR
                 where to look for separate debug information when naming
                 call sites, before /usr/lib/debug: by build id
                 (DIR/.build-id/xx/yyyy.debug, as objcopy --only-keep-debug
                 or a -dbgsym package lays it out) and by .gnu_debuglink
                 (DIR/BINARY'S-DIRECTORY/LINK-NAME). For stripped binaries
                 whose debug files are kept elsewhere
"""


def scan_trace(path):
    """The metadata files below a trace directory, and its size in bytes."""
    metadata, total = [], 0
    for root, _dirs, files in os.walk(path):
        if "metadata" in files:
            metadata.append(os.path.join(root, "metadata"))
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return metadata, total


# Packetized CTF metadata (what LTTng writes): a 37-byte header per packet.
METADATA_MAGIC = 0x75D11D57
METADATA_HEADER = 37


def metadata_problem(path):
    """Why a packetized metadata file is damaged, or None. babeltrace2 2.0
    loops for ever on a truncated one instead of failing, so we look first."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "cannot read it (%s)" % e.strerror
    if len(data) < 4:
        return "it is empty or truncated (%d bytes)" % len(data)
    magic_le = int.from_bytes(data[:4], "little")
    magic_be = int.from_bytes(data[:4], "big")
    if METADATA_MAGIC not in (magic_le, magic_be):
        return None  # plain-text TSDL (or garbage): babeltrace2 reports it itself
    order = "little" if magic_le == METADATA_MAGIC else "big"
    off, n = 0, 0
    while off < len(data):
        if len(data) - off < METADATA_HEADER:
            return "it is truncated: packet %d at byte %d has a partial header" % (n, off)
        if int.from_bytes(data[off:off + 4], order) != METADATA_MAGIC:
            return "packet %d at byte %d has no packet magic (corrupt)" % (n, off)
        content = int.from_bytes(data[off + 24:off + 28], order)
        size = int.from_bytes(data[off + 28:off + 32], order)
        if size == 0 or size % 8 or content > size or content < METADATA_HEADER * 8:
            return "packet %d at byte %d has impossible sizes (content %d bits, packet %d bits): corrupt" % (
                n, off, content, size)
        if off + size // 8 > len(data):
            return "it is truncated: packet %d at byte %d needs %d bytes, the file ends after %d" % (
                n, off, size // 8, len(data) - off)
        off += size // 8
        n += 1
    return None


def run_sink(layout, traces, fmt, out, extra, timeout, size):
    plugin_dir = layout.plugin_dir()
    if not os.path.exists(os.path.join(plugin_dir, "babeltrace-plugin-hakmem.so")):
        die("the analysis plugin is missing from %s; build hakmem with libbabeltrace2-dev installed" % plugin_dir)
    params = ['format="%s"' % fmt]
    if out:
        params.append('path="%s"' % quoted(out))
    params += extra
    cmd = ["babeltrace2", "--plugin-path=" + plugin_dir] + traces + \
          ["-c", "sink.hakmem.report", "-p", ",".join(params)]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        _out, err = p.communicate(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        die("could not analyse %s: babeltrace2 was still reading after %d s, which for %.1f MiB of trace means "
            "it is stuck: Babeltrace 2.0's CTF reader loops for ever on some corrupt or truncated packets "
            "(a zero packet size, a stream cut mid-packet without its index). Check the trace with "
            "'babeltrace2 %s -o dummy'; if the trace is just large, raise the limit with --timeout SECONDS "
            "(0: none)" % (" ".join(traces), timeout, size / 2**20, " ".join(traces)), 1)
    # babeltrace2 quotes the damaged input, which need not be UTF-8.
    err = err.decode("utf-8", errors="replace")
    if p.returncode != 0:
        msg = err.strip().splitlines()
        why = next((l for l in msg if "ERROR" in l or "rror" in l), msg[-1] if msg else "")
        if p.returncode < 0:
            why = "killed by signal %d" % -p.returncode
        die("could not analyse %s: babeltrace2 failed (%s). The trace may be truncated or corrupt "
            "(for example the traced process or the session daemon was killed mid-write). babeltrace2 said:\n  %s"
            % (" ".join(traces), "exit %d" % p.returncode if p.returncode > 0 else why,
               "\n  ".join(msg[-8:]) if msg else why), 1)
    if err:
        sys.stderr.write(err)


def run_sink_tuned(layout, traces, fmt, out, extra, timeout, size, tune):
    """run_sink, with the measured figures of a hakmem tune result added."""
    if tune is None:
        return run_sink(layout, traces, fmt, out, extra, timeout, size)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "report." + fmt)
        run_sink(layout, traces, fmt, raw, extra, timeout, size)
        with open(raw, encoding="utf-8") as f:
            text = f.read()
    if fmt == "json":
        text = json.dumps(tuneresult.annotate_json(json.loads(text), tune), indent=1) + "\n"
    else:
        text = tuneresult.annotate_text(text, tune)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def number(text, kind, name, expected, lo, hi):
    try:
        v = kind(text)
    except ValueError:
        v = None
    if v is None or v != v or not (lo <= v <= hi):
        die("%s %s: expected %s" % (name, text, expected))
    return v


def checked(name, kind, expected, lo, hi):
    """An argparse type: a number from lo to hi, or the usage error
    'NAME VALUE: expected EXPECTED'."""
    return lambda text: number(text, kind, name, expected, lo, hi)


def process_name(text):
    if not text:
        die("--process needs a command name as ps shows it, e.g. python3")
    return text


def debug_dir(text):
    if not os.path.isdir(text):
        die("--debug-dir %s: no such directory; pass the directory that holds .build-id/ (as "
            "/usr/lib/debug does)" % text)
    return os.path.abspath(text)


def output_format(text):
    if text not in ("text", "json"):
        die("--format %s: expected text or json" % text)
    return text


def parser():
    ap = ArgParser("report", HELP)
    ap.add_argument("traces", nargs="*")
    ap.add_argument("--format", type=output_format, default="text")
    ap.add_argument("-o", "--output")
    ap.add_argument("--html")
    ap.add_argument("--storm-window-ms", type=checked("--storm-window-ms", int,
                                                      "a whole number of ms from 1 to 3600000", 1, 3600000))
    ap.add_argument("--storm-threshold", type=checked("--storm-threshold", float, "a finite number >= 1, e.g. 4",
                                                      1.0, 1e12))
    ap.add_argument("--storm-min-faults", type=checked("--storm-min-faults", int,
                                                       "a whole number of faults from 1 to 1000000000", 1, 10**9))
    ap.add_argument("--pid", type=checked("--pid", int, "a process id (a whole number from 0 to 2147483647)",
                                          0, 2**31 - 1))
    ap.add_argument("--process", type=process_name)
    ap.add_argument("--top", type=checked("--top", int, "a number of processes from 1 to 1000000000", 1, 10**9))
    ap.add_argument("--tune", type=tuneresult.load)
    ap.add_argument("--timeout", type=checked("--timeout", float, "seconds, 0 for none", 0, 1e9))
    ap.add_argument("--debug-dir", type=debug_dir)
    return ap


def quoted(text):
    """TEXT inside a babeltrace2 -p string literal."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def sink_params(o):
    """The options that are sink.hakmem.report parameters, as -p items."""
    extra = []
    if o.storm_window_ms is not None:
        extra.append("storm-window-ms=%d" % o.storm_window_ms)
    if o.storm_threshold is not None:
        extra.append("storm-threshold=%r" % o.storm_threshold)
    if o.storm_min_faults is not None:
        extra.append("storm-min-faults=%d" % o.storm_min_faults)
    if o.pid is not None:
        extra.append("pid=%d" % o.pid)
    if o.process is not None:
        extra.append('process="%s"' % quoted(o.process))
    if o.top is not None:
        extra.append("top=%d" % o.top)
    if o.debug_dir is not None:
        extra.append('debug-dir="%s"' % quoted(o.debug_dir))
    return extra


def main(layout, args):
    o = parser().parse(args, positionals=True)
    if o is None:
        return 0
    traces, fmt, out, html, tune, timeout = o.traces, o.format, o.output, o.html, o.tune, o.timeout
    extra = sink_params(o)
    if not traces:
        die("no trace given; usage: hakmem report TRACE... (see hakmem report --help)")
    if shutil.which("babeltrace2") is None:
        die("babeltrace2 not found; install it with: apt-get install babeltrace2")
    size = 0
    for t in traces:
        if not os.path.isdir(t):
            die("%s: no such trace directory" % t)
        metadata, bytes_ = scan_trace(t)
        if not metadata:
            die("%s holds no CTF trace (no 'metadata' file below it); pass the directory 'hakmem trace' "
                "printed" % t)
        for m in metadata:
            why = metadata_problem(m)
            if why:
                die("could not analyse %s: its metadata file %s is damaged: %s. The trace cannot be "
                    "read; record it again (a snapshot, or a session stopped with 'lttng stop' before the "
                    "copy, gives whole files)" % (t, m, why), 1)
        size += bytes_
    if timeout is None:
        timeout = 10 + size / 2**20
    run_sink_tuned(layout, traces, fmt, out, extra, timeout, size, tune)
    if html:
        with tempfile.TemporaryDirectory() as tmp:
            js = os.path.join(tmp, "report.json")
            run_sink_tuned(layout, traces, "json", js, extra, timeout, size, tune)
            render = os.path.join(layout.viz_dir(), "render.py")
            if not os.path.exists(render):
                die("the HTML renderer is missing (%s)" % render)
            p = subprocess.run(["/usr/bin/python3", render, js, "-o", html])
            if p.returncode != 0:
                die("rendering %s failed" % html, 1)
            note("HTML report written to %s" % html)
    return 0
