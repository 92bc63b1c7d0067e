"""JSON-line logs and secret redaction (OC-CTL-4009, OC-CTL-4007); engine lines that name their
pool, engine and version, and correlation ids only on the actions a request caused, read from a
real manager (OC-POOL-3073, OC-POOL-3074)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from poolmgr import __version__
from poolmgr.telemetry.logs import (
    LOG_FIELDS,
    JsonFormatter,
    RedactionFilter,
    correlation_id,
    fresh_context,
    log_pool,
    log_scope,
    pool_identity,
)
from poolmgr.telemetry.redact import Redactor, is_secret_name, is_sensitive_env_name, redact_argv
from tests.api.helpers import LiveManager, stub_pool


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


# --------------------------------------------------------------------------- engine lines


def test_oc_pool_3073_a_line_about_a_pool_names_its_engine_and_version(
    capture: tuple[logging.Logger, io.StringIO, Redactor],
) -> None:
    logger, stream, _ = capture
    known = {"alpha": ("stub", "stub-1.0"), "fresh": ("llamacpp", None)}
    token = pool_identity.set(known.get)
    try:
        logger.info("explicit", extra={"pool_id": "alpha"})
        with log_scope("fresh", None):
            logger.info("scoped")  # names no pool itself: the scope's
        logger.info("unknown pool", extra={"pool_id": "nope"})
        logger.info("no pool")
    finally:
        pool_identity.reset(token)
    explicit, scoped, unknown, none = lines(stream)
    assert (explicit["pool_id"], explicit["engine"], explicit["engine_version"]) == (
        "alpha",
        "stub",
        "stub-1.0",
    )
    assert (scoped["pool_id"], scoped["engine"], scoped["engine_version"]) == (
        "fresh",
        "llamacpp",
        None,  # null until the engine has told it
    )
    assert (unknown["engine"], none["pool_id"], none["engine"]) == (None, None, None)


def test_oc_pool_3074_a_fresh_context_drops_the_request_correlation_id() -> None:
    token = correlation_id.set("req-1")
    try:
        life = fresh_context("alpha")
        assert life.run(correlation_id.get) is None
        assert life.run(log_pool.get) == "alpha"
        assert correlation_id.get() == "req-1"
    finally:
        correlation_id.reset(token)


class _Lines(logging.Handler):
    """Every record of the manager, as the JSON lines the manager writes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter_ = JsonFormatter(None)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.formatter_.format(record)))


def test_oc_pool_3073_3074_engine_lines_name_the_pool_and_only_caused_actions_carry_the_id(
    tmp_path: Path,
) -> None:
    config = yaml.safe_dump(
        {"pools": [stub_pool("rl", "stub://rl-1", slots=1, drain_deadline_ms=0)]},
        sort_keys=False,
    )
    handler = _Lines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    output_logger = logging.getLogger("poolmgr.engine.output")
    output_logger.setLevel(logging.DEBUG)  # the engines' own output lines too
    live = LiveManager(config, tmp_path).start()
    try:
        live.wait_ready("rl")
        for cid, model in (("reload-A", "stub://rl-2"), ("reload-B", "stub://rl-3")):
            response = requests.post(
                f"{live.url}/v1/pools/rl/reload",
                json={"new_model_ref": model, "deadline_ms": 0},
                headers={"X-Correlation-Id": cid},
                timeout=5,
            )
            assert response.status_code == 202, response.text
            live.wait_health(
                "rl", lambda h, m=model: h["ready"] and h["model_ref"] == m, what=f"on {model}"
            )
    finally:
        live.stop()
        root.removeHandler(handler)
        root.setLevel(old_level)
        output_logger.setLevel(logging.NOTSET)
    # Other tests' managers may still be logging in this process: their pools are not ours.
    seen = [line for line in handler.lines if line["pool_id"] in (None, "rl")]
    engine_lines = [
        line
        for line in seen
        if str(line["event"]).startswith(("engine_", "pool_"))
        or (
            line["logger"].startswith("poolmgr.runtime")
            and not str(line["event"]).startswith("startup_")
        )  # the manager's, not an engine's
    ]
    assert engine_lines
    for line in engine_lines:
        assert (line["pool_id"], line["engine"]) == ("rl", "stub"), line
    output = [line for line in seen if line["event"] == "engine_output"]
    assert any("main: model loaded" in line["message"] for line in output)
    # An engine's own output is no request's action, whoever started the engine.
    assert {line["correlation_id"] for line in output} == {None}
    starts = [line for line in seen if line["event"] == "engine_started"]
    assert [line["correlation_id"] for line in starts] == [None, "reload-A", "reload-B"]
    assert [line["engine_version"] for line in starts][1:] == [f"stub-{__version__}"] * 2
    exits = [line for line in seen if line["event"] == "engine_exited"]
    assert [line["correlation_id"] for line in exits] == ["reload-A", "reload-B", None]
    # Each id is on its own reload's lines and nowhere after them: not on the shutdown.
    stopping = next(i for i, line in enumerate(seen) if line["event"] == "manager_stopping")
    assert {line["correlation_id"] for line in seen[stopping:]} == {None}
    first_b = next(i for i, line in enumerate(seen) if line["correlation_id"] == "reload-B")
    last_a = max(i for i, line in enumerate(seen) if line["correlation_id"] == "reload-A")
    assert last_a < first_b  # reload A's id ends with reload A
    finished = [line["correlation_id"] for line in seen if line["event"] == "pool_reload_finished"]
    assert finished == ["reload-A", "reload-B"]


