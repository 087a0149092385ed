/// Linux capability names by number (linux/capability.h), without the `CAP_` prefix: the one table
/// the manifest's validation, the exec launcher and the image policy's file-capability decoder share.
public enum LinuxCapabilities {
    /// Index = capability number.
    public static let names = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ]

    /// The name of capability `number`; one past this table (a newer kernel's) is `UNKNOWN_41`, a name
    /// no manifest can declare.
    public static func name(_ number: Int) -> String {
        names.indices.contains(number) ? names[number] : "UNKNOWN_\(number)"
    }
}
