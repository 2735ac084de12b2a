from tests.two_hosts import two_hosts, two_kvm_hosts  # noqa: F401  (fixtures)
