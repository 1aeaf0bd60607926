"""Shared plumbing for bench/compare and bench/ab: finding the build and
the allocator libraries, running one benchmark process under LD_PRELOAD,
and reading its one machine-readable result line.

Standard library only: it runs under Debian's /usr/bin/python3."""

import importlib
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time

PEER_LIBDIR = "/usr/lib/x86_64-linux-gnu"

# name -> (library file or None for the system malloc, Debian package).
# Order here is the order of the table.
HAKMEM_LIBS = {
    "hakmem-release": "libhakmem-release.so",
    "hakmem-full": "libhakmem.so",
}
PEERS = {
    "glibc": (None, None),
    "jemalloc": (PEER_LIBDIR + "/libjemalloc.so.2", "libjemalloc2"),
    "tcmalloc": (PEER_LIBDIR + "/libtcmalloc_minimal.so.4",
                 "libtcmalloc-minimal4"),
    "mimalloc": (PEER_LIBDIR + "/libmimalloc.so.2", "libmimalloc2.0"),
}

BUILD_HINT = "build it first: cmake -B build && cmake --build build"


class BenchError(Exception):
    """A setup problem the user must fix; the message says how."""


def note(msg):
    print(msg, file=sys.stderr, flush=True)


def script_dir():
    return os.path.dirname(os.path.realpath(sys.argv[0]))


def is_build_dir(path):
    return os.path.isfile(os.path.join(path, "CMakeCache.txt"))


def find_build_dir(explicit):
    """--build DIR, else the build tree this script was copied into
    (build/bench/compare -> build), else ./build, else <repo>/build when
    run straight from the source tree (bench/compare)."""
    if explicit:
        if not os.path.isdir(explicit):
            raise BenchError(f"--build {explicit}: no such directory; "
                             + BUILD_HINT)
        return os.path.abspath(explicit)
    here = script_dir()
    candidates = [os.path.dirname(here), os.path.join(os.getcwd(), "build"),
                  os.path.join(os.path.dirname(here), "build")]
    for cand in candidates:
        if is_build_dir(cand):
            return os.path.abspath(cand)
    raise BenchError("no build directory found (looked in "
                     + ", ".join(candidates) + "); " + BUILD_HINT
                     + ", or pass --build DIR")


def find_bench_bin(name, build):
    """The benchmark executable: next to this script if it lives in the
    build tree, else BUILD/bench."""
    for d in (script_dir(), os.path.join(build, "bench")):
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise BenchError(f"benchmark '{name}' not built (looked in "
                     f"{script_dir()} and {build}/bench); "
                     f"run: cmake --build {build} --target {name}")


def find_hakmem_lib(filename, build, prefix):
    """A hakmem library from --prefix P (P/lib...) or from the build tree.
    Returns the path, or None with the places searched."""
    if prefix:
        dirs = [os.path.join(prefix, d)
                for d in ("lib", "lib64", "lib/x86_64-linux-gnu")]
    else:
        dirs = [build] + [os.path.join(build, d) for d in ("lib", "src")]
    for d in dirs:
        path = os.path.join(d, filename)
        if os.path.isfile(path):
            return os.path.abspath(path), dirs
    return None, dirs


def find_viz_render(build, prefix=None):
    """viz's render.py. Looked for, in order: the install prefix given
    with --prefix (P/share/hakmem/viz); next to this script, which sits in
    build/bench in a build tree (build/share/hakmem/viz) or in P/bin when
    installed; the build tree; the source tree, for a script run from
    bench/ itself (viz/) or a build tree whose CMakeCache names its
    source."""
    here = script_dir()
    dirs = []
    if prefix:
        dirs.append(os.path.join(prefix, "share", "hakmem", "viz"))
    dirs += [os.path.join(os.path.dirname(here), "share", "hakmem", "viz"),
             os.path.join(build, "share", "hakmem", "viz"),
             os.path.join(os.path.dirname(here), "viz")]
    src = cmake_cache_value(build, "hakmem_SOURCE_DIR")
    if src:
        dirs.append(os.path.join(src, "viz"))
    for d in dirs:
        path = os.path.join(d, "render.py")
        if os.path.isfile(path):
            return os.path.abspath(path)
    raise BenchError("viz render.py not found (looked in "
                     + ", ".join(dict.fromkeys(dirs)) + "); "
                     + BUILD_HINT)


