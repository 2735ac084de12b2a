"""Express Connect through the real VPC SDK against the emulator process: seeded virtual border
routers, router interfaces and the link between a VBR and a VPC's VRouter."""
import pytest
from alibabacloud_vpc20160428 import models as m
from alibabacloud_vpc20160428.client import Client as VpcClient
from Tea.exceptions import TeaException

from .conftest import sdk_config
from .vpc_fixtures import REGION, make_vpc, wait_for


def describe_vbrs(vpc_client, **kwargs):
    return vpc_client.describe_virtual_border_routers(
        m.DescribeVirtualBorderRoutersRequest(region_id=REGION, **kwargs)).body


def interface(vpc_client, interface_id):
    body = vpc_client.describe_router_interfaces(m.DescribeRouterInterfacesRequest(
        region_id=REGION, filter=[m.DescribeRouterInterfacesRequestFilter(key="RouterInterfaceId",
                                                                          value=[interface_id])])).body
    found = body.router_interface_set.router_interface_type
    return found[0] if found else None


def status_of(vpc_client, interface_id):
    return lambda: interface(vpc_client, interface_id).status


def create_end(vpc_client, **kwargs):
    request = m.CreateRouterInterfaceRequest(region_id=REGION, opposite_region_id=REGION, **kwargs)
    return vpc_client.create_router_interface(request).body.router_interface_id


def error_of(call):
    with pytest.raises(TeaException) as raised:
        call()
    return raised.value


def link(vpc_client, vbr, vrouter_id):
    """The portal's quick create: a VBR end (initiating) and a VPC end (accepting) that know each
    other, then connect. Answers (vbr end id, vpc end id)."""
    vbr_end = create_end(vpc_client, role="InitiatingSide", router_type="VBR", router_id=vbr.vbr_id,
                         spec="Large.1", opposite_router_type="VRouter", opposite_router_id=vrouter_id,
                         access_point_id=vbr.access_point_id, name="to-vpc")
    vpc_end = create_end(vpc_client, role="AcceptingSide", router_type="VRouter", router_id=vrouter_id,
                         spec="Negative", opposite_router_type="VBR", opposite_router_id=vbr.vbr_id,
                         opposite_interface_id=vbr_end, opposite_access_point_id=vbr.access_point_id,
                         name="to-idc")
    vpc_client.modify_router_interface_attribute(m.ModifyRouterInterfaceAttributeRequest(
        region_id=REGION, router_interface_id=vbr_end, opposite_interface_id=vpc_end))
    vpc_client.connect_router_interface(m.ConnectRouterInterfaceRequest(region_id=REGION,
                                                                        router_interface_id=vbr_end))
    return vbr_end, vpc_end


def test_virtual_border_routers_are_seeded_per_region_with_paging(emulator, vpc_client):
    body = describe_vbrs(vpc_client)
    assert body.total_count == 2
    vbr = body.virtual_border_router_set.virtual_border_router_type[0]
    assert vbr.vbr_id.startswith("vbr-") and vbr.status == "active"
    assert vbr.route_table_id.startswith("vtb-") and vbr.access_point_id.startswith("ap-cn-hangzhou")
    assert vbr.physical_connection_status == "Enabled" and vbr.vlan_id == 101
    # the same VBRs on every call (seeded once), one per page when asked
    assert [v.vbr_id for v in describe_vbrs(vpc_client, page_size=1, page_number=2)
            .virtual_border_router_set.virtual_border_router_type] == \
        [body.virtual_border_router_set.virtual_border_router_type[1].vbr_id]
    singapore = vpc_client.describe_virtual_border_routers(
        m.DescribeVirtualBorderRoutersRequest(region_id="ap-southeast-1")).body
    assert singapore.total_count == 1
    # VBRs keep their route table in the region's route tables, where route entries find it
    assert vbr.route_table_id in emulator.table("route_tables")
    assert emulator.table("route_tables")[vbr.route_table_id]["RouterType"] == "VBR"


