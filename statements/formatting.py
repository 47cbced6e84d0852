"""How durations and hours read on pages and in documents (amounts: accounts.money)."""

from datetime import timedelta
from decimal import Decimal


def format_duration(duration: timedelta) -> str:
    """'1:30:00', '26:00:05', '0:00:59.5': hours run past a day; fractions of seconds kept."""
    micros = duration // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{seconds:02d}"
    if fraction:
        text += f".{fraction:06d}".rstrip("0")
    return text


def format_hours(duration: timedelta) -> str:
    """Hours with two decimals: '1.50'."""
    hours = Decimal(duration // timedelta(microseconds=1)) / 3_600_000_000
    return f"{hours.quantize(Decimal('0.01')):,}"
