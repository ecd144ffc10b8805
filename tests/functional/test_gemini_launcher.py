"""gemini_launcher and gemini_settings run by Ansible on localhost, then the REAL Gemini CLI started through the
launcher against the workspace double: the real token helper (written by token_helper) asks the real Databricks
CLI, logged in to the double, for the token; the launcher exports it and execs Gemini CLI."""

from __future__ import annotations

import glob
import json
import os
import stat
import subprocess
import time

import pytest
from functional_support import authorizations, cached_tokens, cli_env, cli_login, end_session
# The real Gemini CLI ($FMAPI_GEMINI); conftest.py does not import this fixture (yet).
from workspace_double.pytest_plugin import gemini_cli  # noqa: F401 pylint: disable=unused-import

PROFILE = "fmapi-dev"
MODEL = "databricks-gemini-2-5-pro"
SERVING = "/serving-endpoints/gemini"
GATEWAY = "/ai-gateway/gemini"
TIMEOUT = 180

# The user's own settings, as Gemini CLI writes them (no final newline): signed in with Google, usage
# statistics off (which also keeps Gemini CLI off the network in the tests).
USER_SETTINGS = """{
  "security": {
    "auth": {
      "selectedType": "oauth-personal"
    }
  },
  "privacy": {
    "usageStatisticsEnabled": false
  },
  "ui": {
    "theme": "GitHub"
  }
}"""
# A cloned repository's .env: Gemini CLI reads it (the first .env walking up from the working folder) for every
# variable the process environment does not have.
JUNK_DOTENV = """GEMINI_API_KEY=junk-key-from-the-repository
GOOGLE_GEMINI_BASE_URL=https://gemini.junk.invalid
GEMINI_MODEL=gemini-from-the-repository
GEMINI_API_KEY_AUTH_MECHANISM=x-goog-api-key
GEMINI_CLI_CUSTOM_HEADERS=x-databricks-use-coding-agent-mode: false
"""


class GeminiLaptop:
    """A developer's laptop with the token helper, the Gemini settings and the launcher, as the setup writes them."""

    def __init__(self, runner, home, double, cli, browser, gemini_cli, tmp_path):
        self.run_module = runner
        self.home = home
        self.double = double
        self.cli = cli
        self.browser = browser
        self.gemini_cli = gemini_cli
        self.launcher = os.path.join(home, ".local", "bin", "gemini")
        self.settings = os.path.join(home, ".gemini", "settings.json")
        self.project = os.path.join(home, "src", "cloned-repo")
        self.tmpdir = str(tmp_path / "gemini-tmp")
        os.makedirs(self.project)
        os.makedirs(self.tmpdir)
        with open(os.path.join(self.project, ".env"), "w", encoding="utf-8") as handle:
            handle.write(JUNK_DOTENV)
        os.makedirs(os.path.dirname(self.settings))
        with open(self.settings, "w", encoding="utf-8") as handle:
            handle.write(USER_SETTINGS)
        self.helper = None

    def setup(self, **launcher_args):
        self.helper = self.run_module("token_helper", {"profile": PROFILE, "host": self.double.url,
                                                       "databricks_cli": self.cli})["path"]
        self.run_module("gemini_settings", {})
        args = {"path": self.launcher, "gemini": self.gemini_cli, "token_helper": self.helper, "host": self.double.url}
        args.update(launcher_args)
        return self.run_module("gemini_launcher", args)

    def login(self):
        cli_login(self.double, self.home, self.cli, self.browser, PROFILE)

    def env(self, **extra):
        """The user's terminal: no browser can open (the helper never starts a login here), the double's CA for
        Node, and the trust decision a headless run needs (the test's, not the launcher's)."""
        return cli_env(self.double, self.home, NODE_EXTRA_CA_CERTS=self.double.ca_file, TMPDIR=self.tmpdir,
                       GEMINI_CLI_TRUST_WORKSPACE="true", BROWSER="", DISPLAY="", WAYLAND_DISPLAY="", **extra)

    def gemini(self, *args, command=None, stdin=None, **extra):
        """``gemini ARGS`` typed in the cloned repository (the launcher, unless ``command`` says otherwise)."""
        feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run([command or self.launcher] + list(args), cwd=self.project, env=self.env(**extra),
                              capture_output=True, text=True, timeout=TIMEOUT, check=False, **feed)


@pytest.fixture(name="laptop_gemini")
def laptop_gemini_fixture(run_module, laptop_home, workspace_double, databricks_cli, fake_browser, gemini_cli,
                          tmp_path):
    run_module.env.update({"SSL_CERT_FILE": workspace_double.ca_file, "DATABRICKS_AUTH_STORAGE": "plaintext"})
    return GeminiLaptop(run_module, laptop_home, workspace_double, databricks_cli, fake_browser, gemini_cli, tmp_path)


def model_calls(double):
    return [entry for entry in double.control.requests() if entry["path"].startswith((SERVING + "/", GATEWAY + "/"))]


def describe(completed):
    return "exit %s\nstdout: %s\nstderr: %s" % (completed.returncode, completed.stdout[-2000:], completed.stderr[-4000:])


