"""An offline Alibaba Cloud (ECS, VPC, OSS) the real SDKs talk to on the wire: demos, tests and new
users need no Alibaba account. Run it with `python -m alibaba_emulator` (docs/alibaba-emulator.md)."""
__version__ = "0.1.0"

DEFAULT_ACCESS_KEY_ID = "LTAI5tDemoKey0CloudPortal"
DEFAULT_ACCESS_KEY_SECRET = "CloudPortalDemoSecret0000000000"
