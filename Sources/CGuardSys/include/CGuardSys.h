#ifndef CGUARDSYS_H
#define CGUARDSYS_H

#include <stdint.h>

// Thin wrappers over the Linux system calls `provenant guard exec` needs and Swift cannot call
// directly (syscall(2) and prctl(2) are variadic). Every function returns 0 (or a descriptor, or a
// version) on success and -errno on failure, so the caller never reads a thread-local errno that a
// Swift runtime call in between could have changed.
//
// The Landlock structures are declared here under our own names: the distribution's
// <linux/landlock.h> may predate the network and scope fields this kernel has.

/// The Landlock ABI version the kernel speaks (1, 2, ...), or -errno (-ENOSYS, -EOPNOTSUPP when disabled).
int cgs_landlock_abi(void);
/// A ruleset handling these access rights. Fields the ABI predates must be 0; the struct size passed
/// to the kernel is the smallest that holds every nonzero field.
int cgs_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped);
/// Allows `allowed` beneath the file or directory `parent_fd` (an O_PATH descriptor is enough).
int cgs_landlock_add_path_rule(int ruleset_fd, int parent_fd, uint64_t allowed);
/// Allows `allowed` (bind/connect) for the TCP port `port`.
int cgs_landlock_add_port_rule(int ruleset_fd, uint64_t port, uint64_t allowed);
/// Enforces the ruleset on the calling thread (and what it executes). Needs no_new_privs first.
int cgs_landlock_restrict_self(int ruleset_fd);

int cgs_set_no_new_privs(void);
/// A seccomp filter on the calling thread (and what it executes) that fails TIOCSTI and TIOCLINUX
/// ioctls with EPERM, and every system call of another ABI: a confined command could otherwise push
/// keystrokes into the terminal it inherited, which the unconfined shell reads after it exits.
/// Landlock's device-ioctl rule covers only files opened after it. It also fails with EPERM every
/// memfd_create that does not ask for MFD_NOEXEC_SEAL, or that asks for MFD_EXEC: a memfd has no
/// path for Landlock to judge, so a program written into one would run around the execute right.
/// Needs no_new_privs first.
int cgs_install_syscall_filter(void);
/// 1 when `cap` is in the bounding set, 0 when not, -errno (EINVAL past the kernel's last capability).
int cgs_capbset_read(int cap);
int cgs_capbset_drop(int cap);
int cgs_ambient_clear_all(void);
int cgs_ambient_raise(int cap);

/// The calling thread's capability sets as 64-bit masks (capget version 3).
int cgs_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable);
int cgs_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);

/// Flags the C library declares only under _GNU_SOURCE, which Swift's importer does not define.
extern const int cgs_o_path;
extern const int cgs_at_empty_path;

/// A sealable, close-on-exec memfd; -errno on failure.
int cgs_memfd_create_sealable(const char *name);
/// Seals the memfd against every change (write, grow, shrink, further seals).
int cgs_memfd_seal(int fd);

/// execveat(2); returns only on failure.
int cgs_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);

#endif
