"""Calling chatbot endpoints: profiles (http, openai-chat, python, mcp) and async execution.

Typical use::

    profile = load_profile("runners/demo-bot.yaml")
    responses = run_cases_sync(profile, cases, variant=variant, options=ExecOptions())
"""

from ragwacht.records import Response, RetrievedContext, Usage
from ragwacht.runners.base import AttemptError, CallRequest, CallResult, Runner, build_runner
from ragwacht.runners.execute import ExecOptions, response_stats, run_cases, run_cases_sync
from ragwacht.runners.profile import (
    EndpointProfile,
    HttpProfile,
    McpProfile,
    OpenAIChatProfile,
    PythonProfile,
    Variant,
    apply_variant,
    load_profile,
    profile_from_dict,
    variant_from_spec,
)
from ragwacht.runners.store import ResponseCache, ResponseStore

__all__ = [
    "AttemptError",
    "CallRequest",
    "CallResult",
    "EndpointProfile",
    "ExecOptions",
    "HttpProfile",
    "McpProfile",
    "OpenAIChatProfile",
    "PythonProfile",
    "Response",
    "ResponseCache",
    "ResponseStore",
    "RetrievedContext",
    "Runner",
    "Usage",
    "Variant",
    "apply_variant",
    "build_runner",
    "load_profile",
    "profile_from_dict",
    "response_stats",
    "run_cases",
    "run_cases_sync",
    "variant_from_spec",
]
