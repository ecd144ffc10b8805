"""What a setup costs on one laptop: module runs and wall time of the first setup and of the re-run.

Not a test: it prints a table. It starts the workspace double (with the release mirror of the real
tools), then, in a throwaway HOME on this machine, runs

  1. ``ansible-playbook fmapi.coding_agents.setup`` on a laptop that has nothing (tools from the mirror);
  2. the same again: the re-run, which has nothing to change (the reinstall a fleet runs on a schedule);

each ``--repeat`` times in fresh HOMEs. Module runs are counted from ``-vvv`` output (every module
Ansible ships to the laptop is one ``PUT ... AnsiballZ_<module>.py``); wall time is measured on a
separate run without ``-vvv``. Prints the median wall time and the module runs by module.

    source ~/.cache/fmapi-coding-agents/env.sh
    python tests/benchmarks/bench_setup.py [--repeat 3] [--extra-vars 'k=v' ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402  pylint: disable=wrong-import-position
from operations_support import Laptop  # noqa: E402  pylint: disable=wrong-import-position
from workspace_double.server import WorkspaceDouble  # noqa: E402  pylint: disable=wrong-import-position

_RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)")


def setup_vars(url: str, extra: list) -> list:
    return ["host=" + url,
            "claude_code_release_url=%s/mirror/claude-code" % url,
            "databricks_cli_release_url=%s/mirror/databricks-cli" % url,
            # The same values under the names the collection's first release used.
            "dependencies_claude_code_release_url=%s/mirror/claude-code" % url,
            "dependencies_databricks_cli_release_url=%s/mirror/databricks-cli" % url] + list(extra)


def run_setup(laptop: Laptop, extra: list, verbose: bool) -> tuple:
    command = ["ansible-playbook", "fmapi.coding_agents.setup"] + (["-vvv"] if verbose else [])
    for value in setup_vars(laptop.url, extra):
        command += ["-e", value]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=laptop.home, env=laptop.env(browser=True), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-8000:])
        raise SystemExit("setup failed (exit %d)" % completed.returncode)
    modules = benchlib.module_runs(completed.stdout)
    recap = _RECAP.search(completed.stdout)
    changed = int(recap.group(2)) if recap else -1
    return elapsed, modules, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--extra-vars", nargs="*", default=[])
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="fmapi-bench-setup.")
    double = WorkspaceDouble(os.path.join(work, "double"),
                             mirror_dir=os.environ.get("FMAPI_MIRROR_DIR") or None).start()
    times = {"first setup": [], "re-run": []}
    modules = {}
    changed = {}
    try:
        for number in range(args.repeat):
            for verbose in (False, True):
                double.state.reset()
                laptop = Laptop(os.path.join(work, "home-%d-%s" % (number, verbose)), double, work)
                for phase in ("first setup", "re-run"):
                    elapsed, counted, changes = run_setup(laptop, args.extra_vars, verbose)
                    if verbose:
                        modules[phase] = counted
                    else:
                        times[phase].append(elapsed)
                        changed[phase] = changes
    finally:
        double.stop()
        shutil.rmtree(work, ignore_errors=True)

    machine = "%s, %d cores" % (os.uname().machine, os.cpu_count() or 0)
    print("setup on one laptop (%s), median of %d runs" % (machine, args.repeat))
    print("%-12s %10s %12s %9s" % ("phase", "wall (s)", "module runs", "changed"))
    for phase in ("first setup", "re-run"):
        print("%-12s %10.1f %12d %9d" % (phase, statistics.median(times[phase]), sum(modules[phase].values()),
                                         changed[phase]))
    for phase in ("first setup", "re-run"):
        print("\nmodule runs, %s:" % phase)
        for name, count in sorted(modules[phase].items(), key=lambda item: (-item[1], item[0])):
            print("  %3d  %s" % (count, name))


if __name__ == "__main__":
    main()
