"""Guest settings of a VM (FEATURES V2, V5, V7): install from an ISO (the ISO drive, boot order),
cloud-init's NoCloud config drive (user data, SSH keys, hostname), video model, the QEMU guest
agent channel and password change through it, online vCPU/memory change within the VM's
maximums, and disk/NIC QoS. Here: the API's side (``plans``: actions; ``create_fields``: the
create's fields). ``apps/compute/guest_define.py`` puts them in every define; the flows that
change them are ``apps/compute/flows/guest.py`` and ``guest_create.py``."""
