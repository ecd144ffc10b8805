# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of serving_endpoints_info: shaping, pagination, filters, validation and the module entry."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from ansible.module_utils.testing import patch_module_args
from databricks.sdk import errors as sdk_errors

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_sdk as sdk
from ansible_collections.fmapi.coding_agents.plugins.modules import serving_endpoints_info as module

HOST = "https://dbc-1234abcd-5678.cloud.databricks.com"
TOKEN = "dapi0123456789abcdef0123456789abcdef"


def raw_endpoint(name, ready="READY", config_update="NOT_UPDATING", task="llm/v1/chat",
                 endpoint_type="FOUNDATION_MODEL_API", api_types=None):
    """An endpoint object as GET /api/2.0/serving-endpoints returns it (``api_types``: what the workspace lists
    for its foundation model, absent by default)."""
    model = {"name": name, "display_name": name.upper()}
    if api_types is not None:
        model.update(ai_gateway_v2_supported=True, api_types=list(api_types))
    return {
        "name": name,
        "id": "id-" + name,
        "creator": "system",
        "state": {"ready": ready, "config_update": config_update},
        "task": task,
        "endpoint_type": endpoint_type,
        "config": {"served_entities": [{"name": name, "entity_name": name, "foundation_model": model}]},
        "tags": [],
    }


DEFAULT_NAMES = [
    "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5",
    "databricks-claude-opus-4-5", "databricks-gpt-5-2",
]


class FakeApiClient:
    """Answers GET /api/2.0/serving-endpoints like a workspace, optionally paginated."""

    def __init__(self, endpoints, page_size=None, errors=None):
        self.endpoints = endpoints
        self.page_size = page_size
        self.errors = errors or {}
        self.calls = []

    def do(self, method, path, query=None):
        self.calls.append((method, path, dict(query or {})))
        if path in self.errors:
            raise self.errors[path]
        if path == module.LIST_PATH:
            offset = int((query or {}).get("page_token") or 0)
            size = self.page_size or len(self.endpoints)
            body = {"endpoints": self.endpoints[offset:offset + size]}
            if self.page_size and offset + size < len(self.endpoints):
                body["next_page_token"] = str(offset + size)
            return body
        name = path.rsplit("/", 1)[1]
        for endpoint in self.endpoints:
            if endpoint["name"] == name:
                return endpoint
        raise sdk_errors.ResourceDoesNotExist("Endpoint with name '%s' does not exist." % name,
                                              error_code="RESOURCE_DOES_NOT_EXIST")


class FakeWorkspaceClient:  # pylint: disable=too-few-public-methods
    def __init__(self, api_client):
        self.api_client = api_client


def compact_all(raws):
    return [module.compact_endpoint(raw) for raw in raws]


# ----------------------------------------------------------------------------- shape
def test_compact_endpoint_shape():
    raw = raw_endpoint("databricks-claude-sonnet-4-6",
                       api_types=["anthropic/v1/messages", "mlflow/v1/chat/completions"])

    assert module.compact_endpoint(raw) == {
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
        "api_types": ["anthropic/v1/messages", "mlflow/v1/chat/completions"],
    }


@pytest.mark.parametrize("raw, agent, source", [
    (raw_endpoint("databricks-gpt-5-2"), "codex", "foundation_model"),
    (raw_endpoint("team-model", api_types=["gemini/v1/generateContent"]), "gemini", "api_types"),
    (raw_endpoint("databricks-gte-large-en", task="llm/v1/embeddings"), None, "task"),
    ({"name": "team-proxy", "task": "llm/v1/chat", "config": {"served_entities": [
        {"name": "e", "external_model": {"provider": "openai", "name": "house"}}]}}, "codex", "provider"),
])
def test_compact_endpoint_says_which_agent_it_is_for(raw, agent, source):
    compact = module.compact_endpoint(raw)

    assert (compact["agent"], compact["agent_source"]) == (agent, source)
    assert compact["agents"] == ([agent] if agent else [])


def test_compact_endpoint_raw_is_opt_in():
    raw = raw_endpoint("x")

    assert module.compact_endpoint(raw, include_raw=True)["raw"] is raw
    assert "raw" not in module.compact_endpoint(raw)


def test_compact_endpoint_tolerates_sparse_and_legacy_objects():
    sparse = module.compact_endpoint({"name": "custom"})
    legacy = module.compact_endpoint({"name": "old", "state": {"ready": "NOT_READY"},
                                      "config": {"served_models": [{"name": "old-1", "model_name": "m"}]}})
    external = module.compact_endpoint({"name": "ext", "config": {"served_entities": [
        {"name": "ext-entity", "external_model": {"name": "gpt-4o", "provider": "openai"}}, "not-an-object"]}})

    assert sparse == {"name": "custom", "ready": None, "config_update": None, "state": "UNKNOWN", "task": None,
                      "endpoint_type": None, "served_entities": [], "foundation_models": [], "creator": None,
                      "agent": None, "agents": [], "agent_source": None, "api_types": []}
    assert (legacy["served_entities"], legacy["state"]) == (["old-1"], "NOT_READY")
    assert (external["served_entities"], external["foundation_models"]) == (["ext-entity"], [])


