"""ECS DescribeAccountAttributes: the account's limits in a region, from the emulator's quotas."""
from . import ecs_instance_model as model
from .registry import action


def _attributes(call):
    instances = call.table(model.TABLE).values()
    postpaid_vcpus = sum(r["Cpu"] for r in instances if r["InstanceChargeType"] == "PostPaid")
    return {
        "max-security-groups": call.quota("max_security_groups"),
        "instance-network-type": "vpc",
        "max-elastic-network-interfaces": 1000,
        "real-name-authentication": "yes",
        "max-postpaid-instance-vcpu-count": call.quota("max_instances") * 8,
        "used-postpaid-instance-vcpu-count": postpaid_vcpus,
        "max-spot-instance-vcpu-count": 800,
        "max-postpaid-yundisk-capacity": 204800,
        "used-postpaid-yundisk-capacity": sum(d["Size"] for d in call.table("disks").values()
                                              if d.get("DiskChargeType") == "PostPaid"),
        "max-dedicated-hosts": 100,
    }


@action("Ecs", "DescribeAccountAttributes")
def describe_account_attributes(call):
    wanted = set(call.params.list("AttributeName"))
    items = [{"AttributeName": name, "AttributeValues": {"ValueItem": [{"Value": str(value), "Count": 1}]}}
             for name, value in _attributes(call).items() if not wanted or name in wanted]
    return {"AccountAttributeItems": {"AccountAttributeItem": items}}
