"""The negotiation settings of an IPsec-VPN connection as CreateVpnConnection takes them: IkeConfig,
IpsecConfig, BgpConfig and HealthCheckConfig are JSON strings (single-tunnel mode), the same settings
per tunnel are flattened (`TunnelOptionsSpecification.1.TunnelIkeConfig.IkeVersion`, dual-tunnel
mode, sent as a form body). Values are checked against the documented choices and completed with
the documented defaults, so a Describe answers every field as the real service does."""
import ipaddress
import json
import secrets
import string

from .errors import ApiError, invalid_parameter

ENCRYPTION = ("aes", "aes192", "aes256", "des", "3des", "sm4")
AUTHENTICATION = ("md5", "sha1", "sha256", "sha384", "sha512", "sm3")
DH_GROUPS = ("group1", "group2", "group5", "group14")
LONGEST_LIFETIME = 86400

IKE_CHOICES = {"IkeVersion": ("ikev1", "ikev2"), "IkeMode": ("main", "aggressive"),
               "IkeEncAlg": ENCRYPTION, "IkeAuthAlg": AUTHENTICATION, "IkePfs": DH_GROUPS}
IKE_DEFAULTS = {"IkeVersion": "ikev1", "IkeMode": "main", "IkeEncAlg": "aes", "IkeAuthAlg": "md5",
                "IkePfs": "group2", "IkeLifetime": LONGEST_LIFETIME}
IPSEC_CHOICES = {"IpsecEncAlg": ENCRYPTION, "IpsecAuthAlg": AUTHENTICATION, "IpsecPfs": ("disabled",) + DH_GROUPS}
IPSEC_DEFAULTS = {"IpsecEncAlg": "aes", "IpsecAuthAlg": "md5", "IpsecPfs": "group2", "IpsecLifetime": LONGEST_LIFETIME}
# the tunnel CIDR blocks Alibaba keeps for itself
RESERVED_TUNNEL_CIDRS = {f"169.254.{n}.0/30" for n in range(6)} | {"169.254.169.252/30"}
PSK_CHARACTERS = string.ascii_letters + string.digits


def parse_json_object(params, name):
    """The JSON object a *Config parameter carries, {} when absent; InvalidParameter if not JSON."""
    raw = params.str(name)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise invalid_parameter(name, raw) from None
    if not isinstance(value, dict):
        raise invalid_parameter(name, raw)
    return value


def _lifetime(value, name):
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise invalid_parameter(name, value) from None
    if not 0 <= seconds <= LONGEST_LIFETIME:
        raise invalid_parameter(name, value)
    return seconds


def _check_choices(given, choices, prefix):
    for key, value in given.items():
        if key in choices and value not in choices[key]:
            raise invalid_parameter(f"{prefix}.{key}", value)


def _reject_unknown(given, known, prefix):
    for key in given:
        if key not in known:
            raise invalid_parameter(f"{prefix}.{key}")


def ike_config(given, current, local_ip, remote_ip, prefix="IkeConfig"):
    """Phase 1 settings: `given` over `current` (an earlier config, or {} for a new connection)
    over the defaults. The pre-shared key is generated when none was ever set."""
    known = set(IKE_DEFAULTS) | {"Psk", "LocalId", "RemoteId"}
    _reject_unknown(given, known, prefix)
    _check_choices(given, IKE_CHOICES, prefix)
    config = {**IKE_DEFAULTS, "LocalId": local_ip, "RemoteId": remote_ip, **current, **given}
    config["IkeLifetime"] = _lifetime(config["IkeLifetime"], f"{prefix}.IkeLifetime")
    psk = config.get("Psk") or "".join(secrets.choice(PSK_CHARACTERS) for _ in range(16))
    if not 1 <= len(psk) <= 100 or any(c.isspace() for c in psk):
        raise invalid_parameter(f"{prefix}.Psk")
    config["Psk"] = psk
    for key in ("LocalId", "RemoteId"):
        if len(config[key] or "") > 100 or " " in (config[key] or ""):
            raise invalid_parameter(f"{prefix}.{key}", config[key])
    return config


def ipsec_config(given, current, prefix="IpsecConfig"):
    """Phase 2 settings: `given` over `current` over the defaults."""
    _reject_unknown(given, set(IPSEC_DEFAULTS), prefix)
    _check_choices(given, IPSEC_CHOICES, prefix)
    config = {**IPSEC_DEFAULTS, **current, **given}
    config["IpsecLifetime"] = _lifetime(config["IpsecLifetime"], f"{prefix}.IpsecLifetime")
    return config