def import_viz_module(name, build, prefix=None):
    """A module of viz, from the directory find_viz_render finds: the
    results formatter (benchfmt) that bench/compare's table shares with
    viz's bench page. Appended to sys.path, so viz's modules shadow
    nothing of bench/."""
    viz = os.path.dirname(find_viz_render(build, prefix))
    if viz not in sys.path:
        sys.path.append(viz)
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise BenchError(f"{viz} has render.py but not {name}.py ({e}); "
                         f"re-run cmake on the build tree ({BUILD_HINT})")


def cmake_cache_value(build, key):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                name, _, value = line.rstrip("\n").partition("=")
                if name.split(":")[0] == key:
                    return value
    except OSError:
        pass
    return None


VIZ_PYTHON = "/usr/bin/python3"  # Debian's, where python3-matplotlib is


def render_bench_html(render, json_path, html_path):
    """Run viz on compare JSON. Returns True when the page was written;
    otherwise says why on stderr."""
    argv = [VIZ_PYTHON, render, "--bench", json_path, "-o", html_path]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True)
    except OSError as e:
        note(f"compare: cannot run {VIZ_PYTHON}: {e.strerror}; "
             "apt install python3 python3-matplotlib")
        return False
    if proc.returncode != 0:
        err = proc.stderr.strip()
        hint = ("; apt install python3-matplotlib"
                if "matplotlib" in err else "")
        note(f"compare: {' '.join(argv)} failed (exit {proc.returncode}): "
             f"{err.splitlines()[-1] if err else 'no message'}{hint}")
        return False
    note(f"compare: wrote {html_path}")
    return True


def cpu_model():
    """'model name' of the first CPU in /proc/cpuinfo, or None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return None


def loadavg():
    """The 1-, 5- and 15-minute load averages: the machine is shared, and
    a figure taken under load should say so."""
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def parse_env_assignments(text, what):
    """'A=1 B=x' -> {'A': '1', 'B': 'x'}; shell quoting allowed."""
    env = {}
    for tok in shlex.split(text):
        name, eq, value = tok.partition("=")
        if not eq or not name or not (name[0].isalpha() or name[0] == "_") \
                or not all(c.isalnum() or c == "_" for c in name):
            raise BenchError(f"{what}: '{tok}' is not VAR=VALUE")
        env[name] = value
    return env


def parse_result_line(line):
    """'prog k=v k=v ...' -> {'bench': prog, k: number-or-string}."""
    words = line.split()
    out = {"bench": words[0]} if words else {}
    for w in words[1:]:
        key, eq, value = w.partition("=")
        if not eq:
            continue
        for conv in (int, float):
            try:
                out[key] = conv(value)
                break
            except ValueError:
                pass
        else:
            out[key] = value
    return out


def run_bench(argv, preload=None, env_extra=None, timeout=600):
    """Run one benchmark process. The result line is the last line of
    stdout. Returns a dict with ok, values (parsed result), wall_seconds,
    and error when ok is false."""
    env = dict(os.environ)
    # Never inherit a preload: glibc must really mean glibc.
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(env_extra or {})
    t0 = time.monotonic()
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout}s",
                "wall_seconds": time.monotonic() - t0}
    res = {"ok": True, "wall_seconds": round(time.monotonic() - t0, 6)}
    lines = proc.stdout.strip().splitlines()
    err_tail = proc.stderr.strip().splitlines()[-3:]
    if "cannot be preloaded" in proc.stderr:
        # ld.so ignores a broken preload and runs the system malloc, which
        # would quietly report glibc's numbers under another name.
        res.update(ok=False, error="LD_PRELOAD failed: " + " | ".join(err_tail))
    elif proc.returncode != 0:
        how = (f"killed by {signal.Signals(-proc.returncode).name}"
               if proc.returncode < 0 else f"exit status {proc.returncode}")
        res.update(ok=False, error=how + ": " + " | ".join(err_tail))
    elif not lines:
        res.update(ok=False, error="no result line on stdout")
    else:
        res["values"] = parse_result_line(lines[-1])
    if proc.returncode != 0:
        res["returncode"] = proc.returncode
    return res


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_int(v):
    return "n/a" if v is None else f"{round(v):,}"
