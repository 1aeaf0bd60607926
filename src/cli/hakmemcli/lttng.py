"""Thin wrappers over the lttng command, with errors that say what to do."""

import re
import shutil
import socket
import subprocess
import time

from .common import die, note

INSTALL_HINT = "install it with: apt-get install lttng-tools liblttng-ust1"


def require_tools():
    for tool in ("lttng", "lttng-sessiond"):
        if shutil.which(tool) is None:
            die("%s not found; %s" % (tool, INSTALL_HINT))


def lttng(*args, check=True):
    """Runs lttng ARGS; returns (rc, stdout+stderr). Raises with lttng's own words on failure."""
    p = subprocess.run(["lttng"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if check and p.returncode != 0:
        die("lttng %s failed: %s" % (" ".join(args), p.stdout.strip() or "exit %d" % p.returncode))
    return p.returncode, p.stdout


def sessiond_running():
    # pgrep -x matches the process name, so a shell or editor named after it does not count.
    return subprocess.run(["pgrep", "-x", "lttng-sessiond"], stdout=subprocess.DEVNULL).returncode == 0


def ensure_sessiond():
    if sessiond_running():
        return False
    note("no lttng-sessiond running; starting one (lttng-sessiond --daemonize)")
    p = subprocess.run(["lttng-sessiond", "--daemonize"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    # It exits 1 when another one won the race: that one will do.
    if p.returncode != 0 and not sessiond_running():
        die("could not start lttng-sessiond: %s\n  run 'lttng-sessiond --daemonize' yourself (as root, or as "
            "a member of the 'tracing' group) and try again" % (p.stdout.strip() or "exit %d" % p.returncode))
    for _ in range(50):
        if lttng("list", check=False)[0] == 0:
            return True
        time.sleep(0.1)
    die("lttng-sessiond started but does not answer 'lttng list'; check its log with "
        "'lttng-sessiond -vvv' in a terminal")
    return True


def parse_relay(url):
    """net://HOST[:CTRL[:DATA]] -> (host, ctrl, data)."""
    m = re.fullmatch(r"net6?://(\[[^\]]+\]|[^:/]+)(?::(\d+)(?::(\d+))?)?/?", url)
    if not m:
        die("--relay %s: expected net://HOST[:CTRL_PORT[:DATA_PORT]], e.g. net://collector.example" % url)
    host = m.group(1).strip("[]")
    ctrl = int(m.group(2) or 5342)
    data = int(m.group(3) or (ctrl + 1))
    return host, ctrl, data


def relay_reachable(host, port, timeout=3.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_relay(url):
    host, ctrl, data = parse_relay(url)
    if not relay_reachable(host, ctrl):
        die("lttng-relayd is not reachable at %s:%d; start it on that host ('lttng-relayd -d' listens on "
            "ports 5342 (control) and 5343 (data) by default) or check the address, ports and firewall"
            % (host, ctrl))
    return host, ctrl, data


def discarded_events(session):
    """Sum of 'Discarded events' and 'Lost packets' over the session's channels."""
    rc, out = lttng("list", session, check=False)
    if rc != 0:
        return None, None
    lost = sum(int(x) for x in re.findall(r"Discarded events:\s*(\d+)", out))
    packets = sum(int(x) for x in re.findall(r"Lost packets:\s*(\d+)", out))
    return lost, packets
