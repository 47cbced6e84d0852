"""Logging filters named in the LOGGING setting."""

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """Django logs a 403 (and other client errors raised as exceptions) with the exception's
    traceback. A refused or missing page is expected traffic, not a fault in our code: keep the
    one-line record and drop the traceback. Server errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 0) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
