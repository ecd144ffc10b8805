"""A setup killed at any point, and many setups at once on one HOME.

Killed with SIGKILL (the whole process group, as a closed laptop lid or an MDM timeout would) at
many points of a first setup, every file the setup touches is either as it was or as it should be
(never half-written), and the next run completes. Several re-runs at once on one HOME leave valid
files in which no key of the user's is lost.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import time

from operations_support import Laptop

USERS_OWN = {"theme": "dark", "env": {"MY_FLAG": "on"}, "permissions": {"allow": ["Bash(ls:*)"]}}
# Seconds after the start at which a first setup is killed (it takes about 25 s here).
KILL_POINTS = (1.5, 3, 5, 7, 10, 13, 16, 20)


def new_laptop(double, base) -> Laptop:
    base.mkdir()
    laptop = Laptop(str(base / "home"), double, str(base))
    os.makedirs(os.path.dirname(laptop.settings_path))
    with open(laptop.settings_path, "w", encoding="utf-8") as handle:
        json.dump(USERS_OWN, handle, indent=2)
    return laptop


def start_setup(laptop: Laptop) -> subprocess.Popen:
    command = ["ansible-playbook", "fmapi.coding_agents.setup", "-e", "host=" + laptop.url,
               "-e", "claude_code_release_url=%s/mirror/claude-code" % laptop.url,
               "-e", "databricks_cli_release_url=%s/mirror/databricks-cli" % laptop.url]
    return subprocess.Popen(command, cwd=laptop.home, env=laptop.env(browser=True), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def assert_as_it_was_or_as_it_should_be(laptop: Laptop, final: dict) -> None:
    """Each file the setup writes is either absent/untouched or complete."""
    settings = read_json(laptop.settings_path)
    assert settings == USERS_OWN or settings == final["settings"], settings
    helper = laptop.helper_path
    if os.path.exists(helper):
        with open(helper, encoding="utf-8") as handle:
            text = handle.read()
        assert text == final["helper"], "a half-written token helper"
    config = os.path.join(laptop.home, ".databrickscfg")
    if os.path.exists(config):
        with open(config, encoding="utf-8") as handle:
            assert "[fmapi-claudecode-profile]" in handle.read()
    plugin = os.path.join(laptop.home, ".claude", "fmapi-coding-agents", "marketplace")
    if os.path.exists(plugin):
        found = sorted(os.path.relpath(os.path.join(folder, name), plugin)
                       for folder, _subfolders, names in os.walk(plugin) for name in names)
        assert found == final["plugin"], "a half-installed plugin"
    state = os.path.join(laptop.home, ".claude.json")
    if os.path.exists(state):
        assert read_json(state) == {"hasCompletedOnboarding": True}
    cli = os.path.join(laptop.home, ".local", "bin", "databricks")
    if os.path.lexists(cli):
        completed = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=60, check=False)
        assert completed.returncode == 0 and "Databricks CLI" in completed.stdout, "a half-written CLI"


def test_a_setup_killed_at_any_point_leaves_whole_files_and_the_next_run_completes(double, tmp_path):
    reference = new_laptop(double, tmp_path / "reference")
    assert reference.setup().returncode == 0
    with open(reference.helper_path, encoding="utf-8") as handle:
        helper_text = handle.read()
    plugin = os.path.join(reference.home, ".claude", "fmapi-coding-agents", "marketplace")
    final_plugin = sorted(os.path.relpath(os.path.join(folder, name), plugin)
                          for folder, _subfolders, names in os.walk(plugin) for name in names)

    for number, delay in enumerate(KILL_POINTS):
        laptop = new_laptop(double, tmp_path / ("killed-%d" % number))
        final = {"settings": json.loads(json.dumps(read_json(reference.settings_path))
                                        .replace(reference.home, laptop.home)),
                 "helper": helper_text.replace(reference.home, laptop.home), "plugin": final_plugin}
        process = start_setup(laptop)
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)

        assert_as_it_was_or_as_it_should_be(laptop, final)

        again = laptop.setup()
        assert again.returncode == 0, "the run after the kill at %.1f s failed" % delay
        assert read_json(laptop.settings_path) == final["settings"]


def test_many_runs_at_once_on_one_home_lose_no_key(double, tmp_path):
    laptop = new_laptop(double, tmp_path / "busy")
    assert laptop.setup().returncode == 0
    models = ["databricks-claude-sonnet-4-5", "databricks-claude-sonnet-4-6", "databricks-claude-opus-4-5",
              "databricks-claude-opus-4-6"]

    with concurrent.futures.ThreadPoolExecutor(len(models)) as pool:
        runs = list(pool.map(lambda model: laptop.setup("sonnet=" + model), models))

    assert [run.returncode for run in runs] == [0] * len(models)
    settings = read_json(laptop.settings_path)
    assert settings["theme"] == "dark" and settings["permissions"]["allow"] == ["Bash(ls:*)"]
    assert settings["env"]["MY_FLAG"] == "on"
    assert settings["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] in models
    assert settings["apiKeyHelper"] == laptop.helper_path
    leftovers = [name for name in os.listdir(os.path.dirname(laptop.settings_path)) if name.startswith(".ansible")]
    assert leftovers == []
