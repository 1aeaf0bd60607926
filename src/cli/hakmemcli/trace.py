"""hakmem trace: run a command under an LTTng session that records why
memory faults, and leave the trace behind."""

import os
import signal
import subprocess
import sys
import time

from . import lttng as lt
from . import run
from .common import ArgParser, check_command, die, exit_status, note, preload, split_command

HELP = """usage: hakmem trace [-o DIR] [--snapshot] [--relay net://HOST[:CTRL[:DATA]]] [--live]
                   [--per-call] [--check=off|fast|full] [--report] -- CMD [ARGS...]

Runs CMD with libhakmem.so preloaded under a new LTTng session, then
prints where the trace is and how many events were lost. The session has
two channels; every event carries vpid, vtid and procname:
  hakmem          the events that can claim page faults, with the perf
                  page-fault counter (a read(2) per event): superslab_mmap,
                  large_mmap, large_munmap, refill when new_pages > 0,
                  process_stats, heap_error, and tick (a thread's count at
                  most every 5 ms after one of its events, and at its exit)
  hakmem_nofault  the others, without the counter: refill when
                  new_pages == 0, slab_empty, slab_reuse, slab_purge,
                  superslab_reuse, superslab_munmap, callsite (each
                  distinct stack of a malloc that touched fresh pages,
                  once per process), prewarm (each HAKMEM_PREWARM entry,
                  done before tracing started), malloc and free
                  (--per-call); and
                  where each binary was loaded (lttng_ust_statedump:* and
                  lttng_ust_dl:*), so the report can name those call
                  sites afterwards
CMD's exit status is passed through; SIGINT and SIGTERM are forwarded to
CMD and the session is still closed cleanly. Forked children are traced
under their own pid. Without permission for perf counters the session
records without them and the report falls back to the allocator's counts.

  -o DIR        write the trace to DIR (default ./hakmem-trace-DATE-TIME)
  --snapshot    flight-recorder mode: events stay in memory; a snapshot is
                written on the first hakmem:heap_error (an LTTng trigger) and
                once more when CMD exits
  --relay URL   stream to lttng-relayd at URL instead of writing locally
  --live        a live session (implies --relay net://127.0.0.1 when no
                --relay is given; a local lttng-relayd is started if needed);
                watch it with: babeltrace2 net://HOST/host/HOSTNAME/SESSION
  --per-call    also record hakmem:malloc and hakmem:free for every call
                (DEBUG loglevel; large traces, larger hakmem_nofault buffers)
  --check=LEVEL ptr_track level for the traced run (default fast)
  --report      run 'hakmem report' on the trace afterwards

Needs lttng-tools and liblttng-ust1. lttng-sessiond is started if none runs.
"""


def destroy(name):
    # A traced process killed in the middle of writing an event leaves a
    # sub-buffer that never completes; lttng destroy would wait forever.
    try:
        subprocess.run(["lttng", "destroy", name], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                       timeout=10)
    except subprocess.TimeoutExpired:
        note("WARNING: 'lttng destroy %s' did not finish in 10 s (a traced process probably died while "
             "writing an event); the trace may be incomplete" % name)


def parse(args):
    opts, cmd = split_command(args)
    ap = ArgParser("trace", HELP)
    ap.add_argument("-o", "--output", dest="out")
    ap.add_argument("--snapshot", action="store_true")
    ap.add_argument("--relay")
    ap.add_argument("--live", action="store_true")
    ap.add_argument("--per-call", action="store_true")
    ap.add_argument("--check", type=run.parse_check)
    ap.add_argument("--report", action="store_true")
    ns = ap.parse(opts)
    if ns is None:
        sys.exit(0)
    o = vars(ns)
    if o["snapshot"] and o["live"]:
        die("--snapshot and --live do not combine: a live session streams every event")
    return o, cmd


def ensure_local_relayd():
    if lt.relay_reachable("127.0.0.1", 5342, timeout=0.5):
        return
    note("no lttng-relayd on 127.0.0.1; starting one (lttng-relayd -d) for --live")
    subprocess.run(["lttng-relayd", "-d"], check=False)
    for _ in range(50):
        if lt.relay_reachable("127.0.0.1", 5342, timeout=0.2):
            return
        time.sleep(0.1)
    die("could not start lttng-relayd for --live; start it yourself ('lttng-relayd -d') or pass --relay")


