"""token_helper run by Ansible; the helper it writes run as Claude Code runs it, against the workspace double
with the real Databricks CLI, and finally by the real Claude Code."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from functional_support import cli_env, cli_login, end_session
from workspace_double.tokens import decode_jwt_claims_unverified

MODULE = "token_helper"
PROFILE = "fmapi-dev"
HELPER_TIMEOUT = 180


@pytest.fixture(name="module_env")
def module_env_fixture(run_module, workspace_double):
    run_module.env.update({"SSL_CERT_FILE": workspace_double.ca_file, "DATABRICKS_AUTH_STORAGE": "plaintext"})
    return run_module


@pytest.fixture(name="args")
def args_fixture(workspace_double, databricks_cli) -> dict:
    return {"profile": PROFILE, "host": workspace_double.url, "databricks_cli": databricks_cli}


def read_helper_metadata(text: str) -> dict:
    """The metadata line claude_code_info reads: a JSON comment within the first 20 lines."""
    marker = "# fmapi-coding-agents-helper: "
    lines = [line for line in text.splitlines()[:20] if line.startswith(marker)]
    assert len(lines) == 1, text[:2000]
    return json.loads(lines[0][len(marker):])


def helper_path(home: str) -> str:
    """Where the module writes the helper by default: the collection's data folder, shared by every agent."""
    return os.path.join(home, ".local", "share", "fmapi-coding-agents", "fmapi-token-helper")


def cached_token(double, home: str, cli: str) -> str:
    """The access token the CLI's cache holds right now (no refresh: it is still valid)."""
    completed = subprocess.run([cli, "auth", "token", "--profile", PROFILE, "--output", "json"],
                               env=cli_env(double, home), capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)["access_token"]


def run_helper(command: str, double, home: str, **extra: str) -> subprocess.CompletedProcess:
    """Run the apiKeyHelper command the way Claude Code does: /bin/sh -c COMMAND, no arguments."""
    return subprocess.run(["/bin/sh", "-c", command], env=cli_env(double, home, **extra), capture_output=True,
                          text=True, timeout=HELPER_TIMEOUT, check=False)


def accepted(double, token: str) -> bool:
    """Whether the double accepts ``token`` as a bearer on a REST API."""
    request = urllib.request.Request(double.url + "/api/2.0/preview/scim/v2/Me",
                                     headers={"Authorization": "Bearer " + token})
    context = ssl.create_default_context(cafile=double.ca_file)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status == 200
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return False
        raise


def printed_token(completed: subprocess.CompletedProcess) -> str:
    """The token of a successful helper run, checking that stdout holds exactly one line with it."""
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.split("\n")
    assert len(lines) == 2 and lines[1] == "" and lines[0].strip() == lines[0] and lines[0], completed.stdout
    return lines[0]


def refresh_grants(double) -> list:
    return [entry for entry in double.control.requests(path_prefix="/oidc/v1/token")
            if entry["detail"].get("grant_type") == "refresh_token"]


def authorize_requests(double) -> list:
    return double.control.requests(path_prefix="/oidc/v1/authorize")


def seconds_left(token: str) -> float:
    return decode_jwt_claims_unverified(token)["exp"] - time.time()


def login_required_message(double) -> str:
    return "databricks auth login --host %s --profile %s" % (double.url, PROFILE)


@pytest.fixture(name="logged_in")
def logged_in_fixture(workspace_double, laptop_home, databricks_cli, fake_browser):
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)


@pytest.fixture(name="helper")
def helper_fixture(module_env, args) -> str:
    """Writes the helper with the module; returns the apiKeyHelper command."""
    return module_env(MODULE, args)["command"]


# -------------------------------------------------------------------------------------- the module

