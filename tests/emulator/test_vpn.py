"""VPN through the real VPC SDK against the emulator process: VPN gateways, customer gateways and
IPsec-VPN connections with their IKE/IPsec settings, statuses over seconds, errors and paging."""
import json
import time

import pytest
from alibabacloud_vpc20160428 import models as m
from alibabacloud_vpc20160428.client import Client as VpcClient
from Tea.exceptions import TeaException

from .conftest import FAST_TRANSITIONS, sdk_config
from .vpc_fixtures import REGION, make_vpc, wait_for

IKE = {"IkeVersion": "ikev2", "IkeMode": "main", "IkeEncAlg": "aes256", "IkeAuthAlg": "sha256",
       "IkePfs": "group14", "IkeLifetime": 28800, "Psk": "s3cret-Shared-key"}
IPSEC = {"IpsecEncAlg": "aes256", "IpsecAuthAlg": "sha256", "IpsecPfs": "group14", "IpsecLifetime": 3600}


def error_of(call):
    with pytest.raises(TeaException) as raised:
        call()
    return raised.value


def gateway(vpc_client, gateway_id):
    return vpc_client.describe_vpn_gateway(m.DescribeVpnGatewayRequest(region_id=REGION,
                                                                       vpn_gateway_id=gateway_id)).body


def connection(vpc_client, connection_id):
    return vpc_client.describe_vpn_connection(m.DescribeVpnConnectionRequest(
        region_id=REGION, vpn_connection_id=connection_id)).body


def active_gateway(vpc_client, vpc_id, vswitch_id=None, **kwargs):
    created = vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, v_switch_id=vswitch_id, bandwidth=10, enable_ipsec=True,
        enable_ssl=False, instance_charge_type="POSTPAY", auto_pay=True, **kwargs)).body
    wait_for(lambda: gateway(vpc_client, created.vpn_gateway_id).status, "active")
    return created.vpn_gateway_id


def customer_gateway(vpc_client, address="203.0.113.10", **kwargs):
    return vpc_client.create_customer_gateway(m.CreateCustomerGatewayRequest(
        region_id=REGION, ip_address=address, **kwargs)).body.customer_gateway_id


def test_vpn_gateway_goes_init_provisioning_active(emulator, vpc_client):
    vpc_id, _, vswitch_id, _ = make_vpc(vpc_client)
    created = vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, v_switch_id=vswitch_id, bandwidth=10, name="idc-gateway")).body
    assert created.vpn_gateway_id.startswith("vpn-") and created.name == "idc-gateway"
    first = gateway(vpc_client, created.vpn_gateway_id)
    assert first.status == "init" and first.internet_ip == ""
    wait_for(lambda: gateway(vpc_client, created.vpn_gateway_id).status, "provisioning")
    wait_for(lambda: gateway(vpc_client, created.vpn_gateway_id).status, "active")
    ready = gateway(vpc_client, created.vpn_gateway_id)
    assert ready.internet_ip and ready.spec == "10M" and ready.ipsec_vpn == "enable" and ready.ssl_vpn == "disable"
    assert (ready.vpc_id, ready.v_switch_id, ready.business_status) == (vpc_id, vswitch_id, "Normal")
    assert json.loads(ready.tag)["VpnEnableBgp"] == "true"
    assert emulator.table("vpn_gateways")[created.vpn_gateway_id]["Status"] == "active"