def create_session(name, o, out):
    args = ["create", name]
    if o["live"]:
        args.append("--live")
    if o["snapshot"]:
        args.append("--snapshot")
    if o["relay"]:
        args.append("--set-url=" + o["relay"])
    else:
        args.append("--output=" + out)
    lt.lttng(*args)


# Two channels (docs/architecture.md, "Two channels: the fault counter
# where it counts"). LTTng-UST reads the perf page-fault counter with a
# read(2) on every event of a channel that has it (~2 us, against ~0.3 us
# for an event without it). Only the events that can claim faults need it:
# a refill that touched new pages, a SuperSlab or large map, and the
# per-thread hakmem:tick. The others, most of the events, go to a channel
# without it; babeltrace2 merges the two in time order.
COUNTED_CHANNEL = "hakmem"
PLAIN_CHANNEL = "hakmem_nofault"
# Every hakmem event is on exactly one channel; tests/trace/channels.sh
# checks these lists against trace/hakmem_tp.h. Named one by one: lttng
# 2.13's sessiond crashes listing a session whose wildcard rule has an
# --exclude, and `lttng list` is how the discarded events are counted.
COUNTED_EVENTS = ("hakmem:superslab_mmap", "hakmem:large_mmap", "hakmem:large_munmap", "hakmem:process_stats",
                  "hakmem:heap_error", "hakmem:tick")
# Events that never claim a fault (docs/report-rules.md, "Attribution").
PLAIN_EVENTS = ("hakmem:slab_empty", "hakmem:slab_reuse", "hakmem:slab_purge", "hakmem:superslab_reuse",
                "hakmem:superslab_munmap", "hakmem:callsite", "hakmem:prewarm", "hakmem:malloc",
                "hakmem:free")


def channel_events():
    """(channel, events, filter) of every event rule. A refill goes to the
    counted channel when it touched new pages."""
    return [
        (COUNTED_CHANNEL, ",".join(COUNTED_EVENTS), None),
        (COUNTED_CHANNEL, "hakmem:refill", "new_pages > 0"),
        (PLAIN_CHANNEL, "hakmem:refill", "new_pages == 0"),
        (PLAIN_CHANNEL, ",".join(PLAIN_EVENTS), None),
        # Where each binary was loaded, with its build id and debug link:
        # the state dump at start-up, and dlopen/dlclose after it
        # (liblttng-ust-dl, preloaded). The report maps call-site
        # addresses with them.
        (PLAIN_CHANNEL, "lttng_ust_statedump:*,lttng_ust_dl:*", None),
    ]


def setup_channel(o, name):
    # Sized so that the bundled benchmarks lose nothing: ~50 bytes an
    # event, per-uid buffers shared by every traced process of the user.
    # Every command names the session: another run's 'lttng create' changes
    # the "current" one.
    sizes = {COUNTED_CHANNEL: ("2M", 8), PLAIN_CHANNEL: ("8M", 16) if o["per_call"] else ("2M", 8)}
    for channel, (subbuf, count) in sizes.items():
        args = ["enable-channel", "-u", "-s", name, "--subbuf-size=" + subbuf, "--num-subbuf=%d" % count]
        if o["snapshot"]:
            args.append("--overwrite")
        lt.lttng(*(args + [channel]))
        lt.lttng("add-context", "-u", "-s", name, "-c", channel, "-t", "vpid", "-t", "vtid", "-t", "procname")
    for channel, events, flt in channel_events():
        args = ["enable-event", "-u", "-s", name, "-c", channel, events]
        if flt:
            args += ["--filter", flt]
        lt.lttng(*args)
    rc, out = lt.lttng("add-context", "-u", "-s", name, "-c", COUNTED_CHANNEL, "-t", "perf:thread:page-fault",
                       check=False)
    if rc != 0:
        note("perf page-fault counters are not available (%s); tracing without them. The report will "
             "fall back to the allocator's own counts. Lower /proc/sys/kernel/perf_event_paranoid "
             "(e.g. to 2) to get them." % (out.strip().splitlines() or ["no reason given"])[-1])


