"""The real Claude Code, run by the developer, answers through the workspace with a token it issued, although
the developer's own settings name another token helper, gateway and model: the managed drop-in wins."""

from __future__ import annotations

import json

from managed_laptop import DROP_IN, HELPER, HOME, as_developer, json_file, model_calls


def test_claude_answers_through_the_managed_gateway_with_the_managed_model(host, double):
    mine = json_file(host, f"{HOME}/.claude/settings.json")
    assert mine["apiKeyHelper"] == "echo user-token"
    assert mine["env"] == {"ANTHROPIC_BASE_URL": "https://user-gateway.invalid", "ANTHROPIC_MODEL": "user-model"}
    managed = json_file(host, DROP_IN)
    assert managed["apiKeyHelper"] == HELPER
    base_url, model = managed["env"]["ANTHROPIC_BASE_URL"], managed["env"]["ANTHROPIC_MODEL"]
    assert base_url.startswith(double.url + "/") and model != "user-model"

    double.clear_requests()
    result = as_developer(host, "timeout 180 claude -p 'Say hello' --output-format stream-json --verbose")
    assert result.rc == 0, f"{result.stdout}\n{result.stderr}"
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    init = next(event for event in events if event.get("type") == "system" and event.get("subtype") == "init")
    final = next(event for event in events if event.get("type") == "result")
    assert final["is_error"] is False, final
    assert final["result"] == double.scenario()["reply_text"]
    assert init["apiKeySource"] == "apiKeyHelper"
    assert init["model"] == model
    calls = model_calls(double, base_url[len(double.url):] + "/v1/messages")
    # Each with a token the workspace issued to the developer's OAuth login (not "user-token"), the managed model
    # for the answer (Claude Code may ask a smaller model on the side).
    assert calls and all(call[:3] == (200, "valid", "oauth") for call in calls), calls
    assert model in [call[3] for call in calls] and "user-model" not in [call[3] for call in calls], calls
