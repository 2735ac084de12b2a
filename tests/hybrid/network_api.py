"""API steps of the network tests (H4, H7): a data centre, and VPCs, vSwitches, security groups
and EIPs made through the portal's API, each job checked."""

VPCS = "/api/v1/alibaba-vpcs/"
V_SWITCHES = "/api/v1/alibaba-v-switches/"
V_ROUTERS = "/api/v1/alibaba-v-routers/"
ROUTES = "/api/v1/alibaba-route-entries/"
GROUPS = "/api/v1/alibaba-security-groups/"
EIPS = "/api/v1/alibaba-eips/"


def data_center(hybrid):
    hybrid.add_key()
    return hybrid.add_data_center(time_zone="Asia/Shanghai")


def made(hybrid, url, body):
    """POST ``body`` to ``url``, its job succeeded; the resource as the API shows it then."""
    response = hybrid.post(url, body)
    job = hybrid.job(response)
    assert job["state"] == "succeeded", job
    return hybrid.client.get(f"{url}{response.json()['resource']['uuid']}/").json()


def vpc(hybrid, center, name="prod", cidr="10.0.0.0/16"):
    return made(hybrid, VPCS, {"name": name, "data_center_uuid": center["uuid"], "cidr_block": cidr})


def v_switch(hybrid, vpc_row, zone, cidr="10.0.1.0/24", name="web"):
    return made(hybrid, V_SWITCHES, {"name": name, "vpc_uuid": vpc_row["uuid"], "identity_zone_uuid": zone["uuid"],
                                     "cidr_block": cidr})


def security_group(hybrid, vpc_row, name="web-sg"):
    return made(hybrid, GROUPS, {"name": name, "vpc_uuid": vpc_row["uuid"]})


def act(hybrid, url, row, action, body=None):
    return hybrid.job(hybrid.post(f"{url}{row['uuid']}/{action}/", body))


def fault(hybrid, product, action, code="InternalError", http_status=500):
    hybrid.emulator.admin("POST", "faults", {"product": product, "action": action, "code": code,
                                             "http_status": http_status, "times": 1})


def delete(hybrid, url, row):
    """DELETE: in the cloud, then here; the job."""
    with hybrid.capture(execute=True):
        answer = hybrid.client.delete(f"{url}{row['uuid']}/")
    return hybrid.job(answer)
