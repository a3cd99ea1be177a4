#!/usr/bin/env bash
# container-init.sh MASKED CMD [ARG]...: pid 1 of a simulated container, for
# container.sh. Started by `unshare --user --map-root-user --mount --pid
# --fork` from an unprivileged account, so it is root in a user namespace
# that holds no capability in the initial one, as a rootless container's
# or a Kubernetes pod's with hostUsers: false. It builds the container's
# root as a runtime does (a tmpfs; the host's /usr and /etc read-only, as
# an image; its own /proc, /tmp, /var and /work/proj), pivots into it and
# execs CMD in /work/proj.
#   MASKED=1     /proc as Docker's default leaves it (runc's masked and
#                read-only paths): files covered with /dev/null, directories
#                with an empty read-only tmpfs, the global knobs read-only
#   CONTAINER_BINDS="DIR..."  host directories bound read-only at the same
#                paths (the staged binaries, the test's policies)
#   CONTAINER_CORDON=FILE     the container's /usr/bin/cordon (an overlay on
#                /usr/bin adds it), as a package installs it
set -eu
PATH=$PATH:/usr/sbin:/sbin
masked=$1
shift
# The mount point of its root: CONTAINER_ROOT (an empty directory the
# caller removes), else a new one in /tmp.
R=${CONTAINER_ROOT:-$(mktemp -d /tmp/cordon-container.XXXXXX)}
mount -t tmpfs -o mode=0755 container "$R"
for d in usr etc; do
	mkdir "$R/$d"
	mount --rbind "/$d" "$R/$d"
	mount -o remount,bind,ro "$R/$d"
done
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then
		ln -s "$(readlink "/$d")" "$R/$d"
	elif [ -d "/$d" ]; then
		mkdir "$R/$d"
		mount --rbind "/$d" "$R/$d"
	fi
done
if [ -n "${CONTAINER_CORDON:-}" ]; then
	mkdir "$R/.cordon-bin"
	cp "$CONTAINER_CORDON" "$R/.cordon-bin/cordon"
	mount -t overlay overlay -o "lowerdir=$R/.cordon-bin:/usr/bin" "$R/usr/bin"
fi
mkdir -p "$R/proc" "$R/dev" "$R/tmp" "$R/var/lib" "$R/var/tmp" "$R/root" "$R/sys" "$R/work/proj" "$R/.old"
chmod 1777 "$R/tmp" "$R/var/tmp"
mount --rbind /dev "$R/dev"
# /sys read-only, as runtimes give it; its cgroups stay the host's.
mount --rbind /sys "$R/sys"
mount -o remount,bind,ro "$R/sys"
for b in ${CONTAINER_BINDS:-}; do
	mkdir -p "$R$b"
	mount --bind "$b" "$R$b"
	mount -o remount,bind,ro "$R$b"
done
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
cd "$R"
pivot_root . .old
umount -l /.old
rmdir /.old
if [ "$masked" = 1 ]; then
	for f in kcore keys timer_list timer_stats sched_debug latency_stats; do
		[ -f "/proc/$f" ] && mount --bind /dev/null "/proc/$f"
	done
	for d in acpi scsi asound; do
		[ -d "/proc/$d" ] && mount -t tmpfs -o ro tmpfs "/proc/$d"
	done
	for p in bus fs irq sys sysrq-trigger; do
		if [ -e "/proc/$p" ]; then
			mount --bind "/proc/$p" "/proc/$p"
			mount -o remount,bind,ro "/proc/$p"
		fi
	done
fi
cd /work/proj
exec "$@"
