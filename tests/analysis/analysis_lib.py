"""What every analysis case uses: running commands, checking figures, the
recording sessions (Ctx) and the report's JSON."""
import json
import os
import re
import resource
import shutil
import statistics
import subprocess

SKIP = 77


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("ok:", what)


def run(cmd, env=None, timeout=300, check_rc=True):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, errors="replace", timeout=timeout)
    if check_rc and p.returncode != 0:
        raise Fail("%s exited %d\nstdout: %s\nstderr: %s" % (" ".join(cmd), p.returncode,
                                                            p.stdout[-2000:], p.stderr[-2000:]))
    return p


class Ctx:
    def __init__(self, a):
        self.a = a
        self.out = os.path.abspath(a.out)
        # Session names must be unique: ctest -j runs cases side by side,
        # and other users may share the session daemon.
        self.prefix = "hkana-%s-%d" % (a.case, os.getpid())
        self.sessions = []
        # Every hakmem process of this uid that runs meanwhile would be
        # recorded too (per-UID buffers): the workloads run under names of
        # their own, and the sessions record those names only.
        bindir = os.path.join(self.out, "bin-%s" % a.case)
        shutil.rmtree(bindir, ignore_errors=True)
        os.makedirs(bindir)
        tag = "hk%d" % (os.getpid() % 100000)
        self.rm_name, self.wl_name = tag + "rm", tag + "wl"  # procnames: at most 15 chars
        self.random_mixed = os.path.join(bindir, self.rm_name)
        self.workload = os.path.join(bindir, self.wl_name)
        os.symlink(os.path.abspath(a.random_mixed), self.random_mixed)
        os.symlink(os.path.abspath(a.workload), self.workload)

    # ---- recording ----
    def record(self, name, cmd, env=None, perf=True, per_call=False, events="hakmem:*",
               subbuf="4M", nsubbuf="8", statedump=False):
        sess = "%s-%s" % (self.prefix, name)
        path = os.path.join(self.out, name)
        shutil.rmtree(path, ignore_errors=True)
        run(["lttng", "create", sess, "--output=" + path])
        self.sessions.append(sess)
        try:
            run(["lttng", "enable-channel", "-s", sess, "-u", "--subbuf-size=" + subbuf,
                 "--num-subbuf=" + nsubbuf, "ch"])
            run(["lttng", "enable-event", "-s", sess, "-u", "-c", "ch", events, "--filter",
                 '$ctx.procname == "%s" || $ctx.procname == "%s"' % (self.rm_name, self.wl_name)])
            if statedump:
                # where the binaries were loaded, for the call sites (the
                # state dump comes from LTTng-UST's thread, "NAME-ust")
                run(["lttng", "enable-event", "-s", sess, "-u", "-c", "ch", "lttng_ust_statedump:*"])
            ctx = ["-t", "vpid", "-t", "vtid", "-t", "procname"]
            if perf:
                ctx += ["-t", "perf:thread:page-fault"]
            run(["lttng", "add-context", "-s", sess, "-u", "-c", "ch"] + ctx)
            run(["lttng", "start", sess])
            e = {"HAKMEM_TRACE": "1", "LD_PRELOAD": self.a.libhakmem}
            if per_call:
                e["HAKMEM_TRACE_PER_CALL"] = "1"
            e.update(env or {})
            if cmd and isinstance(cmd[0], list):
                # several processes at once, each started from here: a
                # traced parent would fork without liblttng-ust-fork.so
                full = dict(os.environ)
                full.update(e)
                procs = [subprocess.Popen(x, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          universal_newlines=True, errors="replace") for x in cmd]
                outs = [q.communicate(timeout=600) for q in procs]
                for q, x, o in zip(procs, cmd, outs):
                    if q.returncode:
                        raise Fail("%s exited %d: %s" % (" ".join(x), q.returncode, o[1][-2000:]))
                p = None
            else:
                p = run(cmd, env=e, timeout=600)
        finally:
            run(["lttng", "stop", sess], check_rc=False)
            run(["lttng", "destroy", sess], check_rc=False)
            self.sessions.remove(sess)
        return path, p

    def cleanup(self):
        for s in list(self.sessions):
            run(["lttng", "destroy", s], check_rc=False)

    # ---- analysis ----
    def bt(self, traces, params=None, sink="sink.hakmem.report", timeout=600):
        cmd = ["babeltrace2", "--plugin-path=" + self.a.plugin_dir] + list(traces) + ["-c", sink]
        if params:
            cmd += ["-p", params]
        return run(cmd, timeout=timeout, check_rc=False)

    def report_json(self, traces, extra=""):
        p = self.bt(traces, 'format="json"' + extra)
        if p.returncode != 0:
            raise Fail("babeltrace2 exited %d: %s" % (p.returncode, p.stderr[-3000:]))
        try:
            d = json.loads(p.stdout)
        except ValueError as e:
            raise Fail("invalid JSON (%s): %s" % (e, p.stdout[:500]))
        check_keys(d)
        return d


