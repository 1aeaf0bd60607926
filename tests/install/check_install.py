#!/usr/bin/python3
"""Installs the build into two prefixes and uses each as a user would.

For each prefix P (two, at different depths, so nothing can depend on the
configured CMAKE_INSTALL_PREFIX):
  - `cmake --install BUILD --prefix P`;
  - `pkg-config --cflags --libs hakmem` with PKG_CONFIG_PATH=P/LIBDIR/pkgconfig
    names P, and a program built with it runs on hakmem's malloc: linked
    with -Wl,-rpath, and linked without it under LD_LIBRARY_PATH (README.md);
  - `P/bin/hakmem --help` names the documentation directory, which holds
    README.md and docs/reference.md;
  - every file installed is listed in reference.md's "Installed files"
    table and every path there is installed; babeltrace2 finds the plugin
    `hakmem` in the documented plugin directory.

usage: check_install.py --build DIR --source DIR --work DIR --libdir LIBDIR
Prints one line per finding, then 'N passed, N failed'; exits 1 on failure.
"""

import argparse
import fnmatch
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys


class Checker:
    def __init__(self, args):
        self.a = args
        self.passed = 0
        self.failed = 0

    def expect(self, cond, what):
        if cond:
            self.passed += 1
            print("ok    %s" % what)
        else:
            self.failed += 1
            print("FAIL  %s" % what)
        return cond

    def run(self, argv, env=None, **kw):
        e = dict(os.environ)
        e.pop("LD_LIBRARY_PATH", None)
        e.update(env or {})
        return subprocess.run(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300, **kw)

    def documented_files(self):
        """(path pattern, is a directory) rows of reference.md's 'Installed files'."""
        with open(os.path.join(self.a.source, "docs", "reference.md"), encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"^## Installed files\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
        if not self.expect(m is not None, "docs/reference.md has an '## Installed files' section"):
            return []
        rows = []
        for line in m.group(1).splitlines():
            cell = re.match(r"\|\s*([^|]*)\|", line)
            if not cell:
                continue
            for path in re.findall(r"`<prefix>/([^`]+)`", cell.group(1)):
                if path.startswith("lib/"):  # the build's CMAKE_INSTALL_LIBDIR
                    path = self.a.libdir + path[3:]
                rows.append(path)
        self.expect(len(rows) >= 8, "reference.md lists %d installed paths" % len(rows))
        return rows

    def check_prefix(self, prefix):
        shutil.rmtree(prefix, ignore_errors=True)
        p = self.run(["cmake", "--install", self.a.build, "--prefix", prefix])
        if not self.expect(p.returncode == 0, "cmake --install --prefix %s" % prefix):
            print(p.stdout)
            return
        pcdir = os.path.join(prefix, self.a.libdir, "pkgconfig")
        env = {"PKG_CONFIG_PATH": pcdir}
        flags = self.run(["pkg-config", "--cflags", "--libs", "hakmem"], env)
        incs = [os.path.realpath(w[2:]) for w in flags.stdout.split() if w.startswith("-I")]
        self.expect(flags.returncode == 0 and os.path.realpath(os.path.join(prefix, "include")) in incs,
                    "pkg-config --cflags --libs hakmem names %s/include: %s" % (prefix, flags.stdout.strip()))
        libdir = self.run(["pkg-config", "--variable=libdir", "hakmem"], env).stdout.strip()
        self.expect(os.path.realpath(libdir) == os.path.realpath(os.path.join(prefix, self.a.libdir)),
                    "pkg-config --variable=libdir hakmem is %s (%s/%s)" % (libdir, prefix, self.a.libdir))

        app = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.c")
        cc = ["cc", app] + shlex.split(flags.stdout)
        rpath_exe = os.path.join(prefix, "app-rpath")
        plain_exe = os.path.join(prefix, "app-plain")
        b1 = self.run(cc + ["-Wl,-rpath," + libdir, "-o", rpath_exe])
        b2 = self.run(cc + ["-o", plain_exe])
        if not self.expect(b1.returncode == 0 and b2.returncode == 0,
                           "cc app.c $(pkg-config --cflags --libs hakmem) [-Wl,-rpath,%s]" % libdir):
            print(b1.stdout + b2.stdout)
            return
        r = self.run([rpath_exe])
        self.expect(r.returncode == 0 and "refills=yes" in r.stdout,
                    "linked with -Wl,-rpath, it runs on hakmem's malloc: %s" % r.stdout.strip())
        r = self.run([plain_exe], {"LD_LIBRARY_PATH": libdir})
        self.expect(r.returncode == 0 and "refills=yes" in r.stdout,
                    "linked without rpath, it runs under LD_LIBRARY_PATH: %s" % r.stdout.strip())
        # README.md says it needs one or the other (unless another copy is
        # installed where the loader looks).
        ldd = re.search(r"libhakmem\.so\S* => (.*)", self.run(["ldd", plain_exe]).stdout)
        found = ldd.group(1).split(" (")[0].strip() if ldd else "?"
        self.expect(found == "not found" or not os.path.realpath(found).startswith(os.path.realpath(prefix) + "/"),
                    "without rpath or LD_LIBRARY_PATH the loader does not find it in %s (ldd: %s)" % (prefix, found))

        hakmem = os.path.join(prefix, "bin", "hakmem")
        h = self.run([hakmem, "--help"])
        docdir = os.path.join(prefix, "share", "doc", "hakmem")
        self.expect(h.returncode == 0 and os.path.normpath(docdir) in h.stdout,
                    "hakmem --help names %s" % docdir)
        for doc in ("README.md", "docs/reference.md", "docs/guide-postmortem.md"):
            self.expect(os.path.isfile(os.path.join(docdir, doc)), "%s is installed in %s" % (doc, docdir))

        rows = self.documented_files()
        installed = []
        for root, _, files in os.walk(prefix):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), prefix)
                if not rel.startswith("app-"):
                    installed.append(rel)
        for row in rows:
            self.expect(glob.glob(os.path.join(prefix, row)), "reference.md's <prefix>/%s is installed" % row)
        for rel in sorted(installed):
            covered = any(fnmatch.fnmatchcase(rel, row) or (row.endswith("/") and rel.startswith(row)) for row in rows)
            self.expect(covered, "%s (installed) is in reference.md's 'Installed files'" % rel)

        plugins = os.path.join(prefix, self.a.libdir, "babeltrace2", "plugins")
        if shutil.which("babeltrace2") and os.path.isdir(plugins):
            bt = self.run(["babeltrace2", "--omit-home-plugin-path", "--omit-system-plugin-path",
                           "--plugin-path=" + plugins, "list-plugins"])
            self.expect(bt.returncode == 0 and re.search(r"^\s*hakmem:", bt.stdout, re.M) is not None,
                        "babeltrace2 --plugin-path=%s list-plugins finds the plugin hakmem" % plugins)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the configured and built build directory")
    ap.add_argument("--source", required=True, help="the source tree")
    ap.add_argument("--work", required=True, help="scratch directory for the two prefixes")
    ap.add_argument("--libdir", default="lib", help="CMAKE_INSTALL_LIBDIR (default lib)")
    a = ap.parse_args()
    a.work = os.path.abspath(a.work)
    c = Checker(a)
    for prefix in (os.path.join(a.work, "one"), os.path.join(a.work, "two", "deeper", "prefix")):
        c.check_prefix(prefix)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
