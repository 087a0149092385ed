import Foundation
import NIOCore
import NIOPosix
import Permissions
import ProvenantCore
import Secrets
import Synchronization

/// What `guard proxy` was told: where to listen and its limits.
public struct ProxyOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 3128
    public var maxConnections = 1024
    /// A client must send its whole request head (and body) within this.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// A connection or tunnel with no bytes either way for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(300)
    public var connectTimeout: TimeAmount = .seconds(10)
    /// The largest request body held for the leak check; a larger one is refused (413), not passed unread.
    public var maxBody = 8 << 20
    /// How long SIGTERM waits for open connections before closing them.
    public var drainTimeout: TimeAmount = .seconds(10)
    /// Event-loop threads; a connection stays on one loop, with its upstream. One per core by default;
    /// a sidecar under a CPU limit sets it to that limit (bench/guard.sh measures both: on this 2-core
    /// machine, shared with the load generator and the upstream, two loops served 15% more requests per
    /// second than one).
    public var threads = ProxyOptions.defaultThreads
    /// Admit a ClientHello that carries ECH, checked by its outer name. Off: such a hello is denied,
    /// since the name it really asks for cannot be read (Chromium sends a placeholder ECH extension by
    /// default; its clients need this, or ECH turned off).
    public var allowECH = false
    public static var defaultThreads: Int { min(max(1, System.coreCount), 256) }
    public init() {}
}

/// What every connection shares: the policy (replaced whole on SIGHUP), the leak engine, the
/// resolver, the audit log and the connection count.
final class ProxyShared: @unchecked Sendable {
    private let lock = NSLock()
    private var _policy: EgressPolicy
    private var _open = 0
    private var _heldBodies = 0
    /// All request bodies held at once for the leak check, across connections.
    static let bodyBudget = 256 << 20
    let engine: SecretEngine
    let resolver: AddressResolver
    let audit: AuditLog?
    let options: ProxyOptions
    /// Name lookups.
    let threadPool: NIOThreadPool
    /// Leak scans of request bodies: a pool of their own, so queued scans never hold up a lookup
    /// (found by review: a GET waited 131 s behind eight dense bodies).
    let scanPool: NIOThreadPool

    init(policy: EgressPolicy, engine: SecretEngine, resolver: AddressResolver, audit: AuditLog?, options: ProxyOptions, threadPool: NIOThreadPool, scanPool: NIOThreadPool) {
        _policy = policy; self.engine = engine; self.resolver = resolver; self.audit = audit; self.options = options
        self.threadPool = threadPool; self.scanPool = scanPool
    }

    /// Bumped on every reload: a connection keeps its copy of the policy until this moves, so a request
    /// reads one atomic instead of taking the lock the loops share.
    let generation = Atomic<Int>(0)

    var policy: EgressPolicy {
        get { lock.lock(); defer { lock.unlock() }; return _policy }
        set { lock.lock(); _policy = newValue; generation.add(1, ordering: .releasing); lock.unlock() }
    }

    /// The policy and its generation, read together.
    func policySnapshot() -> (EgressPolicy, Int) {
        lock.lock(); defer { lock.unlock() }
        return (_policy, generation.load(ordering: .relaxed))
    }
    var openConnections: Int { lock.lock(); defer { lock.unlock() }; return _open }

    /// Counts a new connection in; false when the limit is reached.
    func admitConnection() -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard _open < options.maxConnections else { return false }
        _open += 1
        return true
    }
    func releaseConnection() { lock.lock(); _open -= 1; lock.unlock() }

    func reserveBody(_ n: Int) -> Bool {
        if n == 0 { return true }
        lock.lock(); defer { lock.unlock() }
        guard _heldBodies + n <= Self.bodyBudget else { return false }
        _heldBodies += n
        return true
    }
    func releaseBody(_ n: Int) {
        if n == 0 { return }
        lock.lock(); _heldBodies -= n; lock.unlock() }
}

/// `provenant guard proxy`: an HTTP/1.1 forward proxy and CONNECT tunnel that lets through only what
/// the agent manifest declares, dials exactly the address it checked, and blocks plaintext requests that
/// carry a secret before any byte goes upstream.
public final class EgressProxy: @unchecked Sendable {
    let shared: ProxyShared
    let manifestPath: String
    let group: MultiThreadedEventLoopGroup
    private var server: Channel?

