#!/usr/bin/python3
"""Checks that the documentation matches the code.

  env     every HAKMEM_* variable in docs/reference.md is read by src/ (a
          string literal in the library or in the hakmem command) and every
          one read there is in reference.md; ranges, word lists and numeric
          defaults in the table agree with src/env.c
  events  every hakmem:* event in reference.md is in trace/hakmem_tp.h and
          vice versa, with the same fields in the same order; heap_error
          kinds agree with src/error_kinds.h
  cli     every command and option in reference.md's "Command line" section
          is in the usage of 'hakmem [COMMAND] --help', and vice versa
  links   relative links (and their #anchors) in README.md and docs/*.md
          resolve; every HAKMEM_* name in them is a documented variable or
          a build name; the commands README.md gives exist; no page or
          source file names the retired DESIGN document (.md)
  warnings every quoted "hakmem: ignoring HAKMEM_X=..." line is what the
          library prints for that value (the class probe run with it)
  classes the size classes as libhakmem.so serves them (tests/docs/classes.c,
          --classes) against reference.md's class and header tables, the
          Small-Mid request range on every page, README.md's Tiny and Mid
          limits and architecture.md's Small-Mid table

usage: check_docs.py --source DIR [--hakmem BUILD/bin/hakmem] [--classes PROBE] [CHECK...]
Prints one line per finding, then 'N passed, N failed'; exits 1 on failure.
"""

import argparse
import glob
import os
import re
import subprocess
import sys

NAME = r"HAKMEM_[A-Z0-9_]*[A-Z0-9]"


