"""What a log line is about: the request id (set per request by core.middleware.RequestIdMiddleware, echoed in the
X-Request-ID header and in every JSON 500) so an operator can find the lines of one failing request. Stdlib only:
logging is configured before Django's apps load."""

import contextvars
import logging

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True
