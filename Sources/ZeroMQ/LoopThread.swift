import Foundation
import ServiceLifecycle
import Synchronization

/// Wakes a poll loop from any thread: the read end of a non-blocking pipe, which the loop polls beside its
/// sockets (``Poller/add(fileDescriptor:events:)``).
public final class WakeUp: Sendable {
    /// The descriptor the loop polls for reading.
    public let descriptor: Int32
    private let writeDescriptor: Int32

    /// The errno of a pipe that could not be made (no descriptor left), or 0; a thread with such a wake-up does not
    /// start (``LoopThread/start(_:)-(_)`` throws).
    public let failure: Int32

    public init() {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            failure = errno
            descriptor = -1
            writeDescriptor = -1
            return
        }
        failure = 0
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        descriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    /// Makes ``descriptor`` readable. Safe from any thread; a full pipe already wakes the loop.
    public func signal() {
        guard failure == 0 else { return }
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Empties the pipe; the loop calls it when it wakes.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(descriptor, &buffer, buffer.count) > 0 {}
    }

    deinit {
        guard failure == 0 else { return }
        close(descriptor)
        close(writeDescriptor)
    }
}

/// What a loop running on a ``LoopThread`` is told: whether it should stop, and the wake-up that says so at once.
public final class LoopControl: Sendable {
    private let stopFlag = Atomic<Bool>(false)
    /// Polled by the loop beside its sockets; signalled by ``requestStop()`` and by whoever has work for the loop.
    public let wakeUp: WakeUp

    init(wakeUp: WakeUp) { self.wakeUp = wakeUp }

    /// Whether the loop was asked to finish. It finishes its current step, sends what it owes (its linger bounds
    /// that), closes its sockets and returns.
    public var isStopRequested: Bool { stopFlag.load(ordering: .acquiring) }

    /// Asks the loop to finish; it sees it at once (its poll wakes up).
    public func requestStop() {
        stopFlag.store(true, ordering: .releasing)
        wakeUp.signal()
    }
}

/// An error of a ``LoopThread``: it could not be started.
public struct LoopThreadError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The one thread of a component that owns its ZeroMQ sockets and runs its poll loop.
///
/// ZeroMQ sockets belong to the thread that made them, so the loop is built on this thread: `start` runs a body
/// there that makes the sockets (binds, connects), reports ``Setup/ready(_:)`` or throws, and then runs the loop
/// until its ``LoopControl`` asks it to stop. Starting waits only for that hand-shake (a synchronous ``start(_:)``
/// for embedding and tests, an `async` one that never blocks a cooperative thread). Stopping is graceful first: the
/// loop is woken and finishes what it owes; if it has not ended within a grace period, its context is shut down,
/// every blocking call in it fails with ETERM (``ZMQError/isContextTerminated``) and it must return. The thread's
/// end can be awaited (``finished()``) or joined (``join()``).
public final class LoopThread<Ready: Sendable>: Sendable {
    /// Passed to the body: report readiness once, then run the loop.
    public struct Setup: Sendable {
        fileprivate let thread: LoopThread<Ready>
        /// The loop's control: poll ``LoopControl/wakeUp`` and stop when ``LoopControl/isStopRequested``.
        public var control: LoopControl { thread.control }
        /// Says the loop is ready (its sockets are made and bound), with what the starter needs to know.
        public func ready(_ value: Ready) { thread.settle(.success(value)) }
    }

    private enum Phase {
        case idle
        case starting([CheckedContinuation<Ready, any Error>])
        case running(Ready)
        case failed(any Error)
        case ended
    }

    private struct State {
        var phase: Phase = .idle
        var context: Context?
        var startedWaiters: [DispatchSemaphore] = []
        var endWaiters: [CheckedContinuation<Void, Never>] = []
        var threadEnded = false
        var outcome: Result<Ready, any Error>?
    }

    public let name: String
    public let control: LoopControl
    private let state = Mutex(State())
    private let ended = DispatchSemaphore(value: 0)

    /// A thread that has not started; when no descriptor is left for its wake-up pipe, starting it throws.
    public init(name: String) {
        self.name = name
        self.control = LoopControl(wakeUp: WakeUp())
    }

    /// The error that keeps the thread from starting, if any: no wake-up pipe.
    private var unstartable: LoopThreadError? {
        let failure = control.wakeUp.failure
        guard failure != 0 else { return nil }
        return LoopThreadError("cannot make the wake-up pipe of \(name): \(String(cString: strerror(failure)))")
    }

    /// The context a forced stop shuts down; the loop sets it when it has made it.
    public func use(_ context: Context) {
        state.withLock { $0.context = context }
    }

    /// Starts the thread and waits (blocking) until the body says it is ready, or failed.
    @discardableResult
    public func start(_ body: @escaping @Sendable (Setup) throws -> Void) throws -> Ready {
        if let unstartable { throw unstartable }
        let semaphore = DispatchSemaphore(value: 0)
        let launch = state.withLock { state -> Bool in
            if case .idle = state.phase {
                state.phase = .starting([])
                state.startedWaiters.append(semaphore)
                return true
            }
            if case .starting = state.phase {
                state.startedWaiters.append(semaphore)
            } else {
                semaphore.signal()
            }
            return false
        }
        if launch { spawn(body) }
        semaphore.wait()
        return try outcome()
    }

