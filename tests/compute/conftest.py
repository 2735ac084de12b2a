"""The KVM VM tests use the real sshd and agent roots the KVM host tests use."""
from tests.infra.conftest import agent_roots, needs_libvirtd, sshd  # noqa: F401
