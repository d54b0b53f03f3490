import Foundation
import Testing
@testable import Messaging

@Suite struct InProcessBusTests {
    func records(_ n: Int, topic: String = "t") -> [OutgoingRecord] {
        (0..<n).map { OutgoingRecord(topic: topic, key: "study-\($0 % 7)", value: Data("v\($0)".utf8), headers: ["schema": "x"]) }
    }

    func drain(_ c: any RecordConsumer, mark: Bool = true, limit: Int = .max) throws -> [IncomingRecord] {
        var out = [IncomingRecord]()
        while out.count < limit, let r = try c.poll(timeout: 0.05) {
            out.append(r)
            if mark { try c.markProcessed(r) }
        }
        return out
    }

    @Test func oneKeyStaysInOnePartitionInOrder() throws {
        let bus = InProcessBus(defaultPartitions: 4)
        try bus.send(records(40))
        let got = try drain(bus.consumer(group: "g", topics: ["t"]))
        #expect(got.count == 40)
        for key in Set(got.compactMap(\.key)) {
            let same = got.filter { $0.key == key }
            #expect(Set(same.map(\.partition)).count == 1)
            #expect(same.map(\.offset) == same.map(\.offset).sorted())
        }
        #expect(got.allSatisfy { $0.headers["schema"] == "x" })
    }

    @Test func onlyMarkedRecordsAreCommittedAndACrashRedeliversTheRest() throws {
        let bus = InProcessBus(defaultPartitions: 1)
        try bus.send(records(10))
        let a = bus.consumer(group: "g", topics: ["t"])
        let first = try drain(a, mark: false, limit: 6)
        for r in first.prefix(4) { try a.markProcessed(r) }
        try a.commit()
        a.crash()                                       // records 4 and 5 were in flight
        let b = bus.consumer(group: "g", topics: ["t"])
        let rest = try drain(b)
        #expect(rest.map(\.offset) == Array(4..<10))
        b.close()
        #expect(bus.committed(group: "g", topic: "t") == [10])
        #expect(try drain(bus.consumer(group: "other", topics: ["t"])).count == 10)   // another group reads everything
    }

    @Test func membersSplitPartitionsAndAPausedMemberGetsNothing() throws {
        let bus = InProcessBus(defaultPartitions: 4)
        let a = bus.consumer(group: "g", topics: ["t"]), b = bus.consumer(group: "g", topics: ["t"])
        try bus.send(records(40))
        let fromA = try drain(a), fromB = try drain(b)
        #expect(fromA.count + fromB.count == 40 && !fromA.isEmpty && !fromB.isEmpty)
        #expect(Set(fromA.map(\.partition)).isDisjoint(with: Set(fromB.map(\.partition))))
        try a.pause()
        try bus.send(records(8))
        #expect(try a.poll(timeout: 0.05) == nil)
        try a.resume()
        #expect(try drain(a).count + drain(b).count == 8)
    }

    @Test func injectedSendFailuresAreRetriable() throws {
        let bus = InProcessBus()
        bus.failNextSends(1)
        #expect { try bus.send(records(1)) } throws: { ($0 as? MessagingError)?.isRetriable == true }
        try bus.send(records(1))
        #expect(bus.records("t").count == 1)
    }
}
