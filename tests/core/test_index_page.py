"""The landing page (the console's login, where ``/`` leads a browser) and the API schema say what
the portal does today, nothing it does not do yet."""
import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

DOES = ("KVM", "hosts", "storage", "images", "networks", "virtual machines")


def test_the_index_page_names_what_the_portal_manages_and_no_cloud_it_cannot_drive():
    page = APIClient().get("/", follow=True).content.decode()
    assert "Alibaba" not in page
    assert all(word in page for word in DOES), page


def test_the_openapi_schema_s_title_and_description_claim_nothing_more(admin_client):
    info = admin_client.get("/api/schema/?format=json").json()["info"]
    assert info["title"] == "CloudPortal API"
    assert "Alibaba" not in info["description"]
    assert all(word in info["description"] for word in DOES), info
