#!/bin/sh
# mmdebstrap customize hook for the lvs-lab base image. $1 is the root directory being built;
# LVSLAB_GUEST_DIR holds the files next to this script and LVSLAB_UML_MODULES the UML kernel's modules.
set -eu
root="$1"
guest="$LVSLAB_GUEST_DIR"
kver=$(basename "$LVSLAB_UML_MODULES")

# The UML kernel's modules, so guests can modprobe ip_vs, ipip, nfsd, gfs2, dlm, iSCSI ...
mkdir -p "$root/lib/modules"
cp -a "$LVSLAB_UML_MODULES" "$root/lib/modules/$kver"
chroot "$root" depmod "$kver"

# First-boot configuration from the lab.
install -m 0755 "$guest/lvslab-firstboot" "$root/usr/local/sbin/lvslab-firstboot"
install -m 0644 "$guest/lvslab-firstboot.service" "$root/etc/systemd/system/lvslab-firstboot.service"
chroot "$root" systemctl enable lvslab-firstboot.service systemd-networkd.service

# SSH: one host key per guest comes from the lab; none is shared through the image.
rm -f "$root"/etc/ssh/ssh_host_*
install -m 0644 "$guest/sshd-lvslab.conf" "$root/etc/ssh/sshd_config.d/lvslab.conf"
install -d -m 0700 "$root/root/.ssh"

# Every guest gets its own identity at boot (machine id on the kernel command line, initiator name from the lab).
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/iscsi/initiatorname.iscsi"
echo lvslab > "$root/etc/hostname"

# The image carries the packages; the roles decide what runs. Boot only what the lab itself needs.
for unit in nginx.service keepalived.service ldirectord.service nfs-server.service rpcbind.service \
            rpcbind.socket nfs-client.target remote-fs.target corosync.service dlm.service iscsid.service \
            iscsid.socket open-iscsi.service rtslib-fb-targetctl.service nftables.service e2scrub_reap.service \
            e2scrub_all.timer fstrim.timer apt-daily.timer apt-daily-upgrade.timer man-db.timer \
            systemd-timesyncd.service; do
    if [ -e "$root/lib/systemd/system/$unit" ] || [ -e "$root/usr/lib/systemd/system/$unit" ]; then
        chroot "$root" systemctl disable --quiet "$unit"
    fi
done
# No terminals on UML consoles (their input is /dev/null) and no interactive first-boot wizard.
for unit in getty@.service serial-getty@.service console-getty.service systemd-firstboot.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# Smaller image: no downloaded .deb files. The package lists stay, so the roles' package tasks find what is installed.
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