def check_keys(d):
    """docs/reference.md: the keys other tools rely on, plus the viz ones."""
    for k in ("traces", "events", "lost_events", "processes"):
        check(k in d, "top-level key %s" % k)
    for p in d["processes"]:
        for k in ("pid", "procname", "host", "faults", "superslabs", "refill", "slabs", "storms",
                  "heap_errors", "recommendations", "timeline", "superslab_lifecycle", "prewarm"):
            if k not in p:
                raise Fail("process key %s missing" % k)
        f = p["faults"]
        for k in ("total", "allocator", "other", "by_cause", "by_class", "source"):
            if k not in f:
                raise Fail("faults.%s missing" % k)
        if set(f["by_cause"]) != {"superslab_carve", "refault_after_purge", "large"}:
            raise Fail("faults.by_cause keys: %s" % sorted(f["by_cause"]))
        if f["source"] not in ("perf-context", "allocator-counts"):
            raise Fail("faults.source = %r" % f["source"])
        for k in f["by_class"]:
            if not k.isdigit():
                raise Fail("by_class key %r is not a byte count" % k)
        for k in ("mapped", "reused", "unmapped", "churn"):
            if k not in p["superslabs"]:
                raise Fail("superslabs.%s missing" % k)
        for k in ("count", "from_freelist", "from_carve", "new_slab"):
            if k not in p["refill"]:
                raise Fail("refill.%s missing" % k)
        for k in ("empty", "reused", "class_changes"):
            if k not in p["slabs"]:
                raise Fail("slabs.%s missing" % k)
        for s in p["storms"]:
            for k in ("begin_ns", "end_ns", "faults", "cause"):
                if k not in s:
                    raise Fail("storms[].%s missing" % k)
        for h in p["heap_errors"]:
            for k in ("kind", "addr", "ts_ns"):
                if k not in h:
                    raise Fail("heap_errors[].%s missing" % k)
        for r in p["recommendations"]:
            for k in ("action", "env", "saves_faults", "why", "rule", "effect", "claimed_faults", "claim"):
                if k not in r:
                    raise Fail("recommendations[].%s missing" % k)
            if not re.match(r"^HAKMEM_[A-Z_]+=\S+( HAKMEM_[A-Z_]+=\S+)*$", r["env"]):
                raise Fail("recommendation env %r is not space-separated HAKMEM_*=value settings" % r["env"])
            # "moves": the faults happen at start-up instead; only "saves" lowers the total
            if r["effect"] not in ("saves", "moves"):
                raise Fail("recommendation effect %r" % r["effect"])
            if r["saves_faults"] != (r["claimed_faults"] if r["effect"] == "saves" else 0):
                raise Fail("saves_faults %d for effect %s, claimed %d" % (r["saves_faults"], r["effect"], r["claimed_faults"]))
            if not r["claim"].startswith("%s ~%d faults" % (r["effect"], r["claimed_faults"])):
                raise Fail("claim %r does not say what effect and claimed_faults say" % r["claim"])
        if len(p["timeline"]) > 2000 or len(p["superslab_lifecycle"]) > 500:
            raise Fail("timeline/lifecycle not bounded")
        for t in p["timeline"]:
            for k in ("t_ns", "faults", "allocator_faults"):
                if k not in t:
                    raise Fail("timeline[].%s missing" % k)
        for l in p["superslab_lifecycle"]:
            for k in ("ss", "pool", "map_ns", "unmap_ns", "reuses"):
                if k not in l:
                    raise Fail("superslab_lifecycle[].%s missing" % k)
        if f["allocator"] + f["other"] != f["total"]:
            raise Fail("allocator %d + other %d != total %d" % (f["allocator"], f["other"], f["total"]))
        if sum(f["by_cause"].values()) != f["allocator"]:
            raise Fail("by_cause does not sum to allocator")
    print("ok: JSON keys and allocator + other == total for %d process(es)" % len(d["processes"]))


def main_proc(d, procname):
    ps = [p for p in d["processes"] if p["procname"] == procname]
    check(len(ps) == 1, "one process named %s" % procname)
    return ps[0]


def rec(p, rule):
    rs = [r for r in p["recommendations"] if r.get("rule") == rule]
    return rs[0] if rs else None


def env_of(setting):
    return dict(kv.split("=", 1) for kv in setting.split())


def minflt(cmd, env, libhakmem):
    """The whole process's minor faults (wait4), untraced."""
    e = dict(os.environ)
    e.update(env)
    e["LD_PRELOAD"] = libhakmem
    e.pop("HAKMEM_TRACE", None)
    p = subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status:
        raise Fail("%s exited with status %d" % (" ".join(cmd), status))
    return ru.ru_minflt


def check_claim(c, cmd, base, r, runs=3):
    """The recommendation applied to the same program: a "saves" claim
    must save at least 70% of its faults in whole-process minor faults
    (median of alternating runs), and no setting may raise them by more
    than 2% (docs/report-rules.md, "What a recommendation claims")."""
    a, b = [], []
    for _ in range(runs):
        a.append(minflt(cmd, base, c.a.libhakmem))
        with_setting = dict(base)
        with_setting.update(env_of(r["env"]))
        b.append(minflt(cmd, with_setting, c.a.libhakmem))
    ma, mb = statistics.median(a), statistics.median(b)
    print("whole-process minflt: %s -> %s with %s (claim: %s)" % (a, b, r["env"], r["claim"]))
    check(mb <= ma * 1.02, "%s raises whole-process faults by at most 2%% (%d -> %d)" % (r["env"], ma, mb))
    if r["effect"] == "saves":
        check(ma - mb >= 0.7 * r["claimed_faults"],
              "%s saves %d whole-process faults, at least 70%% of the %d claimed" % (r["env"], ma - mb, r["claimed_faults"]))
    return ma, mb


def cpu_seconds(cmd):
    """User + system CPU time of cmd and the children it waited for (hakmem
    report's babeltrace2): unlike wall time, other engineers' load on the
    machine barely moves it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True,
                       errors="replace", timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        raise Fail("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
