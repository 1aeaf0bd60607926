#!/usr/bin/python3
"""The file-level call graph of src/*.c, read from the compiled objects.

An edge A -> B means A.o refers to a symbol that B.o defines: a call or a
global read or written (the symbol names are listed with the edge). Calls
made inside a static inline function of a header count for the file that
compiled it, which is where they run. The strongly connected components of
more than one file are the circles: files that cannot be understood, tested
or changed one at a time.

A call to the C library's malloc family (free, malloc, ...) is a call to
the C library, whichever allocator answers it: in the preloaded library
those names are aliases in alloc.c, realloc.c and aligned_alloc.c, and
they are left out.

usage: src_calls.py [--source DIR] [--check] [--allow FILE] [--forbid RULE]...
                    [--longest N] OBJECT...
  OBJECT     the objects of one library (e.g. $<TARGET_OBJECTS:hakmem>, or
             BUILD/CMakeFiles/hakmem.dir/src/*.o)
  --check    exit 1 when a circle has a file-level call not in --allow
             (without --allow: when there is any circle) (docs.src_calls.*)
  --allow    the calls inside circles known and not yet untied, one
             "a.c -> b.c" a line (# comments)
  --forbid   "a.c b.c -> sym1 sym2": with --check, exit 1 when one of the
             files names one of the symbols (the checks free nothing:
             docs.src_calls.full)
  --longest  also print the N longest functions of src/*.c, in lines
             (needs --source)
"""

import argparse
import os
import re
import subprocess
import sys


def object_source(path):
    """src/pool.c.o -> pool.c"""
    base = os.path.basename(path)
    return base[:-2] if base.endswith(".o") else base


def read_symbols(objects):
    """Per file: the symbols it defines and those it needs."""
    defined, needed = {}, {}
    for obj in objects:
        f = object_source(obj)
        out = subprocess.run(["nm", "--defined-only", "-g", obj], check=True,
                             capture_output=True, text=True).stdout
        defined[f] = {l.split()[-1] for l in out.splitlines() if l.strip()}
        out = subprocess.run(["nm", "--undefined-only", obj], check=True,
                             capture_output=True, text=True).stdout
        needed[f] = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, needed


LIBC_NAMES = {"malloc", "free", "calloc", "realloc", "reallocarray", "memalign",
              "posix_memalign", "aligned_alloc", "valloc", "pvalloc", "cfree",
              "malloc_usable_size", "malloc_trim"}


def build_graph(defined, needed):
    owner = {}
    for f, syms in defined.items():
        for s in syms:
            if s not in LIBC_NAMES:
                owner.setdefault(s, f)
    edges = {f: {} for f in defined}
    for f, syms in needed.items():
        for s in syms:
            g = owner.get(s)
            if g and g != f:
                edges[f].setdefault(g, set()).add(s)
    return edges


def sccs(edges):
    """Tarjan's algorithm, iterative; components in reverse topological order."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            pushed = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    pushed = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if pushed:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def longest_functions(src_dir, n):
    """Function bodies by lines, from the signature to the closing brace:
    clang-format puts both braces of a function alone at column 0."""
    found = []
    for name in sorted(os.listdir(src_dir)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(src_dir, name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i] == "{" and i > 0:
                # The signature: back to its first line, the one at column 0.
                start = i - 1
                while start > 0 and lines[start][:1] in (" ", "\t"):
                    start -= 1
                m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(",
                              re.sub(r"__attribute__\s*\(\(.*?\)\)", "", lines[start]))
                end = i + 1
                while end < len(lines) and lines[end] != "}":
                    end += 1
                if m:
                    found.append((end - start + 1, "%s:%d" % (name, start + 1), m.group(1)))
                i = end + 1
            else:
                i += 1
    found.sort(key=lambda t: (-t[0], t[1]))
    return found[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", help="the repository (for --longest)")
    ap.add_argument("--check", action="store_true", help="exit 1 on a circle")
    ap.add_argument("--allow", metavar="FILE", help="calls known to tie a circle")
    ap.add_argument("--forbid", action="append", default=[], metavar="RULE",
                    help='"a.c b.c -> sym1 sym2": symbols those files must not name')
    ap.add_argument("--longest", type=int, default=0, metavar="N")
    ap.add_argument("objects", nargs="+")
    a = ap.parse_args()
    objects = [o for o in a.objects if o.endswith(".o")]
    if not objects:
        sys.exit("src_calls.py: no object files given: pass a library's objects "
                 "(BUILD/CMakeFiles/hakmem.dir/src/*.o) after building it")
    defined, needed = read_symbols(objects)
    edges = build_graph(defined, needed)
    forbidden = []
    for rule in a.forbid:
        files, arrow, syms = rule.partition("->")
        if not arrow or not files.split() or not syms.split():
            ap.error("--forbid %r: expected \"a.c b.c -> sym1 sym2\"" % rule)
        for f in files.split():
            if f not in needed:
                ap.error("--forbid: %s is not among the objects" % f)
            forbidden += [(f, s) for s in syms.split() if s in needed[f]]

    print("file-level calls (%d files):" % len(edges))
    for f in sorted(edges):
        for g in sorted(edges[f]):
            print("  %-16s -> %-16s %s" % (f, g, " ".join(sorted(edges[f][g]))))
    circles = [c for c in sccs(edges) if len(c) > 1]
    print("circles (strongly connected components of more than one file): %d" % len(circles))
    for c in circles:
        members = set(c)
        print("  %d files: %s" % (len(c), " ".join(c)))
        for f in c:
            for g in sorted(edges[f]):
                if g in members:
                    print("    %-16s -> %-16s %s" % (f, g, " ".join(sorted(edges[f][g]))))
    if a.longest:
        if not a.source:
            sys.exit("src_calls.py: --longest needs --source DIR (the repository)")
        print("longest functions (lines):")
        for n, where, name in longest_functions(os.path.join(a.source, "src"), a.longest):
            print("  %4d %-22s %s" % (n, where, name))
    if not a.check:
        return 0
    allowed = set()
    if a.allow:
        with open(a.allow, encoding="utf-8") as f:
            for line in f:
                line = line.split("#")[0].strip()
                if line:
                    src, _, dst = line.partition("->")
                    allowed.add((src.strip(), dst.strip()))
    new = []
    for c in circles:
        members = set(c)
        new += [(f, g) for f in c for g in sorted(edges[f]) if g in members and (f, g) not in allowed]
    for f, g in new:
        print("FAIL: %s -> %s (%s) ties a circle in src/; call downward instead: a checker "
              "returns a verdict and its caller frees, a report reads a store the allocator "
              "writes, an address lookup sits beside the SuperSlab" %
              (f, g, " ".join(sorted(edges[f][g]))), file=sys.stderr)
    gone = sorted(e for e in allowed if not any(
        e[0] in c and e[1] in c and e[1] in edges.get(e[0], {}) for c in circles))
    for f, g in gone:
        print("note: %s -> %s no longer ties a circle: take it out of %s" % (f, g, a.allow))
    for f, s in forbidden:
        print("FAIL: %s names %s: the checks validate and free nothing; return a verdict "
              "and let alloc.c free (docs/architecture.md, \"Module map\")" % (f, s),
              file=sys.stderr)
    return 1 if new or forbidden else 0


if __name__ == "__main__":
    sys.exit(main())
