import ConduitCore
import ConduitJournal
import ConduitState
import ConduitTesting
import Foundation
import Testing

@testable import ConduitReplay

@Suite(.timeLimit(.minutes(5))) struct StateDiffReplayTests {
    @Test func theStoryIsValid() throws {
        let validator = EventValidator(scenario: .default)
        for event in Story.events { try validator.validate(event) }
    }

    /// The diff's ends are the states `state --seq` gives, and the fold in between adds what came and went.
    @Test func aDiffBySequenceHasTheStatesAtBothEndsAndWhatCameAndWentBetween() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let replay = StateReplay(directory: path)
        let (diff, reading) = try replay.diff(fromSequence: 3, toSequence: 7)
        let earlier = try replay.state(atSequence: 3)
        let later = try replay.state(atSequence: 7)
        let ends = StateDiff(from: earlier, to: later)
        #expect(diff.from == ends.from && diff.to == ends.to)
        #expect(diff.to.lastSequence == 7)
        #expect(diff.workItems == ends.workItems)
        #expect(diff.alertsRaised == ends.alertsRaised)
        #expect(diff.alertsCleared.map(\.key) == ends.alertsCleared.map(\.key))
        #expect(reading.lastSequence == 8, "the fold read one record past the end to know it ended")
        #expect(!reading.interrupted && reading.tail == nil)

        #expect(diff.workItems.map(\.item.id) == ["ganjiaba-water"])
        #expect(diff.workItems.first?.fromStatus == nil && diff.workItems.first?.toStatus == .inProgress)
        #expect(diff.workItems.first?.toPercent == 25)
        #expect(diff.outagesOpened.isEmpty)
        #expect(diff.outagesClosed.map(\.outage.key) == [Story.outageKey])
        #expect(diff.outagesClosed.first?.fromStatus == .noticed)
        // The short notice is a violation: it stays on the record after the restoration.
        #expect(!diff.alertsCleared.map(\.key).contains("short_notice/" + Story.outageKey))
        #expect(later.ledger["short_notice/" + Story.outageKey]?.isRaised == true)
        // The outage overran its window (until 17:00): the fold saw it still off at 17:30, and the restoration at
        // 18:30 cleared that and recorded the overrun.
        #expect(diff.alertsRaised.map(\.key).contains("outage_overrun/" + Story.outageKey))
        #expect(diff.alertsRaisedAndCleared.map(\.key) == ["outage_unrestored/" + Story.outageKey])
        #expect(diff.alertsRaisedAndCleared.first?.raisedAt == Story.time("2023-06-05T17:30:00+08:00"))
        #expect(diff.alertsRaisedAndCleared.first?.clearedAt == Story.time("2023-06-05T18:30:00+08:00"))
        #expect(diff.overall.to.percentComplete > diff.overall.from.percentComplete)
    }

    @Test func aDiffByTimeHasTheStatesAtBothTimes() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let replay = StateReplay(directory: path)
        let from = Story.time("2023-06-05T12:00:00+08:00")
        let to = Story.time("2023-06-05T20:00:00+08:00")
        let (diff, _) = try replay.diff(fromTime: from, toTime: to)
        let earlier = try replay.state(atTime: from)
        let later = try replay.state(atTime: to)
        #expect(diff.from == StateDiff.Moment(lastSequence: 5, now: from))
        #expect(diff.to == StateDiff.Moment(lastSequence: 7, now: to))
        let ends = StateDiff(from: earlier, to: later)
        #expect(diff.alertsRaised == ends.alertsRaised)
        #expect(diff.alertsCleared.map(\.key) == ends.alertsCleared.map(\.key))
        #expect(diff.outagesClosed.map(\.fromStatus) == [.started])
        // Households without power: 108 while the outage was on, none after.
        #expect(diff.overall.from.householdsAffectedNow == 108)
        #expect(diff.overall.to.householdsAffectedNow == 0)
        #expect(diff.communities["ganjiaba"]?.from.householdsAffectedNow == 108)
        #expect(diff.alertsRaisedAndCleared.map(\.key) == ["outage_unrestored/" + Story.outageKey])

        #expect(throws: ReplayError.self) { try replay.diff(fromTime: to, toTime: from) }
        #expect(throws: ReplayError.self) { try replay.diff(fromSequence: 5, toSequence: 4) }
    }

    /// The state at the earlier time is advanced to it, which raises alerts no event raised yet; the fold on from
    /// there clears them when the events come.
    @Test func alertsTheEarlierTimeRaisedAreClearedWithTheirTime() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let (diff, _) = try StateReplay(directory: path).diff(
            fromTime: Story.time("2023-06-01T00:00:00Z"), toTime: Story.time("2023-06-04T00:00:00Z"))
        let notStarted = try #require(diff.alertsCleared.first { $0.key == "behind_schedule/ganjiaba-power" })
        #expect(notStarted.raisedAt == Story.time("2023-06-01T00:00:00Z"))
        #expect(notStarted.clearedAt == Story.time("2023-06-01T00:00:00Z"))
        #expect(diff.alertsRaisedAndCleared.isEmpty)
    }

    @Test func anInterruptedDiffSaysSo() throws {
        let directory = TemporaryDirectory()
        let path = try Story.journal(in: directory)
        let (_, reading) = try StateReplay(directory: path).diff(fromSequence: 1, toSequence: 10, shouldStop: { true })
        #expect(reading.interrupted)
        #expect(reading.scanned == 0)
    }
}