@pytest.mark.parametrize("ready, update, summary", [
    ("READY", "NOT_UPDATING", "READY"),
    ("READY", None, "READY"),
    ("READY", "IN_PROGRESS", "READY (configuration update in progress)"),
    ("NOT_READY", "UPDATE_FAILED", "NOT_READY (last configuration update failed)"),
    ("READY", "UPDATE_CANCELED", "READY (last configuration update canceled)"),
    ("READY", "SOMETHING_NEW", "READY (configuration update SOMETHING_NEW)"),
    (None, None, "UNKNOWN"),
])
def test_state_summary(ready, update, summary):
    assert module.state_summary(ready, update) == summary


# ----------------------------------------------------------------------------- pagination
def test_listing_follows_next_page_token_to_the_end():
    raws = [raw_endpoint("endpoint-%03d" % number) for number in range(95)]
    api = FakeApiClient(raws, page_size=10)

    listed = module.list_all_endpoints(api)

    assert [e["name"] for e in listed] == [e["name"] for e in raws]
    assert len(api.calls) == 10
    assert api.calls[0] == ("GET", "/api/2.0/serving-endpoints", {})
    assert api.calls[1][2] == {"page_token": "10"}


def test_listing_in_one_answer_makes_one_request():
    api = FakeApiClient([raw_endpoint(name) for name in DEFAULT_NAMES])

    assert len(module.list_all_endpoints(api)) == 5
    assert len(api.calls) == 1


def test_listing_of_an_empty_workspace():
    class Empty:  # pylint: disable=too-few-public-methods
        def do(self, method, path, query=None):  # pylint: disable=unused-argument
            return {}

    assert module.list_all_endpoints(Empty()) == []


def test_listing_keeps_one_copy_of_an_endpoint_seen_twice():
    class Shifting:  # pylint: disable=too-few-public-methods
        def do(self, method, path, query=None):  # pylint: disable=unused-argument
            if not query:
                return {"endpoints": [raw_endpoint("a"), raw_endpoint("b")], "next_page_token": "t1"}
            return {"endpoints": [raw_endpoint("b", ready="NOT_READY"), raw_endpoint("c")]}

    listed = module.list_all_endpoints(Shifting())

    assert [e["name"] for e in listed] == ["a", "b", "c"]
    assert listed[1]["state"]["ready"] == "NOT_READY"


def test_listing_stops_on_a_repeated_page_token():
    class Looping:  # pylint: disable=too-few-public-methods
        def do(self, method, path, query=None):  # pylint: disable=unused-argument
            return {"endpoints": [raw_endpoint("a")], "next_page_token": "same"}

    with pytest.raises(module.EndpointListingError, match="page token 'same' twice"):
        module.list_all_endpoints(Looping())


def test_listing_gives_up_after_max_pages():
    class Endless:  # pylint: disable=too-few-public-methods
        def __init__(self):
            self.count = 0

        def do(self, method, path, query=None):  # pylint: disable=unused-argument
            self.count += 1
            return {"endpoints": [], "next_page_token": "t%d" % self.count}

    endless = Endless()
    with pytest.raises(module.EndpointListingError, match="after 5 pages"):
        module.list_all_endpoints(endless, max_pages=5)
    assert endless.count == 5


@pytest.mark.parametrize("answer", [[{"name": "a"}], {"endpoints": "a"}])
def test_listing_rejects_answers_of_the_wrong_shape(answer):
    class Odd:  # pylint: disable=too-few-public-methods
        def do(self, method, path, query=None):  # pylint: disable=unused-argument
            return answer

    with pytest.raises(module.EndpointListingError):
        module.list_all_endpoints(Odd())


def test_get_by_name_separates_missing_endpoints_from_other_errors():
    api = FakeApiClient([raw_endpoint(name) for name in DEFAULT_NAMES])

    found, missing = module.get_endpoints_by_name(api, ["databricks-gpt-5-2", "nope", "databricks-gpt-5-2", "a/b"])

    assert [e["name"] for e in found] == ["databricks-gpt-5-2"]
    assert missing == ["nope", "a/b"]
    assert [call[1] for call in api.calls] == ["/api/2.0/serving-endpoints/databricks-gpt-5-2",
                                               "/api/2.0/serving-endpoints/nope",
                                               "/api/2.0/serving-endpoints/a%2Fb"]

    wrong_host = FakeApiClient([], errors={"/api/2.0/serving-endpoints/x": sdk_errors.NotFound(
        "No API found", error_code="ENDPOINT_NOT_FOUND")})
    with pytest.raises(sdk_errors.NotFound):
        module.get_endpoints_by_name(wrong_host, ["x"])


