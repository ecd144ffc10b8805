"""What the collection costs, from one laptop to a fleet of 500: the benchmark behind ``tests/bin/bench``.

Not a test: it prints markdown tables, writes the raw figures as JSON and a PNG plot. Parts (``--parts``):

  1. setup on one laptop with the tools installed (real Databricks CLI and Claude Code on PATH, the SDK venv there),
     against the workspace double: the first configuration, the re-run (nothing to change) and the scheduled
     quick re-run (``-e fast_rerun=true``, after a full run that recorded itself), wall time and module runs;
     and the original bash script's ``--reinstall`` (fetched at run time from ``--original-repo``) in another HOME
     of the same machine, with the same CLI against the same double.
  2. the token helper our setup writes against a bare ``databricks auth token --profile P --output json``: median
     of ``--helper-runs`` runs each, and their ratio.
  3. the list_models and validate_models playbooks against ``--endpoints`` serving endpoints served in pages.
  4. the fleet (fleet.py): ``--fleet-sizes`` laptops in one ansible-playbook run over SSH; a sweep of settings
     (forks, pipelining, strategy, fact gathering, ControlPersist, Mitogen) at ``--sweep-size``, then every size
     with the defaults and with the best settings of the sweep.

Run it through ``tests/bin/bench`` (it installs what this needs); directly, after sourcing env.sh:

    python tests/benchmarks/bench_fleet.py --parts 1,2,3,4 --fleet-sizes 1,10,50,100,500 \\
        [--original-repo URL_OR_PATH] [--output-dir tests/output/bench] [--plot-python PYTHON] [--mitogen-path DIR]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), os.path.join(ROOT, "tests", "harness"),
                os.path.join(ROOT, "tests", "e2e")]

# pylint: disable=wrong-import-position
import benchlib  # noqa: E402
import fleet as fleet_mod  # noqa: E402
from operations_support import PROFILE, Laptop  # noqa: E402
from workspace_double.server import WorkspaceDouble  # noqa: E402
from workspace_double.state import default_endpoints  # noqa: E402

ORIGINAL_REPO = "https://github.com/anthonyivn2/fmapi-codingagent-setup"
ORIGINAL_ENTRY = "setup-fmapi-claudecode.sh"
# Any connection the original script would open to anything but loopback goes to this dead proxy and fails.
DEAD_PROXY = "http://127.0.0.1:9"


# Part 1, in order on each laptop: the first configuration, the full re-run, a full run that records itself for the
# quick re-run (not in the table), then the quick re-run a schedule makes (-e fast_rerun=true).
PART1_RUNS = (("first", ()), ("rerun", ()), ("recording", ("fast_rerun=true",)), ("quick", ("fast_rerun=true",)))
PART1_PHASES = ("first", "rerun", "quick")
FAST_RERUN = {"fast_rerun": True}
PART1_LABELS = (("first", "first configuration"), ("rerun", "re-run (nothing to change)"),
                ("quick", "scheduled quick re-run (-e fast_rerun=true, nothing changed)"))


def log(message: str) -> None:
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), message))
    sys.stderr.flush()


def timed(command: t.Sequence[str], env: t.Dict[str, str], cwd: str, timeout: int = 900,
          log_file: t.Optional[str] = None) -> t.Tuple[float, int, str]:
    """(seconds, exit status, output) of one command, no terminal."""
    started = time.perf_counter()
    completed = subprocess.run(list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    elapsed = time.perf_counter() - started
    if log_file:
        with open(log_file, "w", encoding="utf-8") as handle:
            handle.write("$ %s\n(exit %d, %.2f s)\n%s" % (" ".join(command), completed.returncode, elapsed,
                                                          completed.stdout))
    return elapsed, completed.returncode, completed.stdout


def choose_best(runs: t.Dict[str, t.Dict[str, t.Any]], tolerance: float = 0.03) -> str:
    """The settings of the size scan, from the sweep's re-runs (each setting alone against the defaults).

    Forks: the largest count whose wall time is within ``tolerance`` of the fastest (on loopback more forks cost
    nothing; across a real network they hide the latency). Pipelining, the fact cache, a longer ControlPersist and
    the free strategy each remove work (round trips, a module run, SSH handshakes): each is kept unless it failed,
    changed something, or cost more than ``tolerance`` above the defaults' CPU per laptop (the controller's plus the
    laptop's: on a machine that runs both, and is shared, CPU is what wall time follows, with less noise). Mitogen is
    measured, not chosen: it is a third-party strategy plugin, which ansible-core deprecates.
    """
    def cpu(run: t.Dict[str, t.Any]) -> float:
        if run.get("laptop_cpu_per_host") is None or run.get("controller_cpu_per_host") is None:
            return run["seconds"]
        return run["controller_cpu_per_host"] + run["laptop_cpu_per_host"]

    ok = {name: run for name, run in runs.items()
          if "problem" not in run and not run.get("recap", {}).get("changed")}
    forks = [(count, name) for count, name in ((5, "defaults"), (25, "forks25"), (50, "forks50")) if name in ok]
    chosen = ["forks5"]
    if forks:
        fastest = min(ok[name]["seconds"] for _count, name in forks)
        chosen = ["forks%d" % max(count for count, name in forks if ok[name]["seconds"] <= fastest * (1 + tolerance))]
    if "defaults" in ok:
        base = cpu(ok["defaults"])
        chosen += [name for name in ("pipelining", "free", "factcache", "cp30m")
                   if name in ok and cpu(ok[name]) <= base * (1 + tolerance)]
    return "+".join(chosen)


def clone_facts(facts_dir: str, size: int) -> None:
    """laptop001's cached facts (jsonfile cache) for laptop002..laptop<size>, its user name replaced."""
    source = os.path.join(facts_dir, fleet_mod.user_name(1))
    if not os.path.isfile(source):
        return
    with open(source, encoding="utf-8") as handle:
        text = handle.read()
    for number in range(2, size + 1):
        with open(os.path.join(facts_dir, fleet_mod.user_name(number)), "w", encoding="utf-8") as handle:
            handle.write(text.replace(fleet_mod.user_name(1), fleet_mod.user_name(number)))