def test_vbr_filters_and_admin_api_adds_a_circuit(emulator, vpc_client):
    first = describe_vbrs(vpc_client).virtual_border_router_set.virtual_border_router_type[0]
    only = describe_vbrs(vpc_client, filter=[m.DescribeVirtualBorderRoutersRequestFilter(
        key="VbrId", value=[first.vbr_id])])
    assert only.total_count == 1 and only.virtual_border_router_set.virtual_border_router_type[0].name == first.name
    added = emulator.admin("POST", "vbrs", {"region": REGION, "name": "idc-shanghai-2", "vlan_id": 2000})
    assert added["Name"] == "idc-shanghai-2" and added["VlanId"] == 2000
    assert describe_vbrs(vpc_client).total_count == 3
    wrong_key = error_of(lambda: describe_vbrs(vpc_client, filter=[m.DescribeVirtualBorderRoutersRequestFilter(
        key="Colour", value=["red"])]))
    assert wrong_key.code == "InvalidFilterKey.ValueNotSupported"


def test_vbrs_belong_to_their_account(emulator, vpc_client):
    ours = {v.vbr_id for v in describe_vbrs(vpc_client).virtual_border_router_set.virtual_border_router_type}
    emulator.admin("POST", "keys", {"access_key_id": "LTAI5tOtherAccountKey01", "access_key_secret": "other-secret"})
    other = VpcClient(sdk_config(emulator, access_key_id="LTAI5tOtherAccountKey01", access_key_secret="other-secret"))
    theirs = {v.vbr_id for v in other.describe_virtual_border_routers(m.DescribeVirtualBorderRoutersRequest(
        region_id=REGION)).body.virtual_border_router_set.virtual_border_router_type}
    assert theirs and not theirs & ours


def test_quick_create_links_a_vbr_and_a_vpc_and_routes_both_sides(emulator, vpc_client):
    network = make_vpc(vpc_client)
    vbr = describe_vbrs(vpc_client).virtual_border_router_set.virtual_border_router_type[0]
    vbr_end, vpc_end = link(vpc_client, vbr, network.vrouter_id)

    assert interface(vpc_client, vbr_end).status == "Connecting"
    assert interface(vpc_client, vpc_end).status == "AcceptingConnecting"
    wait_for(status_of(vpc_client, vbr_end), "Active")
    wait_for(status_of(vpc_client, vpc_end), "Active")
    ours = interface(vpc_client, vbr_end)
    assert ours.bandwidth == 1000 and ours.spec == "Large.1" and ours.connected_time
    assert ours.opposite_interface_id == vpc_end and ours.opposite_interface_status == "Active"
    theirs = interface(vpc_client, vpc_end)
    assert theirs.role == "AcceptingSide" and theirs.opposite_interface_id == vbr_end
    assert theirs.opposite_bandwidth == 1000 and theirs.opposite_router_id == vbr.vbr_id
    assert theirs.vpc_instance_id == network.vpc_id and ours.opposite_vpc_instance_id == network.vpc_id

    # routes both sides: the IDC's network through the VPC end, the VPC's through the VBR end
    vpc_client.create_route_entry(m.CreateRouteEntryRequest(
        region_id=REGION, route_table_id=network.route_table_id, destination_cidr_block="192.168.0.0/16",
        next_hop_type="RouterInterface", next_hop_id=vpc_end))
    vpc_client.create_route_entry(m.CreateRouteEntryRequest(
        region_id=REGION, route_table_id=vbr.route_table_id, destination_cidr_block="10.20.0.0/16",
        next_hop_type="RouterInterface", next_hop_id=vbr_end))
    entries = emulator.table("route_entries")
    assert {(e["RouteTableId"], e["NextHopId"]) for e in entries.values()} >= {
        (network.route_table_id, vpc_end), (vbr.route_table_id, vbr_end)}
    vbr_tables = vpc_client.describe_route_table_list(m.DescribeRouteTableListRequest(
        region_id=REGION, router_type="VBR", router_id=vbr.vbr_id)).body.router_table_list.router_table_list_type
    assert [t.route_table_id for t in vbr_tables] == [vbr.route_table_id]
    vbr_routes = vpc_client.describe_route_entry_list(m.DescribeRouteEntryListRequest(
        region_id=REGION, route_table_id=vbr.route_table_id)).body.route_entrys.route_entry
    assert [(r.destination_cidr_block, r.next_hops.next_hop[0].next_hop_id) for r in vbr_routes] == [
        ("10.20.0.0/16", vbr_end)]

    # an interface that routes point at cannot be deleted
    vpc_client.deactivate_router_interface(m.DeactivateRouterInterfaceRequest(region_id=REGION,
                                                                              router_interface_id=vbr_end))
    wait_for(status_of(vpc_client, vbr_end), "Inactive")
    routed = error_of(lambda: vpc_client.delete_router_interface(m.DeleteRouterInterfaceRequest(
        region_id=REGION, router_interface_id=vbr_end)))
    assert (routed.statusCode, routed.code) == (403, "DependencyViolation.RouteEntry")


