"""Structured JSON logs. The event id and the pseudonymous case id are bound to every line
while an event is handled, and the trace and span ids to every line written while a span is
active (an HTTP request, a handled event); payloads are never logged, as they may hold
personal data."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from vrac_runtime.errors import describe
from vrac_runtime.tracing import trace_ids

# Keys that may never reach a log line, whatever a caller passes.
_FORBIDDEN = frozenset(
    {"name", "first_name", "email", "phone", "address", "birth_year", "data", "payload", "body"}
)


def _drop_personal_data(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in _FORBIDDEN.intersection(event):
        event[key] = "[redacted]"
    return event


def _add_trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The active span's ``trace_id`` and ``span_id``, to find a line's trace and back."""
    event.update(trace_ids())
    return event


def _quote_no_input(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A logged validation error (an unexpected one reaching the server's log, say) keeps its
    traceback but loses pydantic's text, which quotes the input: fields and problems only."""
    exc_info = event.get("exc_info")
    if exc_info is True:
        exc_info = sys.exc_info()
    err = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if isinstance(err, BaseException) and callable(getattr(err, "errors", None)):
        event.pop("exc_info")
        trace = "".join(traceback.format_tb(err.__traceback__))
        event["exception"] = f"Traceback (most recent call last):\n{trace}{describe(err)}"
    return event


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout, for this process; safe to call more than once.

    The libraries' own lines (Kafka clients: failed commits, rebalances, leaving a group)
    are rendered as the same JSON, with the logger's name.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _add_trace_ids,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_personal_data,
        _quote_no_input,
        structlog.processors.format_exc_info,
    ]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
                *shared,
            ],
        )
    )
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    # the HTTP server's own lines go the same way, even after a server in this process set up
    # its default logging (its own handlers, not passed on) before this was called
    for server in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(server).handlers.clear()
        logging.getLogger(server).propagate = True
    # httpx and httpcore log each request's full URL (an agency's webhook may carry a token)
    quiet = ("aiokafka", "kafka", "pymongo", "uvicorn.access", "vrac.kafka", "httpx", "httpcore")
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # joining, leaving and rebalancing a consumer group: rare, and worth a line each
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # no stream bound here: each line goes to the sys.stdout of its moment, so a stream
        # that was swapped and closed (by a test runner, say) never breaks logging
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


@contextmanager
def bound_event(
    event_id: str, case_id: str | None, event_type: str | None = None
) -> Iterator[None]:
    """Bind the event's id and case to every log line written inside the block."""
    tokens = structlog.contextvars.bind_contextvars(
        event_id=event_id, case_id=case_id, event_type=event_type
    )
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
