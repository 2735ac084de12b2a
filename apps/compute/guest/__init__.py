"""Guest settings of a VM (FEATURES V2, V5, V7): install from an ISO (the ISO drive, boot order),
cloud-init's NoCloud config drive (user data, SSH keys, hostname), video model, the QEMU guest
agent channel and password change through it, online vCPU/memory change within the VM's
maximums, and disk/NIC QoS. ``define_part`` puts them in every define; ``flows`` changes them."""