class Bench:
    """The double, the scratch directory, the results."""

    def __init__(self, options):
        self.options = options
        self.work = tempfile.mkdtemp(prefix="fmapi-bench.")
        self.logs = os.path.join(options.output_dir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.cache = os.environ.get("FMAPI_DEV_CACHE") or os.path.expanduser("~/.cache/fmapi-coding-agents")
        self.double = WorkspaceDouble(os.path.join(self.work, "double"),
                                      mirror_dir=os.environ.get("FMAPI_MIRROR_DIR") or None).start()
        self.results: t.Dict[str, t.Any] = {
            "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": benchlib.machine(), "versions": self.versions(), "parts": {}}
        self.laptop: t.Optional[Laptop] = None
        self.original_laptop: t.Optional[Laptop] = None
        self.merged: t.Dict[str, t.Any] = {}
        if options.merge:
            # The parts an earlier run measured and this one does not: reported with this run's.
            with open(options.merge, encoding="utf-8") as handle:
                self.merged = json.load(handle)
            for key, part in self.merged.get("parts", {}).items():
                if int(key) not in options.parts and "error" not in part:
                    self.results["parts"][key] = dict(part, measured=self.merged["started"])
            self.results["merged"] = {"file": os.path.abspath(options.merge), "started": self.merged["started"],
                                      "machine": self.merged["machine"]}

    def close(self) -> None:
        self.double.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    @staticmethod
    def versions() -> t.Dict[str, str]:
        def first_line(command: t.Sequence[str]) -> str:
            try:
                return subprocess.run(list(command), capture_output=True, text=True, timeout=60,
                                      check=False).stdout.strip().splitlines()[0]
            except (OSError, IndexError, subprocess.SubprocessError):
                return "?"
        return {"ansible-core": first_line(["ansible", "--version"]),
                "databricks": first_line([os.environ.get("FMAPI_DATABRICKS_CLI", "databricks"), "--version"]),
                "claude": first_line([os.environ.get("FMAPI_CLAUDE", "claude"), "--version"])}

    # ------------------------------------------------------------ a laptop here
    def new_laptop(self, name: str) -> Laptop:
        """A HOME on this machine with the real Databricks CLI and Claude Code in ~/.local/bin, like a laptop where
        both are installed."""
        laptop = Laptop(os.path.join(self.work, name), self.double, self.work)
        bin_dir = os.path.join(laptop.home, ".local", "bin")
        os.makedirs(bin_dir, exist_ok=True)
        os.symlink(os.environ["FMAPI_DATABRICKS_CLI"], os.path.join(bin_dir, "databricks"))
        os.symlink(os.environ["FMAPI_CLAUDE"], os.path.join(bin_dir, "claude"))
        return laptop

    def sdk_venv(self) -> str:
        """The SDK venv a laptop's setup would create, built once here from the wheels (linked into each HOME)."""
        pins = fleet_mod.sdk_requirements()
        digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:12]
        venv = os.path.join(self.cache, "bench", "sdk-venv-" + digest)
        if not os.path.isfile(os.path.join(venv, ".complete")):
            wheels = fleet_mod.Fleet(self.work, self.double, self.cache, log).wheels()
            shutil.rmtree(venv, ignore_errors=True)
            fleet_mod.run(["/usr/bin/python3", "-m", "venv", venv])
            fleet_mod.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                           "--no-index", "--find-links", wheels] + pins)
            open(os.path.join(venv, ".complete"), "w", encoding="utf-8").close()
        return venv

    def our_setup(self, laptop: Laptop, verbose: bool, tag: str, *extra: str) -> t.Dict[str, t.Any]:
        command = ["ansible-playbook", "fmapi.coding_agents.setup"] + (["-vvv"] if verbose else [])
        for value in ("host=" + laptop.url, "claude_code_release_url=%s/mirror/claude-code" % laptop.url,
                      "databricks_cli_release_url=%s/mirror/databricks-cli" % laptop.url) + extra:
            command += ["-e", value]
        elapsed, status, output = timed(command, laptop.env(browser=True), laptop.home,
                                        log_file=os.path.join(self.logs, "part1-%s.log" % tag))
        if status != 0:
            raise RuntimeError("our setup failed (exit %d), see %s" % (status, os.path.join(self.logs, tag)))
        counts = benchlib.module_runs(output)
        hosts = benchlib.recap(output)
        return {"seconds": elapsed, "module_runs": sum(counts.values()), "modules": dict(counts),
                "changed": benchlib.recap_totals(hosts).get("changed")}

    # --------------------------------------------------------------- part 1
    def fetch_original(self) -> t.Tuple[t.Optional[str], str]:
        """(checkout, how) of the original script: ``git clone --depth 1`` into the scratch directory."""
        source = self.options.original_repo
        if os.path.exists(source):
            source = "file://" + os.path.abspath(source)
        target = os.path.join(self.work, "original")
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
        try:
            completed = subprocess.run(["git", "clone", "-q", "--depth", "1", source, target], capture_output=True,
                                       text=True, timeout=120, env=env, check=False)
        except subprocess.TimeoutExpired:
            return None, "not measured: git clone %s timed out" % self.options.original_repo
        if completed.returncode != 0:
            reason = (completed.stderr.strip().splitlines() or ["exit %d" % completed.returncode])[-1]
            return None, "not measured: cannot fetch %s (%s)" % (self.options.original_repo, reason)
        if not os.path.isfile(os.path.join(target, ORIGINAL_ENTRY)):
            return None, "not measured: %s has no %s" % (self.options.original_repo, ORIGINAL_ENTRY)
        commit = subprocess.run(["git", "-C", target, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
        return target, "%s at %s" % (self.options.original_repo, commit)

    def original(self, laptop: Laptop, checkout: str, args: t.Sequence[str], tag: str) -> t.Tuple[float, int]:
        env = laptop.env(browser=True)
        # Non-interactive, no colours; curl trusts the double like the CLI does; nothing reaches past loopback.
        env.update({"NO_COLOR": "1", "CURL_CA_BUNDLE": laptop.trust_file, "HTTPS_PROXY": DEAD_PROXY,
                    "HTTP_PROXY": DEAD_PROXY, "https_proxy": DEAD_PROXY, "http_proxy": DEAD_PROXY,
                    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
        elapsed, status, _output = timed(["bash", os.path.join(checkout, ORIGINAL_ENTRY)] + list(args), env,
                                         laptop.home, timeout=600,
                                         log_file=os.path.join(self.logs, "part1-original-%s.log" % tag))
        return elapsed, status

    def part1(self) -> None:
        repeat = self.options.repeat
        self.double.control.update_scenario(endpoints=default_endpoints(), page_size=None)
        venv = self.sdk_venv()
        ours: t.Dict[str, t.List[float]] = {phase: [] for phase in PART1_PHASES}
        changed: t.Dict[str, t.Any] = {}
        for number in range(repeat):
            laptop = self.new_laptop("ours-%d" % number)
            self.link_venv(laptop, venv)
            for phase, extra in PART1_RUNS:
                run = self.our_setup(laptop, False, "ours-%d-%s" % (number, phase), *extra)
                if phase in ours:
                    ours[phase].append(run["seconds"])
                    changed[phase] = run["changed"]
                log("part 1: our %s %.1f s (changed=%s)" % (phase, run["seconds"], run["changed"]))
            self.laptop = laptop
        counted = {}
        laptop = self.new_laptop("ours-vvv")
        self.link_venv(laptop, venv)
        for phase, extra in PART1_RUNS:
            counted[phase] = self.our_setup(laptop, True, "ours-vvv-%s" % phase, *extra)
        result: t.Dict[str, t.Any] = {
            "repeat": repeat,
            "ours": {phase: {"seconds": benchlib.median(ours[phase]), "runs": ours[phase], "changed": changed[phase],
                             "module_runs": counted[phase]["module_runs"], "modules": counted[phase]["modules"]}
                     for phase in PART1_PHASES}}
        checkout, how = self.fetch_original()
        result["original"] = {"source": how}
        self.original_laptop = None
        if checkout:
            laptop = self.new_laptop("original")
            first, status = self.original(laptop, checkout, ["--host", laptop.url], "first")
            if status != 0:
                result["original"]["source"] = "not measured: its first setup failed (exit %d)" % status
            else:
                times, statuses = [], []
                for number in range(max(repeat, 3)):
                    elapsed, status = self.original(laptop, checkout, ["--reinstall"], "reinstall-%d" % number)
                    times.append(elapsed)
                    statuses.append(status)
                result["original"].update({"first": {"seconds": first}, "rerun": {
                    "seconds": benchlib.median(times), "runs": times, "exit": statuses}})
                result["original"]["laptop"] = laptop.home
                self.original_laptop = laptop
                log("part 1: original first %.1f s, --reinstall %.2f s" % (first, statistics.median(times)))
        self.results["parts"]["1"] = result

    @staticmethod
    def link_venv(laptop: Laptop, venv: str) -> None:
        data = os.path.join(laptop.home, ".local", "share", "fmapi-coding-agents")
        os.makedirs(data, exist_ok=True)
        os.symlink(venv, os.path.join(data, "venv"))

    # --------------------------------------------------------------- part 2
    def part2(self) -> None:
        if self.laptop is None:
            laptop = self.new_laptop("helper")
            self.link_venv(laptop, self.sdk_venv())
            self.our_setup(laptop, False, "helper-setup")
            self.laptop = laptop
        laptop = self.laptop
        env = laptop.env(browser=False)
        cli = os.path.join(laptop.home, ".local", "bin", "databricks")
        # "ours": a call as Claude Code makes it every TTL (the helper's record of the token it served last is
        # older than its 2-minute repeat window, here removed before each run). "ours_repeat": asked again within
        # 2 minutes, as after an HTTP 401, the helper first asks the workspace whether that token is rejected.
        # (The record's name: _databricks_cli.state_file_for.)
        record = os.path.join(os.path.dirname(laptop.helper_path), "." + os.path.basename(laptop.helper_path) + ".state")
        commands = {"ours": [laptop.helper_path], "ours_repeat": [laptop.helper_path],
                    "bare": [cli, "auth", "token", "--profile", PROFILE, "--output", "json"]}
        original = self.original_laptop
        if original is not None:
            commands["original"] = [os.path.join(original.home, ".claude", "fmapi-key-helper.sh")]
        runs: t.Dict[str, t.List[float]] = {name: [] for name in commands}
        for _number in range(self.options.helper_runs):
            # Interleaved, so that a burst of load on the machine hits every command alike.
            for name, command in commands.items():
                home = original.home if name == "original" else laptop.home
                run_env = original.env(browser=False) if name == "original" else env
                if name == "ours" and os.path.exists(record):
                    os.unlink(record)
                elapsed, status, output = timed(command, run_env, home, timeout=60)
                if status != 0 or not output.strip():
                    raise RuntimeError("%s failed (exit %d): %s" % (" ".join(command), status, output[-500:]))
                runs[name].append(elapsed)
        medians = {name: statistics.median(values) for name, values in runs.items()}
        if not os.path.exists(record):
            raise RuntimeError("the token helper keeps no record at %s: the benchmark's repeat rows are wrong" % record)
        result = {"runs_each": self.options.helper_runs, "median_seconds": medians,
                  "ratio_ours_to_bare": medians["ours"] / medians["bare"],
                  "ratio_ours_repeat_to_bare": medians["ours_repeat"] / medians["bare"]}
        if "original" in medians:
            result["ratio_original_to_bare"] = medians["original"] / medians["bare"]
        self.results["parts"]["2"] = result
        log("part 2: helper %.0f ms, bare CLI %.0f ms, ratio %.2f" % (
            medians["ours"] * 1000, medians["bare"] * 1000, result["ratio_ours_to_bare"]))

    # --------------------------------------------------------------- part 3
    def part3(self) -> None:
        if self.laptop is None:
            laptop = self.new_laptop("models")
            self.link_venv(laptop, self.sdk_venv())
            self.our_setup(laptop, False, "models-setup")
            self.laptop = laptop
        laptop = self.laptop
        count, page = self.options.endpoints, self.options.page_size
        endpoints = default_endpoints()
        endpoints += [{"name": "team-%02d-model-%05d" % (number % 40, number), "task": "llm/v1/chat"}
                      for number in range(max(0, count - len(endpoints)))]
        result: t.Dict[str, t.Any] = {"endpoints": len(endpoints), "page_size": page, "playbooks": {}}
        try:
            for size, page_size in ((len(default_endpoints()), None), (len(endpoints), page)):
                self.double.control.update_scenario(endpoints=endpoints[:size], page_size=page_size)
                for playbook in ("list_models", "validate_models"):
                    times, requests = [], 0
                    for number in range(self.options.repeat):
                        self.double.control.clear_requests()
                        elapsed, status, _output = timed(
                            ["ansible-playbook", "fmapi.coding_agents." + playbook], laptop.env(browser=False),
                            laptop.home, log_file=os.path.join(self.logs, "part3-%s-%d-%d.log" % (playbook, size, number)))
                        if status != 0:
                            raise RuntimeError("%s failed (exit %d) with %d endpoints" % (playbook, status, size))
                        times.append(elapsed)
                        requests = len(self.double.control.requests("/api/2.0/serving-endpoints"))
                    result["playbooks"].setdefault(playbook, {})[str(size)] = {
                        "seconds": benchlib.median(times), "runs": times, "list_requests": requests}
                    log("part 3: %s with %d endpoints: %.1f s, %d list requests" % (
                        playbook, size, statistics.median(times), requests))
        finally:
            self.double.control.update_scenario(endpoints=default_endpoints(), page_size=None)
        self.results["parts"]["3"] = result

    # --------------------------------------------------------------- part 4
    def settings(self, name: str, facts_dir: str) -> t.Dict[str, str]:
        """The environment of one named setting (several joined with +)."""
        env: t.Dict[str, str] = {}
        for item in name.split("+"):
            if item == "defaults":
                continue
            if item.startswith("forks"):
                env["ANSIBLE_FORKS"] = item[len("forks"):]
            elif item == "pipelining":
                env["ANSIBLE_PIPELINING"] = "True"
            elif item == "free":
                env["ANSIBLE_STRATEGY"] = "free"
            elif item == "factcache":
                env.update({"ANSIBLE_GATHERING": "smart", "ANSIBLE_CACHE_PLUGIN": "jsonfile",
                            "ANSIBLE_CACHE_PLUGIN_CONNECTION": facts_dir, "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "86400"})
            elif item == "nocp":
                env["ANSIBLE_SSH_ARGS"] = "-o ControlMaster=no"
            elif item == "cp30m":
                env["ANSIBLE_SSH_ARGS"] = "-C -o ControlMaster=auto -o ControlPersist=30m"
            elif item == "mitogen":
                env["ANSIBLE_STRATEGY"] = "mitogen_linear" if env.get("ANSIBLE_STRATEGY") != "free" else "mitogen_free"
                env["ANSIBLE_STRATEGY_PLUGINS"] = os.path.join(self.options.mitogen_path or "", "ansible_mitogen",
                                                               "plugins", "strategy")
                env["PYTHONPATH"] = (self.options.mitogen_path or "") + os.pathsep + os.environ.get("PYTHONPATH", "")
            else:
                raise ValueError("unknown setting %r" % item)
        return env

    def fleet_play(self, fleet, size: int, setting: str, tag: str, facts_dir: str, verbose: bool = False,
                   timeout: int = 5400, extra: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        url = self.double.url
        variables = {
            "fmapi_hosts": "all", "host": url,
            "fmapi_environment": {"DATABRICKS_AUTH_STORAGE": "plaintext",
                                  "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"},
            "databricks_cli_release_url": url + "/mirror/databricks-cli",
            "claude_code_release_url": url + "/mirror/claude-code",
            "claude_code_ca_file": "/etc/ssl/certs/ca-certificates.crt",
            # Everyone is logged in; a laptop that were not should not wait five minutes for a browser.
            "databricks_cli_login_timeout": 30}
        variables.update(extra or {})
        vars_file = os.path.join(self.work, "fleet-vars.json")
        with open(vars_file, "w", encoding="utf-8") as handle:
            json.dump(variables, handle)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("ANSIBLE_", "DATABRICKS_", "BROWSER"))}
        env.update({"ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""),
                    "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_HOST_KEY_CHECKING": "False",
                    "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(self.work, "cp"),
                    "ANSIBLE_LOCAL_TEMP": os.path.join(self.work, "ansible-tmp"),
                    "ANSIBLE_RETRY_FILES_ENABLED": "False"})
        env.update(self.settings(setting, facts_dir))
        command = ["ansible-playbook", "-i", fleet.write_inventory(size), "fmapi.coding_agents.setup",
                   "-e", "@" + vars_file] + (["-vvv"] if verbose else [])
        laptops_before = fleet.cpu_seconds()
        controller_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed, status, output = timed(command, env, self.work, timeout=timeout,
                                        log_file=os.path.join(self.logs, "part4-%s.log" % tag))
        controller_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        laptops_after = fleet.cpu_seconds()
        hosts = benchlib.recap(output)
        totals = benchlib.recap_totals(hosts)
        controller_cpu = (controller_after.ru_utime + controller_after.ru_stime
                          - controller_before.ru_utime - controller_before.ru_stime)
        laptops_cpu = laptops_after - laptops_before if None not in (laptops_before, laptops_after) else None
        run = {"size": size, "setting": setting, "seconds": elapsed, "per_host_seconds": elapsed / size,
               "controller_cpu_per_host": controller_cpu / size,
               "laptop_cpu_per_host": laptops_cpu / size if laptops_cpu is not None else None,
               "exit": status, "recap": totals, "log": os.path.join(self.logs, "part4-%s.log" % tag),
               "load_average_after": round(os.getloadavg()[0], 2)}
        problems = []
        if status != 0:
            errors = [line for line in output.splitlines() if line.startswith("[ERROR]: ")]
            problems.append("exit %d%s" % (status, (": " + errors[0][len("[ERROR]: "):][:100] + "...") if errors else ""))
        if totals.get("hosts") != size:
            problems.append("%s of %d hosts in the recap" % (totals.get("hosts"), size))
        if totals.get("failed") or totals.get("unreachable"):
            problems.append("failed=%s unreachable=%s" % (totals.get("failed"), totals.get("unreachable")))
        if verbose:
            run["module_runs_by_user"] = benchlib.module_runs_by_user(output)
            run["modules"] = dict(benchlib.module_runs(output))
            run["ssh_operations_by_user"] = benchlib.ssh_operations_by_user(output)
        if problems:
            run["problem"] = "; ".join(problems)
        log("part 4: %-40s %4d hosts %7.1f s (%.2f s/host, CPU/host: controller %.2f s, laptop %s s) changed=%s%s" % (
            tag, size, elapsed, elapsed / size, controller_cpu / size,
            "%.2f" % run["laptop_cpu_per_host"] if laptops_cpu is not None else "?", totals.get("changed"),
            (" PROBLEM " + run["problem"]) if problems else ""))
        return run

    def fleet_pair(self, fleet, size: int, setting: str, tag: str) -> t.Dict[str, t.Any]:
        """Fresh HOMEs, the first configuration, then the re-run (which must change nothing). Above
        --first-max-size laptops only the re-run is measured: laptop001 is configured alone and its HOME cloned."""
        facts_dir = os.path.join(self.work, "facts-%s" % tag)
        shutil.rmtree(facts_dir, ignore_errors=True)
        if size > self.options.first_max_size:
            fleet.reset_homes(1)
            first = self.fleet_play(fleet, 1, setting, tag + "-first-laptop001", facts_dir)
            first["cloned_to"] = size
            fleet.clone_homes(size)
            clone_facts(facts_dir, size)
        else:
            fleet.reset_homes(size)
            first = self.fleet_play(fleet, size, setting, tag + "-first", facts_dir)
        rerun = self.fleet_play(fleet, size, setting, tag + "-rerun", facts_dir)
        pair = {"first": first, "rerun": rerun}
        if self.options.quick:
            # The schedule's re-run: a full run that records itself, then the quick one that is measured.
            self.fleet_play(fleet, size, setting, tag + "-recording", facts_dir, extra=FAST_RERUN)
            pair["quick"] = self.fleet_play(fleet, size, setting, tag + "-quick", facts_dir, extra=FAST_RERUN)
        for phase in ("rerun", "quick"):
            run = pair.get(phase, {})
            if run.get("recap", {}).get("changed"):
                run["problem"] = (run.get("problem", "") + "; " if run.get("problem") else "") + \
                    "%s changed %d" % (phase, run["recap"]["changed"])
        return pair

    def mitogen_check(self) -> t.Tuple[bool, str]:
        path = self.options.mitogen_path
        if not path or not os.path.isdir(os.path.join(path, "ansible_mitogen")):
            return False, "not installed (%s)" % (self.options.mitogen_status or "no --mitogen-path")
        version = "?"
        for name in os.listdir(path):
            if name.startswith("mitogen-") and name.endswith(".dist-info"):
                version = name[len("mitogen-"):-len(".dist-info")]
        return True, "mitogen " + version

    def part4(self) -> None:
        sizes = sorted(self.options.fleet_sizes)
        sweep_size = self.options.sweep_size
        # No token may expire (and be refreshed, rotating the refresh token the login files keep) during the run.
        self.double.control.update_scenario(endpoints=default_endpoints(), page_size=None,
                                            access_token_ttl_seconds=24 * 3600)
        fleet = fleet_mod.Fleet(self.work, self.double, self.cache, log)
        result: t.Dict[str, t.Any] = {"method": "one podman container (network host), sshd on 127.0.0.1, one "
                                                "local account per laptop; the controller is this machine",
                                      "sweep": {}, "sizes": {}}
        self.results["parts"]["4"] = result
        try:
            started = time.monotonic()
            fleet.start(max(sizes + [sweep_size, 2]))
            result["prepare_seconds"] = time.monotonic() - started
            log("part 4: fleet of %d accounts ready in %.0f s (port %d)"
                % (fleet.size, result["prepare_seconds"], fleet.port))
            # Module runs per host: -vvv without pipelining, two laptops. SSH operations per host: the same, and
            # the re-run again with the best settings.
            fleet.reset_homes(2)
            facts = os.path.join(self.work, "facts-vvv")
            counted = {phase: self.fleet_play(fleet, 2, "defaults", "vvv-" + phase, facts, verbose=True)
                       for phase in ("first", "rerun")}
            result["module_runs_per_host"] = {phase: counted[phase]["module_runs_by_user"]
                                              for phase in counted}
            result["modules"] = {phase: counted[phase]["modules"] for phase in counted}
            result["ssh_operations_per_host"] = {"defaults": counted["rerun"]["ssh_operations_by_user"]}
            if self.options.quick:
                self.fleet_play(fleet, 2, "defaults", "vvv-recording", facts, extra=FAST_RERUN)
                quick = self.fleet_play(fleet, 2, "defaults", "vvv-quick", facts, verbose=True, extra=FAST_RERUN)
                result["module_runs_per_host"]["quick"] = quick["module_runs_by_user"]
                result["modules"]["quick"] = quick["modules"]
                result["ssh_operations_per_host"]["defaults, quick re-run"] = quick["ssh_operations_by_user"]
            best = self.options.best
            if "factcache" in best:
                self.fleet_play(fleet, 2, best, "vvv-best-fill", os.path.join(self.work, "facts-vvv-best"))
            result["ssh_operations_per_host"][best] = self.fleet_play(
                fleet, 2, best, "vvv-best-rerun", os.path.join(self.work, "facts-vvv-best"),
                verbose=True)["ssh_operations_by_user"]
            if self.options.sweep:
                self.sweep(fleet, sweep_size, result)
            elif "sweep" in self.merged.get("parts", {}).get("4", {}):
                # A sweep of an earlier run (--merge): shown, not used to choose (--best is).
                result["sweep"] = self.merged["parts"]["4"]["sweep"]
                result["sweep"]["from"] = self.merged["started"]
                result["sweep_best"] = self.merged["parts"]["4"].get("best")
            best = result.get("best", self.options.best)
            result["best"] = best
            for size in sizes:
                for setting in dict.fromkeys(["defaults", best]):
                    if setting == "defaults" and size > self.options.max_default_size:
                        continue
                    pair = self.fleet_pair(fleet, size, setting, "size%d-%s" % (size, setting))
                    result["sizes"].setdefault(str(size), {})[setting] = pair
                    self.save()
        finally:
            fleet.stop()

    def sweep(self, fleet, size: int, result: t.Dict[str, t.Any]) -> None:
        """The settings one at a time at ``size`` laptops: re-runs on the same configured HOMEs (a re-run
        changes nothing, so each setting meets the same state), then the best combination."""
        fleet.reset_homes(size)
        facts_root = os.path.join(self.work, "facts-sweep")
        sweep: t.Dict[str, t.Any] = {"size": size,
                                     "first": self.fleet_play(fleet, size, "forks25+pipelining", "sweep-first",
                                                              os.path.join(facts_root, "first"))}
        mitogen_ok, mitogen_note = self.mitogen_check()
        sweep["mitogen"] = mitogen_note
        candidates = ["defaults", "forks25", "forks50", "pipelining", "free", "factcache", "nocp", "cp30m"]
        if mitogen_ok:
            candidates.append("mitogen")
        runs: t.Dict[str, t.Any] = {}
        for setting in candidates:
            facts_dir = os.path.join(facts_root, setting)
            if "factcache" in setting:
                # The first run with the cache fills it; the one measured reads it.
                self.fleet_play(fleet, size, setting, "sweep-%s-fill" % setting, facts_dir)
            runs[setting] = self.fleet_play(fleet, size, setting, "sweep-" + setting, facts_dir)
        result["best"] = best = choose_best(runs)
        for setting in dict.fromkeys([best, best + "+mitogen" if mitogen_ok else best]):
            # best+mitogen reads the facts best cached.
            facts_dir = os.path.join(facts_root, setting.replace("+mitogen", ""))
            if "factcache" in setting and not os.path.isdir(facts_dir):
                self.fleet_play(fleet, size, setting, "sweep-%s-fill" % setting, facts_dir)
            runs[setting] = self.fleet_play(fleet, size, setting, "sweep-" + setting, facts_dir)
        sweep["reruns"] = runs
        result["sweep"] = sweep
        self.save()

    # --------------------------------------------------------------- output
    def save(self) -> str:
        path = os.path.join(self.options.output_dir, "bench.json")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(self.results, handle, indent=2, sort_keys=True)
        os.replace(path + ".tmp", path)
        return path


def report(results: t.Dict[str, t.Any]) -> str:
    """The markdown tables of every part that ran."""
    out = ["# fmapi.coding_agents benchmark", "",
           "Machine: %s; %s." % (benchlib.describe_machine(results["machine"]),
                                 ", ".join("%s" % value for value in results["versions"].values())),
           "Started %s." % results["started"], ""]
    if results.get("merged"):
        merged = results["merged"]
        out[-1:] = ["Parts headed 'from the run started ...' come from an earlier run (%s, %s)."
                    % (merged["file"], benchlib.describe_machine(merged["machine"])), ""]
    parts = results["parts"]

    def earlier(key: str) -> str:
        return " (from the run started %s)" % parts[key]["measured"] if parts[key].get("measured") else ""

    if "1" in parts:
        part = parts["1"]
        ours, original = part["ours"], part["original"]
        rows = [["fmapi.coding_agents setup, " + label, ours[phase]["seconds"], ours[phase]["module_runs"],
                 ours[phase]["changed"]] for phase, label in PART1_LABELS if phase in ours]
        if "rerun" in original:
            rows += [["original script, first setup (--host)", original["first"]["seconds"], "n/a (bash)", "-"],
                     ["original script, --reinstall", original["rerun"]["seconds"], "n/a (bash)", "-"]]
        else:
            rows.append(["original script, --reinstall", original["source"], "-", "-"])
        out += ["## 1. Setup on one laptop, tools installed (median of %d; the script's --reinstall median of %d)%s"
                % (part["repeat"], len(original.get("rerun", {}).get("runs", [])) or 0, earlier("1")), "",
                benchlib.markdown_table(["run", "wall s", "module runs", "changed"], rows), ""]
        if "rerun" in original:
            out += ["Re-run against --reinstall: ours takes %.1fx the script's time%s (%s)." % (
                ours["rerun"]["seconds"] / original["rerun"]["seconds"],
                "; the quick re-run (fast_rerun) %.1fx" % (ours["quick"]["seconds"] / original["rerun"]["seconds"])
                if "quick" in ours else "", original["source"]), ""]
    if "2" in parts:
        part = parts["2"]
        rows = [["token helper (ours), as called every TTL", part["median_seconds"]["ours"] * 1000,
                 "%.2f" % part["ratio_ours_to_bare"]]]
        if "ours_repeat" in part["median_seconds"]:
            rows.append(["token helper (ours), asked again within 2 min (as after a 401: checks the token first)",
                         part["median_seconds"]["ours_repeat"] * 1000, "%.2f" % part["ratio_ours_repeat_to_bare"]])
        rows.append(["databricks auth token --output json", part["median_seconds"]["bare"] * 1000, "1.00"])
        if "original" in part["median_seconds"]:
            rows.append(["original script's helper", part["median_seconds"]["original"] * 1000,
                         "%.2f" % part["ratio_original_to_bare"]])
        out += ["## 2. Token helper (median of %d runs each)%s" % (part["runs_each"], earlier("2")), "",
                benchlib.markdown_table(["command", "median ms", "ratio to bare CLI"], rows), ""]
    if "3" in parts:
        part = parts["3"]
        rows = []
        for playbook, by_size in part["playbooks"].items():
            for size, figures in sorted(by_size.items(), key=lambda item: int(item[0])):
                rows.append([playbook, size, figures["list_requests"], figures["seconds"]])
        out += ["## 3. Model playbooks against many endpoints (pages of %d)%s" % (part["page_size"], earlier("3")), "",
                benchlib.markdown_table(["playbook", "endpoints", "list requests", "wall s"], rows), ""]
    if "4" in parts:
        out += fleet_report(parts["4"])
    return "\n".join(out)


def fleet_report(part: t.Dict[str, t.Any]) -> t.List[str]:
    out = ["## 4. The fleet", "", part["method"] + "."]
    per_host = part.get("module_runs_per_host", {})
    if per_host:
        out.append("Module runs per host (-vvv, no pipelining): first configuration %s, re-run %s%s." % (
            sorted(set(per_host.get("first", {}).values())), sorted(set(per_host.get("rerun", {}).values())),
            ", quick re-run (fast_rerun) %s" % sorted(set(per_host["quick"].values())) if "quick" in per_host else ""))
    for setting, by_user in part.get("ssh_operations_per_host", {}).items():
        out.append("SSH operations per host in a re-run with %s: %s." % (setting, sorted(set(by_user.values()))))
    out.append("")
    sweep = part.get("sweep")
    if sweep:
        rows = []
        base = sweep["reruns"]["defaults"]["seconds"]
        order = ["defaults", "forks25", "forks50", "pipelining", "free", "factcache", "nocp", "cp30m", "mitogen"]
        for name, run in sorted(sweep["reruns"].items(),
                                key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0])):
            rows.append([name, run["seconds"], run["per_host_seconds"], "%.2f" % (run["seconds"] / base),
                         run["controller_cpu_per_host"], run["laptop_cpu_per_host"],
                         run["recap"].get("changed"), run.get("problem", "")])
        out += ["### Settings at %d laptops: the re-run (first configuration with forks25+pipelining: %.1f s); "
                "Mitogen: %s%s" % (sweep["size"], sweep["first"]["seconds"], sweep["mitogen"],
                                   "; measured in the run started %s" % sweep["from"] if sweep.get("from") else ""), "",
                benchlib.markdown_table(["setting", "wall s", "s per host", "vs defaults", "controller CPU s/host",
                                         "laptop CPU s/host", "changed", "problem"], rows),
                "", "Chosen from this sweep: %s; the fleet sizes below ran with: %s" % (
                    part.get("sweep_best", part.get("best")), part.get("best")), ""]
    rows = []
    cloned = False
    for size, settings in sorted(part.get("sizes", {}).items(), key=lambda item: int(item[0])):
        for setting, pair in settings.items():
            first, rerun = pair["first"], pair["rerun"]
            if first.get("cloned_to"):
                cloned = True
                first_cells = ["cloned", "-"]
            else:
                first_cells = [first["seconds"], first["per_host_seconds"]]
            quick = pair.get("quick", {})
            rows.append([size, setting] + first_cells + [
                rerun["seconds"], rerun["per_host_seconds"], rerun["controller_cpu_per_host"],
                rerun["laptop_cpu_per_host"], rerun["recap"].get("changed"),
                quick.get("seconds", "-"), quick.get("controller_cpu_per_host", "-"),
                quick.get("recap", {}).get("changed", "-"),
                "; ".join(filter(None, [first.get("problem"), rerun.get("problem"), quick.get("problem")]))])
    if rows:
        out += ["### Fleet sizes (CPU: seconds of CPU per host during the re-run, on the controller and on the laptops)",
                "", benchlib.markdown_table(["laptops", "settings", "first s", "first s/host", "re-run s",
                                             "re-run s/host", "controller CPU s/host", "laptop CPU s/host",
                                             "re-run changed", "quick re-run s", "quick controller CPU s/host",
                                             "quick changed", "problem"], rows), ""]
        if cloned:
            out += ["cloned: the first configuration was run on laptop001 alone and its HOME copied to the others "
                    "(user name replaced, own login kept); the re-run's changed=0 on every host checks the copies.", ""]
    return out


def parse_args(argv: t.Optional[t.Sequence[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])

    def numbers(text: str) -> t.List[int]:
        return [int(item) for item in text.split(",") if item.strip()]

    parser.add_argument("--parts", type=numbers, default=[1, 2, 3, 4])
    parser.add_argument("--fleet-sizes", type=numbers, default=[1, 10, 50, 100, 500])
    parser.add_argument("--sweep-size", type=int, default=10, help="laptops in the settings sweep")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false", help="skip the settings sweep")
    parser.add_argument("--best", default="forks25+pipelining",
                        help="settings of the size scan when there is no sweep (joined with +)")
    parser.add_argument("--max-default-size", type=int, default=10,
                        help="largest fleet also measured with the defaults")
    parser.add_argument("--first-max-size", type=int, default=50,
                        help="largest fleet whose first configuration is measured; bigger ones clone laptop001's HOME")
    parser.add_argument("--repeat", type=int, default=3, help="runs of part 1 and 3 (the median is shown)")
    parser.add_argument("--no-quick", dest="quick", action="store_false",
                        help="part 4 without the scheduled quick re-run (-e fast_rerun=true)")
    parser.add_argument("--helper-runs", type=int, default=30)
    parser.add_argument("--endpoints", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--original-repo", default=ORIGINAL_REPO)
    parser.add_argument("--output-dir", default=os.path.join(ROOT, "tests", "output", "bench"))
    parser.add_argument("--merge", default="",
                        help="an earlier run's bench.json: its parts this run leaves out (and its sweep, with "
                             "--no-sweep) are reported with this run's")
    parser.add_argument("--plot-python", default="", help="a Python with matplotlib (tests/bin/bench makes one)")
    parser.add_argument("--mitogen-path", default="", help="a directory holding the mitogen package")
    parser.add_argument("--mitogen-status", default="", help="why Mitogen is not there (from tests/bin/bench)")
    return parser.parse_args(argv)


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    options = parse_args(argv)
    os.makedirs(options.output_dir, exist_ok=True)
    bench = Bench(options)
    log("machine: %s" % benchlib.describe_machine(bench.results["machine"]))
    status = 0
    try:
        for number in sorted(options.parts):
            try:
                getattr(bench, "part%d" % number)()
            except Exception as error:  # pylint: disable=broad-except
                # One part failing leaves the others' figures: it is said in the output and the exit status.
                log("part %d failed: %s" % (number, error))
                bench.results["parts"].setdefault(str(number), {})["error"] = str(error)
                status = 1
            bench.save()
    finally:
        bench.close()
    ok_parts = {key: value for key, value in bench.results["parts"].items() if "error" not in value}
    text = report(dict(bench.results, parts=ok_parts))
    failed = {key: value["error"] for key, value in bench.results["parts"].items() if "error" in value}
    if failed:
        text += "\n\nParts that failed: " + "; ".join("%s: %s" % item for item in sorted(failed.items()))
    json_path = bench.save()
    table_path = os.path.join(options.output_dir, "bench.md")
    with open(table_path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    print(text)
    print("\nRaw figures: %s\nTables: %s" % (json_path, table_path))
    if options.plot_python:
        plot = subprocess.run([options.plot_python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot.py"),
                               json_path, options.output_dir], capture_output=True, text=True, check=False)
        if plot.returncode != 0:
            print("Plot failed: %s" % plot.stderr[-2000:])
            status = 1
        else:
            print(plot.stdout.strip())
    else:
        print("No plot (no --plot-python with matplotlib)")
    return status


if __name__ == "__main__":
    sys.exit(main())