    public init(manifestPath: String, engine: SecretEngine, resolver: AddressResolver, audit: AuditLog?, options: ProxyOptions) throws(InputError) {
        let manifest = try AgentManifest.load(manifestPath)
        // Its event loops, the listener, and a few connections at least.
        if let why = DescriptorHeadroom.shortfall(eventLoops: options.threads, for: "the proxy") {
            throw InputError(why)
        }
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let scans = NIOThreadPool(numberOfThreads: max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4)))
        scans.start()
        self.manifestPath = manifestPath
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
        self.shared = ProxyShared(policy: EgressPolicy(manifest: manifest), engine: engine, resolver: resolver, audit: audit,
                                  options: options, threadPool: pool, scanPool: scans)
    }

    /// Binds the listening socket; returns the bound address (the port may have been 0).
    public func start() throws -> SocketAddress {
        let shared = self.shared
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProxyConnection(shared: shared))
                }
            }
        let ch = try bootstrap.bind(host: shared.options.host, port: shared.options.port).wait()
        server = ch
        guard let local = ch.localAddress else { throw ProxyStartError(description: "no local address") }
        return local
    }

    /// Reads the manifest again and swaps the policy in; open tunnels keep running. A manifest that no
    /// longer loads leaves the old policy in force.
    @discardableResult
    public func reload() -> Result<Void, InputError> {
        do throws(InputError) {
            let m = try AgentManifest.load(manifestPath)
            shared.policy = EgressPolicy(manifest: m)
            return .success(())
        } catch { return .failure(error) }
    }

    public var openConnections: Int { shared.openConnections }

    /// Stops accepting, waits up to the drain timeout for open connections, then closes everything.
    public func shutdown() {
        try? server?.close().wait()
        let deadline = NIODeadline.now() + shared.options.drainTimeout
        while shared.openConnections > 0 && NIODeadline.now() < deadline { usleep(20_000) }
        try? group.syncShutdownGracefully()
        try? shared.threadPool.syncShutdownGracefully()
        try? shared.scanPool.syncShutdownGracefully()
        // Lines still waiting for their loop's turn.
        shared.audit?.flush()
    }

    /// Blocks until SIGTERM or SIGINT (graceful shutdown); SIGHUP reloads the manifest. `watching` runs
    /// once all three are watched, so a signal sent after it (a supervisor waiting for the ready line,
    /// then reloading) is never lost: libdispatch sets its watch up on a thread of its own, after the
    /// signals are already ignored.
    /// When libdispatch could not open its watch (no descriptor left: it still calls the registration
    /// handler), the proxy would ignore SIGTERM for good: that is an error, and nothing is served.
    public func runUntilSignalled(watching: @escaping @Sendable () -> Void = {},
                                  onReload: @escaping @Sendable (Result<Void, InputError>) -> Void) throws(ProxyStartError) {
        let queue = DispatchQueue(label: "provenant-guard-signals")
        let done = DispatchSemaphore(value: 0)
        let registered = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        let signals = [SIGTERM, SIGINT, SIGHUP]
        // Opened first, so that counting the watches needs no descriptor once they are open.
        let fdList = opendir("/proc/self/fd")
        let listError = fdList == nil ? errno : 0
        // No descriptor (or memory) for the listing: none for the watches either. A listing denied or
        // absent (no /proc, a sandbox's rule) leaves the watch trusted.
        if fdList == nil && [EMFILE, ENFILE, ENOMEM].contains(listError) {
            shutdown()
            throw ProxyStartError(description: "cannot watch SIGTERM, SIGINT and SIGHUP: \(String(cString: strerror(listError)))")
        }
        let inherited = fdList.map(Self.signalDescriptors) ?? []
        for sig in signals {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { [self] in
                if sig == SIGHUP { onReload(self.reload()) } else { done.signal() }
            }
            s.setRegistrationHandler { registered.signal() }
            s.resume()
            sources.append(s)
        }
        for _ in signals { registered.wait() }
        // Linux's libdispatch watches each signal with a signalfd of its own: as many new ones as signals.
        // Without /proc there is nothing to count, and the watch is trusted.
        let watches = fdList.map { Self.signalDescriptors($0).subtracting(inherited).count } ?? signals.count
        if let fdList { closedir(fdList) }
        if watches < signals.count {
            sources.forEach { $0.cancel() }
            shutdown()
            throw ProxyStartError(description: "cannot watch SIGTERM, SIGINT and SIGHUP (\(watches) of \(signals.count) watches opened; is the open-file limit too low?)")
        }
        watching()
        done.wait()
        shutdown()
        sources.forEach { $0.cancel() }
    }
}

public struct ProxyStartError: Error, CustomStringConvertible { public var description: String }

extension EgressProxy {
    /// The signalfds this process holds, read from its `/proc/self/fd` listing, already open.
    static func signalDescriptors(_ list: OpaquePointer) -> Set<Int32> {
        rewinddir(list)
        let dirFD = dirfd(list)
        var out: Set<Int32> = []
        var buf = [CChar](repeating: 0, count: 64)
        while let ent = readdir(list) {
            let name = String(decoding: DirectoryEntry.name(ent), as: UTF8.self)
            guard let fd = Int32(name), fd != dirFD else { continue }
            let n = readlinkat(dirFD, name, &buf, buf.count - 1)
            if n > 0, String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == "anon_inode:[signalfd]" { out.insert(fd) }
        }
        return out
    }
}