def test_vpn_gateway_errors_paging_and_delete(emulator, vpc_client):
    vpc_id, _, vswitch_id, _ = make_vpc(vpc_client)
    bad_bandwidth = error_of(lambda: vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, bandwidth=7)))
    assert bad_bandwidth.code == "InvalidBandwidth.NotSupported"
    no_bandwidth = error_of(lambda: vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id)))
    assert (no_bandwidth.statusCode, no_bandwidth.code) == (400, "MissingParameter")
    no_vpc = error_of(lambda: vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id="nope-123", bandwidth=10)))
    assert (no_vpc.statusCode, no_vpc.code) == (404, "InvalidVpcId.NotFound")
    missing = error_of(lambda: gateway(vpc_client, "vpn-doesnotexist00000000"))
    assert (missing.statusCode, missing.code) == (404, "InvalidVpnGatewayInstanceId.NotFound")

    ids = [vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, bandwidth=bandwidth)).body.vpn_gateway_id for bandwidth in (5, 10, 20)]
    page = vpc_client.describe_vpn_gateways(m.DescribeVpnGatewaysRequest(
        region_id=REGION, vpc_id=vpc_id, page_size=2, page_number=2)).body
    assert page.total_count == 3 and [g.vpn_gateway_id for g in page.vpn_gateways.vpn_gateway] == [ids[2]]
    assert page.page_number == 2 and page.page_size == 2

    too_early = error_of(lambda: vpc_client.delete_vpn_gateway(m.DeleteVpnGatewayRequest(
        region_id=REGION, vpn_gateway_id=ids[0])))
    assert (too_early.statusCode, too_early.code) == (403, "IncorrectStatus.VpnGateway")
    wait_for(lambda: gateway(vpc_client, ids[0]).status, "active")
    vpc_client.delete_vpn_gateway(m.DeleteVpnGatewayRequest(region_id=REGION, vpn_gateway_id=ids[0]))
    assert gateway(vpc_client, ids[0]).status == "deleting"
    wait_for(lambda: ids[0] in emulator.table("vpn_gateways"), False)

    emulator.admin("POST", "quotas", {"region": REGION, "max_vpn_gateways": 2})
    over = error_of(lambda: vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, bandwidth=10)))
    assert (over.statusCode, over.code) == (403, "QuotaExceeded.VpnGateway")


def test_customer_gateway_lifecycle(emulator, vpc_client):
    created = vpc_client.create_customer_gateway(m.CreateCustomerGatewayRequest(
        region_id=REGION, ip_address="198.51.100.7", name="beijing-idc", description="core router",
        asn="65010")).body
    assert created.ip_address == "198.51.100.7" and created.create_time > 0
    duplicate = error_of(lambda: customer_gateway(vpc_client, "198.51.100.7"))
    assert duplicate.code == "InvalidIpAddress.AlreadyExist"
    reserved = error_of(lambda: customer_gateway(vpc_client, "100.64.1.1"))
    assert reserved.code == "InvalidIpAddress.NotSupported"
    malformed = error_of(lambda: customer_gateway(vpc_client, "300.1.1.1"))
    assert malformed.code == "InvalidIpAddress.Malformed"
    alibaba_asn = error_of(lambda: customer_gateway(vpc_client, "198.51.100.8", asn="45104"))
    assert alibaba_asn.code == "InvalidParameter"

    modified = vpc_client.modify_customer_gateway_attribute(m.ModifyCustomerGatewayAttributeRequest(
        region_id=REGION, customer_gateway_id=created.customer_gateway_id, name="beijing-idc-2",
        auth_key="bgp-key")).body
    assert modified.name == "beijing-idc-2" and modified.description == "core router"
    seen = vpc_client.describe_customer_gateway(m.DescribeCustomerGatewayRequest(
        region_id=REGION, customer_gateway_id=created.customer_gateway_id)).body
    assert (seen.asn, seen.auth_key, seen.name) == (65010, "bgp-key", "beijing-idc-2")

    customer_gateway(vpc_client, "198.51.100.9")
    listed = vpc_client.describe_customer_gateways(m.DescribeCustomerGatewaysRequest(
        region_id=REGION, page_size=1)).body
    assert listed.total_count == 2 and listed.customer_gateways.customer_gateway[0].customer_gateway_id == \
        created.customer_gateway_id

    vpc_client.delete_customer_gateway(m.DeleteCustomerGatewayRequest(
        region_id=REGION, customer_gateway_id=created.customer_gateway_id))
    gone = error_of(lambda: vpc_client.describe_customer_gateway(m.DescribeCustomerGatewayRequest(
        region_id=REGION, customer_gateway_id=created.customer_gateway_id)))
    assert (gone.statusCode, gone.code) == (404, "InvalidCustomerGatewayInstanceId.NotFound")


