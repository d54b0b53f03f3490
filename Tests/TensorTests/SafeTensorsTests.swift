import Foundation
import Testing
@testable import Tensor

@Suite struct SafeTensorsTests {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("anatomix-\(UUID().uuidString)-\(name)").path
    }

    @Test func roundTripF32AndF16() throws {
        let tensors = ["a.weight": randomTensor([3, 4], seed: 40), "b": Tensor(shape: [2], storage: [1.5, -2])]
        for stored in [SafeTensorsWriter.StoredType.f32, .f16] {
            let path = temporaryPath("rt.safetensors")
            defer { try? FileManager.default.removeItem(atPath: path) }
            try SafeTensorsWriter.write(tensors, to: path, metadata: ["format": "pt"], as: stored)
            let file = try SafeTensorsFile(path: path)
            #expect(Set(file.names) == ["a.weight", "b"])
            #expect(file.metadata["format"] == "pt")
            #expect(file.entries["a.weight"]?.dtype == (stored == .f32 ? .f32 : .f16))
            let a = try file.tensor("a.weight")
            #expect(a.shape == [3, 4])
            #expect(a.maxAbsDifference(tensors["a.weight"]!) <= (stored == .f32 ? 0 : 1e-3))
            #expect(try file.tensor("b").storage == [1.5, -2])
        }
    }

    @Test func readsBF16() throws {
        // Header for one BF16 tensor of two values: 1.0 (0x3F80) and -2.0 (0xC000).
        let header = Data(#"{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#.utf8)
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(header)
        bytes.append(contentsOf: [0x80, 0x3F, 0x00, 0xC0])
        let path = temporaryPath("bf16.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try SafeTensorsFile(path: path).tensor("x").storage == [1, -2])
    }

    @Test func truncatedFileNamesFileAndProblem() throws {
        let full = try SafeTensorsWriter.data(["w": randomTensor([64, 64], seed: 41)])
        let path = temporaryPath("trunc.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try full.prefix(full.count - 100).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
        #expect(error?.path == path)
        #expect(error?.reason.contains("truncated") == true)
    }

    @Test func corruptHeadersAreRejected() throws {
        let path = temporaryPath("bad.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (bad, reason) in [(Data([1, 2, 3]), "too short for a safetensors header"),
                              (Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + Data(repeating: 0, count: 20), "header length 65535 does not fit"),
                              (Data([4, 0, 0, 0, 0, 0, 0, 0]) + Data("nope".utf8), "header is not a JSON object")] {
            try bad.write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
            #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        }
        let missing = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path + ".missing") }
        #expect(missing?.reason.hasPrefix("cannot open") == true)
    }

    /// A file made of a raw 8-byte header length, `header` and `data`.
    func crafted(length: UInt64? = nil, header: String, data: [UInt8]) throws -> String {
        let path = temporaryPath("crafted.safetensors"), json = Data(header.utf8)
        var bytes = Data()
        withUnsafeBytes(of: (length ?? UInt64(json.count)).littleEndian) { bytes.append(contentsOf: $0) }
        try (bytes + json + Data(data)).write(to: URL(fileURLWithPath: path))
        return path
    }

    func reason(_ path: String) -> String? {
        defer { try? FileManager.default.removeItem(atPath: path) }
        return #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }?.reason
    }

    @Test func craftedHeadersGiveTheReasonNotATrap() throws {
        let one = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        // a header length with the top bit set was read as -1 (and trapped in debug builds)
        #expect(reason(try crafted(length: .max, header: one, data: [0, 0, 0, 0]))?.contains("header length 18446744073709551615 is over") == true)
        #expect(reason(try crafted(length: 2_000, header: one, data: []))?.contains("header length 2000 does not fit") == true)
        // a header over the cap in a file big enough to hold it (sparse: no disk used)
        let big = try crafted(length: UInt64(SafeTensorsFile.maximumHeaderBytes + 1), header: one, data: [])
        let handle = try #require(FileHandle(forWritingAtPath: big))
        try handle.truncate(atOffset: UInt64(SafeTensorsFile.maximumHeaderBytes + (1 << 20)))
        try handle.close()
        #expect(reason(big)?.contains("is over the 100 MB limit") == true)
        // a shape whose element count wraps around Int must not pass as "needs 0 bytes"
        let wrap = #"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#
        #expect(reason(try crafted(header: wrap, data: []))?.contains("needs more than the file's 0 data bytes") == true)
        let gap = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}"#
        #expect(reason(try crafted(header: gap, data: [1, 2, 3]))?.contains("data bytes 1..<2 belong to no tensor") == true)
        let overlap = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#
        #expect(reason(try crafted(header: overlap, data: [1, 2, 3]))?.contains("overlap") == true)
        #expect(reason(try crafted(header: one, data: [0, 0, 0, 0, 9]))?.contains("data section has 5 bytes") == true)
        let valid = try crafted(header: one, data: [0, 0, 0x80, 0x3F])
        defer { try? FileManager.default.removeItem(atPath: valid) }
        #expect(try SafeTensorsFile(path: valid).tensor("x").storage == [1])
    }
}