def test_writes_a_private_helper_that_carries_its_settings(module_env, laptop_home, workspace_double, args,
                                                           databricks_cli):
    result = module_env(MODULE, args, diff=True)

    path = helper_path(laptop_home)
    assert result["changed"] is True
    assert result["path"] == path
    assert result["command"] == path
    assert result["databricks_cli"] == databricks_cli
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith("#!/bin/sh\n")
    metadata = read_helper_metadata(text)
    assert metadata == {"version": 1, "profile": PROFILE, "host": workspace_double.url,
                        "databricks_cli": databricks_cli, "ttl_minutes": 30, "login_timeout": 120,
                        "interpreter": result["interpreter"]}
    assert "+" + text.splitlines()[1] in result["_output"], "the diff shows the new script"
    assert result["removed_legacy"] == []


def test_a_second_run_changes_nothing_and_a_changed_setting_rewrites(module_env, laptop_home, args):
    module_env(MODULE, args)
    again = module_env(MODULE, args)
    longer = module_env(MODULE, dict(args, ttl_minutes=45))

    assert again["changed"] is False
    assert longer["changed"] is True
    with open(helper_path(laptop_home), encoding="utf-8") as handle:
        assert read_helper_metadata(handle.read())["ttl_minutes"] == 45


def test_a_loosened_mode_is_tightened_again(module_env, laptop_home, args):
    module_env(MODULE, args)
    os.chmod(helper_path(laptop_home), 0o755)

    result = module_env(MODULE, args)

    assert result["changed"] is True
    assert stat.S_IMODE(os.stat(helper_path(laptop_home)).st_mode) == 0o700


def test_check_mode_writes_nothing(module_env, laptop_home, args):
    result = module_env(MODULE, args, check=True)

    assert result["changed"] is True
    assert not os.path.exists(os.path.dirname(helper_path(laptop_home)))


def test_the_legacy_pat_cache_beside_the_helper_is_removed(module_env, laptop_home, args):
    os.makedirs(os.path.dirname(helper_path(laptop_home)))
    cache = os.path.join(os.path.dirname(helper_path(laptop_home)), ".fmapi-pat-cache")
    with open(cache, "w", encoding="utf-8") as handle:
        handle.write("dapi0123456789abcdef0123456789abcdef\n")

    checked = module_env(MODULE, args, check=True)
    assert os.path.exists(cache)
    result = module_env(MODULE, args)

    assert checked["removed_legacy"] == [cache]
    assert result["removed_legacy"] == [cache]
    assert not os.path.exists(cache)
    assert "dapi0123456789abcdef" not in result["_output"]


def test_absent_removes_the_helper_its_state_and_the_legacy_cache(module_env, laptop_home, args):
    module_env(MODULE, args)
    cache = os.path.join(os.path.dirname(helper_path(laptop_home)), ".fmapi-pat-cache")
    state = os.path.join(os.path.dirname(helper_path(laptop_home)), ".fmapi-token-helper.state")
    for path in (cache, state):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("old\n")

    removed = module_env(MODULE, {"state": "absent"})
    again = module_env(MODULE, {"state": "absent"})

    assert removed["changed"] is True and removed["removed_legacy"] == [cache]
    assert not os.path.exists(helper_path(laptop_home)) and not os.path.exists(cache) and not os.path.exists(state)
    assert again["changed"] is False


@pytest.mark.parametrize("override, expected", [
    ({"profile": "x --host https://evil.example.com"}, "not a valid profile name"),
    ({"profile": "p\n`touch /tmp/fmapi-pwned`"}, "not a valid profile name"),
    ({"host": "https://evil.example.com'; touch /tmp/fmapi-pwned; '"}, "which no workspace URL has"),
    ({"host": "https://ok.example.com\n#!/bin/sh"}, "control characters"),
    ({"ttl_minutes": 61}, "must be from 1 to 60 minutes, got 61"),
    ({"ttl_minutes": 0}, "must be from 1 to 60 minutes, got 0"),
    ({"interpreter": "/opt/it's/python3"}, "contains quotes"),
    ({"interpreter": "/no/such/python3"}, "does not exist or is not executable"),
])
def test_bad_values_are_refused_and_nothing_is_written(module_env, laptop_home, args, override, expected):
    result = module_env(MODULE, dict(args, **override), expect_failure=True)

    assert expected in result["msg"]
    assert not os.path.exists(os.path.dirname(helper_path(laptop_home)))
    assert not os.path.exists("/tmp/fmapi-pwned")