class Forwarder:
    """SIGINT/SIGTERM go to CMD; we keep waiting so the session closes cleanly."""

    def __init__(self):
        self.child = None
        self.old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.old[sig] = signal.signal(sig, self.forward)
        return self

    def forward(self, sig, frame):
        if self.child and self.child.poll() is None:
            self.child.send_signal(sig)

    def __exit__(self, *exc):
        for sig, h in self.old.items():
            signal.signal(sig, h)


def main(layout, args):
    o, cmd = parse(args)
    lt.require_tools()
    env = dict(os.environ)
    check_command(cmd, env)
    lib = layout.library(False)
    if not os.path.exists(layout.provider()):
        die("the tracepoint provider %s is missing; build hakmem with -DHAKMEM_TRACE=ON (the default) "
            "and liblttng-ust-dev installed" % layout.provider())

    if o["live"] and not o["relay"]:
        ensure_local_relayd()
        o["relay"] = "net://127.0.0.1"
    if o["relay"]:
        lt.require_relay(o["relay"])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(o["out"] or "hakmem-trace-" + stamp)
    if not o["relay"] and os.path.isdir(out) and os.listdir(out):
        die("%s exists and is not empty; choose another directory with -o" % out)

    # From here until CMD runs, a SIGINT/SIGTERM is held and then passed on,
    # so a session is never left recording behind us.
    pending = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, f: pending.append(s))
    lt.ensure_sessiond()
    name = "hakmem-%d-%s" % (os.getpid(), stamp)
    trigger = name + "-heap-error"
    create_session(name, o, out)
    status = 1
    try:
        setup_channel(o, name)
        if o["snapshot"]:
            lt.lttng("add-trigger", "--name=" + trigger, "--condition=event-rule-matches", "--type=user",
                     "--name=hakmem:heap_error", "--action=snapshot-session", name,
                     "--rate-policy=once-after:1")
        lt.lttng("start", name)

        fork_lib = "liblttng-ust-fork.so.1"
        preload(env, lib, fork_lib, "liblttng-ust-dl.so.1")
        env["HAKMEM_TRACE"] = "1"
        env["HAKMEM_TP_PATH"] = layout.provider()
        if o["per_call"]:
            env["HAKMEM_TRACE_PER_CALL"] = "1"
        if o["check"]:
            env["HAKMEM_CHECK"] = o["check"]
        note("tracing session %s: %s" % (name, " ".join(cmd)))
        with Forwarder() as fw:
            try:
                fw.child = subprocess.Popen(cmd, env=env)
            except OSError as e:
                die("cannot run %s: %s" % (cmd[0], e.strerror), 126)
            for sig in pending:
                fw.child.send_signal(sig)
            while True:
                try:
                    rc = fw.child.wait()
                    break
                except InterruptedError:
                    continue
        status = exit_status(rc)
        if o["snapshot"]:
            lt.lttng("snapshot", "record", "-s", name)
        lt.lttng("stop", name)
        lost, packets = lt.discarded_events(name)
    finally:
        if o["snapshot"]:
            lt.lttng("remove-trigger", trigger, check=False)
        destroy(name)

    if lost is None:
        note("could not read the discarded-event count")
    elif lost or packets:
        note("WARNING: %d events discarded%s; counts in the report are lower bounds. Rerun with fewer "
             "events (drop --per-call) or a longer-lived consumer." % (
                 lost, (" and %d packets lost" % packets) if packets else ""))
    else:
        note("0 events discarded")
    if o["relay"]:
        note("trace streamed to lttng-relayd at %s (under its output directory, host %s, session %s)" % (
            o["relay"], os.uname().nodename, name))
    else:
        note("trace written to %s" % out)
        print(out)
    if o["report"] and o["relay"]:
        note("--report skipped: the trace is on the relayd host; run 'hakmem report' there")
    elif o["report"]:
        from . import report
        report.main(layout, [out])
    return status