def test_quick_create_gateway_customer_gateway_and_connection(emulator, vpc_client):
    """The portal's quick create: a VPN gateway on the VPC, the IDC's customer gateway, and a
    connection with IKE/IPsec settings that negotiates as soon as it exists."""
    vpc_id, _, vswitch_id, _ = make_vpc(vpc_client)
    gateway_id = active_gateway(vpc_client, vpc_id, vswitch_id)
    customer_id = customer_gateway(vpc_client, name="idc")
    created = vpc_client.create_vpn_connection(m.CreateVpnConnectionRequest(
        region_id=REGION, vpn_gateway_id=gateway_id, customer_gateway_id=customer_id, name="idc-link",
        local_subnet="10.20.0.0/16", remote_subnet="192.168.0.0/16,192.168.100.0/24", effect_immediately=True,
        ike_config=json.dumps(IKE), ipsec_config=json.dumps(IPSEC))).body
    assert created.vpn_connection_id.startswith("vco-") and created.name == "idc-link"

    assert connection(vpc_client, created.vpn_connection_id).status == "ike_sa_not_established"
    wait_for(lambda: connection(vpc_client, created.vpn_connection_id).status, "ike_sa_established")
    wait_for(lambda: connection(vpc_client, created.vpn_connection_id).status, "ipsec_sa_established")
    seen = connection(vpc_client, created.vpn_connection_id)
    assert seen.ike_config.ike_version == "ikev2" and seen.ike_config.ike_lifetime == 28800
    assert seen.ike_config.psk == "s3cret-Shared-key" and seen.ike_config.remote_id == "203.0.113.10"
    assert seen.ike_config.local_id == gateway(vpc_client, gateway_id).internet_ip
    assert seen.ipsec_config.ipsec_pfs == "group14" and seen.ipsec_config.ipsec_lifetime == 3600
    assert seen.remote_subnet == "192.168.0.0/16,192.168.100.0/24"
    assert (seen.enable_dpd, seen.enable_nat_traversal, seen.attach_type) == (True, True, "VPNGW")

    listed = vpc_client.describe_vpn_connections(m.DescribeVpnConnectionsRequest(
        region_id=REGION, vpn_gateway_id=gateway_id)).body
    assert listed.total_count == 1 and listed.vpn_connections.vpn_connection[0].customer_gateway_id == customer_id
    stored = emulator.table("vpn_connections")[created.vpn_connection_id]
    assert stored["Status"] == "ipsec_sa_established" and stored["IkeConfig"]["IkeEncAlg"] == "aes256"

    # the customer gateway cannot go while the connection uses it; after the connection, it can
    in_use = error_of(lambda: vpc_client.delete_customer_gateway(m.DeleteCustomerGatewayRequest(
        region_id=REGION, customer_gateway_id=customer_id)))
    assert (in_use.statusCode, in_use.code) == (403, "DependencyViolation.VpnConnection")
    busy_gateway = error_of(lambda: vpc_client.delete_vpn_gateway(m.DeleteVpnGatewayRequest(
        region_id=REGION, vpn_gateway_id=gateway_id)))
    assert busy_gateway.code == "DependencyViolation.VpnConnection"
    vpc_client.delete_vpn_connection(m.DeleteVpnConnectionRequest(region_id=REGION,
                                                                  vpn_connection_id=created.vpn_connection_id))
    vpc_client.delete_customer_gateway(m.DeleteCustomerGatewayRequest(region_id=REGION,
                                                                      customer_gateway_id=customer_id))
    assert emulator.table("vpn_connections") == {} and emulator.table("customer_gateways") == {}


