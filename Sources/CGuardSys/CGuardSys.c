#define _GNU_SOURCE
#include "CGuardSys.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif
#ifndef __NR_execveat
#define __NR_execveat 322
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// Layouts from the kernel's include/uapi/linux/landlock.h (ABI 6).
struct cgs_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};
struct cgs_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));
struct cgs_net_port_attr {
    uint64_t allowed_access;
    uint64_t port;
};

#define CGS_LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define CGS_LANDLOCK_RULE_PATH_BENEATH 1
#define CGS_LANDLOCK_RULE_NET_PORT 2

const int cgs_o_path = O_PATH;
const int cgs_at_empty_path = AT_EMPTY_PATH;

static int result(long r) { return r < 0 ? -errno : (int)r; }

int cgs_landlock_abi(void) {
    return result(syscall(__NR_landlock_create_ruleset, NULL, (size_t)0, CGS_LANDLOCK_CREATE_RULESET_VERSION));
}

int cgs_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped) {
    struct cgs_ruleset_attr attr = { handled_fs, handled_net, scoped };
    // An older kernel accepts a longer struct only when the fields it does not know are zero; the
    // shortest size that holds every nonzero field says exactly what is asked, on every ABI.
    size_t size = scoped ? sizeof attr : handled_net ? offsetof(struct cgs_ruleset_attr, scoped)
                                                     : offsetof(struct cgs_ruleset_attr, handled_access_net);
    return result(syscall(__NR_landlock_create_ruleset, &attr, size, 0U));
}

int cgs_landlock_add_path_rule(int ruleset_fd, int parent_fd, uint64_t allowed) {
    struct cgs_path_beneath_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.allowed_access = allowed;
    attr.parent_fd = parent_fd;
    return result(syscall(__NR_landlock_add_rule, ruleset_fd, CGS_LANDLOCK_RULE_PATH_BENEATH, &attr, 0U));
}

int cgs_landlock_add_port_rule(int ruleset_fd, uint64_t port, uint64_t allowed) {
    struct cgs_net_port_attr attr = { allowed, port };
    return result(syscall(__NR_landlock_add_rule, ruleset_fd, CGS_LANDLOCK_RULE_NET_PORT, &attr, 0U));
}

int cgs_landlock_restrict_self(int ruleset_fd) {
    return result(syscall(__NR_landlock_restrict_self, ruleset_fd, 0U));
}

#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

int cgs_install_syscall_filter(void) {
#if defined(__x86_64__)
    const uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
    const uint32_t arch = AUDIT_ARCH_AARCH64;
#else
    return -ENOSYS;
#endif
    // ioctl's request is an unsigned int: the kernel reads the low 32 bits of the argument, which
    // is the word at args[1]'s offset on these little-endian ABIs.
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),   // another ABI (i386 through int 0x80)
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),   // x32 system calls
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
        // memfd_create(name, flags): only a memfd that can never be executed (MFD_NOEXEC_SEAL, Linux
        // 6.3). Landlock does not govern files without a path, so a command could otherwise write any
        // program into a memfd and run it, around the execute right its write paths lack.
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MFD_EXEC, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MFD_NOEXEC_SEAL, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog program = { (unsigned short)(sizeof filter / sizeof filter[0]), filter };
    return result(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0L, 0L));
}

int cgs_set_no_new_privs(void) { return result(prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L)); }
int cgs_capbset_read(int cap) { return result(prctl(PR_CAPBSET_READ, (long)cap, 0L, 0L, 0L)); }
int cgs_capbset_drop(int cap) { return result(prctl(PR_CAPBSET_DROP, (long)cap, 0L, 0L, 0L)); }
int cgs_ambient_clear_all(void) { return result(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L)); }
int cgs_ambient_raise(int cap) { return result(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (long)cap, 0L, 0L)); }

int cgs_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    long r = syscall(SYS_capget, &header, data);
    if (r < 0) return -errno;
    *effective = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
    *permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
    *inheritable = (uint64_t)data[0].inheritable | ((uint64_t)data[1].inheritable << 32);
    return 0;
}

int cgs_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    data[0].effective = (uint32_t)effective;     data[1].effective = (uint32_t)(effective >> 32);
    data[0].permitted = (uint32_t)permitted;     data[1].permitted = (uint32_t)(permitted >> 32);
    data[0].inheritable = (uint32_t)inheritable; data[1].inheritable = (uint32_t)(inheritable >> 32);
    return result(syscall(SYS_capset, &header, data));
}

int cgs_memfd_create_sealable(const char *name) {
    return result(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
}

int cgs_memfd_seal(int fd) {
    return result(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));
}

int cgs_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    return result(syscall(__NR_execveat, dirfd, path, argv, envp, flags));
}
