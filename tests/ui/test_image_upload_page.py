"""The image upload page: a form the browser's script sends to the API's upload call (its URL,
the session's CSRF token, the upload serializer's inputs), reached from the image list."""
import re

import pytest

from apps.core.testing import make_account
from apps.storage.models import BackupStorage
from tests.ui.pages import browser

pytestmark = pytest.mark.django_db


def test_the_upload_form_posts_the_apis_upload_inputs_to_the_api_with_the_csrf_token(tmp_path):
    admin = make_account("upload-admin", admin=True)
    store = BackupStorage.objects.create(name="store-1", url=str(tmp_path / "store"), status="Connected")
    client = browser(admin)
    listing = client.get("/ui/images/").content.decode()
    assert 'href="/ui/images/upload/" id="upload"' in listing and 'id="create"' in listing   # and by URL

    html = client.get("/ui/images/upload/").content.decode()
    form = html[html.index('<form method="post" class="card" id="upload-form"'):]
    assert 'action="/api/v1/images/upload/"' in form and 'enctype="multipart/form-data"' in form
    assert "data-upload" in form and 'data-detail-url="/ui/images/"' in form
    assert re.search(r'name="csrfmiddlewaretoken" value="\w+"', form)
    names = re.findall(r'<(?:input|select|textarea)[^>]* name="(\w+)"', form)
    assert [n for n in dict.fromkeys(names) if n != "csrfmiddlewaretoken"] == [
        "name", "description", "file", "backup_storage_uuids", "platform", "format", "media_type",
        "guest_os_type", "public"]
    assert 'type="file"' in form and f'value="{store.uuid}"' in form
    assert 'id="upload-bar"' in form and 'role="progressbar"' in form


def test_the_page_itself_takes_no_post():
    admin = make_account("upload-admin", admin=True)
    assert browser(admin).post("/ui/images/upload/", {"name": "x"}).status_code == 405
