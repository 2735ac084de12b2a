"""What the browsable API and OPTIONS answers show of a view: its docstring.

Docstrings are written the Python way (reStructuredText literals: ``code``). DRF shows them
as they are unless the ``markdown`` package is installed, so a reader saw the backticks. Here
they become Markdown code spans in text (OPTIONS) and ``<code>`` in the browsable API's HTML,
paragraphs kept, everything else escaped.
"""
import re

from django.utils.encoding import smart_str
from django.utils.html import escape
from django.utils.safestring import mark_safe
from rest_framework.utils import formatting

# ``literal``, and roles such as :class:`Name`
_LITERAL = re.compile(r"``(.+?)``|:[a-z]+:`([^`]+)`", re.S)
_CODE_SPAN = re.compile(r"`([^`]+)`")


def as_markdown(text):
    """The docstring with its literals as Markdown code spans (`code`)."""
    return _LITERAL.sub(lambda m: f"`{m.group(1) or m.group(2)}`", text)


def as_html(text):
    """The docstring as HTML: a paragraph per blank-line separated block, code spans as <code>."""
    paragraphs = [" ".join(line.strip() for line in block.splitlines())
                  for block in re.split(r"\n\s*\n", as_markdown(text).strip()) if block.strip()]
    return "".join("<p>" + _CODE_SPAN.sub(r"<code>\1</code>", escape(p)) + "</p>" for p in paragraphs)


def view_description(view, html=False):
    """DRF's VIEW_DESCRIPTION_FUNCTION: the view's (or the viewset action's) docstring."""
    description = getattr(view, "description", None)
    if description is None:
        description = view.__class__.__doc__ or ""
    description = formatting.dedent(smart_str(description))
    if html:
        return mark_safe(as_html(description))  # noqa: S308 - escaped above, only <p> and <code> added
    return as_markdown(description)