def test_connection_defaults_and_waiting_for_traffic(emulator, vpc_client):
    vpc_id = make_vpc(vpc_client).vpc_id
    gateway_id = active_gateway(vpc_client, vpc_id)
    customer_id = customer_gateway(vpc_client)
    created = vpc_client.create_vpn_connection(m.CreateVpnConnectionRequest(
        region_id=REGION, vpn_gateway_id=gateway_id, customer_gateway_id=customer_id,
        local_subnet="0.0.0.0/0", remote_subnet="0.0.0.0/0")).body
    seen = connection(vpc_client, created.vpn_connection_id)
    assert seen.name == created.vpn_connection_id
    assert (seen.ike_config.ike_version, seen.ike_config.ike_enc_alg, seen.ike_config.ike_auth_alg,
            seen.ike_config.ike_pfs, seen.ike_config.ike_lifetime) == ("ikev1", "aes", "md5", "group2", 86400)
    assert len(seen.ike_config.psk) == 16    # generated when not given
    assert (seen.ipsec_config.ipsec_enc_alg, seen.ipsec_config.ipsec_pfs) == ("aes", "group2")
    # without EffectImmediately the gateway waits for traffic from the IDC, which never comes here
    time.sleep(3 * FAST_TRANSITIONS)
    assert connection(vpc_client, created.vpn_connection_id).status == "ike_sa_not_established"

    # turning EffectImmediately on starts the negotiation; a later change of IKE settings restarts it
    vpc_client.modify_vpn_connection_attribute(m.ModifyVpnConnectionAttributeRequest(
        region_id=REGION, vpn_connection_id=created.vpn_connection_id, effect_immediately=True))
    wait_for(lambda: connection(vpc_client, created.vpn_connection_id).status, "ipsec_sa_established")
    answer = vpc_client.modify_vpn_connection_attribute(m.ModifyVpnConnectionAttributeRequest(
        region_id=REGION, vpn_connection_id=created.vpn_connection_id, name="renamed",
        ike_config=json.dumps({"IkeVersion": "ikev2"}), remote_subnet="192.168.10.0/24")).body
    assert answer.name == "renamed" and answer.ike_config.ike_version == "ikev2"
    assert answer.ike_config.psk == seen.ike_config.psk     # unchanged settings are kept
    assert connection(vpc_client, created.vpn_connection_id).status == "ike_sa_not_established"
    wait_for(lambda: connection(vpc_client, created.vpn_connection_id).status, "ipsec_sa_established")


def test_create_connection_errors(emulator, vpc_client):
    vpc_id = make_vpc(vpc_client).vpc_id
    pending = vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, bandwidth=10)).body.vpn_gateway_id
    customer_id = customer_gateway(vpc_client)

    def create(**kwargs):
        base = {"region_id": REGION, "vpn_gateway_id": pending, "customer_gateway_id": customer_id,
                "local_subnet": "10.0.0.0/8", "remote_subnet": "192.168.0.0/16"}
        return vpc_client.create_vpn_connection(m.CreateVpnConnectionRequest(**{**base, **kwargs}))

    not_ready = error_of(create)
    assert (not_ready.statusCode, not_ready.code) == (403, "IncorrectStatus.VpnGateway")
    wait_for(lambda: gateway(vpc_client, pending).status, "active")
    assert error_of(lambda: create(customer_gateway_id="cgw-doesnotexist0000000")).code == \
        "InvalidCustomerGatewayInstanceId.NotFound"
    assert error_of(lambda: create(ike_config=json.dumps({"IkeEncAlg": "rot13"}))).message.count("IkeConfig.IkeEncAlg")
    assert error_of(lambda: create(ike_config="{not json")).code == "InvalidParameter"
    assert error_of(lambda: create(ipsec_config=json.dumps({"IpsecLifetime": 90000}))).code == "InvalidParameter"
    assert error_of(lambda: create(local_subnet="10.0.0.0/33")).code == "InvalidParameter"
    assert error_of(lambda: create(remote_subnet=None)).code == "MissingParameter"
    assert error_of(lambda: create(dry_run=True)).code == "DryRunOperation"
    assert emulator.table("vpn_connections") == {}
    missing = error_of(lambda: connection(vpc_client, "vco-doesnotexist00000000"))
    assert (missing.statusCode, missing.code) == (404, "InvalidVpnConnectionInstanceId.NotFound")


def test_creates_with_the_same_client_token_make_one_resource(emulator, vpc_client):
    vpc_id = make_vpc(vpc_client).vpc_id
    ask = m.CreateVpnGatewayRequest(region_id=REGION, vpc_id=vpc_id, bandwidth=10, client_token="portal-job-1")
    first, again = (vpc_client.create_vpn_gateway(ask).body.vpn_gateway_id for _ in range(2))
    assert first == again and list(emulator.table("vpn_gateways")) == [first]
    other = error_of(lambda: vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, bandwidth=20, client_token="portal-job-1")))
    assert other.code == "IdempotentParameterMismatch"
    wait_for(lambda: gateway(vpc_client, first).status, "active")
    customer_id = customer_gateway(vpc_client)
    ask = m.CreateVpnConnectionRequest(region_id=REGION, vpn_gateway_id=first, customer_gateway_id=customer_id,
                                       local_subnet="10.0.0.0/8", remote_subnet="192.168.0.0/16",
                                       client_token="portal-job-2")
    assert len({vpc_client.create_vpn_connection(ask).body.vpn_connection_id for _ in range(2)}) == 1
    assert len(emulator.table("vpn_connections")) == 1


