import Foundation
import PropertyBased
import Testing
@testable import Tensor

/// The safetensors reader on random files: whatever the bytes, it returns tensors or throws
/// SafeTensorsError, never traps; a header it accepts describes exactly the data it has.
@Suite struct SafeTensorsPropertyTests {
    static func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prop-\(UUID().uuidString).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Opens `bytes`; true when accepted. Any error other than SafeTensorsError fails the test.
    static func opens(_ bytes: [UInt8]) throws -> Bool {
        let path = try write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let file = try SafeTensorsFile(path: path)
            for name in file.names where file.entries[name]!.dtype.isFloatingPoint { _ = try file.tensor(name) }
            return true
        } catch is SafeTensorsError {
            return false
        }
    }

    @Test func randomBytesNeverTrap() async {
        // a random u64 length, or a plausible one in front of random (sometimes JSON-like) bytes
        let noise = Gen.uint8().array(of: 0...96), json = Gen.element(of: Array(#"{}[]":,0123456789FUI"#.utf8)).array(of: 0...64)
        await propertyCheck(count: 400, input: noise, json, Gen.int(in: -1...64)) { bytes, text, length in
            #expect(throws: Never.self) { _ = try Self.opens(bytes) }
            var framed = [UInt8]()
            withUnsafeBytes(of: UInt64(length < 0 ? text.count : length).littleEndian) { framed += $0 }
            #expect(throws: Never.self) { _ = try Self.opens(framed + text.compactMap { $0 } + bytes) }
        }
    }

    @Test func randomHeadersAreAcceptedExactlyWhenTheyDescribeTheData() async {
        let dtypes = Gen.element(of: [("F32", 4), ("F16", 2), ("BF16", 2), ("U8", 1), ("I64", 8)]).compactMap { $0 }
        await propertyCheck(count: 300, input: dtypes, Gen.int(in: 0...5).array(of: 0...3), Gen.int(in: -3...3), Gen.int(in: 0...8)) {
            dtype, shape, skew, extra in
            let bytes = shape.reduce(dtype.1, *)
            let end = max(0, bytes + skew)                         // skew != 0: offsets that disagree with the shape
            let header = #"{"t":{"dtype":"\#(dtype.0)","shape":\#(shape),"data_offsets":[0,\#(end)]}}"#
            var file = [UInt8]()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file += $0 }
            file += Array(header.utf8) + [UInt8](repeating: 0x3C, count: end + extra)
            let accepted = try Self.opens(file)
            #expect(accepted == (end == bytes && extra == 0), "\(dtype.0)\(shape) offsets 0..<\(end), \(extra) extra bytes")
        }
    }
}
