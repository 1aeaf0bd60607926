#!/usr/bin/python3
"""End-to-end tests of sink.hakmem.report: record real LTTng traces of
deterministic workloads, analyse them with babeltrace2 and check the
figures. One CASE per ctest test; see CMakeLists.txt.

Exit status: 0 pass, 1 fail, 77 skip (no lttng / babeltrace2 / sessiond).
"""
import argparse
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import cases_guide  # noqa: E402
import cases_input  # noqa: E402
import cases_report  # noqa: E402
from analysis_lib import SKIP, Ctx, Fail  # noqa: E402

CASES = {n[5:]: f for m in (cases_report, cases_input, cases_guide)
         for n, f in vars(m).items() if n.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--libhakmem", required=True)
    ap.add_argument("--random-mixed", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--reuse", required=True, help="bench/reuse, for the guide's example")
    ap.add_argument("--source", required=True, help="the source tree (docs/)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hakmem", help="bin/hakmem, for the command-line checks")
    a = ap.parse_args()
    for tool in ("lttng", "babeltrace2", "lttng-sessiond"):
        if not shutil.which(tool):
            print("SKIP: %s not installed" % tool)
            return SKIP
    if subprocess.run(["pgrep", "-x", "lttng-sessiond"], stdout=subprocess.DEVNULL).returncode != 0:
        # exits 1 when one is already running: started by a parallel test
        subprocess.run(["lttng-sessiond", "--daemonize"])
        if subprocess.run(["pgrep", "-x", "lttng-sessiond"], stdout=subprocess.DEVNULL).returncode != 0:
            print("SKIP: cannot start lttng-sessiond")
            return SKIP
    os.makedirs(a.out, exist_ok=True)
    c = Ctx(a)
    try:
        CASES[a.case](c)
    except Fail as e:
        print("FAIL:", e)
        return 1
    except subprocess.TimeoutExpired as e:
        print("FAIL: timeout:", e)
        return 1
    finally:
        c.cleanup()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
