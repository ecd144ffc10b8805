"""The setup on laptops that differ from our Debian harness in the ways ordinary laptops do: Homebrew
outside ~/.local/bin, a workspace that refuses personal access tokens, a URL pasted from the browser,
DATABRICKS_CONFIG_FILE, a project whose settings run a helper of their own, a model that is gone, and
a laptop set up by the previous release of this collection.

Each test gets a laptop of its own (a throwaway HOME on this machine) set up by the real setup
playbook against the workspace double, with the real Databricks CLI and Claude Code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import textwrap

import pytest
from operations_support import PROFILE, ROOT, Laptop

# The last release of this collection before the roles were cut per tool.
PREVIOUS_RELEASE = "f3da1bb"


@pytest.fixture(name="new_laptop")
def new_laptop_fixture(double, tmp_path):
    """A factory of laptops nobody has set up yet, on a workspace in its first state."""
    double.control.reset()

    def make(name: str = "developer", **extra_env: str) -> Laptop:
        (tmp_path / name).mkdir()
        return Laptop(str(tmp_path / name / "home"), double, str(tmp_path / name), extra_env)
    return make


def profile_host(config_file: str) -> str:
    with open(config_file, encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("[%s]" % PROFILE, 1)[1]
    return re.search(r"^host\s*=\s*(\S+)", section, re.MULTILINE).group(1)


def helper_metadata(laptop: Laptop) -> dict:
    with open(laptop.helper_path, encoding="utf-8") as handle:
        line = handle.read().splitlines()[1]
    return json.loads(line.split(": ", 1)[1])


def helper_token(laptop: Laptop) -> subprocess.CompletedProcess:
    """Run the token helper the way Claude Code runs apiKeyHelper."""
    command = laptop.read_settings()["apiKeyHelper"]
    return subprocess.run(["/bin/sh", "-c", command], env=laptop.env(browser=False), capture_output=True,
                          text=True, timeout=120, check=False)


# ------------------------------------------------------------------------------------ host values

def test_a_url_pasted_from_the_browser_is_reduced_to_the_workspace_and_said(new_laptop):
    laptop = new_laptop()

    run = laptop.setup(host=laptop.url + "/browse/folders/123?o=1234567890#tab")

    assert run.returncode == 0
    note = run.row("Notes", "host from the command line")
    assert note.status == "WARN"
    assert "was reduced to the workspace URL %s" % laptop.url in note.value
    assert profile_host(os.path.join(laptop.home, ".databrickscfg")) == laptop.url
    assert laptop.read_settings()["env"]["ANTHROPIC_BASE_URL"] == laptop.url + "/serving-endpoints/anthropic"
    assert helper_token(laptop).returncode == 0


@pytest.mark.parametrize("host, says", [
    ("http://my-workspace.cloud.databricks.com", "must start with https://"),
    ("https://my-workspace.cloud.databricks.com/$(touch /tmp/fmapi-pwned)", "which no workspace URL has"),
    ("https://my-workspace.cloud.databricks.com\nhttps://evil.example", "control characters"),
    ("https://user:secret@my-workspace.cloud.databricks.com", "must not contain a user name or password"),
])
def test_a_bad_host_stops_the_setup_before_anything_is_installed_or_written(new_laptop, host, says):
    laptop = new_laptop()

    # As JSON, so that a line break reaches the playbook as it is.
    run = laptop.setup(json.dumps({"host": host}))

    assert run.returncode != 0
    assert says in run.output
    assert "like https://my-workspace.cloud.databricks.com" in run.output or "use https://" in run.output
    assert not os.path.lexists(os.path.join(laptop.home, ".local"))
    assert not os.path.exists(os.path.join(laptop.home, ".databrickscfg"))
    assert not os.path.exists(laptop.settings_path)
    assert not os.path.exists("/tmp/fmapi-pwned")


# -------------------------------------------------------------------------------------- Homebrew

BREW_STANDIN = textwrap.dedent("""\
    #!/bin/sh
    # A stand-in for Homebrew: installs the real tools into its own prefix, as brew links formulae into
    # $(brew --prefix)/bin, a directory that is not ~/.local/bin (and, here, not on PATH).
    prefix=$(cd "$(dirname "$0")/.." && pwd)
    echo "brew $*" >> "$prefix/brew.log"
    case "$*" in
      --version) echo "Homebrew 4.4.0" ;;
      "tap databricks/tap") echo "==> Tapped 1 formula" >&2 ;;
      "install databricks/tap/databricks") cp "$FMAPI_DATABRICKS_CLI" "$prefix/bin/databricks" ;;
      "install --cask claude-code") ln -sf "$FMAPI_CLAUDE" "$prefix/bin/claude" ;;
      *) echo "brew stand-in: unexpected arguments: $*" >&2; exit 1 ;;
    esac
    """)


def test_homebrew_installs_outside_local_bin_are_found_and_used(new_laptop, tmp_path):
    prefix = tmp_path / "homebrew"
    (prefix / "bin").mkdir(parents=True)
    brew = prefix / "bin" / "brew"
    brew.write_text(BREW_STANDIN, encoding="utf-8")
    brew.chmod(brew.stat().st_mode | stat.S_IXUSR)
    laptop = new_laptop()
    assert str(prefix / "bin") not in laptop.env(browser=False)["PATH"].split(os.pathsep)

    run = laptop.setup("databricks_cli_method=homebrew", "databricks_cli_brew=%s" % brew,
                       "claude_code_method=homebrew", "claude_code_brew=%s" % brew)

    assert run.returncode == 0
    assert (prefix / "brew.log").read_text(encoding="utf-8").splitlines() == [
        "brew --version", "brew tap databricks/tap", "brew install databricks/tap/databricks",
        "brew --version", "brew install --cask claude-code"]
    assert helper_metadata(laptop)["databricks_cli"] == str(prefix / "bin" / "databricks")
    assert run.row("Files", "Databricks CLI").value == str(prefix / "bin" / "databricks")
    assert run.row("Files", "Claude Code").value == str(prefix / "bin" / "claude")
    assert not os.path.lexists(os.path.join(laptop.home, ".local", "bin", "databricks"))
    assert helper_token(laptop).returncode == 0


# ------------------------------------------------------------------------- a workspace without PATs

def test_a_workspace_that_refuses_the_token_api_is_a_warning_and_setup_completes(new_laptop, double):
    laptop = new_laptop()
    claude_dir = os.path.join(laptop.home, ".claude")
    os.makedirs(claude_dir)
    legacy_helper = os.path.join(claude_dir, "fmapi-key-helper.sh")
    with open(legacy_helper, "w", encoding="utf-8") as handle:
        handle.write('#!/bin/sh\nFMAPI_PROFILE="%s"\nFMAPI_HOST="%s"\necho "$FMAPI_PAT"\n' % (PROFILE, laptop.url))
    with open(laptop.settings_path, "w", encoding="utf-8") as handle:
        json.dump({"apiKeyHelper": legacy_helper, "_fmapi_meta": {"version": "0.9"}}, handle)
    double.control.add_fault("/api/2.0/token/", status=403, count=None, body={
        "error_code": "PERMISSION_DENIED", "message": "Personal access tokens are disabled for this workspace."})

    run = laptop.setup()

    assert run.returncode == 0
    tokens = run.row("Migration", "Older tokens")
    assert tokens.status == "WARN"
    assert "refuses the token API (HTTP 403)" in tokens.value
    settings = laptop.read_settings()
    assert settings["apiKeyHelper"] == laptop.helper_path and "_fmapi_meta" not in settings
    assert not os.path.exists(legacy_helper)
    assert helper_token(laptop).returncode == 0


# ---------------------------------------------------------------------------- DATABRICKS_CONFIG_FILE

def test_databricks_config_file_is_where_the_profile_goes_and_is_read_from(new_laptop):
    laptop = new_laptop()
    config_file = os.path.join(laptop.home, ".config", "databricks", "profiles.cfg")
    os.makedirs(os.path.dirname(config_file))
    laptop.extra_env["DATABRICKS_CONFIG_FILE"] = config_file

    run = laptop.setup()

    assert run.returncode == 0
    assert run.row("Session", "OAuth").status == "PASS"
    assert profile_host(config_file) == laptop.url
    assert not os.path.exists(os.path.join(laptop.home, ".databrickscfg"))
    status = laptop.play("status")
    assert status.row("Auth", "OAuth session").status == "PASS"
    assert config_file in status.row("Profile", "Profile").value
    assert helper_token(laptop).returncode == 0


# ---------------------------------------------------------------------------------------- doctor

def test_doctor_never_runs_an_api_key_helper_this_collection_did_not_write(new_laptop, tmp_path):
    laptop = new_laptop()
    assert laptop.setup().returncode == 0
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    marker = tmp_path / "the-foreign-helper-ran"
    foreign = project / ".claude" / "get-token.sh"
    foreign.write_text("#!/bin/sh\ntouch %s\necho foreign-token\n" % marker, encoding="utf-8")
    foreign.chmod(0o755)
    settings = laptop.read_settings()
    settings["apiKeyHelper"] = str(foreign)
    (project / ".claude" / "settings.json").write_text(json.dumps(settings), encoding="utf-8")

    run = laptop.play("doctor", "settings_location=cwd", cwd=str(project))

    assert not marker.exists()
    helper = run.row("Auth", "Token helper")
    assert helper.status == "SKIP" and "not this collection's token helper" in helper.value
    assert run.row("Configuration", "apiKeyHelper").status == "WARN"


# ---------------------------------------------------------------------------------------- models

def test_setup_ends_with_the_model_check_and_warns_naming_the_model_and_the_fix(new_laptop):
    laptop = new_laptop()

    run = laptop.setup("sonnet=databricks-claude-sonnet-9-9")

    assert run.returncode == 0
    sonnet = run.row("Models", "sonnet")
    assert sonnet.status == "WARN"
    assert "databricks-claude-sonnet-9-9" in sonnet.value and "does not exist" in sonnet.value
    assert any("ansible-playbook fmapi.coding_agents.setup -e sonnet=<endpoint>" in hint for hint in sonnet.hints)
    assert laptop.read_settings()["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] == "databricks-claude-sonnet-9-9"


# --------------------------------------------------------------------- upgrade from the last release

def changed_tasks(output: str) -> list:
    """The names of the tasks that reported a change."""
    names, current = [], None
    for line in output.splitlines():
        match = re.match(r"TASK \[(.*)\] \*+", line)
        if match:
            current = match.group(1)
        elif line.startswith("changed: [") and current:
            names.append(current)
    return names


UPGRADE_CHANGES = [
    "fmapi.coding_agents.databricks_cli : Create the venv for the workspace modules' libraries",
    "fmapi.coding_agents.databricks_cli : Install the workspace modules' libraries in the venv",
    "fmapi.coding_agents.databricks_cli : Write the token helper every agent runs",
    "fmapi.coding_agents.claude_code : Point Claude Code at Databricks Foundation Model API",
    "fmapi.coding_agents.claude_code : Remove the token helper where earlier versions wrote it",
]


def test_an_install_of_the_previous_release_upgrades_cleanly(new_laptop, tmp_path):
    if subprocess.run(["git", "-C", ROOT, "cat-file", "-e", PREVIOUS_RELEASE + "^{commit}"],
                      capture_output=True, check=False).returncode != 0:
        pytest.fail("commit %s (the previous release) is not in this clone's history" % PREVIOUS_RELEASE)
    old = tmp_path / "previous" / "ansible_collections" / "fmapi" / "coding_agents"
    old.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", PREVIOUS_RELEASE], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    laptop = new_laptop()
    laptop.extra_env["ANSIBLE_COLLECTIONS_PATH"] = str(tmp_path / "previous")
    first = laptop.play("setup", "host=" + laptop.url,
                        "dependencies_claude_code_release_url=%s/mirror/claude-code" % laptop.url,
                        "dependencies_databricks_cli_release_url=%s/mirror/databricks-cli" % laptop.url,
                        browser=True)
    assert first.returncode == 0, "the previous release's setup failed"
    del laptop.extra_env["ANSIBLE_COLLECTIONS_PATH"]
    before = laptop.read_settings()

    upgrade = laptop.setup()

    assert upgrade.returncode == 0
    # Only what moved: the token helper every agent shares, in the collection's data folder (the one in ~/.claude
    # is removed), and tomlkit joins the workspace modules' libraries.
    assert changed_tasks(upgrade.output) == UPGRADE_CHANGES, changed_tasks(upgrade.output)
    assert not os.path.exists(os.path.join(laptop.home, ".claude", "fmapi-token-helper"))
    assert laptop.read_settings() == dict(before, apiKeyHelper=laptop.helper_path)
    assert helper_metadata(laptop)["interpreter"]
    assert helper_token(laptop).returncode == 0
    again = laptop.setup()
    assert again.returncode == 0
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s", again.output), again.output[-3000:]
    shutil.rmtree(str(old), ignore_errors=True)
