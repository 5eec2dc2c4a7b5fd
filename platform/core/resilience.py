"""How a long-running loop lives through its dependencies failing (PostgreSQL or Redis restarting, a peer gone):
it keeps running, waits longer after each failure in a row (exponential back-off with jitter), and tells the log
one story — the first failure with its traceback, then one line per REPORT_EVERY_S with the count, then the
recovery with how long it lasted — instead of a traceback per attempt."""

import logging
import random
import time


class Outage:
    """The failures in a row of one dependency, as seen by one loop."""

    REPORT_EVERY_S = 30.0

    def __init__(self, what: str, log: logging.Logger, first_delay_s: float = 0.2, max_delay_s: float = 10.0):
        self.what, self.log = what, log
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.failures = 0
        self.since = self.reported = 0.0

    @property
    def ongoing(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> float:
        """Count a failure and log it as part of the story; the seconds to wait before the next attempt."""
        now = time.monotonic()
        if self.failures == 0:
            self.since = self.reported = now
            self.log.error("%s failed; retrying with back-off", self.what, exc_info=exc)
        elif now - self.reported >= self.REPORT_EVERY_S:
            self.reported = now
            self.log.error(
                "%s still failing: %d attempts in %.0f s (last: %s)",
                self.what, self.failures + 1, now - self.since, f"{type(exc).__name__}: {exc}".splitlines()[0],
            )  # fmt: skip
        self.failures += 1
        delay = min(self.max_delay_s, self.first_delay_s * 2 ** (self.failures - 1))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning(
                "%s recovered after %d failed attempts in %.1f s",
                self.what, self.failures, time.monotonic() - self.since,
            )  # fmt: skip
            self.failures = 0