def test_an_injected_failure_leaves_nothing_behind(emulator, vpc_client):
    vpc_id = make_vpc(vpc_client).vpc_id
    gateway_id = active_gateway(vpc_client, vpc_id)
    customer_id = customer_gateway(vpc_client)
    emulator.admin("POST", "faults", {"product": "Vpc", "action": "CreateVpnConnection", "code": "InternalError",
                                      "http_status": 500})
    failed = error_of(lambda: vpc_client.create_vpn_connection(m.CreateVpnConnectionRequest(
        region_id=REGION, vpn_gateway_id=gateway_id, customer_gateway_id=customer_id, local_subnet="10.0.0.0/8",
        remote_subnet="192.168.0.0/16")))
    assert (failed.statusCode, failed.code) == (500, "InternalError")
    assert emulator.table("vpn_connections") == {}


def test_dual_tunnel_connection_sent_as_a_form_body(emulator, make_vpc_client):
    # the v2 RPC signature covers the form body too, so this is the stricter of the two ways to sign it
    vpc_client = make_vpc_client(signature_algorithm="v2")
    vpc_id, _, vswitch_id, _ = make_vpc(vpc_client)
    gateway_id = active_gateway(vpc_client, vpc_id, vswitch_id, disaster_recovery_vswitch_id=vswitch_id)
    assert gateway(vpc_client, gateway_id).gateway_type == "Enhanced.SiteToSite"
    first, second = customer_gateway(vpc_client, "203.0.113.20"), customer_gateway(vpc_client, "203.0.113.21")
    spec = m.CreateVpnConnectionRequestTunnelOptionsSpecification
    created = vpc_client.create_vpn_connection(m.CreateVpnConnectionRequest(
        region_id=REGION, vpn_gateway_id=gateway_id, local_subnet="10.20.0.0/16", remote_subnet="192.168.0.0/16",
        effect_immediately=True, tunnel_options_specification=[
            spec(customer_gateway_id=first, role="master", enable_dpd=True,
                 tunnel_ike_config=m.CreateVpnConnectionRequestTunnelOptionsSpecificationTunnelIkeConfig(
                     ike_version="ikev2", psk="tunnel-one-key"),
                 tunnel_ipsec_config=m.CreateVpnConnectionRequestTunnelOptionsSpecificationTunnelIpsecConfig(
                     ipsec_enc_alg="aes192")),
            spec(customer_gateway_id=second, role="slave"),
        ])).body
    wait_for(lambda: connection(vpc_client, created.vpn_connection_id).status, "ipsec_sa_established")
    tunnels = connection(vpc_client, created.vpn_connection_id).tunnel_options_specification.tunnel_options
    assert [(t.role, t.customer_gateway_id, t.status) for t in tunnels] == [
        ("master", first, "ipsec_sa_established"), ("slave", second, "ipsec_sa_established")]
    assert tunnels[0].tunnel_ike_config.psk == "tunnel-one-key" and tunnels[0].tunnel_ike_config.ike_version == "ikev2"
    assert tunnels[0].tunnel_ipsec_config.ipsec_enc_alg == "aes192"
    assert tunnels[1].tunnel_ike_config.ike_version == "ikev1"
    in_use = error_of(lambda: vpc_client.delete_customer_gateway(m.DeleteCustomerGatewayRequest(
        region_id=REGION, customer_gateway_id=second)))
    assert in_use.code == "DependencyViolation.VpnConnection"


def test_v2_signature_and_persistence_across_a_restart(own_emulator):
    client = VpcClient(sdk_config(own_emulator, signature_algorithm="v2"))
    vpc_id = make_vpc(client).vpc_id
    gateway_id = active_gateway(client, vpc_id)
    customer_id = customer_gateway(client)
    connection_id = client.create_vpn_connection(m.CreateVpnConnectionRequest(
        region_id=REGION, vpn_gateway_id=gateway_id, customer_gateway_id=customer_id, local_subnet="10.0.0.0/8",
        remote_subnet="192.168.0.0/16", ike_config=json.dumps(IKE), effect_immediately=True)).body.vpn_connection_id
    own_emulator.restart()
    client = VpcClient(sdk_config(own_emulator))
    # the negotiation planned before the restart carries on after it
    wait_for(lambda: connection(client, connection_id).status, "ipsec_sa_established")
    assert connection(client, connection_id).ike_config.psk == IKE["Psk"]
    assert gateway(client, gateway_id).status == "active"
    assert client.describe_customer_gateways(m.DescribeCustomerGatewaysRequest(region_id=REGION)).body.total_count == 1