class Checker:
    def __init__(self, src, hakmem, classes=None):
        self.src = src
        self.hakmem = hakmem
        self.classes = classes
        self.passed = 0
        self.failed = 0

    def ok(self, what):
        self.passed += 1
        print("ok    %s" % what)

    def bad(self, what):
        self.failed += 1
        print("FAIL  %s" % what)

    def expect(self, cond, what):
        (self.ok if cond else self.bad)(what)
        return cond

    def read(self, rel):
        with open(os.path.join(self.src, rel), encoding="utf-8") as f:
            return f.read()

    def section(self, text, title):
        """The body of '## title' up to the next '## ' heading."""
        m = re.search(r"^## %s\s*$" % re.escape(title), text, re.M)
        if not m:
            self.bad("docs/reference.md has no '## %s' section" % title)
            return ""
        rest = text[m.end():]
        n = re.search(r"^## ", rest, re.M)
        return rest[:n.start()] if n else rest

    def c_sources(self):
        out = {}
        for path in sorted(glob.glob(os.path.join(self.src, "src", "*.[ch]")) +
                           glob.glob(os.path.join(self.src, "src", "include", "*.h"))):
            with open(path, encoding="utf-8") as f:
                out[os.path.relpath(path, self.src)] = f.read()
        return out

    def cli_sources(self):
        out = {}
        for path in sorted(glob.glob(os.path.join(self.src, "src", "cli", "**", "*"), recursive=True)):
            if os.path.isfile(path) and (path.endswith(".py") or path.endswith(".in")):
                with open(path, encoding="utf-8") as f:
                    out[os.path.relpath(path, self.src)] = f.read()
        return out

    # ---- env -------------------------------------------------------------

    def check_env(self):
        ref = self.read("docs/reference.md")
        sec = self.section(ref, "Environment variables")
        documented = set(re.findall(NAME, sec))
        rows = {}
        for line in sec.splitlines():
            m = re.match(r"\|\s*`(%s)`\s*\|(.*)\|\s*$" % NAME, line)
            if m:
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", m.group(2))]
                rows[m.group(1)] = cells
        self.expect(len(rows) >= 10, "reference.md: %d variables in the environment table" % len(rows))

        lit = re.compile(r"[\"'](%s)[\"']" % NAME)
        in_code = {}
        for rel, text in list(self.c_sources().items()) + list(self.cli_sources().items()):
            for name in lit.findall(text):
                in_code.setdefault(name, rel)
        for name in sorted(documented):
            self.expect(name in in_code, "%s (reference.md) is read in src/%s" % (
                name, "" if name in in_code else ": not found as a string in src/ or src/cli/"))
        for name in sorted(in_code):
            self.expect(name in documented, "%s (read in %s) is documented in reference.md" % (name, in_code[name]))

        env_c = self.read("src/env.c")
        env_h = self.read("src/env.h")
        # Numeric ranges: load_long("NAME", MIN, MAX, ...).
        for name, lo, hi in re.findall(r'load_long\("(%s)",\s*([^,]+),\s*([^,]+),' % NAME, env_c):
            want = "%d..%d" % (int(eval(lo, {})), int(eval(hi, {})))
            got = rows.get(name, ["", ""])[1]
            self.expect(got == want, "%s: range in reference.md is %s (src/env.c: %s)" % (name, got or "missing", want))
        # Switches: hak_env_parse_bool on getenv("NAME").
        for name in re.findall(r'getenv\("(%s)"\)\)\s*&&\s*hak_env_parse_bool' % NAME, env_c):
            got = rows.get(name, ["", ""])[1]
            self.expect(got == "`0`/`1`", "%s: range in reference.md is %s (a 0/1 switch in src/env.c)" % (name, got or "missing"))
        # Word lists: static const char *const WORDS[] = {...}; ... getenv("NAME") ... hak_env_parse_word(v, WORDS)
        lists = {k: re.findall(r'"([^"]*)"', v) for k, v in
                 re.findall(r"static const char \*const (\w+)\[\]\s*=\s*\{([^}]*)\}", env_c)}
        for name, words in re.findall(r'getenv\("(%s)"\)\)\)\s*\{\s*int \w+ = hak_env_parse_word\(v, (\w+)\)' % NAME, env_c):
            want = ", ".join("`%s`" % w for w in lists.get(words, []))
            got = rows.get(name, ["", ""])[1]
            self.expect(got == want, "%s: values in reference.md are %s (src/env.c: %s)" % (name, got or "missing", want))
        # Numeric defaults: the initializer of struct hak_env, field named by its env.h comment.
        fields = dict((n, f) for f, n in re.findall(r"\b(\w+);\s*/\*\s*(%s)\b" % NAME, env_h))
        geometry = dict(re.findall(r"^#define (HAK_\w+) (\d+)u?$", self.read("src/geometry.h"), re.M))
        init = dict(re.findall(r"^\s*\.(\w+)\s*=\s*([^,]+),", env_c.split("struct hak_env hak_env", 1)[1].split("};", 1)[0], re.M))
        for name, field in sorted(fields.items()):
            if name not in rows:
                continue
            value = init.get(field, "0").strip()  # static storage: 0 unless initialised
            value = geometry.get(value, value)  # a default kept in src/geometry.h
            got = rows[name][0].strip("`")
            # Counts and switches; word-valued settings (fast, none) are not numbers in the code.
            if re.fullmatch(r"-?\d+", value) and (re.fullmatch(r"-?\d+", got) or rows[name][1] == "`0`/`1`"):
                self.expect(got == value, "%s: default in reference.md is %s (src/env.c: %s)" % (name, got, value))
            elif value.startswith("HAK_ON_ERROR_"):
                want = value[len("HAK_ON_ERROR_"):].lower()
                self.expect(got == want, "%s: default in reference.md is %s (src/env.c: %s)" % (name, got, want))

    # ---- events ------------------------------------------------------------

    def check_events(self):
        tp = self.read("trace/hakmem_tp.h")
        code = {}
        for m in re.finditer(r"LTTNG_UST_TRACEPOINT_EVENT\(\s*hakmem\s*,\s*(\w+)\s*,(.*?)(?=LTTNG_UST_TRACEPOINT_EVENT\(|#endif)", tp, re.S):
            fields = re.findall(r"lttng_ust_field_\w+\(\s*[^,]+,\s*(\w+)\s*,", m.group(2))
            code[m.group(1)] = fields
        self.expect(len(code) >= 10, "trace/hakmem_tp.h: %d events" % len(code))

        ref = self.section(self.read("docs/reference.md"), "Tracepoints (provider `hakmem`)")
        docs = {}
        for line in ref.splitlines():
            m = re.match(r"\|\s*`hakmem:(\w+)`\s*\|([^|]*)\|", line)
            if not m:
                continue
            text = m.group(2)
            while True:  # drop explanations in parentheses, innermost first
                stripped = re.sub(r"\([^()]*\)", "", text)
                if stripped == text:
                    break
                text = stripped
            docs[m.group(1)] = [f.strip() for f in text.split(",") if f.strip()]
        for name in sorted(set(code) | set(docs)):
            if name not in docs:
                self.bad("hakmem:%s (trace/hakmem_tp.h) is not in reference.md's tracepoint table" % name)
            elif name not in code:
                self.bad("hakmem:%s (reference.md) is not an event of trace/hakmem_tp.h" % name)
            else:
                self.expect(docs[name] == code[name], "hakmem:%s fields: reference.md %s, trace/hakmem_tp.h %s" % (
                    name, ", ".join(docs[name]), ", ".join(code[name])))

        kinds = {int(v): name for v, name in
                 re.findall(r'X\(HAK_ERR_\w+,\s*(\d+),\s*"([a-z-]+)"\)', self.read("src/error_kinds.h"))}
        m = re.search(r"`hakmem:heap_error`\s*\|\s*kind \(([^)]*)\)", ref)
        got = {}
        if m:
            for num, word in re.findall(r"(\d+)\s+([a-z-]+)", m.group(1)):
                got[int(num)] = word
        self.expect(got and got == kinds, "heap_error kinds: reference.md %s, src/error_kinds.h %s" % (
            sorted(got.items()), sorted(kinds.items())))

    # ---- cli ---------------------------------------------------------------

    def run_help(self, *args):
        p = subprocess.run([self.hakmem] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        return p.returncode, p.stdout

    @staticmethod
    def flags(text):
        return set(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", text))

    @staticmethod
    def usage_block(help_text):
        lines = help_text.splitlines()
        out = []
        for line in lines:
            if out and not line.strip():
                break
            if out or line.startswith("usage:"):
                out.append(line)
        return "\n".join(out)

    def check_cli(self):
        if not self.hakmem or not os.access(self.hakmem, os.X_OK):
            self.bad("the hakmem command %s is not there: configure the build first (cmake -B build)" % self.hakmem)
            return
        ref = self.section(self.read("docs/reference.md"), "Command line")
        usages = {}
        for m in re.finditer(r"^`hakmem (\w+) ([^`]*)`", ref, re.M):
            block = ref[m.end():]
            end = re.search(r"^`hakmem \w+ ", block, re.M)
            block = block[:end.start()] if end else block
            table = "\n".join(re.findall(r"^\|\s*`([^`]*)`", block, re.M))
            usages[m.group(1)] = (m.group(2), table)

        rc, top = self.run_help("--help")
        self.expect(rc == 0, "hakmem --help exits 0 (got %d)" % rc)
        commands = set(re.findall(r"^  (\w+)\s{2,}", top.split("commands:", 1)[-1], re.M))
        self.expect(commands == set(usages), "commands: hakmem --help %s, reference.md %s" % (
            sorted(commands), sorted(usages)))
        rc, ver = self.run_help("--version")
        self.expect(rc == 0 and ver.startswith("hakmem "), "hakmem --version prints the version (%r)" % ver.strip())

        for cmd, (usage, table) in sorted(usages.items()):
            rc, text = self.run_help(cmd, "--help")
            self.expect(rc == 0, "hakmem %s --help exits 0 (got %d)" % (cmd, rc))
            have = self.flags(self.usage_block(text))
            usage_flags = self.flags(usage)
            table_flags = self.flags(table)
            for f in sorted(usage_flags | table_flags):
                self.expect(f in have, "hakmem %s %s (reference.md) is in 'hakmem %s --help'" % (cmd, f, cmd))
            for f in sorted(have - {"-h", "--help"}):
                self.expect(f in usage_flags, "hakmem %s %s (--help) is in reference.md's usage line" % (cmd, f))
                self.expect(f in table_flags, "hakmem %s %s (--help) is in reference.md's option table" % (cmd, f))

    def check_no_design_md(self):
        """No file names a design document that is not in the repository."""
        name = "DESIGN" + ".md"  # spelled apart so this file does not name it
        p = subprocess.run(["git", "ls-files", "-z"], cwd=self.src, stdout=subprocess.PIPE)
        files = [f for f in p.stdout.decode().split("\0") if f] if p.returncode == 0 else [
            os.path.relpath(os.path.join(d, f), self.src) for d, dirs, fs in os.walk(self.src)
            for f in fs if not os.path.relpath(d, self.src).startswith(("build", ".git"))]
        naming = []
        for rel in files:
            try:
                with open(os.path.join(self.src, rel), encoding="utf-8") as f:
                    if name in f.read():
                        naming.append(rel)
            except (OSError, UnicodeDecodeError):
                continue
        self.expect(not naming and os.path.exists(os.path.join(self.src, "README.md")),
                    "no file names %s (%d files read)%s" % (name, len(files), ": " + ", ".join(naming) if naming else ""))

    # ---- classes -----------------------------------------------------------

    def probe_classes(self, smallmid):
        """(ranges, classes) from tests/docs/classes.c run on libhakmem.so:
        ranges [(first, last, header, usable)], classes {c: (pool, usable)}."""
        env = dict(os.environ, HAKMEM_CHECK="fast", HAKMEM_SMALLMID="1" if smallmid else "0")
        p = subprocess.run([self.classes], env=env, stdout=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 0:
            self.bad("%s exited %d" % (self.classes, p.returncode))
            return [], {}
        ranges, classes = [], {}
        for line in p.stdout.splitlines():
            w = line.split()
            if w[0] == "range":
                ranges.append((int(w[1]), int(w[2]), int(w[3], 16), int(w[4])))
            elif w[0] == "class":
                classes[int(w[1])] = (int(w[2]), int(w[3]))
        return ranges, classes

    def check_classes(self):
        if not self.classes or not os.access(self.classes, os.X_OK):
            self.bad("the class probe %s is not there: build it first (cmake --build build)" % self.classes)
            return
        plain, classes = self.probe_classes(False)
        layered, _ = self.probe_classes(True)
        pools = {}
        for c, (pool, usable) in sorted(classes.items()):
            pools.setdefault(pool, []).append((c, usable))
        families = {}  # header family -> (pool, first class), from reference.md's header table
        ref = self.read("docs/reference.md")
        for fam, what, base in re.findall(r"^\|\s*`0x([0-9a-f]{2}) \\\| c`\s*\|\s*live (Tiny|Mid|Small-Mid) block of class (\d+\+)?c",
                                          ref, re.M):
            families[int(fam, 16)] = ({"Tiny": 0, "Mid": 1, "Small-Mid": 2}[what], int(base[:-1] or 0))
        self.expect(sorted(v[0] for v in families.values()) == [0, 1, 2],
                    "reference.md's header table has a live header family per pool (%s)" % sorted(families))

        def served(ranges, pool):
            """(first, last) request bytes served by pool, and each run's class."""
            runs = []
            for first, last, hdr, usable in ranges:
                fam = families.get(hdr & 0xf0)
                if fam and fam[0] == pool:
                    c = fam[1] + (hdr & 0x0f)
                    runs.append((first, last, c, usable))
            return runs

        for ranges, label in ((plain, "HAKMEM_SMALLMID=0"), (layered, "HAKMEM_SMALLMID=1")):
            wrong = []
            for first, last, hdr, usable in ranges:
                if hdr == 0x8e:
                    continue
                fam = families.get(hdr & 0xf0)
                c = fam[1] + (hdr & 0x0f) if fam else None
                if fam is None or classes.get(c) != (fam[0], usable):
                    wrong.append("malloc(%d..%d): header 0x%02x, %d usable bytes; hak_stats class %s: %s" % (
                        first, last, hdr, usable, c, classes.get(c)))
            self.expect(ranges and not wrong, "%s: %d runs of request sizes, each header names a class of "
                        "its pool with the usable bytes hak_stats gives%s" % (label, len(ranges), "".join(
                            "\n      " + w for w in wrong)))
        tiny, mid = served(plain, 0), served(plain, 1)
        small = served(layered, 2)
        large = [r for r in plain if r[2] == 0x8e]
        tiny_max, mid_max = tiny[-1][1], mid[-1][1]
        sm_first, sm_last = small[0][0], small[-1][1]
        self.expect(large and large[0][0] == mid_max + 1, "requests above %d are large spans" % mid_max)

        # reference.md's size class table.
        sec = self.section(ref, "Size classes")
        rows = {}
        for line in sec.splitlines():
            cells = [x.strip() for x in line.strip().strip("|").split("|")]
            if len(cells) == 5 and cells[0].split()[0] in ("Tiny", "Mid", "Small-Mid"):
                rows[cells[0].split()[0]] = cells
        for name, pool, top in (("Tiny", 0, None), ("Mid", 1, "up to %d" % mid_max),
                                ("Small-Mid", 2, "%d..%d" % (sm_first, sm_last))):
            cells = rows.get(name)
            if not self.expect(cells is not None, "reference.md's size class table has a %s row" % name):
                continue
            ids = [c for c, _ in pools.get(pool, [])]
            want_ids = "%d..%d" % (ids[0], ids[-1]) if ids else "?"
            self.expect(cells[1] == want_ids, "%s classes: reference.md %s, hak_stats %s" % (name, cells[1], want_ids))
            usable = ", ".join(str(u) for _, u in pools.get(pool, []))
            got = re.sub(r"\s*\(.*\)\s*$", "", cells[2])
            self.expect(got == usable, "%s usable bytes: reference.md %s, hak_stats %s" % (name, got, usable))
            if top:
                m = re.search(r"\(requests ([^)]*)\)", cells[2])
                self.expect(m and m.group(1) == top, "%s requests: reference.md %s, malloc %s" % (
                    name, m.group(1) if m else "missing", top))

        # Every page's Small-Mid request range, and the Tiny and Mid limits in README.md.
        sm_range = "%d..%d" % (sm_first, sm_last)
        for page in ["README.md"] + sorted(os.path.relpath(p, self.src) for p in glob.glob(os.path.join(self.src, "docs", "*.md"))):
            text = self.read(page)
            for para in re.split(r"\n\s*\n", text):
                if not re.search(r"Small-Mid|SMALLMID", para):
                    continue
                for a, b in re.findall(r"requests\s+(?:of|from)\s+(\d+)(?:\.\.|\s+to\s+)(%d)\b" % sm_last, para, re.I):
                    self.expect("%s..%s" % (a, b) == sm_range, "%s: Small-Mid requests %s..%s (malloc: %s)" % (
                        page, a, b, sm_range))
        readme = self.read("README.md")
        m = re.search(r"Requests\s+up\s+to\s+(\d+)\s+bytes\s+use\s+(\d+)\s+Tiny\s+classes,\s+and\s+requests\s+up\s+to\s+"
                      r"(\d+)\s+KiB\s+use\s+(\d+)\s+Mid\s+classes", readme)
        self.expect(m and (int(m.group(1)), int(m.group(2)), int(m.group(3)) * 1024, int(m.group(4))) ==
                    (tiny_max, len(pools.get(0, [])), mid_max, len(pools.get(1, []))),
                    "README.md: Tiny up to %d bytes in %d classes, Mid up to %d in %d classes" % (
                        tiny_max, len(pools.get(0, [])), mid_max, len(pools.get(1, []))))

        # architecture.md's Small-Mid table: request bytes, Tiny classes without the layer, Small-Mid class.
        arch = self.read("docs/architecture.md")
        covered = []
        for a, b, tiny_ids, sm_id, sm_usable in re.findall(
                r"^\|\s*(\d+)\.\.(\d+)\s*\|\s*([\d, ]+?)\s*\([^)]*\)\s*\|\s*(\d+) \((\d+)\)\s*\|", arch, re.M):
            a, b = int(a), int(b)
            want_tiny = sorted({c for f, l, c, _ in tiny if f <= b and l >= a})
            want_sm = sorted({(c, u) for f, l, c, u in small if f <= b and l >= a})
            got_tiny = [int(x) for x in tiny_ids.split(",")]
            self.expect(got_tiny == want_tiny and want_sm == [(int(sm_id), int(sm_usable))],
                        "architecture.md Small-Mid row %d..%d: Tiny %s, Small-Mid %s (malloc: Tiny %s, Small-Mid %s)" % (
                            a, b, got_tiny, sm_id, want_tiny, want_sm))
            covered.append((a, b))
        self.expect(covered and covered[0][0] == sm_first and covered[-1][1] == sm_last and
                    all(covered[i][1] + 1 == covered[i + 1][0] for i in range(len(covered) - 1)),
                    "architecture.md's Small-Mid table covers %s without gaps (%s)" % (sm_range, covered))

    def check_warnings(self):
        """Every quoted 'hakmem: ignoring HAKMEM_X="V": ...' line is what the
        library prints for HAKMEM_X=V."""
        if not self.classes or not os.access(self.classes, os.X_OK):
            self.bad("the class probe %s is not there: build it first (cmake --build build)" % self.classes)
            return
        quoted = 0
        for page in ["README.md"] + sorted(os.path.relpath(p, self.src) for p in glob.glob(os.path.join(self.src, "docs", "*.md"))):
            for line, name, value in re.findall(r'^`?(hakmem: ignoring (%s)="([^"]*)": [^`\n]*)`?\.?$' % NAME,
                                                self.read(page), re.M):
                quoted += 1
                env = dict(os.environ, HAKMEM_CHECK="fast")
                env[name] = value
                p = subprocess.run([self.classes], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, timeout=60)
                printed = [ln for ln in p.stderr.splitlines() if ln.startswith("hakmem: ignoring %s=" % name)]
                self.expect(printed == [line], "%s quotes %r; the library prints %r" % (page, line, printed))
        self.expect(quoted > 0, "%d quoted warnings for bad settings" % quoted)

    # ---- links -------------------------------------------------------------

    @staticmethod
    def anchors(text):
        out = set()
        in_code = False
        for line in text.splitlines():
            if line.startswith("```"):
                in_code = not in_code
            if in_code:
                continue
            m = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
            if m:
                slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
                out.add(slug)
        return out

    def check_links(self):
        pages = ["README.md"] + sorted(os.path.relpath(p, self.src) for p in glob.glob(os.path.join(self.src, "docs", "*.md")))
        documented = set(re.findall(NAME, self.section(self.read("docs/reference.md"), "Environment variables")))
        build_names = set()
        for path in glob.glob(os.path.join(self.src, "**", "CMakeLists.txt"), recursive=True):
            with open(path, encoding="utf-8") as f:
                build_names |= set(re.findall(NAME, f.read()))
        for text in self.c_sources().values():
            build_names |= set(re.findall(r"(?:#\s*(?:define|ifn?def)|defined\()\s*\(?\s*(%s)" % NAME, text))
        for page in pages:
            text = self.read(page)
            prose = re.sub(r"```.*?```", "", text, flags=re.S)
            for target in re.findall(r"\]\(([^)\s]+)\)", prose):
                if re.match(r"[a-z]+:", target):
                    continue  # http:, mailto:
                path, _, anchor = target.partition("#")
                full = os.path.normpath(os.path.join(self.src, os.path.dirname(page), path)) if path else \
                    os.path.join(self.src, page)
                if not os.path.exists(full):
                    self.bad("%s: link %s: no such file" % (page, target))
                    continue
                if anchor and full.endswith(".md"):
                    with open(full, encoding="utf-8") as f:
                        self.expect(anchor in self.anchors(f.read()), "%s: link %s resolves" % (page, target))
                else:
                    self.ok("%s: link %s resolves" % (page, target))
            for name in sorted(set(re.findall(NAME, text))):
                self.expect(name in documented or name in build_names,
                            "%s: %s is a documented variable or a build name" % (page, name))
        self.check_no_design_md()
        readme = self.read("README.md")
        for cmd in ("bench/demo", "tests/run"):
            path = os.path.join(self.src, cmd)
            self.expect(cmd in readme and os.access(path, os.X_OK), "README.md names %s, an executable" % cmd)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True, help="the source tree")
    ap.add_argument("--hakmem", help="the configured hakmem command (BUILD/bin/hakmem)")
    ap.add_argument("--classes", help="the built class probe (tests/docs/classes.c)")
    ap.add_argument("checks", nargs="*", default=["env", "events", "cli", "links"])
    a = ap.parse_args()
    c = Checker(os.path.abspath(a.source), a.hakmem, a.classes)
    for name in a.checks:
        fn = getattr(c, "check_" + name, None)
        if fn is None:
            ap.error("unknown check %s" % name)
        fn()
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