def files_holding(root, secret, skip=()):
    """The files below ``root`` whose bytes contain ``secret``."""
    found = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if path in skip or os.path.islink(path):
                continue
            with open(path, "rb") as handle:
                if secret.encode("utf-8") in handle.read():
                    found.append(path)
    return found


# ------------------------------------------------------------------------------------------ the modules

def test_the_modules_write_a_launcher_and_settings_and_a_rerun_changes_nothing(laptop_gemini):
    laptop = laptop_gemini

    first = laptop.setup()
    settings_again = laptop.run_module("gemini_settings", {})
    launcher_again = laptop.run_module("gemini_launcher", {"path": laptop.launcher, "gemini": laptop.gemini_cli,
                                                           "token_helper": laptop.helper, "host": laptop.double.url})

    assert first["changed"] is True
    assert settings_again["changed"] is False and launcher_again["changed"] is False
    assert stat.S_IMODE(os.stat(laptop.launcher).st_mode) == 0o755
    assert first["base_url"] == laptop.double.url + SERVING and first["model"] == MODEL
    with open(laptop.settings, encoding="utf-8") as handle:
        assert json.load(handle)["security"]["auth"]["selectedType"] == "gemini-api-key"


def test_check_mode_and_diff_show_the_launcher_and_write_nothing(laptop_gemini):
    laptop = laptop_gemini
    helper = laptop.run_module("token_helper", {"profile": PROFILE, "host": laptop.double.url,
                                                "databricks_cli": laptop.cli})["path"]

    result = laptop.run_module("gemini_launcher", {"path": laptop.launcher, "gemini": laptop.gemini_cli,
                                                   "token_helper": helper, "host": laptop.double.url},
                               check=True, diff=True)
    settings = laptop.run_module("gemini_settings", {}, check=True, diff=True)

    assert result["changed"] is True and not os.path.exists(laptop.launcher)
    assert "+exec \"$fmapi_gemini\" \"$@\"" in result["_output"]
    assert settings["changed"] is True and '+      "selectedType": "gemini-api-key"' in settings["_output"]
    with open(laptop.settings, encoding="utf-8") as handle:
        assert handle.read() == USER_SETTINGS


# ------------------------------------------------------------------------------------- the real Gemini CLI

def test_gemini_answers_through_the_launcher_and_a_repositorys_env_cannot_redirect_it(laptop_gemini):
    laptop = laptop_gemini
    laptop.login()
    laptop.setup()
    control = laptop.double.control
    control.clear_requests()

    completed = laptop.gemini("-p", "say hi")

    assert completed.returncode == 0, describe(completed)
    assert completed.stdout.strip() == control.expected_reply("gemini", MODEL, SERVING), describe(completed)
    calls = model_calls(laptop.double)
    assert [(call["method"], call["path"], call["status"]) for call in calls] == [
        ("POST", "%s/v1beta/models/%s:streamGenerateContent" % (SERVING, MODEL), 200)]
    call = calls[0]
    tokens = cached_tokens(laptop.home)
    assert call["bearer_status"] == "valid"
    assert call["token_fingerprint"] in [control.token_fingerprint(token) for token in tokens], \
        "the token the Databricks CLI holds for the profile, issued by the double"
    assert call["detail"]["auth_source"] == "authorization+x-goog-api-key"
    assert call["detail"]["coding_agent_header"] == "true"
    # The token is only in the CLI's own token cache: not in the launcher, the settings, Gemini CLI's files.
    cache = os.path.join(laptop.home, ".databricks", "token-cache.json")
    for token in tokens:
        assert files_holding(laptop.home, token, skip=(cache,)) == []
        assert files_holding(laptop.tmpdir, token) == []


def test_the_users_model_flag_beats_the_launchers_model(laptop_gemini):
    laptop = laptop_gemini
    laptop.login()
    laptop.setup(endpoint_style="ai-gateway")
    control = laptop.double.control
    control.clear_requests()

    completed = laptop.gemini("-m", "databricks-gemini-2-5-flash", "-p", "say hi")

    assert completed.returncode == 0, describe(completed)
    assert completed.stdout.strip() == control.expected_reply("gemini", "databricks-gemini-2-5-flash", GATEWAY)
    assert [call["path"] for call in model_calls(laptop.double)] == [
        GATEWAY + "/v1beta/models/databricks-gemini-2-5-flash:streamGenerateContent"]


def test_a_prompt_piped_into_gemini_reaches_gemini_not_the_helper(laptop_gemini):
    laptop = laptop_gemini
    laptop.login()
    laptop.setup()

    completed = laptop.gemini("-p", "summarise", stdin="a long log piped in\n")

    assert completed.returncode == 0, describe(completed)
    assert completed.stdout.strip() == laptop.double.control.expected_reply("gemini", MODEL, SERVING)