@pytest.fixture
def handed_off(tmp_path: Path) -> Iterator[tuple[io.StringIO, Path]]:
    """Logging as ``poolmgr serve`` configures it: a hand-off to one writer thread."""
    from poolmgr.telemetry.logs import configure_logging, stop_logging

    stream, log_file = io.StringIO(), tmp_path / "logs" / "manager.jsonl"
    root = logging.getLogger()
    level = root.level
    redactor = Redactor(["the-bearer-token-value"], environ={})
    configure_logging(redactor, stream=stream, log_file=log_file)
    try:
        yield stream, log_file
    finally:
        stop_logging()
        root.setLevel(level)


def test_oc_perf_9102_the_writer_writes_every_line_once_to_both_outputs_by_the_stop(
    handed_off: tuple[io.StringIO, Path],
) -> None:
    from poolmgr.telemetry.logs import stop_logging

    stream, log_file = handed_off
    logger = logging.getLogger("poolmgr.test.handoff")
    for i in range(200):
        logger.info("line %d with the-bearer-token-value", i, extra={"event": "numbered"})
    stop_logging()  # returns once every record handed over is written
    written = [json.loads(line) for line in log_file.read_text().splitlines()]
    numbered = [r["message"] for r in written if r["event"] == "numbered"]
    assert numbered == [f"line {i} with ***" for i in range(200)]
    assert stream.getvalue() == log_file.read_text()


def test_oc_perf_9102_a_record_keeps_what_the_logging_task_knew_when_it_logged(
    handed_off: tuple[io.StringIO, Path],
) -> None:
    from poolmgr.telemetry.logs import stop_logging

    stream, _ = handed_off
    logger = logging.getLogger("poolmgr.test.handoff")
    mutable = {"slots": 1}
    token = pool_identity.set(lambda pool: ("stub", "b1234") if pool == "alpha" else None)
    try:
        with log_scope("alpha", "corr-9"):
            logger.info("seen %s", mutable, extra={"event": "captured"})
    finally:
        pool_identity.reset(token)
    mutable["slots"] = 2  # changed after the call returned: the line keeps the old value
    stop_logging()
    (line,) = [r for r in lines(stream) if r["event"] == "captured"]
    assert line["message"] == "seen {'slots': 1}"
    assert (line["pool_id"], line["correlation_id"]) == ("alpha", "corr-9")
    assert (line["engine"], line["engine_version"]) == ("stub", "b1234")


def test_oc_perf_9102_an_exception_is_written_as_redacted_text(
    handed_off: tuple[io.StringIO, Path],
) -> None:
    from poolmgr.telemetry.logs import stop_logging

    stream, _ = handed_off
    try:
        raise RuntimeError("failed with the-bearer-token-value")
    except RuntimeError:
        logging.getLogger("poolmgr.test.handoff").exception("boom", extra={"event": "failed"})
    stop_logging()
    (line,) = [r for r in lines(stream) if r["event"] == "failed"]
    assert "RuntimeError: failed with ***" in line["exception"]
    assert "the-bearer-token-value" not in stream.getvalue()


def test_oc_perf_9102_the_engine_clients_request_lines_are_not_logged(
    handed_off: tuple[io.StringIO, Path],
) -> None:
    from poolmgr.telemetry.logs import stop_logging

    stream, _ = handed_off
    # What httpx writes for every request it sends: a line per health probe of every pool.
    logging.getLogger("httpx").info('HTTP Request: GET http://127.0.0.1:9/health "200 OK"')
    logging.getLogger("httpx").warning("a warning of the client still comes through")
    stop_logging()
    assert [r["message"] for r in lines(stream) if r["logger"] == "httpx"] == [
        "a warning of the client still comes through"
    ]
