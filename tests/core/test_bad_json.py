"""JSON bodies no answer could echo (a lone UTF-16 surrogate, a number beyond a float) and config
values no column or answer can hold are 400s, never 500s, and nothing is stored."""
import pytest

from apps.infra.models import Zone

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/global-configs/host/ping.interval/"
RATIO = "/api/v1/global-configs/host/cpu.overProvisioning.ratio/"


def send(client, method, url, text):
    return getattr(client, method)(url, text, content_type="application/json")


@pytest.mark.parametrize("method,url,body", [
    ("post", "/api/v1/zones/", '{"name": "z\\ud800"}'),
    ("post", "/api/v1/zones/", '{"name": "z", "description": "\\udfff"}'),
    ("put", CONFIG, '{"value": "\\ud800"}'),
    ("put", CONFIG, '{"value": 1e400}'),
    ("put", RATIO, '{"value": -1e999}'),
    ("put", RATIO, '{"value": NaN}'),
])
def test_a_lone_surrogate_or_an_infinite_number_is_a_malformed_request(admin_client, method, url, body):
    before = admin_client.get(url).json() if method == "put" else None
    response = send(admin_client, method, url, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "MALFORMED_REQUEST"
    assert not Zone.objects.exists()
    if before is not None:
        assert admin_client.get(url).json() == before


def test_a_surrogate_pair_is_text_and_kept(admin_client):
    response = send(admin_client, "post", "/api/v1/zones/", '{"name": "z\\ud83d\\ude00"}')
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "z\N{GRINNING FACE}"


@pytest.mark.parametrize("url,value", [(RATIO, "inf"), (RATIO, "nan"), (RATIO, "-Infinity"),
                                       (CONFIG, 2**63), (CONFIG, "99999999999999999999")])
def test_config_values_beyond_a_finite_float_or_64_bits_are_refused(admin_client, url, value):
    response = admin_client.put(url, {"value": value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert admin_client.get(url).status_code == 200
    assert admin_client.put(url, {"value": 2}, format="json").status_code == 200
