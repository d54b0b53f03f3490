import Foundation
import Testing
@testable import Messaging

/// The librdkafka layer against librdkafka's in-process mock cluster (no broker): produce with
/// delivery reports, keys and headers, group consumption, offsets committed only for records marked
/// processed, two members splitting the partitions, configuration errors.
@Suite(.serialized) struct KafkaMockClusterTests {
    static func configuration(_ cluster: RDKafkaMockCluster, client: String, group: String? = nil) -> KafkaConfiguration {
        var c = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, clientID: client, groupID: group)
        c.sessionTimeout = 6
        c.deliveryTimeout = 20
        return c
    }

    /// Polls until `count` records arrived or `seconds` passed.
    func consume(_ consumers: [KafkaConsumer], count: Int, seconds: Double, mark: Bool = true) throws -> [[IncomingRecord]] {
        var got = Array(repeating: [IncomingRecord](), count: consumers.count)
        let deadline = Date().addingTimeInterval(seconds)
        while got.map(\.count).reduce(0, +) < count, Date() < deadline {
            for (i, c) in consumers.enumerated() {
                if let r = try c.poll(timeout: 0.1) {
                    got[i].append(r)
                    if mark { try c.markProcessed(r) }
                }
            }
        }
        return got
    }

    @Test func producedRecordsArriveWithKeysHeadersAndOrder() throws {
        let cluster = try RDKafkaMockCluster(brokers: 3)
        try cluster.createTopic("studies", partitions: 4)
        let producer = try KafkaProducer(configuration: Self.configuration(cluster, client: "p"))
        let sent = (0..<40).map { OutgoingRecord(topic: "studies", key: "study-\($0 % 5)", value: Data("value-\($0)".utf8),
                                                 headers: ["schema": "cxr.studies.v1", "trace-id": "t\($0)"]) }
        try producer.send(sent)
        let consumer = try KafkaConsumer(configuration: Self.configuration(cluster, client: "c", group: "g1"), topics: ["studies"])
        let got = try consume([consumer], count: 40, seconds: 30)[0]
        #expect(got.count == 40)
        #expect(Set(got.map { String(decoding: $0.value, as: UTF8.self) }) == Set(sent.map { String(decoding: $0.value, as: UTF8.self) }))
        for r in got {
            let i = Int(String(decoding: r.value, as: UTF8.self).dropFirst("value-".count))!
            #expect(r.key == "study-\(i % 5)" && r.headers["trace-id"] == "t\(i)" && r.headers["schema"] == "cxr.studies.v1")
        }
        for key in Set(got.compactMap(\.key)) {
            let values = got.filter { $0.key == key }.map { Int(String(decoding: $0.value, as: UTF8.self).dropFirst(6))! }
            #expect(values == values.sorted(), "one key, one partition, in order")
            #expect(Set(got.filter { $0.key == key }.map(\.partition)).count == 1)
        }
        consumer.close()
        producer.close()
        withExtendedLifetime(cluster) {}             // the clients' broker lives to the end
    }

    @Test func lagCountsTheRecordsNotYetConsumedAndJoiningIsReported() throws {
        let cluster = try RDKafkaMockCluster(brokers: 1)
        try cluster.createTopic("lagging", partitions: 1)
        let producer = try KafkaProducer(configuration: Self.configuration(cluster, client: "p"))
        try producer.send((0..<20).map { OutgoingRecord(topic: "lagging", key: "k", value: Data([UInt8($0)])) })
        var c = Self.configuration(cluster, client: "c", group: "lag")
        c.prefetchKilobytes = 1                              // fetch little ahead, so the position trails the watermark
        let consumer = try KafkaConsumer(configuration: c, topics: ["lagging"])
        #expect(!consumer.hasJoinedGroup && consumer.lag() == nil, "no assignment yet")
        let first = try consume([consumer], count: 5, seconds: 30)[0]
        #expect(first.count == 5 && consumer.hasJoinedGroup)
        let lag = try #require(consumer.lag())
        #expect(lag == 15, "20 produced, 5 consumed")
        _ = try consume([consumer], count: 15, seconds: 30)
        #expect(consumer.lag() == 0)
        consumer.close()
        producer.close()
        withExtendedLifetime(cluster) {}
    }

    @Test func onlyRecordsMarkedProcessedAreCommitted() throws {
        let cluster = try RDKafkaMockCluster(brokers: 1)
        try cluster.createTopic("work", partitions: 1)
        let producer = try KafkaProducer(configuration: Self.configuration(cluster, client: "p"))
        try producer.send((0..<10).map { OutgoingRecord(topic: "work", key: "k", value: Data([UInt8($0)])) })
        let first = try KafkaConsumer(configuration: Self.configuration(cluster, client: "c1", group: "g2"), topics: ["work"])
        let seen = try consume([first], count: 10, seconds: 30, mark: false)[0]
        #expect(seen.count == 10)
        for r in seen.prefix(4) { try first.markProcessed(r) }
        first.close()                                   // commits offset 4: records 4... were never processed
        let second = try KafkaConsumer(configuration: Self.configuration(cluster, client: "c2", group: "g2"), topics: ["work"])
        let again = try consume([second], count: 6, seconds: 30)[0]
        #expect(again.map(\.offset) == Array(4..<10))
        second.close()
        producer.close()
        withExtendedLifetime(cluster) {}
    }

    @Test func twoMembersOfOneGroupSplitThePartitions() throws {
        let cluster = try RDKafkaMockCluster(brokers: 1)
        try cluster.createTopic("split", partitions: 4)
        let producer = try KafkaProducer(configuration: Self.configuration(cluster, client: "p"))
        let a = try KafkaConsumer(configuration: Self.configuration(cluster, client: "a", group: "g3"), topics: ["split"])
        let b = try KafkaConsumer(configuration: Self.configuration(cluster, client: "b", group: "g3"), topics: ["split"])
        _ = try consume([a, b], count: 1, seconds: 8)   // both join before the records exist
        try producer.send((0..<40).map { OutgoingRecord(topic: "split", key: "study-\($0)", value: Data("\($0)".utf8)) })
        let got = try consume([a, b], count: 40, seconds: 40)
        #expect(got[0].count + got[1].count == 40)
        #expect(!got[0].isEmpty && !got[1].isEmpty, "both members got partitions: \(got[0].count) / \(got[1].count)")
        #expect(Set(got[0].map(\.partition)).isDisjoint(with: Set(got[1].map(\.partition))))
        #expect(a.rebalanceCounts.assigned > 0 && b.rebalanceCounts.assigned > 0)
        a.close(); b.close(); producer.close()
        withExtendedLifetime(cluster) {}
    }

    /// librdkafka keeps a partition's pause flag across revoke and re-assignment; the consumer must
    /// apply its own pause state to whatever it is assigned, or a partition paused when it was
    /// revoked (a session lost while a full window paused fetching) comes back paused for good. And
    /// a partition assigned while the consumer is paused stays paused.
    @Test func aPartitionRevokedWhilePausedComesBackInTheConsumersCurrentState() throws {
        let cluster = try RDKafkaMockCluster(brokers: 1)
        try cluster.createTopic("paused", partitions: 2)
        let producer = try KafkaProducer(configuration: Self.configuration(cluster, client: "p"))
        let a = try KafkaConsumer(configuration: Self.configuration(cluster, client: "a", group: "g4"), topics: ["paused"])
        var readByA = [IncomingRecord]()                // what a's polls return while the group changes
        func pump(_ consumers: [KafkaConsumer], seconds: Double, until done: () -> Bool) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while !done(), Date() < deadline {
                for c in consumers { if let r = try c.poll(timeout: 0.05), c === a { readByA.append(r) } }
            }
        }
        func member(_ client: String) throws -> KafkaConsumer {
            try KafkaConsumer(configuration: Self.configuration(cluster, client: client, group: "g4"), topics: ["paused"])
        }
        /// A second member joins (taking one of a's partitions) and leaves again (giving it back).
        func borrowOne(resumingMeanwhile resume: Bool) throws {
            let before = a.rebalanceCounts
            let b = try member("b-\(resume)")
            try pump([a, b], seconds: 30) { b.rebalanceCounts.assigned >= 1 && a.rebalanceCounts.revoked > before.revoked }
            #expect(a.rebalanceCounts.revoked > before.revoked, "a partition moved to the second member")
            b.close()
            if resume { try a.resume() }                 // a resumes while the partition is away
            try pump([a], seconds: 30) { a.rebalanceCounts.assigned - a.rebalanceCounts.revoked == 2 }
            #expect(a.rebalanceCounts.assigned - a.rebalanceCounts.revoked == 2, "a holds both partitions again")
        }
        try pump([a], seconds: 30) { a.rebalanceCounts.assigned == 2 }
        #expect(a.rebalanceCounts.assigned == 2, "a alone holds both partitions")
        try a.pause()
        try borrowOne(resumingMeanwhile: false)
        try producer.send((0..<20).map { OutgoingRecord(topic: "paused", key: "study-\($0)", value: Data("\($0)".utf8)) })
        let whilePaused = try consume([a], count: 1, seconds: 3, mark: false)[0] + readByA
        #expect(whilePaused.isEmpty, "paused, the returned partition included: \(whilePaused.count) records read")
        try borrowOne(resumingMeanwhile: true)
        let early = readByA                              // read after the resume, while the partition was away
        let got = early + (try consume([a], count: 20 - early.count, seconds: 30)[0])
        #expect(Set(got.map { String(decoding: $0.value, as: UTF8.self) }).count == 20 && Set(got.map(\.partition)) == [0, 1],
                "both partitions are read again: \(Set(got.map(\.value)).count) of 20 records")
        a.close(); producer.close()
        withExtendedLifetime(cluster) {}
    }

    @Test func configurationErrorsNameTheSetting() {
        var c = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", clientID: "x")
        #expect { try KafkaConsumer(configuration: c, topics: ["t"]) } throws: { "\($0)".contains("group id") }
        c.groupID = "g"
        c.extra["no.such.property"] = "1"
        #expect { try KafkaConsumer(configuration: c, topics: ["t"]) } throws: { "\($0)".contains("no.such.property") }
        c.extra = [:]
        c.heartbeatInterval = 20
        #expect { try KafkaProducer(configuration: c) } throws: { "\($0)".contains("heartbeat") }
        let settings = KafkaConfiguration(bootstrapServers: "b:9092", clientID: "x", groupID: "g").librdkafkaSettings(.consumer)
        #expect(settings["enable.auto.offset.store"] == "false" && settings["group.id"] == "g")
        #expect(settings["queued.max.messages.kbytes"] == "32768" && settings["queued.min.messages"] == "64", "the prefetch is bounded")
        var tight = KafkaConfiguration(bootstrapServers: "b:9092", clientID: "x", groupID: "g")
        tight.prefetchKilobytes = 0
        #expect { try KafkaConsumer(configuration: tight, topics: ["t"]) } throws: { "\($0)".contains("prefetch") }
        let producer = KafkaConfiguration(bootstrapServers: "b:9092", clientID: "x").librdkafkaSettings(.producer)
        #expect(producer["enable.idempotence"] == "true" && producer["acks"] == "all")
        var plain = KafkaConfiguration(bootstrapServers: "b:9092", clientID: "x")
        plain.idempotence = false
        plain.extra = ["acks": "1", "request.required.acks": "1", "max.in.flight.requests.per.connection": "5", "max.in.flight": "5"]
        let unordered = plain.librdkafkaSettings(.producer)
        #expect(unordered["enable.idempotence"] == "false" && unordered["acks"] == "all" && unordered["max.in.flight.requests.per.connection"] == "1",
                "without idempotence acks stay all and one request is in flight, whatever `extra` says")
        #expect(unordered["request.required.acks"] == nil && unordered["max.in.flight"] == nil, "nor under librdkafka's other names")
        #expect(throws: Never.self) { try KafkaProducer(configuration: plain).close() }   // librdkafka takes the settings
    }
}