def test_a_missing_cli_fails_with_an_install_hint(module_env, laptop_home, args):
    result = module_env(MODULE, dict(args, databricks_cli=os.path.join(laptop_home, "bin", "databricks")),
                        expect_failure=True)

    assert "Install the Databricks CLI" in result["msg"]
    assert not os.path.exists(helper_path(laptop_home))


# ---------------------------------------------------------------------------------- the helper

@pytest.mark.usefixtures("logged_in")
def test_the_helper_prints_only_a_token_the_workspace_accepts(helper, workspace_double, laptop_home):
    completed = run_helper(helper, workspace_double, laptop_home)

    token = printed_token(completed)
    assert accepted(workspace_double, token)
    assert completed.stderr == ""


@pytest.mark.usefixtures("logged_in")
def test_the_helper_refreshes_after_access_tokens_expired(helper, workspace_double, laptop_home, databricks_cli,
                                                          fake_browser):
    # Log in again with tokens that expire at once, and make the workspace agree they are expired.
    workspace_double.control.update_scenario(access_token_ttl_seconds=2)
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    workspace_double.control.update_scenario(access_token_ttl_seconds=3600)
    time.sleep(3)
    workspace_double.control.expire_access_tokens()
    refreshes_before = len(refresh_grants(workspace_double))

    token = printed_token(run_helper(helper, workspace_double, laptop_home))

    assert accepted(workspace_double, token)
    assert seconds_left(token) > 3000
    assert len(refresh_grants(workspace_double)) == refreshes_before + 1


def test_the_helper_forces_a_refresh_when_the_token_would_not_outlive_the_ttl(
        module_env, args, workspace_double, laptop_home, databricks_cli, fake_browser):
    # The cached token lives 10 minutes; a TTL of 10 minutes needs 10 + 5.
    workspace_double.control.update_scenario(access_token_ttl_seconds=600)
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    workspace_double.control.update_scenario(access_token_ttl_seconds=3600)
    short_lived = cached_token(workspace_double, laptop_home, databricks_cli)
    command = module_env(MODULE, dict(args, ttl_minutes=10))["command"]

    token = printed_token(run_helper(command, workspace_double, laptop_home))

    assert token != short_lived
    assert accepted(workspace_double, token)
    assert seconds_left(token) > 3000
    assert len(refresh_grants(workspace_double)) == 1


def test_the_helper_keeps_a_token_that_outlives_the_ttl(module_env, args, workspace_double, laptop_home,
                                                        databricks_cli, fake_browser):
    workspace_double.control.update_scenario(access_token_ttl_seconds=600)
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    cached = cached_token(workspace_double, laptop_home, databricks_cli)
    command = module_env(MODULE, dict(args, ttl_minutes=1))["command"]

    token = printed_token(run_helper(command, workspace_double, laptop_home))

    assert token == cached
    assert refresh_grants(workspace_double) == []


def test_a_dead_session_without_a_browser_names_the_command_that_fixes_it(
        helper, module_env, args, workspace_double, laptop_home, databricks_cli, fake_browser):
    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)

    completed = run_helper(helper, workspace_double, laptop_home)
    status = module_env("databricks_oauth", dict(args, state="status"), env={"BROWSER": "", "DISPLAY": ""})

    assert completed.returncode != 0
    assert completed.stdout == ""
    assert login_required_message(workspace_double) in completed.stderr
    assert "no browser can be opened here" in completed.stderr
    assert authorize_requests(workspace_double) == [authorize_requests(workspace_double)[0]], "no new login"
    assert status["session"] == "expired" and status["login_required"] is True
    assert status["login_command"] == login_required_message(workspace_double)


