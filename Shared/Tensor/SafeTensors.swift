import Foundation

/// Errors reading or writing a `.safetensors` file; every case names the file.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Element types a safetensors file may hold. Float types convert to fp32 on load.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u8 = "U8"

    public var byteSize: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16: 2
        case .i64: 8
        case .u8: 1
        }
    }

    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 }
}

/// One tensor's entry in the header.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range inside the data section.
    public let byteRange: Range<Int>
}

/// A memory-mapped `.safetensors` file (https://github.com/huggingface/safetensors format:
/// little-endian u64 header length, JSON header, raw data). The header is fully validated on open;
/// tensors are converted to fp32 on demand.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let entries: [String: SafeTensorsEntry]
    public let metadata: [String: String]
    private let mapping: MappedFile
    private let dataOffset: Int

    /// Largest JSON header accepted (the format's own reference reader caps it at 100 MB).
    public static let maximumHeaderBytes = 100 << 20

    /// Tensor names in file order.
    public var names: [String] { entries.values.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }.map(\.name) }

    public init(path: String) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        let fail = { (reason: String) in SafeTensorsError(path: path, reason: reason) }
        guard mapping.count >= 8 else { throw fail("file is \(mapping.count) bytes, too short for a safetensors header (truncated?)") }
        let declared = UInt64(littleEndian: mapping.bytes.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(Self.maximumHeaderBytes) else {
            throw fail("header length \(declared) is over the \(Self.maximumHeaderBytes >> 20) MB limit (corrupt or not safetensors)")
        }
        guard declared > 1, declared <= UInt64(mapping.count - 8) else {
            throw fail("header length \(declared) does not fit in a \(mapping.count)-byte file (truncated or not safetensors)")
        }
        let headerLength = Int(declared)
        dataOffset = 8 + headerLength
        let headerData = Data(UnsafeRawBufferPointer(rebasing: mapping.bytes[8..<dataOffset]))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("header is not a JSON object (corrupt file?)")
        }
        var entries = [String: SafeTensorsEntry]()
        var metadata = [String: String]()
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            entries[name] = try Self.entry(name: name, value: value, dataSize: mapping.count - dataOffset, fail: fail)
        }
        // The data section is the tensors back to back, from byte 0 to its end: no overlap, no gap.
        let ranges = entries.values.map(\.byteRange).sorted { ($0.lowerBound, $0.upperBound) < ($1.lowerBound, $1.upperBound) }
        var end = 0
        for range in ranges {
            guard range.lowerBound >= end else { throw fail("tensors overlap at bytes \(range.lowerBound)..<\(end) (corrupt header)") }
            guard range.lowerBound == end else { throw fail("data bytes \(end)..<\(range.lowerBound) belong to no tensor (corrupt header)") }
            end = range.upperBound
        }
        guard end == mapping.count - dataOffset else {
            throw fail("the tensors end at data byte \(end) but the data section has \(mapping.count - dataOffset) bytes (truncated or corrupt)")
        }
        self.entries = entries
        self.metadata = metadata
    }

    private static func entry(name: String, value: Any, dataSize: Int,
                              fail: (String) -> SafeTensorsError) throws -> SafeTensorsEntry {
        guard let fields = value as? [String: Any], let dtypeName = fields["dtype"] as? String,
              let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
        else { throw fail("tensor '\(name)' has a malformed header entry") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail("tensor '\(name)' has unsupported dtype \(dtypeName) (supported: \(SafeTensorsDType.allCases.map(\.rawValue)))")
        }
        guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] >= offsets[0] else {
            throw fail("tensor '\(name)' has invalid shape \(shape) or offsets \(offsets)")
        }
        var expected = shape.contains(0) ? 0 : dtype.byteSize   // checked: a crafted shape must not wrap around
        for side in shape where expected > 0 {
            let (product, overflow) = expected.multipliedReportingOverflow(by: side)
            guard !overflow, product <= dataSize else {
                throw fail("tensor '\(name)' \(dtypeName)\(shape) needs more than the file's \(dataSize) data bytes (truncated or corrupt header)")
            }
            expected = product
        }
        guard offsets[1] - offsets[0] == expected else {
            throw fail("tensor '\(name)' \(dtypeName)\(shape) needs \(expected) bytes but its offsets span \(offsets[1] - offsets[0])")
        }
        guard offsets[1] <= dataSize else {
            throw fail("tensor '\(name)' ends at data byte \(offsets[1]) but the file has only \(dataSize) data bytes (truncated)")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
    }

    /// The tensor `name` converted to fp32.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw SafeTensorsError(path: path, reason: "no tensor named '\(name)'") }
        guard entry.dtype.isFloatingPoint else {
            throw SafeTensorsError(path: path, reason: "tensor '\(name)' is \(entry.dtype.rawValue), not a floating-point tensor")
        }
        let count = entry.shape.reduce(1, *)
        let raw = UnsafeRawBufferPointer(rebasing: mapping.bytes[(dataOffset + entry.byteRange.lowerBound)..<(dataOffset + entry.byteRange.upperBound)])
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch entry.dtype {
            case .f32:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f16:
                for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .bf16:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            default:
                preconditionFailure("unreachable: checked isFloatingPoint")
            }
            initialized = count
        }
        return Tensor(shape: entry.shape, storage: values)
    }
}

/// A read-only `mmap` of a whole file, unmapped on deinit.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer
    var count: Int { bytes.count }

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafeTensorsError(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(info.st_size)
        guard size > 0 else { bytes = UnsafeRawBufferPointer(start: nil, count: 0); return }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SafeTensorsError(path: path, reason: "cannot mmap: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