# ----------------------------------------------------------------------------- filters
def test_name_pattern_is_a_case_sensitive_glob():
    endpoints = compact_all(raw_endpoint(name) for name in DEFAULT_NAMES + ["Databricks-claude-x"])

    matched = module.filter_by_pattern(endpoints, "databricks-claude-*-4-?")

    assert [e["name"] for e in matched] == [
        "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5",
        "databricks-claude-opus-4-5"]
    assert module.filter_by_pattern(endpoints, None) == endpoints


def test_query_filters_endpoints():
    endpoints = compact_all([raw_endpoint(name) for name in DEFAULT_NAMES]
                            + [raw_endpoint("databricks-claude-embed", task="llm/v1/embeddings")])

    selected = module.apply_query(endpoints, "[?task=='llm/v1/chat' && starts_with(name, 'databricks-claude')]")

    assert sorted(e["name"] for e in selected) == sorted(n for n in DEFAULT_NAMES if "claude" in n)


@pytest.mark.parametrize("query, words", [
    ("[?task=='llm/v1/chat'", "is not a valid JMESPath expression"),
    ("[?starts_with(missing, 'x')]", "could not be evaluated"),
    ("[].name", "must select endpoints"),
    ("[0]", "a single dict"),
    ("nothing", "produced null"),
])
def test_bad_queries_are_explained(query, words):
    endpoints = compact_all(raw_endpoint(name) for name in DEFAULT_NAMES)

    with pytest.raises(module.QueryError, match=words.replace("[", r"\[")):
        module.apply_query(endpoints, query)


def test_sort_by_name_puts_nameless_last():
    assert [e.get("name") for e in module.sort_by_name([{"name": "b"}, {"name": None}, {"name": "a"}])] == \
        ["a", "b", None]


# ----------------------------------------------------------------------------- validation
@pytest.fixture(name="workspace")
def workspace_fixture():
    return compact_all([
        raw_endpoint("databricks-claude-opus-4-6"),
        raw_endpoint("databricks-claude-opus-4-5"),
        raw_endpoint("databricks-claude-sonnet-4-6"),
        raw_endpoint("databricks-claude-haiku-4-5", ready="NOT_READY"),
        raw_endpoint("databricks-claude-sonnet-4-5", config_update="IN_PROGRESS"),
        raw_endpoint("databricks-claude-opus-4-1", config_update="UPDATE_FAILED"),
        raw_endpoint("databricks-claude-3-7-sonnet", config_update="UPDATE_CANCELED"),
        raw_endpoint("databricks-gte-large-en", task="llm/v1/embeddings"),
        raw_endpoint("databricks-gpt-5-2"),
    ])


def statuses(validation):
    return {entry["role"]: entry["status"] for entry in validation}


def test_validation_statuses(workspace):
    wanted = {
        "model": "databricks-claude-sonnet-4-6",
        "haiku": "databricks-claude-haiku-4-5",
        "sonnet": "databricks-claude-sonnet-4-5",
        "opus": "databricks-claude-opus-4-1",
        "legacy": "databricks-claude-3-7-sonnet",
        "embed": "databricks-gte-large-en",
        "missing": "databricks-claude-opus-9",
        "unset": "",
        "none": None,
    }

    validation = module.validate_models(wanted, workspace, HOST)

    assert [entry["role"] for entry in validation] == list(wanted)
    assert statuses(validation) == {
        "model": "PASS", "haiku": "WARN", "sonnet": "WARN", "opus": "WARN", "legacy": "PASS", "embed": "WARN",
        "missing": "FAIL", "unset": "SKIP", "none": "SKIP",
    }
    by_role = {entry["role"]: entry for entry in validation}
    assert "not ready (state NOT_READY)" in by_role["haiku"]["message"]
    assert "configuration update is in progress" in by_role["sonnet"]["message"]
    assert "last configuration update failed" in by_role["opus"]["message"]
    assert "update was canceled" in by_role["legacy"]["message"]
    assert "not a chat model" in by_role["embed"]["message"]
    assert by_role["missing"]["message"] == (
        "Endpoint 'databricks-claude-opus-9' does not exist in %s (or is not visible to this login)." % HOST)
    assert by_role["model"]["hint"] == "" and by_role["unset"]["endpoint"] is None


