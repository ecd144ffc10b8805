"""The real Gemini CLI, through the developer's launcher, answers through the workspace with a token it issued,
although the developer's settings select a Google login: the system settings select and enforce API-key auth."""

from __future__ import annotations

from managed_laptop import GEMINI_SYSTEM, HOME, answered_with_a_token_the_workspace_issued, as_developer, content, \
    json_file, model_calls, prepared

GEMINI_MODEL = "databricks-gemini-2-5-pro"
GEMINI_ROUTE = "/serving-endpoints/gemini"


def test_gemini_system_settings_enforce_api_key_auth(host):
    auth = json_file(host, GEMINI_SYSTEM)["security"]["auth"]
    assert auth == {"selectedType": "gemini-api-key", "enforcedType": "gemini-api-key"}


def test_gemini_answers_through_the_workspace_over_the_developers_google_login(host, double):
    assert content(host, f"{HOME}/.gemini/settings.json") == prepared("user-gemini-settings.json")
    double.clear_requests()
    result = as_developer(host, "GEMINI_CLI_TRUST_WORKSPACE=true timeout 180 gemini -p 'say hi' < /dev/null")
    answered_with_a_token_the_workspace_issued(result, double.expected_reply("gemini", GEMINI_MODEL, GEMINI_ROUTE),
                                               model_calls(double, GEMINI_ROUTE), GEMINI_MODEL)