    /// Starts the thread and awaits its readiness without blocking the caller's thread.
    @discardableResult
    public func start(_ body: @escaping @Sendable (Setup) throws -> Void) async throws -> Ready {
        if let unstartable { throw unstartable }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Ready, any Error>) in
            let (launch, known) = state.withLock { state -> (Bool, Result<Ready, any Error>?) in
                switch state.phase {
                case .idle:
                    state.phase = .starting([continuation])
                    return (true, nil)
                case .starting(var waiting):
                    waiting.append(continuation)
                    state.phase = .starting(waiting)
                    return (false, nil)
                case .running(let ready): return (false, .success(ready))
                case .failed(let error): return (false, .failure(error))
                case .ended: return (false, .failure(LoopThreadError("\(self.name) has already ended")))
                }
            }
            if launch { spawn(body) }
            if let known { continuation.resume(with: known) }
        }
    }

    private func outcome() throws -> Ready {
        switch state.withLock({ $0.outcome }) {
        case .success(let ready): return ready
        case .failure(let error): throw error
        case nil: throw LoopThreadError("\(name) ended before it was ready")
        }
    }

    private func spawn(_ body: @escaping @Sendable (Setup) throws -> Void) {
        let thread = Thread { [self] in
            Self.nameCurrentThread(name)
            do {
                try body(Setup(thread: self))
                settle(.failure(LoopThreadError("\(name) returned before it was ready")))  // no-op if it was
            } catch {
                settle(.failure(error))
            }
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.threadEnded = true
                if case .running = state.phase { state.phase = .ended }
                defer { state.endWaiters.removeAll() }
                return state.endWaiters
            }
            for waiter in waiters { waiter.resume() }
            ended.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Gives the running thread `name` (its first 15 bytes, the kernel's limit) where the system shows threads:
    /// `top -H`, `ps -L`, `perf`, `/proc/<pid>/task/<tid>/comm`. A thread otherwise keeps the name of the thread
    /// that started it, often one of libdispatch's workers. Written to `/proc/thread-self/comm` (what
    /// `pthread_setname_np` does on Linux, which Swift's Glibc module does not offer); elsewhere nothing happens.
    static func nameCurrentThread(_ name: String) {
        #if os(Linux)
        var bytes = Array(name.utf8.prefix(15))
        // Cut at a character boundary, so that the kernel never holds half of one.
        while !bytes.isEmpty, String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        #endif
    }

    /// Records readiness or failure once, and lets the starters go on.
    fileprivate func settle(_ result: Result<Ready, any Error>) {
        let (continuations, semaphores) = state.withLock { state -> ([CheckedContinuation<Ready, any Error>], [DispatchSemaphore]) in
            guard case .starting(let waiting) = state.phase else { return ([], []) }
            state.outcome = result
            switch result {
            case .success(let ready): state.phase = .running(ready)
            case .failure(let error): state.phase = .failed(error)
            }
            defer { state.startedWaiters.removeAll() }
            return (waiting, state.startedWaiters)
        }
        for continuation in continuations { continuation.resume(with: result) }
        for semaphore in semaphores { semaphore.signal() }
    }

    /// What a component's `Service.run()` does: starts the loop (if not yet), waits for its end without blocking a
    /// thread, and turns a graceful shutdown of the service group, or the cancellation of the task, into a stop
    /// request. Returns when the thread has ended.
    public func runAsService(_ body: @escaping @Sendable (Setup) throws -> Void) async throws {
        try await start(body)
        await withTaskCancellationOrGracefulShutdownHandler {
            await self.finished()
        } onCancelOrGracefulShutdown: {
            self.requestStop()
        }
        await finished()
    }

    /// Asks the loop to finish (at once: it is woken). Safe from any thread, more than once.
    public func requestStop() { control.requestStop() }

    /// Shuts the loop's context down: every blocking call of the loop fails with ETERM and it must return.
    public func forceStop() {
        state.withLock { $0.context }?.shutdown()
    }

    /// Whether the thread has ended (or never started).
    public var hasEnded: Bool {
        state.withLock { state in
            if case .idle = state.phase { return true }
            return state.threadEnded
        }
    }

    /// Awaits the end of the thread without blocking the caller's thread.
    public func finished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if case .idle = state.phase { return true }
                if state.threadEnded { return true }
                state.endWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Blocks until the thread has ended (at once if it never started).
    public func join() {
        guard !hasEnded else { return }
        ended.wait()
        ended.signal()  // let other joiners through
    }

    /// Asks the loop to finish, waits up to `grace` for it, then forces it (context shutdown) and joins.
    public func stop(grace: Duration = .seconds(10)) {
        requestStop()
        guard !hasEnded else { return }
        let nanoseconds = grace.components.seconds * 1_000_000_000 + grace.components.attoseconds / 1_000_000_000
        if ended.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success {
            ended.signal()
            return
        }
        forceStop()
        join()
    }
}
