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

    static let expected = ProcessInfo.processInfo.environment["ANATOMIX_EXPECT_LIBRDKAFKA"]

    /// `make test` puts the confluent-kafka wheel's librdkafka first on LD_LIBRARY_PATH and sets
    /// ANATOMIX_EXPECT_LIBRDKAFKA; this proves the run-time swap the broker tests rely on. A bare
    /// `swift test` reports it as skipped (with the reason) instead of passing without checking.
    @Test(.enabled(if: expected != nil, "ANATOMIX_EXPECT_LIBRDKAFKA is unset: run `make test-swift`"))
    func runtimeLibraryIsTheExpectedOne() throws {
        #expect(KafkaRuntime.librdkafkaVersion == Self.expected)
        #expect(KafkaRuntime.canTalkToTansu)
    }
}