def test_fail_hint_suggests_ready_endpoints_of_the_same_family(workspace):
    entry = module.validate_models({"opus": "databricks-claude-opus-4-7"}, workspace, HOST)[0]

    assert entry["status"] == "FAIL"
    assert entry["hint"].startswith("Did you mean 'databricks-claude-opus-4-6'? Pick one of: ")
    suggested = entry["hint"].split("Pick one of: ")[1].rstrip(".").split(", ")
    assert set(suggested) == {"databricks-claude-opus-4-6", "databricks-claude-opus-4-5"}


def test_not_ready_hint_offers_ready_alternatives(workspace):
    entry = module.validate_models({"haiku": "databricks-claude-haiku-4-5"}, workspace, HOST)[0]

    assert "Wait until it is READY" in entry["hint"]
    assert "databricks-claude-haiku-4-5," not in entry["hint"]
    assert "databricks-claude-" in entry["hint"].split("Pick one of: ")[1]


def test_fail_hint_without_any_usable_endpoint():
    entry = module.validate_models({"model": "databricks-claude-sonnet-4-6"},
                                   compact_all([raw_endpoint("embed", task="llm/v1/embeddings")]), HOST)[0]

    assert entry["status"] == "FAIL"
    assert "no ready chat endpoint" in entry["hint"]


def test_bad_validate_values_are_found():
    assert module.bad_validate_entries({"a": "x", "b": None, "c": 3, "d": ["x"]}) == ["c", "d"]


# ----------------------------------------------------------------------------- validation per agent
MESSAGES, RESPONSES, GENERATE = "anthropic/v1/messages", "openai/v1/responses", "gemini/v1/generateContent"
CHAT_COMPLETIONS = "mlflow/v1/chat/completions"


@pytest.fixture(name="three_agents")
def three_agents_fixture():
    """A workspace with Claude, GPT and Gemini endpoints, whose APIs the workspace lists."""
    return compact_all([
        raw_endpoint("databricks-claude-opus-4-6", api_types=[MESSAGES, CHAT_COMPLETIONS]),
        raw_endpoint("databricks-claude-sonnet-4-6", api_types=[MESSAGES, CHAT_COMPLETIONS]),
        raw_endpoint("databricks-gpt-5-5", api_types=[RESPONSES, CHAT_COMPLETIONS]),
        raw_endpoint("databricks-gpt-5-2", api_types=[RESPONSES, CHAT_COMPLETIONS]),
        raw_endpoint("databricks-gpt-5-1", ready="NOT_READY", api_types=[RESPONSES, CHAT_COMPLETIONS]),
        raw_endpoint("databricks-gemini-2-5-pro", api_types=[GENERATE, CHAT_COMPLETIONS]),
        raw_endpoint("databricks-gemini-3-pro", api_types=[GENERATE, RESPONSES, CHAT_COMPLETIONS]),
        raw_endpoint("databricks-meta-llama-3-3-70b-instruct", api_types=[CHAT_COMPLETIONS]),
        raw_endpoint("team-proxy"),
        raw_endpoint("databricks-gte-large-en", task="llm/v1/embeddings", api_types=["mlflow/v1/embeddings"]),
    ])


def by_role_of(validation):
    return {entry["role"]: entry for entry in validation}


def test_each_agents_model_passes_when_it_serves_that_agents_api(three_agents):
    validation = module.validate_models({"model": "databricks-claude-opus-4-6", "codex_model": "databricks-gpt-5-5",
                                         "gemini_model": "databricks-gemini-2-5-pro"}, three_agents, HOST)

    assert [(entry["role"], entry["status"], entry["agent"], entry["endpoint_agent"]) for entry in validation] == [
        ("model", "PASS", "claude_code", "claude_code"), ("codex_model", "PASS", "codex", "codex"),
        ("gemini_model", "PASS", "gemini", "gemini")]


def test_a_gemini_endpoint_as_codex_model_fails_and_names_the_gpt_endpoints(three_agents):
    entry = module.validate_models({"codex_model": "databricks-gemini-2-5-pro"}, three_agents, HOST)[0]

    assert entry["status"] == "FAIL"
    assert (entry["agent"], entry["endpoint_agent"]) == ("codex", "gemini")
    assert entry["message"] == (
        "Endpoint 'databricks-gemini-2-5-pro' serves Gemini CLI (a Gemini model, the workspace lists its APIs: "
        "gemini/v1/generateContent, mlflow/v1/chat/completions), not Codex CLI: codex_model needs a GPT model "
        "(OpenAI Responses API).")
    # Only ready GPT endpoints: not the NOT_READY one, no Claude or Gemini one.
    assert sorted(entry["hint"][len("Pick one of: "):].rstrip(".").split(", ")) == [
        "databricks-gpt-5-2", "databricks-gpt-5-5"]