def test_deactivate_activate_and_delete_follow_the_status_rules(emulator, vpc_client):
    vrouter_id = make_vpc(vpc_client).vrouter_id
    vbr = describe_vbrs(vpc_client).virtual_border_router_set.virtual_border_router_type[0]
    vbr_end, vpc_end = link(vpc_client, vbr, vrouter_id)

    busy = error_of(lambda: vpc_client.delete_router_interface(m.DeleteRouterInterfaceRequest(
        region_id=REGION, router_interface_id=vbr_end)))
    assert (busy.statusCode, busy.code) == (403, "IncorrectStatus.RouterInterface")
    wait_for(status_of(vpc_client, vbr_end), "Active")

    vpc_client.deactivate_router_interface(m.DeactivateRouterInterfaceRequest(region_id=REGION,
                                                                              router_interface_id=vbr_end))
    assert interface(vpc_client, vbr_end).status == "Deactivating"
    wait_for(status_of(vpc_client, vbr_end), "Inactive")
    again = error_of(lambda: vpc_client.deactivate_router_interface(m.DeactivateRouterInterfaceRequest(
        region_id=REGION, router_interface_id=vbr_end)))
    assert again.code == "IncorrectStatus.RouterInterface"

    vpc_client.activate_router_interface(m.ActivateRouterInterfaceRequest(region_id=REGION,
                                                                          router_interface_id=vbr_end))
    assert interface(vpc_client, vbr_end).status == "Activating"
    wait_for(status_of(vpc_client, vbr_end), "Active")

    for end in (vbr_end, vpc_end):
        vpc_client.deactivate_router_interface(m.DeactivateRouterInterfaceRequest(region_id=REGION,
                                                                                  router_interface_id=end))
        wait_for(status_of(vpc_client, end), "Inactive")
        vpc_client.delete_router_interface(m.DeleteRouterInterfaceRequest(region_id=REGION,
                                                                          router_interface_id=end))
        assert interface(vpc_client, end).status == "Deleting"
        wait_for(lambda end=end: interface(vpc_client, end), None)
    assert emulator.table("router_interfaces") == {}


