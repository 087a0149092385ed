import CGuardSys
import Foundation
import ProvenantCore

/// Linux capabilities by number (linux/capability.h), and the drop to exactly the declared ones.
public enum Capabilities {
    /// Index = capability number.
    public static let names = LinuxCapabilities.names

    /// `NET_BIND_SERVICE` or `CAP_NET_BIND_SERVICE` → 10.
    public static func number(_ name: String) -> Int? {
        names.firstIndex(of: name.hasPrefix("CAP_") ? String(name.dropFirst(4)) : name)
    }

    /// The mask of the named capabilities; nil names an unknown one.
    public static func mask(_ names: [String]) -> UInt64? {
        var m: UInt64 = 0
        for n in names { guard let c = number(n) else { return nil }; m |= 1 << UInt64(c) }
        return m
    }

    public static func names(in mask: UInt64) -> [String] {
        names.indices.filter { mask & (1 << UInt64($0)) != 0 }.map { names[$0] }
    }

    /// The kernel's highest capability: it may know more (or fewer) than the table above.
    static func lastCapability() -> Int {
        if let s = try? String(contentsOfFile: "/proc/sys/kernel/cap_last_cap", encoding: .utf8),
           let n = Int(s.trimmingCharacters(in: .whitespacesAndNewlines)), (0...63).contains(n) { return n }
        return 63  // probe them all; PR_CAPBSET_READ says EINVAL past the last
    }

    /// Leaves the calling thread with `declared` (those of them it holds) in its bounding, permitted,
    /// effective and inheritable sets and nothing ambient, so what it executes next gets no more.
    /// Returns the capabilities kept.
    ///
    /// Order matters: dropping from the bounding set needs CAP_SETPCAP, so it comes before capset gives
    /// that up. The bounding set matters for root: execve recomputes a root process's permitted set from
    /// it (file capabilities of a root exec are "all"), so a capability left there would come back.
    /// A non-root process keeps capabilities across execve only as ambient ones, which are raised last.
    /// Without CAP_SETPCAP (a non-root launcher, usually) the bounding set cannot shrink; the
    /// capabilities left there are listed in `boundingKept` and are still never regained, because the
    /// launcher sets no_new_privs before execve, which caps the new permitted set at the old one (keep).
    /// Must run on the thread that then calls execve: capabilities belong to the thread.
    public static func confine(to declared: UInt64) throws(ConfinementError) -> (kept: UInt64, boundingKept: UInt64) {
        var eff: UInt64 = 0, prm: UInt64 = 0, inh: UInt64 = 0
        var r = cgs_capget(&eff, &prm, &inh)
        guard r == 0 else { throw ConfinementError("capget", errno: -r) }
        // What was never held cannot be granted.
        let keep = declared & prm
        var boundingKept: UInt64 = 0
        for cap in 0...lastCapability() where keep & (1 << UInt64(cap)) == 0 {
            let held = cgs_capbset_read(Int32(cap))
            if held == -EINVAL { break }  // past the kernel's last capability
            guard held == 1 else { continue }
            r = cgs_capbset_drop(Int32(cap))
            if r == -EPERM { boundingKept |= 1 << UInt64(cap); continue }
            guard r == 0 else { throw ConfinementError("dropping \(name(cap)) from the bounding set", errno: -r) }
        }
        r = cgs_ambient_clear_all()
        if r != 0 && r != -EINVAL { throw ConfinementError("clearing the ambient capabilities", errno: -r) }
        r = cgs_capset(keep, keep, keep)
        // Without CAP_SETPCAP the inheritable set cannot grow beyond what it held.
        if r == -EPERM { r = cgs_capset(keep, keep, keep & inh) }
        guard r == 0 else { throw ConfinementError("capset", errno: -r) }
        if geteuid() != 0 {
            for cap in 0..<64 where keep & (1 << UInt64(cap)) != 0 {
                r = cgs_ambient_raise(Int32(cap))
                guard r == 0 else { throw ConfinementError("keeping \(name(cap)) across exec (ambient)", errno: -r) }
            }
        }
        // Trust, but verify: the sets the kernel reports now.
        r = cgs_capget(&eff, &prm, &inh)
        guard r == 0, prm == keep, eff == keep else { throw ConfinementError("capabilities after capset differ from the declared ones", errno: r == 0 ? 0 : -r) }
        return (keep, boundingKept)
    }

    static func name(_ cap: Int) -> String { cap < names.count ? "CAP_" + names[cap] : "capability \(cap)" }
}

/// A confinement step that failed: the launcher refuses to run the command rather than run it with
/// less confinement than it says.
public struct ConfinementError: Error, Sendable, CustomStringConvertible {
    public var step: String
    public var errno: Int32
    public init(_ step: String, errno: Int32) { self.step = step; self.errno = errno }
    public var description: String { errno == 0 ? step : "\(step): \(String(cString: strerror(errno)))" }
}
