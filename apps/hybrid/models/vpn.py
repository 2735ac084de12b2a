"""VPN (H9): IPsec VPN gateways of the VPCs, customer gateways (the on-premises end: its public
address) and the VPN connections between them, with their IKE and IPsec settings.

``state`` is the cloud's status as last seen (gateways: init, provisioning, active...; connections:
ike_sa_not_established, ike_sa_established, ipsec_sa_established; customer gateways have none in
the cloud: Available), the portal's own words while a flow works on a row (Creating, Updating,
Deleting), or ``Deleted`` once a sync no longer finds it. The pre-shared key and a customer
gateway's BGP AuthKey are secrets: they are sent to the cloud from a job's encrypted arguments and
never kept in a row. VPCs are referred to by their cloud id (``vpc_id``).
"""
from django.db import models

from apps.core.models import Resource


class VpnState(models.TextChoices):
    """The portal's words; the cloud's statuses are stored as it says them."""

    CREATING = "Creating"
    AVAILABLE = "Available"   # a customer gateway the cloud has
    UPDATING = "Updating"
    DELETING = "Deleting"
    DELETED = "Deleted"


BUSY_STATES = (VpnState.CREATING, VpnState.UPDATING, VpnState.DELETING)


class VpnGateway(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT, related_name="vpn_gateways")
    vpn_gateway_id = models.CharField(max_length=64, null=True, blank=True)   # empty until the cloud made it
    state = models.CharField(max_length=32, default=VpnState.CREATING)
    vpc_id = models.CharField(max_length=64, blank=True, default="")
    v_switch_id = models.CharField(max_length=64, blank=True, default="")
    internet_ip = models.CharField(max_length=64, blank=True, default="")
    spec = models.CharField(max_length=16, blank=True, default="", help_text="bandwidth, as the cloud says it: 10M")
    network_type = models.CharField(max_length=16, blank=True, default="")
    ipsec_vpn = models.CharField(max_length=16, blank=True, default="")
    ssl_vpn = models.CharField(max_length=16, blank=True, default="")
    charge_type = models.CharField(max_length=16, blank=True, default="")
    business_status = models.CharField(max_length=32, blank=True, default="")
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "vpn_gateway_id"], name="alibaba_vpn_gw_once")]

    class Query:
        fields = ["uuid", "name", "description", "vpn_gateway_id", "state", "vpc_id", "v_switch_id", "internet_ip",
                  "spec", "network_type", "ipsec_vpn", "ssl_vpn", "charge_type", "business_status",
                  "data_center_uuid", "region_id", "account_uuid", "remote_created_at", "created_at", "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "vpn_connections"]


class CustomerGateway(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT,
                                    related_name="customer_gateways")
    customer_gateway_id = models.CharField(max_length=64, null=True, blank=True)
    state = models.CharField(max_length=32, default=VpnState.CREATING)
    ip_address = models.CharField(max_length=64)
    asn = models.CharField(max_length=32, blank=True, default="")
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "customer_gateway_id"],
                                               name="alibaba_customer_gw_once")]

    class Query:
        fields = ["uuid", "name", "description", "customer_gateway_id", "state", "ip_address", "asn",
                  "data_center_uuid", "region_id", "account_uuid", "remote_created_at", "created_at", "updated_at"]
        aliases = {"data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "vpn_connections"]


class VpnConnection(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    data_center = models.ForeignKey("hybrid.AlibabaDataCenter", on_delete=models.PROTECT,
                                    related_name="vpn_connections")
    vpn_connection_id = models.CharField(max_length=64, null=True, blank=True)
    state = models.CharField(max_length=32, default=VpnState.CREATING)
    # the cloud's ids, and the rows mirroring them when this portal has them
    vpn_gateway_id = models.CharField(max_length=64, blank=True, default="")
    customer_gateway_id = models.CharField(max_length=64, blank=True, default="")
    gateway = models.ForeignKey(VpnGateway, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="vpn_connections")
    customer = models.ForeignKey(CustomerGateway, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="vpn_connections")
    local_subnet = models.CharField(max_length=1024, blank=True, default="", help_text="CIDRs, comma-separated")
    remote_subnet = models.CharField(max_length=1024, blank=True, default="", help_text="CIDRs, comma-separated")
    effect_immediately = models.BooleanField(default=False)
    enable_dpd = models.BooleanField(default=True)
    enable_nat_traversal = models.BooleanField(default=True)
    # IKE (phase 1) and IPsec (phase 2) settings as the cloud reports them; the PSK is never kept
    ike_version = models.CharField(max_length=8, blank=True, default="")
    ike_mode = models.CharField(max_length=16, blank=True, default="")
    ike_enc_alg = models.CharField(max_length=16, blank=True, default="")
    ike_auth_alg = models.CharField(max_length=16, blank=True, default="")
    ike_pfs = models.CharField(max_length=16, blank=True, default="")
    ike_lifetime = models.IntegerField(default=0, help_text="seconds")
    ike_local_id = models.CharField(max_length=100, blank=True, default="")
    ike_remote_id = models.CharField(max_length=100, blank=True, default="")
    ipsec_enc_alg = models.CharField(max_length=16, blank=True, default="")
    ipsec_auth_alg = models.CharField(max_length=16, blank=True, default="")
    ipsec_pfs = models.CharField(max_length=16, blank=True, default="")
    ipsec_lifetime = models.IntegerField(default=0, help_text="seconds")
    remote_created_at = models.DateTimeField(null=True, blank=True)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["data_center", "vpn_connection_id"],
                                               name="alibaba_vpn_connection_once")]

    class Query:
        fields = ["uuid", "name", "description", "vpn_connection_id", "state", "vpn_gateway_id",
                  "customer_gateway_id", "vpn_gateway_uuid", "customer_gateway_uuid", "local_subnet",
                  "remote_subnet", "effect_immediately", "ike_version", "ike_enc_alg", "ipsec_enc_alg",
                  "data_center_uuid", "region_id", "account_uuid", "remote_created_at", "created_at", "updated_at"]
        aliases = {"vpn_gateway_uuid": "gateway__uuid", "customer_gateway_uuid": "customer__uuid",
                   "data_center_uuid": "data_center__uuid", "region_id": "data_center__region_id",
                   "account_uuid": "account__uuid"}
        relations = ["data_center", "gateway", "customer"]