@pytest.mark.parametrize("role, name, agent", [
    ("model", "databricks-gpt-5-5", "codex"),
    ("opus", "databricks-gemini-2-5-pro", "gemini"),
    ("gemini_model", "databricks-claude-sonnet-4-6", "claude_code"),
])
def test_another_agents_endpoint_fails_for_every_setting(three_agents, role, name, agent):
    entry = module.validate_models({role: name}, three_agents, HOST)[0]

    assert (entry["status"], entry["endpoint_agent"]) == ("FAIL", agent)
    assert "serves %s" % {"codex": "Codex CLI", "gemini": "Gemini CLI", "claude_code": "Claude Code"}[agent] \
        in entry["message"]


def test_a_model_that_serves_no_agents_api_fails(three_agents):
    entry = module.validate_models({"model": "databricks-meta-llama-3-3-70b-instruct"}, three_agents, HOST)[0]

    assert entry["status"] == "FAIL" and entry["endpoint_agent"] is None
    assert "serves none of the coding agents' APIs (the workspace lists its APIs: mlflow/v1/chat/completions)" \
        in entry["message"]
    assert "model needs a Claude model (Anthropic Messages API)" in entry["message"]
    assert set(entry["hint"][len("Pick one of: "):].rstrip(".").split(", ")) == {
        "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6"}


def test_another_familys_model_that_also_lists_the_agents_api_only_warns(three_agents):
    entry = module.validate_models({"codex_model": "databricks-gemini-3-pro"}, three_agents, HOST)[0]

    assert (entry["status"], entry["endpoint_agent"]) == ("WARN", "gemini")
    assert "lists the OpenAI Responses API for it too, so Codex CLI may work with it" in entry["message"]
    assert "databricks-gpt-5-5" in entry["hint"]


def test_what_nothing_is_known_about_or_is_no_chat_model_is_judged_as_before(three_agents):
    validation = by_role_of(module.validate_models(
        {"model": "team-proxy", "codex_model": "databricks-gte-large-en"}, three_agents, HOST))

    assert validation["model"]["status"] == "PASS" and validation["model"]["endpoint_agent"] is None
    assert validation["codex_model"]["status"] == "WARN"
    assert "not a chat model" in validation["codex_model"]["message"]


def test_the_agent_check_comes_before_readiness(three_agents):
    entry = module.validate_models({"gemini_model": "databricks-gpt-5-1"}, three_agents, HOST)[0]

    assert entry["status"] == "FAIL" and "not Gemini CLI" in entry["message"]


def test_a_missing_model_is_matched_within_its_agent(three_agents):
    codex = module.validate_models({"codex_model": "databricks-gpt-5-6"}, three_agents, HOST)[0]
    gemini = module.validate_models({"gemini_model": "databricks-gemini-2-5-pr"}, three_agents, HOST)[0]

    assert codex["status"] == "FAIL" and codex["hint"].startswith("Did you mean 'databricks-gpt-5-5'? Pick one of: ")
    assert "claude" not in codex["hint"] and "gemini" not in codex["hint"]
    assert gemini["hint"].startswith("Did you mean 'databricks-gemini-2-5-pro'?")
    assert "gpt" not in gemini["hint"]


def test_without_a_ready_endpoint_for_the_agent_the_hint_says_so():
    workspace = compact_all([raw_endpoint("databricks-claude-opus-4-6", api_types=[MESSAGES])])

    entry = module.validate_models({"codex_model": "databricks-gpt-5-5"}, workspace, HOST)[0]

    assert entry["hint"] == ("Configure an endpoint that exists. This workspace has no ready chat endpoint for "
                             "Codex CLI (a GPT model) to use instead: ask a workspace admin to enable the Foundation "
                             "Model APIs or to create a serving endpoint.")


def test_role_agents_names_the_agent_of_other_keys_or_turns_the_check_off(three_agents):
    validation = by_role_of(module.validate_models(
        {"fallback": "databricks-claude-opus-4-6", "codex_model": "databricks-gemini-2-5-pro",
         "other": "databricks-gpt-5-5"},
        three_agents, HOST, role_agents={"fallback": "codex", "codex_model": ""}))

    assert (validation["fallback"]["status"], validation["fallback"]["agent"]) == ("FAIL", "codex")
    assert (validation["codex_model"]["status"], validation["codex_model"]["agent"]) == ("PASS", None)
    assert (validation["other"]["status"], validation["other"]["agent"]) == ("PASS", None)


# ----------------------------------------------------------------------------- module entry
@pytest.fixture(name="fake_workspace")
def fake_workspace_fixture(monkeypatch):
    """The module talks to a FakeApiClient instead of a workspace; returns it."""
    api = FakeApiClient([raw_endpoint(name) for name in DEFAULT_NAMES], page_size=2)
    monkeypatch.setattr(sdk, "check_reachable", lambda access: None)
    monkeypatch.setattr(sdk, "build_workspace_client", lambda access: FakeWorkspaceClient(api))
    return api