def test_a_dead_session_with_a_browser_logs_in_again(helper, workspace_double, laptop_home, databricks_cli,
                                                     fake_browser):
    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)

    completed = run_helper(helper, workspace_double, laptop_home, BROWSER=fake_browser)

    token = printed_token(completed)
    assert accepted(workspace_double, token)
    assert len(authorize_requests(workspace_double)) == 2
    assert "opening the browser" in completed.stderr


def test_parallel_helpers_share_one_login(helper, workspace_double, laptop_home, databricks_cli, fake_browser):
    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    slow_browser = os.path.join(laptop_home, "slow-browser")
    with open(slow_browser, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\nsleep 2\nexec %s \"$@\"\n" % fake_browser)
    os.chmod(slow_browser, 0o755)

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda _: run_helper(helper, workspace_double, laptop_home, BROWSER=slow_browser),
                             range(3)))

    tokens = [printed_token(completed) for completed in runs]
    assert all(accepted(workspace_double, token) for token in tokens)
    assert len(authorize_requests(workspace_double)) == 2, "one login at setup, one shared by the three helpers"


def test_a_login_nobody_completes_does_not_hang(module_env, args, workspace_double, laptop_home, databricks_cli,
                                                fake_browser):
    end_session(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    command = module_env(MODULE, dict(args, login_timeout=10))["command"]
    idle_browser = os.path.join(laptop_home, "idle-browser")
    with open(idle_browser, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\nexit 0\n")
    os.chmod(idle_browser, 0o755)

    started = time.monotonic()
    completed = run_helper(command, workspace_double, laptop_home, BROWSER=idle_browser)

    assert time.monotonic() - started < 60
    assert completed.returncode != 0 and completed.stdout == ""
    assert "within 10 seconds" in completed.stderr
    assert login_required_message(workspace_double) in completed.stderr


@pytest.mark.usefixtures("logged_in")
def test_databricks_variables_in_claude_codes_environment_are_ignored(helper, workspace_double, laptop_home):
    # The CLI would print its debug log on stdout with the last two, ahead of the JSON the helper reads.
    completed = run_helper(helper, workspace_double, laptop_home, DATABRICKS_TOKEN="dapi-junk",
                           DATABRICKS_HOST="https://junk.example.com", DATABRICKS_CONFIG_PROFILE="junk",
                           DATABRICKS_AUTH_TYPE="pat", DATABRICKS_CLIENT_ID="junk", DATABRICKS_CLIENT_SECRET="junk",
                           DATABRICKS_OUTPUT_FORMAT="text", DATABRICKS_LOG_LEVEL="debug", DATABRICKS_LOG_FILE="stdout")

    assert accepted(workspace_double, printed_token(completed))
    assert completed.stderr == ""


@pytest.mark.usefixtures("logged_in")
def test_a_home_with_spaces_and_an_interpreter_with_spaces_work(module_env, args, workspace_double, laptop_home,
                                                                tmp_path):
    python_dir = tmp_path / "my tools"
    python_dir.mkdir()
    (python_dir / "python3").symlink_to(os.path.realpath(sys.executable))
    path = os.path.join(laptop_home, "Application Support", "fmapi helper")

    result = module_env(MODULE, dict(args, path=path, interpreter=str(python_dir / "python3")))

    assert result["command"] == "'%s'" % path
    with open(path, encoding="utf-8") as handle:
        assert handle.readline() == "#!/bin/sh\n"
    assert accepted(workspace_double, printed_token(run_helper(result["command"], workspace_double, laptop_home)))


# ---------------------------------------------------------------------------------- Claude Code

@pytest.mark.usefixtures("logged_in")
def test_claude_code_uses_the_helper_against_the_workspace(helper, workspace_double, laptop_home, claude_cli):
    claude_dir = os.path.join(laptop_home, ".claude")
    os.makedirs(claude_dir, exist_ok=True)
    with open(os.path.join(claude_dir, "settings.json"), "w", encoding="utf-8") as handle:
        json.dump({
            "apiKeyHelper": helper,
            "env": {
                "ANTHROPIC_BASE_URL": workspace_double.url + "/serving-endpoints/anthropic",
                "ANTHROPIC_CUSTOM_HEADERS": "x-databricks-use-coding-agent-mode: true",
                "ANTHROPIC_MODEL": "databricks-claude-sonnet-4-6",
                "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000",
            },
        }, handle)
    with open(os.path.join(laptop_home, ".claude.json"), "w", encoding="utf-8") as handle:
        json.dump({"hasCompletedOnboarding": True}, handle)
    env = cli_env(workspace_double, laptop_home, NODE_EXTRA_CA_CERTS=workspace_double.ca_file,
                  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1")
    workspace_double.control.clear_requests()

    completed = subprocess.run([claude_cli, "-p", "hi", "--output-format", "json"], env=env, cwd=laptop_home,
                               capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    reply = json.loads(completed.stdout)
    assert reply.get("is_error") is False, reply
    assert reply["result"] == "Hello from the FMAPI workspace double."
    messages = [entry for entry in workspace_double.control.requests(path_prefix="/serving-endpoints/anthropic")
                if entry["path"].endswith("/v1/messages")]
    assert messages and all(entry["bearer_status"] == "valid" for entry in messages), messages
    assert all(entry["detail"].get("coding_agent_header") == "true" for entry in messages)


# ------------------------------------------------------------------------- the helper's Python

def make_venv(path) -> str:
    """A virtual environment like the one Ansible may run from (pipx, a project venv); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120,
                   capture_output=True)
    return str(path / "bin" / "python")


@pytest.mark.usefixtures("logged_in")
def test_the_helper_outlives_the_python_it_was_written_with(module_env, args, workspace_double, laptop_home,
                                                            tmp_path):
    venv_python = make_venv(tmp_path / "ansible-venv")
    result = module_env(MODULE, dict(args, interpreter=venv_python), env={"ANSIBLE_PYTHON_INTERPRETER": venv_python})
    assert result["interpreter"] == venv_python
    with open(result["path"], encoding="utf-8") as handle:
        assert read_helper_metadata(handle.read())["interpreter"] == venv_python
    assert accepted(workspace_double, printed_token(run_helper(result["command"], workspace_double, laptop_home)))

    shutil.rmtree(tmp_path / "ansible-venv")
    # Claude Code started from the dock: a short PATH, the venv gone.
    completed = run_helper(result["command"], workspace_double, laptop_home, PATH="/usr/bin:/bin")

    assert accepted(workspace_double, printed_token(completed))
    assert completed.stderr == ""


@pytest.mark.skipif(not os.access("/usr/bin/python3", os.X_OK), reason="needs a system Python at /usr/bin/python3")
@pytest.mark.usefixtures("logged_in")
def test_with_no_python_on_path_the_helper_finds_the_system_python(module_env, args, workspace_double, laptop_home,
                                                                   tmp_path):
    venv_python = make_venv(tmp_path / "ansible-venv")
    command = module_env(MODULE, dict(args, interpreter=venv_python))["command"]
    shutil.rmtree(tmp_path / "ansible-venv")
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    completed = run_helper(command, workspace_double, laptop_home, PATH=str(empty))

    assert accepted(workspace_double, printed_token(completed))


@pytest.mark.skipif(not os.access("/usr/bin/python3", os.X_OK), reason="needs a system Python at /usr/bin/python3")
def test_by_default_the_system_python_is_chosen_over_ansibles_venv(module_env, args, laptop_home, tmp_path):
    venv_python = make_venv(tmp_path / "ansible-venv")

    result = module_env(MODULE, args, env={"ANSIBLE_PYTHON_INTERPRETER": venv_python})

    assert result["interpreter"] == "/usr/bin/python3" and result["interpreter_reason"] == "the system Python"
    with open(result["path"], encoding="utf-8") as handle:
        text = handle.read()
    assert read_helper_metadata(text)["interpreter"] == "/usr/bin/python3"
    assert venv_python not in text


# ------------------------------------------------------------------ a token the workspace rejects

@pytest.mark.usefixtures("logged_in")
def test_a_token_the_workspace_rejects_before_it_expires_is_replaced_on_the_next_call(
        helper, workspace_double, laptop_home):
    first = printed_token(run_helper(helper, workspace_double, laptop_home))
    # Revoked, rotated or clock skew: the workspace rejects the token, the CLI's cache still holds it as valid.
    workspace_double.control.expire_access_tokens()
    assert not accepted(workspace_double, first)
    logins_before = len(authorize_requests(workspace_double))

    # What Claude Code and Codex do after a 401: ask again at once.
    again = run_helper(helper, workspace_double, laptop_home)

    second = printed_token(again)
    assert second != first and accepted(workspace_double, second)
    assert "rejects the access token" in again.stderr
    assert len(authorize_requests(workspace_double)) == logins_before, "no browser login for a refresh"
    state = os.path.join(os.path.dirname(helper_path(laptop_home)), ".fmapi-token-helper.state")
    with open(state, encoding="utf-8") as handle:
        text = handle.read()
    assert first not in text and second not in text
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600


@pytest.mark.usefixtures("logged_in")
def test_a_repeated_call_for_a_token_the_workspace_accepts_refreshes_nothing(helper, workspace_double, laptop_home):
    first = printed_token(run_helper(helper, workspace_double, laptop_home))
    refreshes_before = len(refresh_grants(workspace_double))

    second = printed_token(run_helper(helper, workspace_double, laptop_home))

    assert second == first
    assert len(refresh_grants(workspace_double)) == refreshes_before


@pytest.mark.usefixtures("logged_in")
def test_claude_code_recovers_from_a_rejected_token_without_a_login(helper, workspace_double, laptop_home, claude_cli):
    os.makedirs(os.path.join(laptop_home, ".claude"), exist_ok=True)
    with open(os.path.join(laptop_home, ".claude", "settings.json"), "w", encoding="utf-8") as handle:
        json.dump({"apiKeyHelper": helper, "env": {
            "ANTHROPIC_BASE_URL": workspace_double.url + "/serving-endpoints/anthropic",
            "ANTHROPIC_CUSTOM_HEADERS": "x-databricks-use-coding-agent-mode: true",
            "ANTHROPIC_MODEL": "databricks-claude-sonnet-4-6", "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1800000"}}, handle)
    with open(os.path.join(laptop_home, ".claude.json"), "w", encoding="utf-8") as handle:
        json.dump({"hasCompletedOnboarding": True}, handle)
    printed_token(run_helper(helper, workspace_double, laptop_home))
    workspace_double.control.expire_access_tokens()
    workspace_double.control.clear_requests()
    env = cli_env(workspace_double, laptop_home, NODE_EXTRA_CA_CERTS=workspace_double.ca_file,
                  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1")

    completed = subprocess.run([claude_cli, "-p", "hi", "--output-format", "json"], env=env, cwd=laptop_home,
                               capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert json.loads(completed.stdout)["result"] == "Hello from the FMAPI workspace double."
    messages = [entry for entry in workspace_double.control.requests(path_prefix="/serving-endpoints/anthropic")
                if entry["path"].endswith("/v1/messages")]
    assert [entry["bearer_status"] for entry in messages][-1] == "valid", messages
    assert authorize_requests(workspace_double) == []
