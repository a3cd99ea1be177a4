# default: what a coding agent or a build needs, denying the kernel surface
# none of them needs. Denials return EPERM, or ENOSYS where libc must fall
# back, never a kill, so tools fail with a clear error.
# Format: seccomp-profiles/README; every rule is explained in docs/seccomp.md.

default allow

# Namespaces. A user namespace gives its creator every capability inside
# it, and with them the kernel's namespaced attack surface; the others need
# a user namespace (or privilege) anyway. No nested sandboxes.
unshare deny arg0&CLONE_NEWUSER==CLONE_NEWUSER
unshare deny arg0&CLONE_NEWNS==CLONE_NEWNS
unshare deny arg0&CLONE_NEWPID==CLONE_NEWPID
unshare deny arg0&CLONE_NEWNET==CLONE_NEWNET
unshare deny arg0&CLONE_NEWIPC==CLONE_NEWIPC
unshare deny arg0&CLONE_NEWUTS==CLONE_NEWUTS
unshare deny arg0&CLONE_NEWCGROUP==CLONE_NEWCGROUP
unshare deny arg0&CLONE_NEWTIME==CLONE_NEWTIME
clone deny arg0&CLONE_NEWUSER==CLONE_NEWUSER
clone deny arg0&CLONE_NEWNS==CLONE_NEWNS
clone deny arg0&CLONE_NEWPID==CLONE_NEWPID
clone deny arg0&CLONE_NEWNET==CLONE_NEWNET
clone deny arg0&CLONE_NEWIPC==CLONE_NEWIPC
clone deny arg0&CLONE_NEWUTS==CLONE_NEWUTS
clone deny arg0&CLONE_NEWCGROUP==CLONE_NEWCGROUP
# clone3 passes its flags in memory, which a filter cannot read. ENOSYS
# makes glibc fall back to clone, which the rules above can check.
clone3 enosys
setns deny

# Mounts, old and new API, and changing root.
mount deny
umount2 deny
pivot_root deny
chroot deny
open_tree deny
move_mount deny
fsopen deny
fsconfig deny
fsmount deny
fspick deny
mount_setattr deny

# Extending or inspecting the kernel.
bpf deny
perf_event_open deny
kexec_load deny
kexec_file_load deny
init_module deny
finit_module deny
delete_module deny
iopl deny
ioperm deny
modify_ldt deny
lookup_dcookie deny
syslog deny

# Machine state.
reboot deny
swapon deny
swapoff deny
acct deny
quotactl deny
quotactl_fd deny

# Long-standing sources of kernel exploits that no agent needs.
userfaultfd deny
keyctl deny
add_key deny
request_key deny
io_uring_setup deny
io_uring_enter deny
io_uring_register deny

# File handles bypass path-based checks (the "shocker" container escape).
open_by_handle_at deny
name_to_handle_at deny

# Other processes' memory and execution.
ptrace deny
process_vm_readv deny
process_vm_writev deny

# personality: only the query personality(0xffffffff) is allowed. The
# kernel truncates the argument to 32 bits, so values above 0xffffffff are
# denied too (they would set the low bits' persona).
personality deny arg0<=0xfffffffe
personality deny arg0>0xffffffff

# Injecting input into the terminal. Only the low 32 bits of the request
# are compared: the tty layer ignores the high ones, and CVE-2019-10063 was
# a filter that compared all 64.
ioctl deny arg1&0xffffffff==TIOCSTI
ioctl deny arg1&0xffffffff==TIOCLINUX
