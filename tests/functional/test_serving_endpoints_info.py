"""serving_endpoints_info run by Ansible against the workspace double with the real databricks-sdk and CLI."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest
from functional_support import check_row, cli_login

MODULE = "serving_endpoints_info"
PROFILE = "fmapi-dev"
DEFAULT_CLAUDE = [
    "databricks-claude-haiku-4-5",
    "databricks-claude-opus-4-5",
    "databricks-claude-opus-4-6",
    "databricks-claude-sonnet-4-5",
    "databricks-claude-sonnet-4-6",
]
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
MESSAGES, RESPONSES, GENERATE = "anthropic/v1/messages", "openai/v1/responses", "gemini/v1/generateContent"
CHAT_COMPLETIONS = "mlflow/v1/chat/completions"
# The endpoints of the agent tests, set through the double's control API (its defaults are not theirs to rely on):
# foundation models with the APIs the workspace lists for them, external models, and models for no agent.
AGENT_ENDPOINTS = [
    {"name": "databricks-claude-sonnet-4-6", "display_name": "Claude Sonnet 4.6",
     "api_types": [MESSAGES, CHAT_COMPLETIONS]},
    {"name": "databricks-claude-opus-4-6", "display_name": "Claude Opus 4.6",
     "api_types": [MESSAGES, CHAT_COMPLETIONS]},
    {"name": "databricks-gpt-5-5", "display_name": "GPT-5.5", "api_types": [RESPONSES, CHAT_COMPLETIONS]},
    {"name": "databricks-gpt-5-2", "display_name": "GPT-5.2", "api_types": [RESPONSES, CHAT_COMPLETIONS],
     "ready": "NOT_READY"},
    {"name": "databricks-gemini-2-5-pro", "display_name": "Gemini 2.5 Pro", "api_types": [GENERATE, CHAT_COMPLETIONS]},
    {"name": "databricks-meta-llama-3-3-70b-instruct", "display_name": "Meta Llama 3.3 70B Instruct",
     "api_types": [CHAT_COMPLETIONS]},
    {"name": "databricks-gte-large-en", "display_name": "GTE Large (En)", "task": "llm/v1/embeddings",
     "api_types": ["mlflow/v1/embeddings"]},
    {"name": "team-claude", "external_model": {"provider": "anthropic", "name": "claude-opus-4-1"}},
    {"name": "team-vertex", "external_model": {"provider": "google-cloud-vertex-ai", "name": "gemini-2.5-flash"}},
    {"name": "team-chat", "display_name": "GPT-5 mini", "api_types": []},
    {"name": "team-proxy", "display_name": "House model", "api_types": []},
]


def list_requests(double) -> list[dict]:
    return [entry for entry in double.control.requests(path_prefix="/api/2.0/serving-endpoints")
            if entry["method"] == "GET"]


def names_of(result: dict) -> list[str]:
    return [endpoint["name"] for endpoint in result["endpoints"]]


@pytest.fixture(name="pat_args")
def pat_args_fixture(workspace_double) -> dict:
    """Module arguments for token auth with a freshly issued access token."""
    return {"host": workspace_double.url, "token": workspace_double.control.issue_access_token(),
            "ca_file": workspace_double.ca_file}


@pytest.fixture(name="logged_in")
def logged_in_fixture(workspace_double, laptop_home, databricks_cli, fake_browser) -> dict:
    """The developer has logged in with the real CLI; module arguments for that profile."""
    cli_login(workspace_double, laptop_home, databricks_cli, fake_browser, PROFILE)
    return {"profile": PROFILE, "databricks_cli": databricks_cli, "ca_file": workspace_double.ca_file}


# ----------------------------------------------------------------------------- token auth
def test_token_auth_lists_every_endpoint_in_compact_shape(run_module, workspace_double, pat_args):
    result = run_module(MODULE, pat_args)

    assert result["changed"] is False
    assert result["host"] == workspace_double.url
    assert result["count"] == 11
    assert names_of(result) == sorted(names_of(result))
    sonnet = next(e for e in result["endpoints"] if e["name"] == "databricks-claude-sonnet-4-6")
    # The APIs the workspace lists for the model are the double's to choose; that it lists Anthropic's is what counts.
    assert MESSAGES in sonnet.pop("api_types")
    assert sonnet == {
        "name": "databricks-claude-sonnet-4-6",
        "ready": "READY",
        "config_update": "NOT_UPDATING",
        "state": "READY",
        "task": "llm/v1/chat",
        "endpoint_type": "FOUNDATION_MODEL_API",
        "served_entities": ["databricks-claude-sonnet-4-6"],
        "foundation_models": ["databricks-claude-sonnet-4-6"],
        "creator": "system",
        "agent": "claude_code",
        "agents": ["claude_code"],
        "agent_source": "api_types",
    }
    assert result["validation"] == [] and result["validation_failed"] is False
    assert pat_args["token"] not in json.dumps(result)
    requests = list_requests(workspace_double)
    assert len(requests) == 1 and requests[0]["token_kind"] == "oauth" and requests[0]["status"] == 200


def test_personal_access_token_and_ca_from_requests_ca_bundle(run_module, workspace_double):
    pat = workspace_double.control.create_pat(comment="functional test")["token_value"]

    result = run_module(MODULE, {"host": workspace_double.url + "/", "token": pat},
                        env={"REQUESTS_CA_BUNDLE": workspace_double.ca_file, "SSL_CERT_FILE": SYSTEM_CA})

    assert result["count"] == 11
    assert result["host"] == workspace_double.url
    assert pat not in json.dumps(result) and pat not in result["_output"]
    assert list_requests(workspace_double)[-1]["token_kind"] == "pat"


def test_profile_holding_a_personal_access_token(run_module, workspace_double, laptop_home):
    pat = workspace_double.control.create_pat(comment="profile")["token_value"]
    with open(os.path.join(laptop_home, ".databrickscfg"), "w", encoding="utf-8") as handle:
        handle.write(f"[pat-profile]\nhost = {workspace_double.url}\ntoken = {pat}\n")

    result = run_module(MODULE, {"profile": "pat-profile", "ca_file": workspace_double.ca_file},
                        env={"PATH": os.environ["PATH"]})

    assert result["count"] == 11
    assert list_requests(workspace_double)[-1]["token_kind"] == "pat"


def test_check_mode_gives_the_same_answer(run_module, pat_args):
    normal = run_module(MODULE, pat_args)
    checked = run_module(MODULE, pat_args, check=True)

    assert checked["changed"] is False
    assert checked["endpoints"] == normal["endpoints"]


def test_raw_is_opt_in(run_module, pat_args):
    without = run_module(MODULE, dict(pat_args, name=["databricks-gte-large-en"]))
    with_raw = run_module(MODULE, dict(pat_args, name=["databricks-gte-large-en"], include_raw=True))

    assert "raw" not in without["endpoints"][0]
    raw = with_raw["endpoints"][0]["raw"]
    assert raw["name"] == "databricks-gte-large-en" and raw["config"]["served_entities"][0]["foundation_model"]


# ----------------------------------------------------------------------------- CLI profile auth
def test_cli_profile_auth_after_real_login_ignores_databricks_environment(run_module, workspace_double, logged_in):
    # Variables that would point the SDK and the CLI elsewhere if they were honoured.
    misleading = {"DATABRICKS_HOST": "https://127.0.0.1:9", "DATABRICKS_TOKEN": "dapi00000000000000000000000000000000",
                  "DATABRICKS_CONFIG_PROFILE": "someone-else", "DATABRICKS_AUTH_TYPE": "pat",
                  "DATABRICKS_AUTH_STORAGE": "plaintext", "SSL_CERT_FILE": SYSTEM_CA,
                  "REQUESTS_CA_BUNDLE": SYSTEM_CA}

    result = run_module(MODULE, logged_in, env=misleading)

    assert result["host"] == workspace_double.url
    assert result["count"] == 11
    request = list_requests(workspace_double)[-1]
    assert request["token_kind"] == "oauth" and request["bearer_status"] == "valid"
    assert "auth/databricks-cli" in request["headers"]["user-agent"]


def test_cli_found_on_path_without_databricks_cli_option(run_module, workspace_double, logged_in, databricks_cli):
    args = {"profile": PROFILE, "ca_file": workspace_double.ca_file}
    path = os.path.dirname(databricks_cli) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")

    result = run_module(MODULE, args, env={"PATH": path, "DATABRICKS_AUTH_STORAGE": "plaintext"})

    assert result["count"] == 11


def test_expired_session_asks_for_a_new_login(run_module, workspace_double, logged_in):
    workspace_double.control.expire_access_tokens()
    workspace_double.control.invalidate_refresh_tokens()

    result = run_module(MODULE, logged_in, env={"DATABRICKS_AUTH_STORAGE": "plaintext"}, expect_failure=True)

    assert f"databricks auth login --host {workspace_double.url} --profile {PROFILE}" in result["msg"]
    assert "expired" in result["msg"]
    assert "eyJ" not in result["msg"]


@pytest.fixture(name="released_cli")
def released_cli_fixture(databricks_cli, tmp_path) -> str:
    """The real CLI, answering `databricks version` like a release build.

    The CLI here is built with `go install`, which stamps no version (it reports v0.0.0-dev), so the SDK
    would not pass --force-refresh to `databricks auth token` (it needs v0.296+ for that). Every command
    except `version` runs the real binary.
    """
    wrapper = tmp_path / "released-cli" / "databricks"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        "if [ \"$1\" = version ]; then\n"
        "  echo '{\"Version\": \"1.12.1\", \"Major\": 1, \"Minor\": 12, \"Patch\": 1}'\n"
        "  exit 0\n"
        "fi\n"
        "exec %s \"$@\"\n" % databricks_cli)
    wrapper.chmod(0o755)
    return str(wrapper)


def token_refreshes(double) -> list[dict]:
    return [entry for entry in double.control.requests(path_prefix="/oidc/v1/token")
            if entry["detail"].get("grant_type") == "refresh_token"]


def test_released_cli_refreshes_the_session_trusting_ca_file(run_module, workspace_double, logged_in, released_cli):
    system_trust = {"SSL_CERT_FILE": SYSTEM_CA, "REQUESTS_CA_BUNDLE": SYSTEM_CA, "DATABRICKS_AUTH_STORAGE": "plaintext"}

    result = run_module(MODULE, dict(logged_in, databricks_cli=released_cli), env=system_trust)

    assert result["count"] == 11
    refreshes = token_refreshes(workspace_double)
    assert refreshes and refreshes[-1]["status"] == 200


def test_released_cli_with_expired_session_asks_for_a_new_login(run_module, workspace_double, logged_in,
                                                                released_cli):
    workspace_double.control.invalidate_refresh_tokens()

    result = run_module(MODULE, dict(logged_in, databricks_cli=released_cli),
                        env={"DATABRICKS_AUTH_STORAGE": "plaintext"}, expect_failure=True)

    assert token_refreshes(workspace_double)[-1]["status"] == 401
    assert f"Run `databricks auth login --host {workspace_double.url} --profile {PROFILE}`" in result["msg"]
    assert "has expired or was never completed" in result["msg"]


def test_cli_that_does_not_trust_the_workspace_certificate(run_module, workspace_double, logged_in, released_cli):
    args = {"profile": PROFILE, "databricks_cli": released_cli}
    # Python trusts the workspace, the CLI (Go) does not.
    mixed = {"REQUESTS_CA_BUNDLE": workspace_double.ca_file, "SSL_CERT_FILE": SYSTEM_CA,
             "DATABRICKS_AUTH_STORAGE": "plaintext"}

    result = run_module(MODULE, args, env=mixed, expect_failure=True)

    assert "could not be verified (reported by the Databricks CLI)" in result["msg"]
    assert "ca_file" in result["msg"]
    assert f"Currently trusted by the CLI: SSL_CERT_FILE={SYSTEM_CA}." in result["msg"]


def test_profile_whose_login_is_gone_from_the_cli_cache(run_module, workspace_double, logged_in, laptop_home):
    os.unlink(os.path.join(laptop_home, ".databricks", "token-cache.json"))

    result = run_module(MODULE, logged_in, env={"DATABRICKS_AUTH_STORAGE": "plaintext"}, expect_failure=True)

    assert result["msg"] == (
        f"The Databricks CLI has no login for profile '{PROFILE}' ({workspace_double.url}). Run `databricks auth "
        f"login --host {workspace_double.url} --profile {PROFILE}` on this laptop and try again.")


def test_profile_never_logged_in(run_module, workspace_double, databricks_cli, laptop_home):
    result = run_module(MODULE, {"profile": "nobody", "host": workspace_double.url, "databricks_cli": databricks_cli,
                                 "ca_file": workspace_double.ca_file}, expect_failure=True)

    assert "Profile 'nobody' is not in %s." % os.path.join(laptop_home, ".databrickscfg") in result["msg"]
    assert f"databricks auth login --host {workspace_double.url} --profile nobody" in result["msg"]


def test_missing_cli_is_named(run_module, logged_in, tmp_path):
    args = dict(logged_in, databricks_cli=str(tmp_path / "no" / "databricks"))

    result = run_module(MODULE, args, expect_failure=True)

    assert "does not exist" in result["msg"] and "Install the Databricks CLI" in result["msg"]

    without_option = {key: value for key, value in logged_in.items() if key != "databricks_cli"}
    path = os.pathsep.join(directory for directory in os.environ.get("PATH", "").split(os.pathsep)
                           if not os.path.exists(os.path.join(directory, "databricks")))
    result = run_module(MODULE, without_option, env={"PATH": path}, expect_failure=True)
    assert "needs the Databricks CLI" in result["msg"] and "was not found on PATH" in result["msg"]
    assert "Install the Databricks CLI" in result["msg"]


# ----------------------------------------------------------------------------- pagination
def test_all_500_endpoints_are_returned_when_the_server_paginates(run_module, workspace_double, pat_args):
    names = ["endpoint-%03d" % number for number in range(500)]
    workspace_double.control.update_scenario(
        endpoints=list(reversed(names)), page_size=50)

    result = run_module(MODULE, pat_args)

    assert result["count"] == 500
    assert names_of(result) == names
    requests = list_requests(workspace_double)
    assert len(requests) == 10
    assert sum(1 for entry in requests if "page_token" in entry["query"]) == 9


# ----------------------------------------------------------------------------- filters
def test_jmespath_query_and_name_pattern(run_module, workspace_double, pat_args):
    query = "[?task=='llm/v1/chat' && starts_with(name, 'databricks-claude')]"
    by_query = run_module(MODULE, dict(pat_args, query=query))
    by_pattern = run_module(MODULE, dict(pat_args, name_pattern="databricks-claude-opus-*"))
    both = run_module(MODULE, dict(pat_args, name_pattern="*-4-5", query="[?ready=='READY']"))

    assert names_of(by_query) == DEFAULT_CLAUDE
    assert names_of(by_pattern) == ["databricks-claude-opus-4-5", "databricks-claude-opus-4-6"]
    assert names_of(both) == ["databricks-claude-haiku-4-5", "databricks-claude-opus-4-5",
                              "databricks-claude-sonnet-4-5"]


def test_bad_query_is_a_clear_error(run_module, pat_args):
    result = run_module(MODULE, dict(pat_args, query="[?task=='llm/v1/chat'"), expect_failure=True)

    assert "is not a valid JMESPath expression" in result["msg"]


def test_named_endpoints_and_missing_ones(run_module, workspace_double, pat_args):
    result = run_module(MODULE, dict(pat_args, name=["databricks-gpt-5-2", "no-such-endpoint"]))

    assert names_of(result) == ["databricks-gpt-5-2"]
    assert result["missing"] == ["no-such-endpoint"]
    paths = [entry["path"] for entry in list_requests(workspace_double)]
    assert paths == ["/api/2.0/serving-endpoints/databricks-gpt-5-2", "/api/2.0/serving-endpoints/no-such-endpoint"]


# ----------------------------------------------------------------------------- validation
def test_validation_pass_warn_fail_skip(run_module, workspace_double, pat_args):
    control = workspace_double.control
    control.set_endpoint_state("databricks-claude-haiku-4-5", ready="NOT_READY")
    control.set_endpoint_state("databricks-claude-sonnet-4-5", config_update="UPDATE_FAILED")
    validate = {
        "model": "databricks-claude-sonnet-4-6",
        "haiku": "databricks-claude-haiku-4-5",
        "opus": "databricks-claude-opus-9-9",
        "sonnet": "",
        "fallback": "databricks-claude-sonnet-4-5",
    }

    result = run_module(MODULE, dict(pat_args, validate=validate, name_pattern="databricks-claude-*"))

    by_role = {entry["role"]: entry for entry in result["validation"]}
    assert [entry["role"] for entry in result["validation"]] == list(validate)
    assert by_role["model"]["status"] == "PASS" and by_role["model"]["hint"] == ""
    assert by_role["haiku"]["status"] == "WARN" and "not ready" in by_role["haiku"]["message"]
    assert by_role["fallback"]["status"] == "WARN" and "update failed" in by_role["fallback"]["message"]
    assert by_role["opus"]["status"] == "FAIL" and "does not exist" in by_role["opus"]["message"]
    assert "databricks-claude-opus-4-6" in by_role["opus"]["hint"]
    assert "databricks-claude-haiku-4-5" not in by_role["opus"]["hint"]
    assert by_role["sonnet"] == {"role": "sonnet", "endpoint": None, "status": "SKIP",
                                 "message": "No endpoint is configured for sonnet.", "hint": "",
                                 "agent": "claude_code", "endpoint_agent": None}
    assert result["validation_failed"] is True
    assert result["count"] == 5


def test_fail_on_invalid_stops_the_play(run_module, pat_args):
    args = dict(pat_args, validate={"opus": "databricks-claude-opus-9-9", "haiku": "databricks-claude-haiku-4-5"},
                fail_on_invalid=True)

    result = run_module(MODULE, args, expect_failure=True)

    assert "opus" in result["msg"] and "databricks-claude-opus-9-9" in result["msg"]
    assert result["validation_failed"] is True

    passing = run_module(MODULE, dict(args, validate={"haiku": "databricks-claude-haiku-4-5"}))
    assert passing["validation"][0]["status"] == "PASS"


# ----------------------------------------------------------------------------- errors
def test_unreachable_host_fails_fast(run_module, pat_args):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"https://127.0.0.1:{port}"
    started = time.monotonic()

    result = run_module(MODULE, dict(pat_args, host=host), expect_failure=True)

    assert time.monotonic() - started < 30
    assert host in result["msg"] and "refused" in result["msg"] and "VPN" in result["msg"]


def test_untrusted_certificate_explains_how_to_trust_a_ca(run_module, workspace_double, pat_args):
    args = {key: value for key, value in pat_args.items() if key != "ca_file"}
    started = time.monotonic()

    result = run_module(MODULE, args, env={"REQUESTS_CA_BUNDLE": SYSTEM_CA, "SSL_CERT_FILE": SYSTEM_CA},
                        expect_failure=True)

    assert time.monotonic() - started < 30
    assert "could not be verified" in result["msg"]
    assert "ca_file" in result["msg"] and "REQUESTS_CA_BUNDLE" in result["msg"]
    assert pat_args["token"] not in result["msg"]


def test_rejected_token_is_explained_without_revealing_it(run_module, workspace_double, pat_args):
    workspace_double.control.revoke_all_tokens()

    result = run_module(MODULE, pat_args, expect_failure=True)

    assert "HTTP 401" in result["msg"] and "personal access token" in result["msg"]
    assert pat_args["token"] not in json.dumps(result) and pat_args["token"] not in result["_output"]


def test_permission_denied(run_module, workspace_double, pat_args):
    workspace_double.control.add_fault(
        "/api/2.0/serving-endpoints", status=403,
        body={"error_code": "PERMISSION_DENIED", "message": "User is not allowed to list serving endpoints."})

    result = run_module(MODULE, pat_args, expect_failure=True)

    assert "HTTP 403" in result["msg"] and "permission" in result["msg"]
    assert "User is not allowed to list serving endpoints" in result["msg"]


def test_not_a_workspace_url(run_module, workspace_double, pat_args):
    workspace_double.control.add_fault(
        "/api/2.0/serving-endpoints", status=404,
        body={"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found for 'GET /api/2.0/serving-endpoints'"})

    result = run_module(MODULE, pat_args, expect_failure=True)

    assert "404" in result["msg"] and "does not look like a Databricks workspace URL" in result["msg"]


def test_a_url_pasted_from_the_browser_names_the_workspace(run_module, workspace_double, pat_args):
    result = run_module(MODULE, dict(pat_args, host=workspace_double.url + "/?o=123#notebook/42"))

    assert result["host"] == workspace_double.url
    assert result["count"] == 11


def test_bad_options_are_explained(run_module, workspace_double, pat_args):
    plain_http = run_module(MODULE, dict(pat_args, host="http://dbc-1.cloud.databricks.com"), expect_failure=True)
    with_user = run_module(MODULE, dict(pat_args, host="https://me@dbc-1.cloud.databricks.com"), expect_failure=True)
    both = run_module(MODULE, dict(pat_args, profile=PROFILE), expect_failure=True)

    assert "must start with https://" in plain_http["msg"]
    assert "must not contain a user name" in with_user["msg"]
    assert "mutually exclusive" in both["msg"]


# ----------------------------------------------------------------------------- checks (doctor, status)
CONFIGURED = {"model": "databricks-claude-sonnet-4-6", "haiku": "databricks-claude-haiku-9-9"}


def test_checks_of_a_working_workspace(run_module, workspace_double, logged_in):
    result = run_module(MODULE, dict(logged_in, validate=CONFIGURED, report_errors=True),
                        env={"DATABRICKS_AUTH_STORAGE": "plaintext"})

    assert result["error"] is None
    workspace, model, haiku = result["checks"]
    assert (workspace["category"], workspace["status"]) == ("Connectivity", "PASS")
    assert "the Databricks CLI login of profile '%s'" % PROFILE in workspace["value"]
    assert (model["category"], model["label"], model["status"]) == ("Models", "model", "PASS")
    assert (haiku["label"], haiku["status"]) == ("haiku", "FAIL")
    assert "ansible-playbook fmapi.coding_agents.setup -e haiku=<endpoint>" in haiku["fix"]


def test_report_errors_turns_an_ended_session_into_checks(run_module, workspace_double, logged_in):
    workspace_double.control.expire_access_tokens()
    workspace_double.control.invalidate_refresh_tokens()

    result = run_module(MODULE, dict(logged_in, validate=CONFIGURED, report_errors=True),
                        env={"DATABRICKS_AUTH_STORAGE": "plaintext"})

    assert result["count"] == 0 and result["host"] == workspace_double.url
    assert f"databricks auth login --host {workspace_double.url} --profile {PROFILE}" in result["error"]
    workspace, model, haiku = result["checks"]
    assert (workspace["category"], workspace["status"]) == ("Connectivity", "FAIL")
    assert workspace["value"] == result["error"]
    assert workspace["fix"] == "Log in again: ansible-playbook fmapi.coding_agents.reauth"
    assert [(check["label"], check["status"]) for check in (model, haiku)] == [("model", "SKIP"), ("haiku", "SKIP")]
    assert "eyJ" not in json.dumps(result)


def test_report_errors_names_the_permission_a_refusal_lacks(run_module, workspace_double, pat_args):
    workspace_double.control.add_fault(
        "/api/2.0/serving-endpoints", status=403, count=None,
        body={"error_code": "PERMISSION_DENIED", "message": "User is not allowed to list serving endpoints."})

    result = run_module(MODULE, dict(pat_args, report_errors=True))

    assert "HTTP 403" in result["error"]
    assert "ask a workspace admin" in result["checks"][0]["fix"]
    assert pat_args["token"] not in json.dumps(result) and pat_args["token"] not in result["_output"]


# ----------------------------------------------------------------------------- which agent an endpoint is for
@pytest.fixture(name="agent_workspace")
def agent_workspace_fixture(workspace_double):
    """The double serving AGENT_ENDPOINTS."""
    workspace_double.control.update_scenario(endpoints=AGENT_ENDPOINTS)
    return workspace_double


def test_each_endpoint_says_which_agent_it_is_for_and_why(run_module, agent_workspace, pat_args):
    result = run_module(MODULE, pat_args)

    assert {e["name"]: (e["agent"], e["agent_source"]) for e in result["endpoints"]} == {
        "databricks-claude-opus-4-6": ("claude_code", "api_types"),
        "databricks-claude-sonnet-4-6": ("claude_code", "api_types"),
        "databricks-gemini-2-5-pro": ("gemini", "api_types"),
        "databricks-gpt-5-2": ("codex", "api_types"),
        "databricks-gpt-5-5": ("codex", "api_types"),
        "databricks-gte-large-en": (None, "task"),
        "databricks-meta-llama-3-3-70b-instruct": (None, "api_types"),
        "team-chat": ("codex", "foundation_model"),
        "team-claude": ("claude_code", "provider"),
        "team-proxy": (None, None),
        "team-vertex": ("gemini", "provider"),
    }
    gpt = next(e for e in result["endpoints"] if e["name"] == "databricks-gpt-5-5")
    assert gpt["api_types"] == [RESPONSES, CHAT_COMPLETIONS] and gpt["agents"] == ["codex"]
    by_query = run_module(MODULE, dict(pat_args, query="[?agent=='gemini']"))
    assert names_of(by_query) == ["databricks-gemini-2-5-pro", "team-vertex"]


def test_each_agents_model_is_checked_against_its_agents_api(run_module, agent_workspace, pat_args):
    validate = {"model": "databricks-claude-sonnet-4-6", "haiku": "databricks-meta-llama-3-3-70b-instruct",
                "codex_model": "databricks-gemini-2-5-pro", "gemini_model": "team-vertex", "sonnet": "team-proxy"}

    result = run_module(MODULE, dict(pat_args, validate=validate))

    by_role = {entry["role"]: entry for entry in result["validation"]}
    assert {role: (entry["status"], entry["agent"], entry["endpoint_agent"]) for role, entry in by_role.items()} == {
        "model": ("PASS", "claude_code", "claude_code"),
        "haiku": ("FAIL", "claude_code", None),
        "codex_model": ("FAIL", "codex", "gemini"),
        "gemini_model": ("PASS", "gemini", "gemini"),
        "sonnet": ("PASS", "claude_code", None),  # nothing is known about it: not judged
    }
    codex = check_row(result, "codex_model")
    assert codex["status"] == "FAIL"
    assert codex["value"] == (
        "Endpoint 'databricks-gemini-2-5-pro' serves Gemini CLI (a Gemini model, the workspace lists its APIs: "
        "gemini/v1/generateContent, mlflow/v1/chat/completions), not Codex CLI: codex_model needs a GPT model "
        "(OpenAI Responses API).")
    # The ready GPT endpoints, then the command that switches.
    assert codex["fix"] == ("Pick one of: databricks-gpt-5-5, team-chat.\n"
                            "To switch: ansible-playbook fmapi.coding_agents.setup -e codex_model=<endpoint>")
    haiku = check_row(result, "haiku")
    assert "serves none of the coding agents' APIs" in haiku["value"] and "databricks-gpt" not in haiku["fix"]
    assert result["validation_failed"] is True

    stopped = run_module(MODULE, dict(pat_args, validate={"codex_model": "databricks-gemini-2-5-pro"},
                                      fail_on_invalid=True), expect_failure=True)
    assert stopped["msg"].startswith("1 configured model(s) cannot be used. codex_model: Endpoint "
                                     "'databricks-gemini-2-5-pro' serves Gemini CLI")


def test_the_ai_gateway_probe_says_whether_the_workspace_serves_those_routes(run_module, workspace_double, pat_args):
    workspace_double.control.clear_requests()
    on = run_module(MODULE, dict(pat_args, probe_ai_gateway=True))
    asked = [entry["path"] for entry in workspace_double.control.requests() if entry["path"].startswith("/api/")]
    workspace_double.control.set_ai_gateway(False)
    try:
        off = run_module(MODULE, dict(pat_args, probe_ai_gateway=True))
        with_models = run_module(MODULE, dict(pat_args, probe_ai_gateway=True,
                                              validate={"model": "databricks-claude-opus-4-6"}))
    finally:
        workspace_double.control.set_ai_gateway(True)

    assert on["ai_gateway"] is True and off["ai_gateway"] is False
    # Only the probe: one request, no listing of the endpoints.
    assert asked == ["/api/ai-gateway/v2/endpoints"] and on["endpoints"] == [] and on["count"] == 0
    assert with_models["ai_gateway"] is False and with_models["validation"][0]["status"] == "PASS"


def test_a_probe_the_workspace_refuses_cannot_tell_and_says_so(run_module, workspace_double, pat_args):
    workspace_double.control.add_fault("/api/ai-gateway/", status=500, body={"error_code": "INTERNAL_ERROR",
                                                                             "message": "boom"})
    try:
        result = run_module(MODULE, dict(pat_args, probe_ai_gateway=True))
    finally:
        workspace_double.control.clear_faults()

    assert result["ai_gateway"] is None
    assert any("Could not tell whether the workspace serves the AI Gateway routes" in warning
               for warning in result.get("warnings", [])), result
