"""What the Django-client tests of the console's pages share: a logged-in browser, a page's
text, and the messages shown beside a form field."""
import html
import re

from django.test import Client


def browser(user, **options):
    """A Django test client logged in as ``user`` with a session, as a browser is."""
    client = Client(**options)
    client.force_login(user)
    return client


def text(response):
    return response.content.decode()


def field_errors(response, name):
    """The messages the page shows beside the form field ``name``, as the user reads them."""
    return [html.unescape(m) for m in re.findall(rf'data-error-for="{re.escape(name)}">([^<]*)<', text(response))]