def run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_main_lists_sorted_endpoints(fake_workspace, capsys):
    result = run({"host": HOST, "token": TOKEN}, capsys)

    assert result["changed"] is False
    assert result["count"] == 5 and result["host"] == HOST
    assert [e["name"] for e in result["endpoints"]] == sorted(DEFAULT_NAMES)
    assert result["missing"] == [] and result["validation"] == [] and result["validation_failed"] is False
    assert len(fake_workspace.calls) == 3
    assert TOKEN not in json.dumps(result)


def test_main_in_check_mode(fake_workspace, capsys):  # pylint: disable=unused-argument
    result = run({"host": HOST, "token": TOKEN, "_ansible_check_mode": True, "name_pattern": "*opus*"}, capsys)

    assert result["changed"] is False
    assert [e["name"] for e in result["endpoints"]] == ["databricks-claude-opus-4-5", "databricks-claude-opus-4-6"]


def test_main_reads_named_endpoints_only(fake_workspace, capsys):
    result = run({"host": HOST, "token": TOKEN, "name": ["databricks-gpt-5-2", "gone"]}, capsys)

    assert [e["name"] for e in result["endpoints"]] == ["databricks-gpt-5-2"]
    assert result["missing"] == ["gone"]
    assert all(call[1] != module.LIST_PATH for call in fake_workspace.calls)


def test_main_lists_everything_to_validate_and_narrows_to_names(fake_workspace, capsys):
    result = run({"host": HOST, "token": TOKEN, "name": ["databricks-gpt-5-2", "gone"],
                  "validate": {"model": "databricks-claude-sonnet-4-6", "opus": "databricks-claude-opus-7"}}, capsys)

    assert [e["name"] for e in result["endpoints"]] == ["databricks-gpt-5-2"]
    assert result["missing"] == ["gone"]
    assert statuses(result["validation"]) == {"model": "PASS", "opus": "FAIL"}
    assert result["validation_failed"] is True and "failed" not in result
    assert fake_workspace.calls[0][1] == module.LIST_PATH


