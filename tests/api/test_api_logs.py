"""JSON-line logs and secret redaction (OC-CTL-4009, OC-CTL-4007)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from poolmgr.telemetry.logs import LOG_FIELDS, JsonFormatter, RedactionFilter, correlation_id
from poolmgr.telemetry.redact import Redactor, is_secret_name, is_sensitive_env_name, redact_argv


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, Redactor]]:
    """A logger writing redacted JSON lines into a buffer."""
    redactor = Redactor(["the-bearer-token-value"], environ={"HF_TOKEN": "hf_abcdefghijkl"})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter(redactor))
    handler.setFormatter(JsonFormatter(redactor))
    logger = logging.getLogger("poolmgr.test.logs")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream, redactor
    logger.handlers = []


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_oc_ctl_4009_each_record_is_one_json_line_with_every_context_field(
    capture: tuple[logging.Logger, io.StringIO, Redactor],
) -> None:
    logger, stream, _ = capture
    logger.info(
        "lease granted on %s",
        "alpha",
        extra={"event": "lease_granted", "pool_id": "alpha", "lease_id": "L1", "job_id": "J1"},
    )
    (line,) = lines(stream)
    assert {"ts", "level", "message", *LOG_FIELDS} <= set(line)
    assert line["event"] == "lease_granted" and line["pool_id"] == "alpha"
    assert line["lease_id"] == "L1" and line["job_id"] == "J1"
    assert line["engine"] is None and line["cause"] is None
    assert line["message"] == "lease granted on alpha"
    assert line["level"] == "info" and line["ts"].endswith("Z")


def test_oc_ctl_4005_log_lines_carry_the_request_correlation_id(
    capture: tuple[logging.Logger, io.StringIO, Redactor],
) -> None:
    logger, stream, _ = capture
    token = correlation_id.set("corr-123")
    try:
        logger.warning("inside a request")
    finally:
        correlation_id.reset(token)
    logger.warning("outside")
    first, second = lines(stream)
    assert first["correlation_id"] == "corr-123"
    assert second["correlation_id"] is None


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("model https://user:pa55word@hub.example/m.gguf", "pa55word"),
        ("fetch https://hub.example/m.gguf?token=qwerty123&x=1", "qwerty123"),
        ("configured token the-bearer-token-value", "the-bearer-token-value"),
        ("env leaked hf_abcdefghijkl here", "hf_abcdefghijkl"),
    ],
)
def test_oc_ctl_4007_secrets_are_masked_in_messages(
    capture: tuple[logging.Logger, io.StringIO, Redactor], text: str, secret: str
) -> None:
    logger, stream, _ = capture
    logger.error("%s", text)
    assert secret not in stream.getvalue()
    assert "***" in lines(stream)[0]["message"]


def test_oc_ctl_4007_url_credentials_keep_the_host(
    capture: tuple[logging.Logger, io.StringIO, Redactor],
) -> None:
    _, _, redactor = capture
    assert redactor.redact("https://user:pass@host/x") == "https://***@host/x"


def test_oc_ctl_4007_secrets_are_masked_in_extras_and_tracebacks(
    capture: tuple[logging.Logger, io.StringIO, Redactor],
) -> None:
    logger, stream, _ = capture
    try:
        raise RuntimeError("failed with the-bearer-token-value")
    except RuntimeError:
        logger.exception("boom", extra={"pool_id": "p", "model": "s3://k:hf_abcdefghijkl@b/m"})
    text = stream.getvalue()
    assert "the-bearer-token-value" not in text and "hf_abcdefghijkl" not in text
    (line,) = lines(stream)
    assert "RuntimeError" in line["exception"]


def test_oc_ctl_4007_values_of_sensitive_env_names_are_secrets() -> None:
    assert is_sensitive_env_name("X_API_KEY")
    assert is_sensitive_env_name("hf_token")
    assert is_sensitive_env_name("MY_SECRET_THING")
    assert not is_sensitive_env_name("KEYBOARD_LAYOUT")
    redactor = Redactor(environ={"X_API_KEY": "k-123456", "HOME": "/root"})
    assert redactor.redact("k-123456 at /root") == "*** at /root"


def test_oc_ctl_4007_nested_values_are_redacted() -> None:
    redactor = Redactor(["sekret-1"], environ={})
    body = {"a": ["x sekret-1", {"b": "Bearer zz"}], "n": 3, "sekret-1": None}
    assert redactor.redact_value(body) == {"a": ["x ***", {"b": "Bearer ***"}], "n": 3, "***": None}


def test_oc_ctl_4007_tiny_secrets_are_not_masked_as_substrings() -> None:
    redactor = Redactor(["ab"], environ={"X_KEY": "1"})
    assert redactor.redact("abc 1") == "abc 1"


def test_oc_ctl_4007_one_vocabulary_names_secrets_in_env_names_flags_and_query_params() -> None:
    # Environment variable names: a word must be the last part (their values are masked as
    # bare substrings everywhere), except the words that mean a secret anywhere.
    assert is_sensitive_env_name("DB_PASSWORD") and is_sensitive_env_name("CLIENTSECRET")
    assert not is_sensitive_env_name("TOKENIZERS_PARALLELISM")
    assert not is_sensitive_env_name("HF_TOKEN_PATH")
    # Flags and query parameters: a word anywhere in the name.
    assert is_secret_name("--api-key") and is_secret_name("--hf-token") and is_secret_name("sig")
    assert not is_secret_name("--port")
    argv = ["llama-server", "--api-key", "k-1", "--db-passwd=p-2", "--port", "8080"]
    assert redact_argv(argv) == [
        "llama-server",
        "--api-key",
        "***",
        "--db-passwd=***",
        "--port",
        "8080",
    ]
    redactor = Redactor(environ={})
    assert redactor.redact("GET /m?x_signature=abc&y=1") == "GET /m?x_signature=***&y=1"


def test_oc_ctl_4007_bearer_prose_is_not_a_credential() -> None:
    redactor = Redactor(environ={})
    assert redactor.redact("a bearer token is required") == "a bearer token is required"
    assert redactor.redact("Authorization: Bearer token-abc") == "Authorization: Bearer ***"
