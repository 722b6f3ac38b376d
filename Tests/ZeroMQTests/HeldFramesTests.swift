import Testing

@testable import ZeroMQ

@Suite(.timeLimit(.minutes(5)))
struct HeldFramesTests {
    /// Frames of every size, sent through a ring far smaller than their number to two subscribers, each arrive
    /// whole and in order at both: a frame the ring still holds is shared with libzmq's copies, not overwritten, and
    /// one whose slot came round is released only by the ring; frames too small or too large to hold go as they are.
    @Test func framesSentThroughASmallRingArriveWholeAtEverySubscriber() throws {
        let context = try Context()
        let publisher = try Socket(context, type: .xpub)
        try publisher.set(.xpubVerbose, true)  // both subscribers' (equal) subscriptions are passed up
        try publisher.bind("tcp://127.0.0.1:*")
        var subscribers: [Socket] = []
        for _ in 0..<2 {
            let subscriber = try Socket(context, type: .sub)
            try subscriber.subscribe("")
            try subscriber.connect(try publisher.lastEndpoint)
            subscribers.append(subscriber)
        }
        // Both subscriptions have reached the publisher when it has read both.
        var subscriptions = 0
        while subscriptions < 2, try publisher.receiveFrames() != nil { subscriptions += 1 }

        let held = HeldFrames(capacity: 3, maximumBytes: 1000)
        // Sizes below, at and above libzmq's 33 bytes kept inside the message, and a large one.
        let sizes = [0, 1, 33, 34, 300, 70_000]
        var sent: [[UInt8]] = []
        for round in 0..<5 {
            for size in sizes {
                let frame = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round &+ size) }
                try publisher.send([UInt8(round), UInt8(sizes.firstIndex(of: size)!)], more: true)
                #expect(try publisher.send(frame, holdingIn: held))
                sent.append(frame)
            }
        }
        for subscriber in subscribers {
            var received: [[UInt8]] = []
            while received.count < sent.count, let frames = try subscriber.receiveFrames() {
                #expect(frames.count == 2)
                received.append(frames[1])
            }
            #expect(received == sent)
        }
    }

    /// A frame that cannot be queued (no peer, without waiting) is refused as `send` refuses it, and the ring goes on.
    @Test func aFrameThatCannotBeQueuedIsRefusedAndTheRingGoesOn() throws {
        let context = try Context()
        let dealer = try Socket(context, type: .dealer)
        let held = HeldFrames(capacity: 2, maximumBytes: 1000)
        let frame = [UInt8](repeating: 7, count: 100)
        for _ in 0..<5 { #expect(try dealer.send(frame, wait: false, holdingIn: held) == false) }

        let router = try Socket(context, type: .router)
        try router.bind("inproc://held-frames")
        try dealer.connect("inproc://held-frames")
        #expect(try dealer.send(frame, holdingIn: held))
        let frames = try router.receiveFrames()
        #expect(frames?.count == 2)
        #expect(frames?.last == frame)
    }
}