def test_connect_checks_roles_peers_and_states(emulator, vpc_client):
    vrouter_id = make_vpc(vpc_client).vrouter_id
    vbr = describe_vbrs(vpc_client).virtual_border_router_set.virtual_border_router_type[0]
    lonely = create_end(vpc_client, role="InitiatingSide", router_type="VBR", router_id=vbr.vbr_id, spec="Small.1",
                        opposite_router_type="VRouter", opposite_router_id=vrouter_id)
    unset = error_of(lambda: vpc_client.connect_router_interface(m.ConnectRouterInterfaceRequest(
        region_id=REGION, router_interface_id=lonely)))
    assert unset.code == "MissingParameter.OppositeInterfaceId"

    acceptor = create_end(vpc_client, role="AcceptingSide", router_type="VRouter", router_id=vrouter_id,
                          opposite_router_type="VBR", opposite_router_id=vbr.vbr_id, opposite_interface_id=lonely)
    wrong_side = error_of(lambda: vpc_client.connect_router_interface(m.ConnectRouterInterfaceRequest(
        region_id=REGION, router_interface_id=acceptor)))
    assert wrong_side.code == "OperationFailed.NotInitiatingSide"
    assert interface(vpc_client, acceptor).spec == "Negative"

    vpc_client.modify_router_interface_attribute(m.ModifyRouterInterfaceAttributeRequest(
        region_id=REGION, router_interface_id=lonely, opposite_interface_id="ri-doesnotexist000000000"))
    gone = error_of(lambda: vpc_client.connect_router_interface(m.ConnectRouterInterfaceRequest(
        region_id=REGION, router_interface_id=lonely)))
    assert (gone.statusCode, gone.code) == (404, "InvalidOppositeInterfaceId.NotFound")

    missing = error_of(lambda: vpc_client.connect_router_interface(m.ConnectRouterInterfaceRequest(
        region_id=REGION, router_interface_id="ri-doesnotexist000000000")))
    assert (missing.statusCode, missing.code) == (404, "InvalidRouterInterfaceId.NotFound")

    vpc_client.modify_router_interface_attribute(m.ModifyRouterInterfaceAttributeRequest(
        region_id=REGION, router_interface_id=lonely, opposite_interface_id=acceptor, name="renamed-link",
        description="primary circuit"))
    vpc_client.connect_router_interface(m.ConnectRouterInterfaceRequest(region_id=REGION,
                                                                        router_interface_id=lonely))
    late = error_of(lambda: vpc_client.modify_router_interface_attribute(m.ModifyRouterInterfaceAttributeRequest(
        region_id=REGION, router_interface_id=lonely, opposite_router_id="vrt-other0000000000000")))
    assert late.code == "IncorrectStatus.RouterInterface"
    renamed = interface(vpc_client, lonely)
    assert (renamed.name, renamed.description) == ("renamed-link", "primary circuit")


def test_create_router_interface_validates_its_parameters(emulator, vpc_client):
    vbr = describe_vbrs(vpc_client).virtual_border_router_set.virtual_border_router_type[0]
    no_spec = error_of(lambda: create_end(vpc_client, role="InitiatingSide", router_type="VBR",
                                          router_id=vbr.vbr_id))
    assert (no_spec.statusCode, no_spec.code) == (400, "MissingParameter")
    bad_spec = error_of(lambda: create_end(vpc_client, role="InitiatingSide", router_type="VBR",
                                           router_id=vbr.vbr_id, spec="Huge.9"))
    assert bad_spec.code == "InvalidParameter"
    unknown = error_of(lambda: create_end(vpc_client, role="InitiatingSide", router_type="VBR",
                                          router_id="vbr-doesnotexist00000000", spec="Small.1"))
    assert (unknown.statusCode, unknown.code) == (404, "InvalidRouterId.NotFound")
    bad_role = error_of(lambda: create_end(vpc_client, role="Both", router_type="VBR",
                                           router_id=vbr.vbr_id, spec="Small.1"))
    assert bad_role.code == "InvalidParameter"
    bad_region = error_of(lambda: vpc_client.create_router_interface(m.CreateRouterInterfaceRequest(
        region_id=REGION, opposite_region_id="mars-north-1", role="InitiatingSide", router_type="VBR",
        router_id=vbr.vbr_id, spec="Small.1")))
    assert bad_region.code == "InvalidRegionId.NotFound"
    no_vrouter = error_of(lambda: create_end(vpc_client, role="InitiatingSide", router_type="VBR", router_id=vbr.vbr_id,
                                             spec="Small.1", opposite_router_type="VRouter",
                                             opposite_router_id="vrt-doesnotexist00000000", fast_link_mode=True))
    assert no_vrouter.code == "InvalidRouterId.NotFound"
    assert emulator.table("router_interfaces") == {}   # nothing half-made is left behind