def subnets(params, name, required=True, current=None):
    """A comma-separated list of CIDR blocks (LocalSubnet, RemoteSubnet), normalised."""
    raw = params.str(name, required=required and current is None)
    if raw is None:
        return current
    blocks = []
    for part in raw.split(","):
        try:
            blocks.append(str(ipaddress.IPv4Network(part.strip(), strict=False)))
        except ValueError:
            raise invalid_parameter(name, raw) from None
    return ",".join(blocks)


def bgp_config(given, current, peer_asn, prefix="BgpConfig"):
    """The BGP settings (VpnBgpConfig as Describe answers it)."""
    _reject_unknown(given, {"EnableBgp", "LocalAsn", "TunnelCidr", "LocalBgpIp"}, prefix)
    config = {"EnableBgp": "false", "LocalAsn": 45104, "TunnelCidr": "", "LocalBgpIp": "", "PeerBgpIp": "",
              "PeerAsn": peer_asn, "Status": "", **current}
    if "EnableBgp" in given:
        config["EnableBgp"] = "true" if str(given["EnableBgp"]).lower() == "true" else "false"
    if "LocalAsn" in given:
        config["LocalAsn"] = parse_asn(given["LocalAsn"], f"{prefix}.LocalAsn")
    if "TunnelCidr" in given or "LocalBgpIp" in given:
        cidr, local_ip, peer_ip = _tunnel_addresses(given.get("TunnelCidr", config["TunnelCidr"]),
                                                    given.get("LocalBgpIp", config["LocalBgpIp"]), prefix)
        config.update({"TunnelCidr": cidr, "LocalBgpIp": local_ip, "PeerBgpIp": peer_ip})
    if config["EnableBgp"] == "true" and not config["TunnelCidr"]:
        raise invalid_parameter(f"{prefix}.TunnelCidr")
    return config


def _tunnel_addresses(cidr, local_ip, prefix):
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError:
        raise invalid_parameter(f"{prefix}.TunnelCidr", cidr) from None
    if network.prefixlen != 30 or not network.subnet_of(ipaddress.IPv4Network("169.254.0.0/16")) \
            or str(network) in RESERVED_TUNNEL_CIDRS:
        raise invalid_parameter(f"{prefix}.TunnelCidr", cidr)
    hosts = [str(h) for h in network.hosts()]
    local_ip = local_ip or hosts[0]
    if local_ip not in hosts:
        raise invalid_parameter(f"{prefix}.LocalBgpIp", local_ip)
    return str(network), local_ip, next(h for h in hosts if h != local_ip)


def parse_asn(value, name):
    """An ASN as a number or in two-segment notation (123.456 = 123 × 65536 + 456)."""
    text = str(value)
    try:
        if "." in text:
            high, low = (int(part) for part in text.split("."))
            number = high * 65536 + low if 0 <= low < 65536 else -1
        else:
            number = int(text)
    except ValueError:
        raise invalid_parameter(name, value) from None
    if not 1 <= number <= 4294967295:
        raise invalid_parameter(name, value)
    return number


def health_check(given, current, prefix="HealthCheckConfig"):
    """VcoHealthCheck as Describe answers it, from HealthCheckConfig's lower-case keys."""
    _reject_unknown(given, {"enable", "dip", "sip", "interval", "retry"}, prefix)
    check = {"Enable": "false", "Dip": "", "Sip": "", "Interval": 3, "Retry": 3, "Policy": "revoke_route",
             "Status": "", **current}
    if "enable" in given:
        check["Enable"] = "true" if str(given["enable"]).lower() == "true" else "false"
    for key, field in (("dip", "Dip"), ("sip", "Sip")):
        if key in given:
            try:
                check[field] = str(ipaddress.IPv4Address(given[key]))
            except ValueError:
                raise invalid_parameter(f"{prefix}.{key}", given[key]) from None
    for key, field in (("interval", "Interval"), ("retry", "Retry")):
        if key in given:
            try:
                check[field] = int(given[key])
            except (TypeError, ValueError):
                raise invalid_parameter(f"{prefix}.{key}", given[key]) from None
    if check["Enable"] == "true" and not (check["Dip"] and check["Sip"]):
        raise ApiError(400, "MissingParameter", "HealthCheckConfig needs dip and sip when it is enabled.")
    check["Status"] = "success" if check["Enable"] == "true" else ""
    return check


def tunnel_options(params):
    """The flattened TunnelOptionsSpecification list (dual-tunnel mode) as nested dicts:
    [{"CustomerGatewayId", "Role", "TunnelIkeConfig": {...}, "TunnelIpsecConfig": {...}, ...}]."""
    tunnels = []
    for flat in params.objects("TunnelOptionsSpecification"):
        nested = {}
        for key, value in flat.items():
            head, _, tail = key.partition(".")
            if tail:
                nested.setdefault(head, {})[tail] = value
            else:
                nested[head] = value
        tunnels.append(nested)
    return tunnels
