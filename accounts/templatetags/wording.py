"""Template filters for writing about accounts: `{{ name|possessive }}`."""

from django import template

from accounts import wording

register = template.Library()


@register.filter
def possessive(name: str) -> str:
    return wording.possessive(str(name))
