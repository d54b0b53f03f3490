import Foundation
import Testing
@testable import Messaging

@Suite struct KafkaRuntimeTests {
    @Test func librdkafkaIsLinkedAndReportsItsVersion() {
        let text = KafkaRuntime.librdkafkaVersion
        let (major, minor, revision) = KafkaRuntime.librdkafkaVersionComponents
        #expect(text.hasPrefix("\(major).\(minor).\(revision)"), "version string \(text)")
        #expect(major == 2)
    }

    /// `make test` puts the confluent-kafka wheel's librdkafka first on LD_LIBRARY_PATH and sets
    /// ANATOMIX_EXPECT_LIBRDKAFKA; this proves the run-time swap the broker tests rely on.
    @Test func runtimeLibraryIsTheExpectedOne() throws {
        guard let expected = ProcessInfo.processInfo.environment["ANATOMIX_EXPECT_LIBRDKAFKA"] else { return }
        #expect(KafkaRuntime.librdkafkaVersion == expected)
        #expect(KafkaRuntime.canTalkToTansu)
    }
}
