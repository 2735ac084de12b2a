"""Every account has a default resource group; resources land in it unless a call names another."""
import hashlib


def default_resource_group(account):
    # stable per account, shaped like Alibaba's ids (rg-acfm + 15 lowercase letters and digits)
    digest = hashlib.sha256(f"resource-group:{account}".encode()).hexdigest()
    return "rg-acfm" + digest[:15]


def resource_group(call):
    return call.params.str("ResourceGroupId") or default_resource_group(call.account)