def test_a_session_outlives_its_token_and_a_fresh_launch_answers(laptop_gemini):
    """Gemini CLI reads the token once: a session still holding it after the workspace stopped accepting it
    fails with HTTP 401; starting gemini again through the launcher gets a fresh token, without a login."""
    laptop = laptop_gemini
    laptop.login()
    laptop.setup()
    control = laptop.double.control
    assert laptop.gemini("-p", "remember the word zebra").returncode == 0
    stale = model_calls(laptop.double)[-1]["token_fingerprint"]
    old_tokens = cached_tokens(laptop.home)
    control.expire_access_tokens()
    control.clear_requests()

    # The running session: the real Gemini CLI with the token it was started with.
    old_token = [token for token in old_tokens if control.token_fingerprint(token) == stale][0]
    session = laptop.gemini("-p", "a question late in the long session", command=laptop.gemini_cli,
                            GEMINI_API_KEY=old_token, GOOGLE_GEMINI_BASE_URL=laptop.double.url + SERVING,
                            GEMINI_API_KEY_AUTH_MECHANISM="bearer", GEMINI_MODEL=MODEL)
    # What the README tells the user to do.
    fresh = laptop.gemini("--resume", "latest", "-p", "go on where we were")

    assert session.returncode != 0 and "401" in session.stderr, describe(session)
    assert fresh.returncode == 0, describe(fresh)
    assert fresh.stdout.strip() == control.expected_reply("gemini", MODEL, SERVING)
    calls = model_calls(laptop.double)
    assert [(call["status"], call["bearer_status"]) for call in calls] == [(401, "expired"), (200, "valid")]
    assert calls[1]["token_fingerprint"] != stale
    assert authorizations(laptop.double) == [], "no browser login for a fresh token"
    chats = [path for path in glob.glob(os.path.join(laptop.home, ".gemini", "tmp", "*", "chats", "*"))
             if "go on where we were" in open(path, encoding="utf-8").read()]
    assert len(chats) == 1, "the resumed conversation"
    # Gemini CLI saves the turns that were answered (the one that failed must be asked again).
    with open(chats[0], encoding="utf-8") as handle:
        assert "remember the word zebra" in handle.read(), "--resume latest continued the saved conversation"


def test_a_token_the_workspace_revoked_is_replaced_at_the_next_launch_however_late(laptop_gemini):
    """The CLI's cache still holds the token as valid; hours may have passed since the helper last served it
    (its state file, which tells Claude Code's and Codex's quick retries apart, is gone): the launcher has the
    helper check the token with the workspace, so the first launch already gets a fresh one."""
    laptop = laptop_gemini
    laptop.login()
    laptop.setup()
    control = laptop.double.control
    assert laptop.gemini("-p", "say hi").returncode == 0
    stale = model_calls(laptop.double)[-1]["token_fingerprint"]
    control.expire_access_tokens()
    helper_dir = os.path.dirname(laptop.helper)
    for name in os.listdir(helper_dir):
        if name.endswith(".state"):
            os.unlink(os.path.join(helper_dir, name))
    control.clear_requests()

    completed = laptop.gemini("-p", "say hi")

    assert completed.returncode == 0, describe(completed)
    assert completed.stdout.strip() == control.expected_reply("gemini", MODEL, SERVING)
    assert "rejects the access token" in completed.stderr
    calls = model_calls(laptop.double)
    assert [(call["status"], call["bearer_status"]) for call in calls] == [(200, "valid")]
    assert calls[0]["token_fingerprint"] != stale
    assert authorizations(laptop.double) == []


def test_after_the_access_token_expired_a_fresh_launch_refreshes_and_answers(laptop_gemini):
    laptop = laptop_gemini
    laptop.double.control.update_scenario(access_token_ttl_seconds=2)
    laptop.login()
    laptop.double.control.update_scenario(access_token_ttl_seconds=3600)
    laptop.setup()
    expired = cached_tokens(laptop.home)
    time.sleep(3)
    laptop.double.control.expire_access_tokens()
    laptop.double.control.clear_requests()

    completed = laptop.gemini("-p", "say hi")

    assert completed.returncode == 0, describe(completed)
    calls = model_calls(laptop.double)
    assert [call["bearer_status"] for call in calls] == ["valid"]
    assert calls[0]["token_fingerprint"] not in [laptop.double.control.token_fingerprint(t) for t in expired]


def test_an_ended_login_stops_the_launcher_with_the_fix_and_gemini_never_starts(laptop_gemini):
    laptop = laptop_gemini
    laptop.setup()
    end_session(laptop.double, laptop.home, laptop.cli, laptop.browser, PROFILE)
    laptop.double.control.clear_requests()
    before = sorted(os.listdir(os.path.join(laptop.home, ".gemini")))

    completed = laptop.gemini("-p", "say hi")

    assert completed.returncode != 0 and completed.stdout == ""
    assert "databricks auth login --host %s --profile %s" % (laptop.double.url, PROFILE) in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("gemini: no Databricks token (the token helper %s ended with exit status" % laptop.helper)
    assert last.endswith("so Gemini CLI was not started. Fix: ansible-playbook fmapi.coding_agents.reauth (or the "
                         "command above), then run gemini again.")
    assert model_calls(laptop.double) == []
    assert sorted(os.listdir(os.path.join(laptop.home, ".gemini"))) == before, "Gemini CLI did not start"
    assert authorizations(laptop.double) == [], "no browser where none can open"