def test_vpn_resources_belong_to_their_account_and_region(emulator, vpc_client):
    vpc_id = make_vpc(vpc_client).vpc_id
    gateway_id = vpc_client.create_vpn_gateway(m.CreateVpnGatewayRequest(
        region_id=REGION, vpc_id=vpc_id, bandwidth=10)).body.vpn_gateway_id
    customer_id = customer_gateway(vpc_client)
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tVpnOtherAccount01", "access_key_secret": "other-secret"})
    other = VpcClient(sdk_config(emulator, access_key_id="LTAI5tVpnOtherAccount01", access_key_secret="other-secret"))
    hidden = error_of(lambda: gateway(other, gateway_id))
    assert hidden.code == "InvalidVpnGatewayInstanceId.NotFound"
    assert other.describe_customer_gateways(m.DescribeCustomerGatewaysRequest(region_id=REGION)).body.total_count == 0
    # the same address is free in another account, and in another region of the same one
    assert customer_gateway(other).startswith("cgw-")
    shanghai = vpc_client.create_customer_gateway(m.CreateCustomerGatewayRequest(
        region_id="cn-shanghai", ip_address="203.0.113.10")).body.customer_gateway_id
    assert shanghai != customer_id
    assert vpc_client.describe_vpn_gateways(m.DescribeVpnGatewaysRequest(region_id="cn-shanghai")).body.total_count == 0


def test_tags_on_create_and_as_filters(emulator, vpc_client):
    """The portal tags what it creates with its own id, to find it again after a crash."""
    vpc_id = make_vpc(vpc_client).vpc_id
    gateway_id = active_gateway(vpc_client, vpc_id)
    tagged = vpc_client.create_customer_gateway(m.CreateCustomerGatewayRequest(
        region_id=REGION, ip_address="203.0.113.30",
        tags=[m.CreateCustomerGatewayRequestTags(key="cloudportal:uuid", value="job-7")])).body.customer_gateway_id
    customer_gateway(vpc_client, "203.0.113.31")
    found = vpc_client.describe_customer_gateways(m.DescribeCustomerGatewaysRequest(
        region_id=REGION, tag=[m.DescribeCustomerGatewaysRequestTag(key="cloudportal:uuid", value="job-7")])).body
    assert [g.customer_gateway_id for g in found.customer_gateways.customer_gateway] == [tagged]
    assert found.customer_gateways.customer_gateway[0].tags.tag[0].value == "job-7"

    connection_id = vpc_client.create_vpn_connection(m.CreateVpnConnectionRequest(
        region_id=REGION, vpn_gateway_id=gateway_id, customer_gateway_id=tagged, local_subnet="10.0.0.0/8",
        remote_subnet="192.168.0.0/16",
        tags=[m.CreateVpnConnectionRequestTags(key="cloudportal:uuid", value="job-7")])).body.vpn_connection_id
    by_tag = vpc_client.describe_vpn_connections(m.DescribeVpnConnectionsRequest(
        region_id=REGION, tag=[m.DescribeVpnConnectionsRequestTag(key="cloudportal:uuid", value="job-7")])).body
    assert [c.vpn_connection_id for c in by_tag.vpn_connections.vpn_connection] == [connection_id]
    assert by_tag.vpn_connections.vpn_connection[0].tag.tag[0].key == "cloudportal:uuid"
    none = vpc_client.describe_vpn_connections(m.DescribeVpnConnectionsRequest(
        region_id=REGION, tag=[m.DescribeVpnConnectionsRequestTag(key="cloudportal:uuid", value="job-8")])).body
    assert none.total_count == 0
    reserved = error_of(lambda: vpc_client.create_customer_gateway(m.CreateCustomerGatewayRequest(
        region_id=REGION, ip_address="203.0.113.32", tags=[m.CreateCustomerGatewayRequestTags(key="aliyun:x")])))
    assert reserved.code == "InvalidTagKey.Malformed"
