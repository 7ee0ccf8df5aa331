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

# First-boot configuration from the lab (enabled below, after the presets).
install -m 0755 "$guest/lvslab-firstboot" "$root/usr/local/sbin/lvslab-firstboot"
install -m 0644 "$guest/lvslab-firstboot.service" "$root/etc/systemd/system/lvslab-firstboot.service"

# SSH: one host key per guest comes from the lab; none is shared through the image.
rm -f "$root"/etc/ssh/ssh_host_*
install -m 0644 "$guest/sshd-lvslab.conf" "$root/etc/ssh/sshd_config.d/lvslab.conf"
install -d -m 0700 "$root/root/.ssh"

# Every guest gets its own identity at boot (machine id on the kernel command line, initiator name from the lab).
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/iscsi/initiatorname.iscsi"
echo lvslab > "$root/etc/hostname"

# No terminals on UML consoles (their input is /dev/null) and no interactive first-boot wizard. Masked before
# the presets, which would otherwise enable getty@.service.
for unit in getty@.service serial-getty@.service console-getty.service systemd-firstboot.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# Enabled units as on an installed Debian 12: the packages' maintainer scripts enabled their units while
# mmdebstrap installed them; `systemctl preset-all` then applies the distribution's presets, as a Debian install
# does (90-systemd.preset; Debian ships no "disable *" catch-all, so a unit no preset names is enabled). So the
# guests boot remote-fs.target, nfs-client.target, rpcbind ... like a real Debian server, and the roles are
# tested against that, not against a trimmed image.
chroot "$root" systemctl preset-all
# Where the presets and Debian's packages differ, Debian's packages win: openssh enables ssh.service only
# (ssh.socket conflicts with it).
chroot "$root" systemctl disable --quiet ssh.socket
chroot "$root" systemctl enable --quiet ssh.service

# The lab's own units: the first-boot configuration and systemd-networkd, which the lab configures (its [Install]
# also enables systemd-networkd-wait-online, which the presets disable: network-online.target, which the NFS
# mount waits for, then means the lab's addresses are up, as with ifupdown's networking.service on Debian).
chroot "$root" systemctl enable --quiet lvslab-firstboot.service systemd-networkd.service \
    systemd-networkd-wait-online.service

# The image carries the packages; the roles decide which services run (and enable what they configure): a daemon
# the role has not configured must not start at boot with the package's defaults (nginx's default site,
# keepalived or corosync without a configuration, an NFS server exporting nothing, ...).
for unit in nginx.service keepalived.service ldirectord.service nfs-server.service corosync.service dlm.service \
            iscsid.service iscsid.socket open-iscsi.service rtslib-fb-targetctl.service targetclid.service \
            targetclid.socket nftables.service; do
    if [ -e "$root/lib/systemd/system/$unit" ] || [ -e "$root/usr/lib/systemd/system/$unit" ]; then
        chroot "$root" systemctl disable --quiet "$unit"
    fi
done
# Housekeeping with nothing to do in a lab guest, left out to keep boots short and quiet: no NTP server is
# reachable (the UML clock follows the host's), no package index, no TRIM on UML disks, no LVM snapshots.
for unit in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer man-db.timer fstrim.timer \
            e2scrub_all.timer e2scrub_reap.service; do
    if [ -e "$root/lib/systemd/system/$unit" ] || [ -e "$root/usr/lib/systemd/system/$unit" ]; then
        chroot "$root" systemctl disable --quiet "$unit"
    fi
done
# What boots, for the build log (tools/lvs-lab build keeps it next to the image).
echo "lvslab: units enabled in the image:"
chroot "$root" systemctl list-unit-files --state=enabled --no-legend --no-pager | sed 's/^/lvslab:   /'

# Smaller image: no downloaded .deb files. The package lists stay, so the roles' package tasks find what is installed.
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
