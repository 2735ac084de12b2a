#!/usr/bin/env python
"""Issue 18's hybrid figures: a data centre's sync at scale, and the portal's CPU per ECS instance
of a batch create, against the Alibaba Cloud emulator the project ships (started by the script).

Fills the emulator's cn-hangzhou through the real SDK (``--instances`` instances, ``--security-groups``
security groups, ``--vpcs`` VPCs with ``--vswitches`` vSwitches in all), adds the demo key and the
region as a data centre (its own database, name containing "bench", or ``--zero-setup``), then runs
the data centre's sync flow in this process: the first time (everything imported), and again with
nothing changed (the time, and the rows written, which must be none). Then ``--batch`` ECS creates in
one POST, their flows run here (they wait for Running on the emulator's fast transitions): the
portal's CPU per instance (the request and its flow, the SDK's signing and parsing included; the
waits' sleeping is not CPU).

Targets (issue 18): 5,000 instances, 200 security groups, 50 VPCs with 500 vSwitches synced in
≤ 30 s the first time, ≤ 5 s and zero row writes with nothing changed; a batch of 100: ≤ 20 ms of
the portal's CPU per instance. What is synced is what ``apps/hybrid/remote_kinds/__init__.SYNC_ORDER`` holds.

    .venv/bin/python bench/hybrid_sync.py                       # the issue's sizes, MariaDB
    .venv/bin/python bench/hybrid_sync.py --instances 500 --batch 10 --zero-setup
"""
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from benchlib import arg_parser, django_for_bench, interpreter, speed_probe  # noqa: E402  (bench/benchlib.py)

DEFAULT_URL = "mysql://root@127.0.0.1:3306/cloudportal_bench_hybrid"
IMAGE = "aliyun_3_x64_20G_alibase_20240819.vhd"
# what a sync may write: the hybrid rows, their mirrors in the VM list, and the change log of both
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b.*?\b`?(hybrid_\w+|compute_vminstance|core_changelog)`?",
                    re.IGNORECASE | re.DOTALL)
CLAIM = re.compile(r"^\s*UPDATE\s+\S+\s+SET\s+[`\"]?busy_job[`\"]?\s*=\s*\S+\s+WHERE", re.IGNORECASE)


def parse_args():
    p = arg_parser(__doc__)
    p.add_argument("--instances", type=int, default=5000)
    p.add_argument("--security-groups", type=int, default=200)
    p.add_argument("--vpcs", type=int, default=50)
    p.add_argument("--vswitches", type=int, default=500)
    p.add_argument("--batch", type=int, default=100, help="ECS instances of the batch create (0: none)")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--zero-setup", action="store_true", help="SQLite in a temporary directory; --database-url ignored")
    p.add_argument("--redis-url", default="", help="the production path: live events and the cache on this Redis "
                                                   "(e.g. redis://127.0.0.1:6379/12); default: none (the database relay)")
    return p.parse_args()


def fill_cloud(cloud, args):
    """The emulator's cn-hangzhou as the arguments say, through the portal's client layer (the SDK)."""
    vpcs = []
    for index in range(max(args.vpcs, 1)):
        vpcs.append(cloud.vpc("CreateVpc", {"VpcName": f"bench-{index}", "CidrBlock": "10.0.0.0/8"})["VpcId"])
    time.sleep(0.2)   # the VPCs become Available (fast transitions)
    switches = []
    for index in range(max(args.vswitches, 1)):
        vpc = vpcs[index % len(vpcs)]
        cidr = f"10.{index // len(vpcs) + 1}.0.0/16"   # the VPC's n-th
        switches.append(cloud.vpc("CreateVSwitch", {"VpcId": vpc, "ZoneId": "cn-hangzhou-h",
                                                    "CidrBlock": cidr})["VSwitchId"])
    groups = [cloud.ecs("CreateSecurityGroup", {"VpcId": vpcs[0], "SecurityGroupName": f"bench-{index}"})[
        "SecurityGroupId"] for index in range(max(args.security_groups, 1))]
    time.sleep(0.5)   # the vSwitches become Available (fast transitions)
    left = args.instances
    while left > 0:
        amount = min(100, left)
        cloud.ecs("RunInstances", {"ZoneId": "cn-hangzhou-h", "InstanceType": "ecs.g7.large", "ImageId": IMAGE,
                                   "VSwitchId": switches[0], "SecurityGroupId": groups[0], "Amount": amount,
                                   "InstanceName": "bench"})
        left -= amount
    return switches[0], groups[0]