def test_main_fail_on_invalid(fake_workspace, capsys):  # pylint: disable=unused-argument
    result = run({"host": HOST, "token": TOKEN, "fail_on_invalid": True,
                  "validate": {"opus": "databricks-claude-opus-7", "haiku": ""}}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith("1 configured model(s) cannot be used. opus: Endpoint 'databricks-claude-opus-7'")
    assert statuses(result["validation"]) == {"opus": "FAIL", "haiku": "SKIP"}


def test_main_query_with_and_without_jmespath(fake_workspace, capsys, monkeypatch):  # pylint: disable=unused-argument
    ok = run({"host": HOST, "token": TOKEN, "query": "[?contains(name, 'haiku')]"}, capsys)
    bad = run({"host": HOST, "token": TOKEN, "query": "[?"}, capsys)
    monkeypatch.setattr(module, "HAS_JMESPATH", False)
    missing = run({"host": HOST, "token": TOKEN, "query": "[?contains(name, 'haiku')]"}, capsys)

    assert [e["name"] for e in ok["endpoints"]] == ["databricks-claude-haiku-4-5"]
    assert bad["failed"] is True and "is not a valid JMESPath expression" in bad["msg"]
    assert missing["failed"] is True and "jmespath" in missing["msg"]


def test_main_rejects_a_bad_query_before_contacting_the_workspace(fake_workspace, capsys):
    result = run({"host": HOST, "token": TOKEN, "query": "[?name=="}, capsys)

    assert result["failed"] is True and "is not a valid JMESPath expression" in result["msg"]
    assert fake_workspace.calls == []


def test_main_rejects_non_string_validate_values(fake_workspace, capsys):  # pylint: disable=unused-argument
    result = run({"host": HOST, "token": TOKEN, "validate": {"opus": ["a", "b"]}}, capsys)

    assert result["failed"] is True and "fix: opus" in result["msg"]


def test_main_translates_sdk_errors(fake_workspace, capsys):
    fake_workspace.errors[module.LIST_PATH] = sdk_errors.PermissionDenied(
        "User %s may not list serving endpoints" % TOKEN, error_code="PERMISSION_DENIED")

    result = run({"host": HOST, "token": TOKEN}, capsys)

    assert result["failed"] is True
    assert "refused to list serving endpoints" in result["msg"] and "HTTP 403" in result["msg"]
    assert TOKEN not in json.dumps(result)


def test_main_reports_a_server_that_is_not_a_workspace(fake_workspace, capsys, monkeypatch):
    class Html:  # pylint: disable=too-few-public-methods
        def do(self, method, path, query=None):  # pylint: disable=unused-argument
            return ["not", "an", "object"]

    monkeypatch.setattr(sdk, "build_workspace_client", lambda access: FakeWorkspaceClient(Html()))
    result = run({"host": HOST, "token": TOKEN}, capsys)

    assert result["failed"] is True and "did not answer like a Databricks workspace" in result["msg"]
    assert fake_workspace.calls == []


# ----------------------------------------------------------------------------- checks
SWITCH = "To switch: ansible-playbook fmapi.coding_agents.setup -e %s=<endpoint>"


def by_label(checks):
    return {check["label"]: check for check in checks}


def test_main_returns_a_connectivity_check_and_one_models_check_per_setting(fake_workspace, capsys):
    fake_workspace.endpoints.append(raw_endpoint("databricks-claude-haiku-9", ready="NOT_READY"))
    result = run({"host": HOST, "token": TOKEN, "validate": {
        "model": "databricks-claude-sonnet-4-6", "opus": "databricks-claude-opus-7",
        "haiku": "databricks-claude-haiku-9", "sonnet": ""}}, capsys)

    checks = result["checks"]
    assert result["error"] is None
    assert checks[0] == {"category": "Connectivity", "status": "PASS", "label": "Workspace", "fix": "",
                         "value": "%s answered as the given token (6 serving endpoints)" % HOST}
    assert [(check["category"], check["label"], check["status"]) for check in checks[1:]] == [
        ("Models", "model", "PASS"), ("Models", "opus", "FAIL"), ("Models", "haiku", "WARN"),
        ("Models", "sonnet", "SKIP")]
    rows = by_label(checks)
    assert rows["model"]["fix"] == "" and rows["sonnet"]["fix"] == ""
    assert rows["opus"]["value"].startswith("Endpoint 'databricks-claude-opus-7' does not exist")
    assert rows["opus"]["fix"].startswith("Did you mean 'databricks-claude-opus-4-6'?")
    assert rows["opus"]["fix"].endswith("\n" + SWITCH % "opus")
    assert "not ready" in rows["haiku"]["value"] and rows["haiku"]["fix"].endswith("\n" + SWITCH % "haiku")
    assert TOKEN not in json.dumps(result)


def test_main_fails_a_codex_model_that_is_a_gemini_endpoint_with_the_fix(fake_workspace, capsys):
    fake_workspace.endpoints.append(raw_endpoint("databricks-gemini-2-5-pro", api_types=[GENERATE]))
    result = run({"host": HOST, "token": TOKEN, "validate": {
        "model": "databricks-claude-sonnet-4-6", "codex_model": "databricks-gemini-2-5-pro"}}, capsys)

    rows = by_label(result["checks"])
    assert (rows["model"]["status"], rows["codex_model"]["status"]) == ("PASS", "FAIL")
    assert "serves Gemini CLI" in rows["codex_model"]["value"]
    assert rows["codex_model"]["fix"] == "Pick one of: databricks-gpt-5-2.\n" + SWITCH % "codex_model"
    assert result["validation_failed"] is True
    gemini = next(e for e in result["endpoints"] if e["name"] == "databricks-gemini-2-5-pro")
    assert (gemini["agent"], gemini["agent_source"], gemini["api_types"]) == ("gemini", "api_types", [GENERATE])

    failed = run({"host": HOST, "token": TOKEN, "fail_on_invalid": True,
                  "validate": {"codex_model": "databricks-gemini-2-5-pro"}}, capsys)
    assert failed["failed"] is True
    assert failed["msg"].startswith("1 configured model(s) cannot be used. codex_model: Endpoint "
                                    "'databricks-gemini-2-5-pro' serves Gemini CLI")


def test_main_takes_role_agents_and_refuses_unknown_agents(fake_workspace, capsys):
    checked = run({"host": HOST, "token": TOKEN, "validate": {"reviewer": "databricks-claude-opus-4-6"},
                   "role_agents": {"reviewer": "gemini"}}, capsys)
    asked = len(fake_workspace.calls)
    refused = run({"host": HOST, "token": TOKEN, "validate": {"reviewer": "databricks-claude-opus-4-6"},
                   "role_agents": {"reviewer": "cursor", "writer": "codex", "off": ""}}, capsys)

    assert checked["validation"][0]["status"] == "FAIL" and checked["validation"][0]["agent"] == "gemini"
    assert refused["failed"] is True
    assert refused["msg"] == ("role_agents must map each role to one of claude_code, codex, gemini (or an empty value: "
                              "not checked for an agent); fix: reviewer")
    assert len(fake_workspace.calls) == asked  # the refusal asked nothing


def test_main_without_validate_has_only_the_connectivity_check(fake_workspace, capsys):  # pylint: disable=unused-argument
    checks = run({"host": HOST, "token": TOKEN}, capsys)["checks"]
    assert [(check["category"], check["status"]) for check in checks] == [("Connectivity", "PASS")]


# ----------------------------------------------------------------------------- report_errors
WANTED = {"model": "databricks-claude-sonnet-4-6", "haiku": ""}


def run_reporting(capsys, **args):
    result = run(dict({"host": HOST, "token": TOKEN, "report_errors": True, "validate": WANTED}, **args), capsys)
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is False and result["endpoints"] == [] and result["count"] == 0
    assert result["validation"] == [] and result["validation_failed"] is False
    connectivity = result["checks"][0]
    assert (connectivity["category"], connectivity["status"], connectivity["label"]) == (
        "Connectivity", "FAIL", "Workspace")
    assert connectivity["value"] == result["error"]
    assert result["checks"][1:] == [
        {"category": "Models", "status": "SKIP", "label": "model", "fix": "",
         "value": "databricks-claude-sonnet-4-6: needs a working connection (see Connectivity)"},
        {"category": "Models", "status": "SKIP", "label": "haiku", "value": "not configured", "fix": ""}]
    assert TOKEN not in json.dumps(result)
    return result, connectivity


def test_report_errors_turns_a_403_into_a_permission_fix(fake_workspace, capsys):
    fake_workspace.errors[module.LIST_PATH] = sdk_errors.PermissionDenied(
        "User %s may not list serving endpoints" % TOKEN, error_code="PERMISSION_DENIED")

    result, connectivity = run_reporting(capsys)

    assert "HTTP 403" in result["error"] and result["host"] == HOST
    assert "lacks a permission" in connectivity["fix"] and "CAN QUERY" in connectivity["fix"]


@pytest.mark.parametrize("error", [
    sdk_errors.InternalError("boom", error_code="INTERNAL_ERROR"),
    sdk_errors.TemporarilyUnavailable("down for maintenance", error_code="TEMPORARILY_UNAVAILABLE"),
])
def test_report_errors_says_a_5xx_is_on_the_workspace_side(fake_workspace, capsys, error):
    fake_workspace.errors[module.LIST_PATH] = error

    result, connectivity = run_reporting(capsys)

    assert "internal problem" in result["error"]
    assert connectivity["fix"].startswith("The workspace's side, not this laptop's: try again later")


def test_report_errors_points_at_the_network_when_nothing_answers(capsys, monkeypatch):
    """A real connection to a loopback port nobody listens on: refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = "https://127.0.0.1:%d" % port
    for variable in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)

    result, connectivity = run_reporting(capsys, host=host, timeout=5, retry_timeout=5)
    failed = run({"host": host, "token": TOKEN, "timeout": 5, "retry_timeout": 5}, capsys)

    assert "was refused" in result["error"] and result["host"] == host
    assert "VPN" in connectivity["fix"] and "HTTPS_PROXY" in connectivity["fix"] and host in connectivity["fix"]
    # Without report_errors the same problem is a failure with the same message.
    assert failed["failed"] is True and failed["msg"] == result["error"]


def test_report_errors_suggests_trusting_the_ca_on_a_tls_failure(fake_workspace, capsys):
    fake_workspace.errors[module.LIST_PATH] = requests.exceptions.SSLError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate")

    result, connectivity = run_reporting(capsys)

    assert "could not be verified" in result["error"]
    assert "SSL_CERT_FILE" in connectivity["fix"] and "REQUESTS_CA_BUNDLE" in connectivity["fix"]


def test_report_errors_covers_a_missing_profile(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DATABRICKS_CONFIG_FILE", raising=False)

    result = run({"profile": "fmapi-claudecode-profile", "report_errors": True, "validate": WANTED}, capsys)

    assert "failed" not in result
    connectivity = result["checks"][0]
    assert connectivity["status"] == "FAIL"
    assert connectivity["value"].startswith("Profile 'fmapi-claudecode-profile' is not in %s"
                                            % (tmp_path / ".databrickscfg"))
    assert "ansible-playbook fmapi.coding_agents." in connectivity["fix"]
    assert [check["status"] for check in result["checks"][1:]] == ["SKIP", "SKIP"]


def test_without_report_errors_a_refusal_still_fails(fake_workspace, capsys):
    fake_workspace.errors[module.LIST_PATH] = sdk_errors.InternalError("boom", error_code="INTERNAL_ERROR")
    result = run({"host": HOST, "token": TOKEN, "validate": WANTED}, capsys)
    assert result["failed"] is True and "internal problem" in result["msg"] and "checks" not in result