def test_fast_link_mode_creates_and_connects_the_vpc_end(emulator, vpc_client):
    vrouter_id = make_vpc(vpc_client).vrouter_id
    vbr = describe_vbrs(vpc_client).virtual_border_router_set.virtual_border_router_type[1]
    vbr_end = create_end(vpc_client, role="InitiatingSide", router_type="VBR", router_id=vbr.vbr_id,
                         spec="Middle.1", opposite_router_type="VRouter", opposite_router_id=vrouter_id,
                         access_point_id=vbr.access_point_id, opposite_interface_owner_id="1688000000000001",
                         fast_link_mode=True)
    wait_for(status_of(vpc_client, vbr_end), "Active")
    vpc_end = interface(vpc_client, vbr_end).opposite_interface_id
    accepting = interface(vpc_client, vpc_end)
    assert accepting.router_id == vrouter_id and accepting.status == "Active" and accepting.role == "AcceptingSide"


def test_router_interfaces_carry_tags_and_filter_by_them(emulator, vpc_client):
    vrouter_id = make_vpc(vpc_client).vrouter_id
    tagged = vpc_client.create_router_interface(m.CreateRouterInterfaceRequest(
        region_id=REGION, opposite_region_id=REGION, role="InitiatingSide", router_type="VRouter",
        router_id=vrouter_id, spec="Mini.2",
        tags=[m.CreateRouterInterfaceRequestTags(key="cloudportal:uuid", value="link-1")])).body.router_interface_id
    create_end(vpc_client, role="InitiatingSide", router_type="VRouter", router_id=vrouter_id, spec="Mini.2")
    found = vpc_client.describe_router_interfaces(m.DescribeRouterInterfacesRequest(
        region_id=REGION, tags=[m.DescribeRouterInterfacesRequestTags(key="cloudportal:uuid", value="link-1")])).body
    assert [r.router_interface_id for r in found.router_interface_set.router_interface_type] == [tagged]
    assert found.router_interface_set.router_interface_type[0].tags.tags[0].value == "link-1"


def test_router_interfaces_page_and_survive_a_restart(own_emulator):
    client = VpcClient(sdk_config(own_emulator))
    vrouter_id = make_vpc(client).vrouter_id
    vbr = describe_vbrs(client).virtual_border_router_set.virtual_border_router_type[0]
    vbr_end, vpc_end = link(client, vbr, vrouter_id)
    extra = [create_end(client, role="InitiatingSide", router_type="VRouter", router_id=vrouter_id,
                        spec="Mini.2", name=f"spare-{i}") for i in range(3)]
    page = client.describe_router_interfaces(m.DescribeRouterInterfacesRequest(
        region_id=REGION, page_size=2, page_number=3)).body
    assert page.total_count == 5 and [r.router_interface_id for r in page.router_interface_set.router_interface_type] \
        == [extra[2]]

    own_emulator.restart()
    client = VpcClient(sdk_config(own_emulator))
    assert [v.vbr_id for v in describe_vbrs(client).virtual_border_router_set.virtual_border_router_type][0] \
        == vbr.vbr_id
    wait_for(status_of(client, vbr_end), "Active")
    assert interface(client, vpc_end).opposite_interface_id == vbr_end


def test_seeded_vbrs_survive_a_restart_after_only_reads(own_emulator):
    client = VpcClient(sdk_config(own_emulator))
    seen = [v.vbr_id for v in describe_vbrs(client).virtual_border_router_set.virtual_border_router_type]
    own_emulator.restart()
    client = VpcClient(sdk_config(own_emulator))
    assert [v.vbr_id for v in describe_vbrs(client).virtual_border_router_set.virtual_border_router_type] == seen