def run_sync(data_center):
    """The data centre's sync flow run here: (wall s, CPU s, statements writing hybrid rows, their VM
    rows or the change log, result)."""
    from django.db import connection

    from apps.core.flows import execute_job, start_job
    from apps.hybrid.flows import SYNC_DATA_CENTER

    job = start_job(SYNC_DATA_CENTER, resource=data_center, args={"data_center_uuid": str(data_center.uuid)})
    writes = []

    def count_writes(execute, sql, params, many, context):
        # a row of what the cloud holds; not the job's claim on the data centre (busy_job)
        if WRITES.match(sql) and not CLAIM.match(sql):
            writes.append(sql)
        return execute(sql, params, many, context)

    wall, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count_writes):
        execute_job(job.uuid)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    job.refresh_from_db()
    return wall, cpu, len(writes), job


def main():
    args = parse_args()
    django_for_bench("hybrid", args.database_url, args.zero_setup, args.redis_url)
    from django.conf import settings

    from apps.core.testing import client_for, make_account
    from apps.hybrid.cloud import Cloud
    from apps.hybrid.models import AlibabaAccessKey, AlibabaDataCenter, EcsInstance
    from cloudportal.celery import app as celery_app
    from tests.emulator.process import DEMO_KEY_ID, DEMO_KEY_SECRET, EmulatorProcess

    emulator = EmulatorProcess(Path(f"/tmp/cp-bench-hybrid-emulator-{os.getpid()}")).start()
    try:
        emulator.admin("POST", "timing", {"transition_seconds": 0.01})
        emulator.admin("POST", "quotas", {"region": "cn-hangzhou", "max_instances": 1_000_000, "max_disks": 1_000_000,
                                          "max_vpcs": 10_000, "max_vswitches_per_vpc": 10_000,
                                          "max_security_groups": 100_000})
        settings.ALIBABA_CLOUD_ENDPOINT = emulator.url
        cloud = Cloud(DEMO_KEY_ID, "cn-hangzhou", DEMO_KEY_SECRET)
        began = time.perf_counter()
        switch, group = fill_cloud(cloud, args)
        print(f"emulator filled in {time.perf_counter() - began:.1f} s: {args.instances} instances, "
              f"{args.security_groups} security groups, {args.vpcs} VPCs, {args.vswitches} vSwitches")

        admin = make_account("bench-admin", admin=True)
        key = AlibabaAccessKey.objects.create(name="demo", account=admin.account, access_key_id=DEMO_KEY_ID,
                                              access_key_secret=DEMO_KEY_SECRET, is_default=True)
        center = AlibabaDataCenter.objects.create(name="hangzhou", account=admin.account, access_key=key,
                                                  region_id="cn-hangzhou", time_zone="Asia/Shanghai")
        probe = speed_probe()
        print(f"database: {'SQLite' if args.zero_setup else 'MariaDB'}{' + Redis' if args.redis_url else ''}; "
              f"Python {interpreter()}; "
              f"speed probe {probe:.0f} ms")
        for label in ("first sync", "sync, nothing changed"):
            wall, cpu, written, job = run_sync(center)
            kinds = ", ".join(f"{k['kind']} +{k['imported']}/~{k['updated']}/-{k['deleted']}"
                              for k in (job.result or {}).get("kinds", []))
            print(f"{label}: {job.state}, wall {wall:.2f} s, CPU {cpu:.2f} s, rows written {written} ({kinds})")

        if args.batch:
            zone = center.identity_zones.get(zone_id="cn-hangzhou-h")
            client = client_for(admin)
            celery_app.conf.task_always_eager = True   # each flow runs here when the POST commits
            before = EcsInstance.objects.filter(state="Running").count()
            wall, cpu = time.perf_counter(), time.process_time()
            answer = client.post("/api/v1/ecs-instances/", {
                "name": "batch", "identity_zone_uuid": str(zone.uuid), "instance_type": "ecs.g7.large",
                "image_id": IMAGE, "v_switch_id": switch, "security_group_id": group, "count": args.batch},
                format="json")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            running = EcsInstance.objects.filter(state="Running").count() - before
            print(f"batch create of {args.batch}: HTTP {answer.status_code}, {running} Running, wall {wall:.1f} s, "
                  f"portal CPU {cpu * 1000 / args.batch:.1f} ms per instance")
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
