"""hakmem run: CMD with hakmem preloaded."""

import os

from .common import ArgParser, check_command, die, preload, split_command

HELP = """usage: hakmem run [--check=off|fast|full] [--release] -- CMD [ARGS...]

Runs CMD with hakmem preloaded (LD_PRELOAD) and passes its exit status
through. Child processes inherit the allocator.

  --check=LEVEL  ptr_track level of the full library (HAKMEM_CHECK):
                   off   no checks; the full library's fast paths only
                   fast  (default) every free/realloc is proven to be a live
                         hakmem block before it is touched: double-free,
                         invalid-free, interior-free, header-corrupt and
                         foreign-pointer are reported, O(1) per call
                   full  fast, plus request sizes, canaries after the request
                         (overflow), neighbour-header checks, freed-block fill
                         patterns (use-after-free-write), a quarantine
                         (HAKMEM_QUARANTINE_KB) and allocation/free stacks
  --release      use libhakmem-release.so: no checks, no tracing, the
                 fastest paths; --check must then be off

A report starts with 'hakmem: <kind> at 0x...'; HAKMEM_ON_ERROR=abort|report|
ignore says what happens next (abort by default) and HAKMEM_LOG=FILE sends
reports to FILE instead of stderr. See docs/guide-heap-corruption.md.
"""


def parse_check(value):
    """--check's value (trace's too)."""
    if value not in ("off", "fast", "full"):
        die("--check=%s: expected off, fast or full" % value)
    return value


def main(layout, args):
    opts, cmd = split_command(args)
    ap = ArgParser("run", HELP)
    ap.add_argument("--check", type=parse_check)
    ap.add_argument("--release", action="store_true")
    o = ap.parse(opts)
    if o is None:
        return 0
    check, release = o.check, o.release
    if release and check not in (None, "off"):
        die("--release has no ptr_track; drop --release to use --check=%s" % check)
    env = dict(os.environ)
    preload(env, layout.library(release))
    if check:
        env["HAKMEM_CHECK"] = check
    check_command(cmd, env)
    try:
        os.execvpe(cmd[0], cmd, env)
    except OSError as e:
        die("cannot run %s: %s" % (cmd[0], e.strerror), 126)
