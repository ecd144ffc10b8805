"""What several functional tests share: the developer's side of a Databricks OAuth login (the real
Databricks CLI logs in against the workspace double, the fake browser signs in, the double ends the
session), and reading the checks the ``_info`` modules return."""

from __future__ import annotations

import json
import os
import subprocess
import time

from workspace_double.pytest_plugin import isolated_env


def cli_env(double, home: str, **extra: str) -> dict:
    """The environment the real CLI runs with: trusts the double, keeps its tokens in a plaintext cache."""
    return isolated_env(home, SSL_CERT_FILE=double.ca_file, FMAPI_DOUBLE_CA=double.ca_file,
                        DATABRICKS_AUTH_STORAGE="plaintext", **extra)


def desktop_env(double, browser: str) -> dict:
    """What ansible-playbook adds to its environment on a developer's desktop: the CLI trusts the double and
    keeps its tokens in a plaintext cache, and ``browser`` opens (the X11/Wayland variables are cleared)."""
    return {"SSL_CERT_FILE": double.ca_file, "FMAPI_DOUBLE_CA": double.ca_file, "DATABRICKS_AUTH_STORAGE": "plaintext",
            "BROWSER": browser, "DISPLAY": "", "WAYLAND_DISPLAY": ""}


def cli_login(double, home: str, cli: str, browser: str, profile: str, **extra: str) -> None:
    """A real ``databricks auth login`` into ``home``, the browser step done by the fake browser."""
    completed = subprocess.run(
        [cli, "auth", "login", "--host", double.url, "--profile", profile, "--timeout", "60s"],
        env=cli_env(double, home, BROWSER=browser, **extra), capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr


def end_session(double, home: str, cli: str, browser: str, profile: str, **extra: str) -> None:
    """Log in with access tokens that expire at once, let them, then invalidate every refresh token."""
    double.control.update_scenario(access_token_ttl_seconds=2)
    cli_login(double, home, cli, browser, profile, **extra)
    double.control.update_scenario(access_token_ttl_seconds=3600)
    time.sleep(3)
    assert double.control.invalidate_refresh_tokens() >= 1


def cached_tokens(home: str) -> list:
    """Every access and refresh token in the CLI's plaintext token cache of ``home``."""
    with open(os.path.join(home, ".databricks", "token-cache.json"), encoding="utf-8") as handle:
        cache = json.load(handle)
    return [value for entry in cache["tokens"].values() for key, value in entry.items()
            if key in ("access_token", "refresh_token") and value]


def authorizations(double) -> list:
    """The browser logins the double has seen."""
    return double.control.requests(path_prefix="/oidc/v1/authorize")


def check_row(result: dict, label: str) -> dict:
    """The check ``label`` of an ``_info`` module's result (a label that must appear exactly once)."""
    rows = [row for row in result["checks"] if row["label"] == label]
    assert len(rows) == 1, result["checks"]
    return rows[0]
