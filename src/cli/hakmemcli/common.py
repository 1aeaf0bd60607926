"""Paths, errors and environment handling shared by every subcommand."""

import argparse
import os
import re
import shutil
import sys


class CliError(Exception):
    """An error the user can act on: the message says what and what to do."""

    def __init__(self, message, code=2):
        super().__init__(message)
        self.code = code


def die(message, code=2):
    raise CliError(message, code)


def note(message):
    sys.stderr.write("hakmem: %s\n" % message)
    sys.stderr.flush()


class Layout:
    """Where the installed (or built) pieces live, from the script's place."""

    def __init__(self, libdir, datadir):
        self.libdir = os.environ.get("HAKMEM_LIBDIR") or libdir
        self.datadir = datadir

    def library(self, release=False):
        name = "libhakmem-release.so" if release else "libhakmem.so"
        path = os.path.join(self.libdir, name)
        if not os.path.exists(path):
            die("%s not found in %s; build and install hakmem first "
                "(cmake -B build && cmake --build build), or set HAKMEM_LIBDIR" % (name, self.libdir))
        return path

    def provider(self):
        return os.path.join(self.libdir, "hakmem", "libhakmem-tp.so")

    def plugin_dir(self):
        return os.path.join(self.libdir, "babeltrace2", "plugins")

    def viz_dir(self):
        return os.path.join(self.datadir, "viz")


class ArgParser(argparse.ArgumentParser):
    """argparse for one command: --help prints the command's HELP as
    written, and a usage error is a CliError that names the command and
    its --help. Options are never abbreviated."""

    def __init__(self, command, help_text):
        super().__init__(prog="hakmem " + command, add_help=False, allow_abbrev=False)
        self.command = command
        self.help_text = help_text

    def error(self, message):
        m = re.match(r"argument (\S+): expected one argument$", message)
        if m:
            message = "%s needs a value" % m.group(1)
        die("%s: %s (see hakmem %s --help)" % (self.command, message, self.command))

    def parse(self, args, positionals=False):
        """The options in ARGS as a namespace, or None when --help asked
        for the help (printed). Without POSITIONALS, any word that is not
        an option is an error; with it, they may come between options."""
        if "-h" in args or "--help" in args:
            sys.stdout.write(self.help_text)
            return None
        parse = self.parse_known_intermixed_args if positionals else self.parse_known_args
        ns, rest = parse(list(args))
        for word in rest:
            self.error("unknown option %s" % word if word.startswith("-") else "unexpected argument %s" % word)
        return ns


def split_command(args):
    """Options before '--' (or before the first non-option word), CMD after."""
    if "--" in args:
        i = args.index("--")
        return args[:i], args[i + 1:]
    for i, a in enumerate(args):
        if not a.startswith("-"):
            return args[:i], args[i:]
    return list(args), []


def check_command(cmd, env):
    if not cmd:
        die("no command given; put it after '--', e.g. hakmem run -- ./service")
    if os.sep not in cmd[0] and shutil.which(cmd[0], path=env.get("PATH")) is None:
        die("%s: command not found (not on PATH)" % cmd[0], 127)
    if os.sep in cmd[0] and not os.path.exists(cmd[0]):
        die("%s: no such file" % cmd[0], 127)


def preload(env, *libs):
    old = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = " ".join(list(libs) + ([old] if old else []))


def exit_status(returncode):
    """A child's status as a shell would report it: 128+N for signal N."""
    return 128 - returncode if returncode < 0 else returncode
