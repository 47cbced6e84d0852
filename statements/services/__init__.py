"""Statement changes by stage (poll, close, credits); other apps' tests import statements_poll."""

from .poll import statements_poll

__all__ = ["statements_poll"]
