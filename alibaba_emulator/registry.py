"""The action registry: each ECS/VPC action is a function declared with @action(product, name).

    @action("Ecs", "StartInstance")
    def start_instance(call):            # call: Call (below)
        ...
        return {"SomeKey": ...}           # the answer; the server adds RequestId

A handler raises errors.ApiError for an Alibaba error. Actions whose name starts with
Describe/List/Get/Query are reads; after any other action the state is saved."""
from dataclasses import dataclass

# API version sent in x-acs-version / Version → product name used by the registry and the admin API
PRODUCT_VERSIONS = {"2014-05-26": "Ecs", "2016-04-28": "Vpc"}
READ_PREFIXES = ("Describe", "List", "Get", "Query")

ACTIONS = {}


@dataclass
class Action:
    product: str
    name: str
    handler: object
    regional: bool      # needs a valid RegionId
    reads: bool


def action(product, name, regional=True, reads=None):
    def declare(handler):
        key = (product, name)
        if key in ACTIONS:
            raise RuntimeError(f"action {product}.{name} declared twice")
        ACTIONS[key] = Action(product, name, handler, regional,
                              name.startswith(READ_PREFIXES) if reads is None else reads)
        return handler
    return declare


def find(product, name):
    return ACTIONS.get((product, name))


class Call:
    """One signed call being answered: who, where, what, and the tables of that account and region."""

    def __init__(self, emulator, product, action_name, params, account, region, request_id):
        self.emulator = emulator
        self.product = product
        self.action = action_name
        self.params = params
        self.account = account
        self.region = region
        self.request_id = request_id

    def table(self, name, region=None):
        return self.emulator.table(self.account, region or self.region, name)

    def schedule(self, table, record_id, steps, seconds=None):
        self.emulator.schedule(self.account, self.region, table, record_id, steps, seconds)

    def quota(self, name):
        return self.emulator.quota(self.account, self.region, name)

    def now(self):
        return self.emulator.now()
