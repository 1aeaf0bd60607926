"""The hakmem command line: run, trace and report."""
