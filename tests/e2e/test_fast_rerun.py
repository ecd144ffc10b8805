"""The scheduled re-run (-e fast_rerun=true): one module run when nothing changed since the last full run, and a
full run as soon as anything that decides the setup did: a file it wrote, the values, the session, the age.

Each test gets a laptop of its own (a throwaway HOME on this machine) set up by the real setup playbook against
the workspace double, with the real Databricks CLI and Claude Code.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import stat
import subprocess
import sys

import pytest
from operations_support import Laptop, Run

QUICK_TITLE = "Coding agents x Databricks FMAPI — nothing changed since the full run at "


@pytest.fixture(name="laptop")
def laptop_fixture(double, tmp_path):
    double.control.reset()
    (tmp_path / "laptop").mkdir()
    return Laptop(str(tmp_path / "laptop" / "home"), double, str(tmp_path / "laptop"))


def recap(run) -> dict:
    found = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", run.output)
    assert found, run.output[-3000:]
    return {"ok": int(found.group(1)), "changed": int(found.group(2)), "failed": int(found.group(3))}


def stamp_file(laptop: Laptop) -> str:
    return os.path.join(laptop.home, ".local", "state", "fmapi-coding-agents", "setup-stamp.json")


def assert_quick(run) -> None:
    assert run.returncode == 0, run.output[-3000:]
    assert QUICK_TITLE in run.output, "a quick re-run says so:\n" + run.output[-3000:]
    # The question and its report: no fact gathering, no role, no model check.
    assert recap(run) == {"ok": 2, "changed": 0, "failed": 0}
    assert "Gather the facts" not in run.output and "Check the configured models" not in run.output


def assert_full(run, reason: str) -> None:
    assert run.returncode == 0, run.output[-3000:]
    assert QUICK_TITLE not in run.output
    row = run.row("Notes", "Full run")
    assert row.status == "INFO" and reason in row.value, str(row)


def test_a_scheduled_rerun_is_one_module_run_until_a_file_or_a_value_changes(laptop):
    first = laptop.setup("fast_rerun=true")
    assert first.returncode == 0 and recap(first)["changed"] > 0
    assert "no full run has been recorded yet" in first.row("Notes", "Full run").value
    assert stat.S_IMODE(os.stat(stamp_file(laptop)).st_mode) == 0o600

    again = laptop.setup("fast_rerun=true")
    assert_quick(again)
    # What the last full run said is said again, with when the next full run comes.
    assert again.row("Configuration", "Workspace").value == laptop.url
    assert again.row("Session", "OAuth").status == "PASS"
    assert "the next full run after" in again.row("Notes", "Quick re-run").value

    # The user (or another tool) takes Databricks out of Claude Code's settings: the next run puts it back.
    settings = laptop.read_settings()
    del settings["env"]["ANTHROPIC_BASE_URL"]
    settings["theme"] = "dark"
    with open(laptop.settings_path, "w", encoding="utf-8") as handle:
        json.dump(settings, handle)
    repaired = laptop.setup("fast_rerun=true")
    assert_full(repaired, "settings.json changed since the last full run")
    assert recap(repaired)["changed"] >= 1
    assert laptop.read_settings()["env"]["ANTHROPIC_BASE_URL"].startswith(laptop.url)
    assert laptop.read_settings()["theme"] == "dark"
    assert_quick(laptop.setup("fast_rerun=true"))

    # Another value: a full run that applies it.
    other_model = laptop.setup("fast_rerun=true", "model=databricks-claude-sonnet-4-6")
    assert_full(other_model, "the values given or the collection changed")
    assert laptop.read_settings()["env"]["ANTHROPIC_MODEL"] == "databricks-claude-sonnet-4-6"
    assert_quick(laptop.setup("fast_rerun=true", "model=databricks-claude-sonnet-4-6"))

    # Without fast_rerun every run is the full reinstall, and the record stays for the next scheduled run.
    plain = laptop.setup("model=databricks-claude-sonnet-4-6")
    assert plain.returncode == 0 and QUICK_TITLE not in plain.output and recap(plain)["changed"] == 0
    with pytest.raises(AssertionError):
        plain.row("Notes", "Full run")
    assert_quick(laptop.setup("fast_rerun=true", "model=databricks-claude-sonnet-4-6"))


def test_an_ended_session_or_an_old_record_makes_a_full_run(laptop):
    assert laptop.setup("fast_rerun=true").returncode == 0
    laptop.end_session()
    relogged = laptop.setup("fast_rerun=true")
    assert_full(relogged, "is not active")
    assert relogged.row("Session", "OAuth").status == "PASS", "the full run logged in again"
    assert_quick(laptop.setup("fast_rerun=true"))

    with open(stamp_file(laptop), encoding="utf-8") as handle:
        stamp = json.load(handle)
    stamp["full_run_at"] = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    with open(stamp_file(laptop), "w", encoding="utf-8") as handle:
        json.dump(stamp, handle)
    assert_quick(laptop.setup("fast_rerun=true", "fast_rerun_max_age_hours=48"))
    assert_full(laptop.setup("fast_rerun=true"), "is more than 24 hours old")


def test_a_run_with_a_warning_is_repeated_in_full_and_the_uninstall_removes_the_record(laptop):
    warned = laptop.setup("fast_rerun=true", "sonnet=databricks-claude-sonnet-9-9")
    assert warned.returncode == 0 and warned.row("Models", "sonnet").status == "WARN"
    assert not os.path.exists(stamp_file(laptop)), "a run that warned is not recorded"
    again = laptop.setup("fast_rerun=true", "sonnet=databricks-claude-sonnet-9-9")
    assert_full(again, "no full run has been recorded")
    assert again.row("Models", "sonnet").status == "WARN", "the warning is said again"

    # The model is put right (the earlier install's value would stay otherwise): a clean run, recorded.
    assert laptop.setup("fast_rerun=true", "sonnet=databricks-claude-sonnet-4-6").returncode == 0
    assert os.path.exists(stamp_file(laptop))
    assert laptop.play("uninstall", "confirm=yes").returncode == 0
    assert not os.path.exists(stamp_file(laptop))
    assert laptop.play("uninstall", "confirm=yes").returncode == 0


def test_fast_rerun_from_the_inventory_as_an_awx_schedule_sets_it(laptop, tmp_path):
    """AWX's inventory (docs/awx/inventory.yml) sets fast_rerun as a group variable, which a play keyword such as
    gather_facts cannot see: the quick re-run must still gather no facts."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"laptops": {
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
        "vars": {"fast_rerun": True, "host": laptop.url,
                 "claude_code_release_url": laptop.url + "/mirror/claude-code",
                 "databricks_cli_release_url": laptop.url + "/mirror/databricks-cli"}}}))

    def play() -> Run:
        command = ["ansible-playbook", "-i", str(inventory), "fmapi.coding_agents.setup", "-e", "fmapi_hosts=laptops"]
        completed = subprocess.run(command, cwd=laptop.home, env=laptop.env(browser=True), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                                   check=False)
        run = Run(command, completed.returncode, completed.stdout)
        print(run)
        return run

    first = play()
    assert first.returncode == 0 and "Gather the facts the setup needs" in first.output
    assert os.path.exists(stamp_file(laptop))
    assert_quick(play())
