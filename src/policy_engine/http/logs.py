"""The service's logging: uvicorn's and ours, as text (the default) or one JSON object per line.

`serve` hands `logging_config(...)` to uvicorn, which applies it in every worker. A JSON line has
`time`, `level`, `logger` and `message`, plus `decision_id` when the record is about a decision
(`log.error(..., extra={"decision_id": ...})`), the access fields for an access-log line, and
`exception` (the traceback, as one string) when there is one: stack traces go here, never into a
response.
"""

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The extra attributes a record may carry that a JSON line keeps.
EXTRA_FIELDS = ("decision_id", "detail")
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            line["message"] = "request"
            line.update(zip(ACCESS_FIELDS, record.args, strict=True))
        else:
            line["message"] = record.getMessage()
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def logging_config(log_format: str, log_level: str) -> dict:
    """A logging.config.dictConfig document for uvicorn's `log_config`."""
    level = log_level.upper()
    if log_format == "json":
        formatters: dict[str, dict] = {
            "default": {"()": "policy_engine.http.logs.JsonFormatter"},
            "access": {"()": "policy_engine.http.logs.JsonFormatter"},
            "service": {"()": "policy_engine.http.logs.JsonFormatter"},
        }
    else:
        formatters = {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
            "service": {"format": TEXT_FORMAT},
        }
    stream = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "handlers": {
            "default": {**stream, "formatter": "default"},
            "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "access"},
            "service": {**stream, "formatter": "service"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.asgi": {"level": level},
            # Written only with --access-log, and then whatever the level: asking for it is enough.
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["service"], "level": level},
    }
