import Foundation

/// A dense, row-major fp32 tensor with value semantics.
///
/// Storage is always contiguous; `strides` are derived from `shape`. Views that would need other
/// strides (transposes, slices) are materialised by the op that makes them, so every kernel can
/// assume contiguous rows.
public struct Tensor: Sendable, Equatable {
    /// Dimensions, outermost first. A scalar has shape `[]`.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `storage.count == shape.product`.
    public var storage: [Float]

    /// A tensor over `storage` with the given shape.
    public init(shape: [Int], storage: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor whose elements are `body(flatIndex)`.
    public init(shape: [Int], generator body: (Int) -> Float) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, storage: (0..<count).map(body))
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Row-major strides in elements.
    public var strides: [Int] { Tensor.strides(for: shape) }

    static func strides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Size of `axis`; negative axes count from the end.
    public func dim(_ axis: Int) -> Int { shape[normalized(axis)] }

    func normalized(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < rank, "axis \(axis) out of range for rank \(rank)")
        return resolved
    }

    /// The same elements under a new shape; one dimension may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[hole] = count / known
        }
        return Tensor(shape: resolved, storage: storage)
    }

    /// Element at a multi-index (for tests and small lookups, not for hot loops).
    public subscript(_ index: Int...) -> Float {
        get { storage[offset(of: index)] }
        set { storage[offset(of: index)] = newValue }
    }

    func offset(of index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) for shape \(shape)")
        var offset = 0
        for (axis, stride) in strides.enumerated() {
            precondition(index[axis] >= 0 && index[axis] < shape[axis], "index \(index) out of bounds \(shape)")
            offset += index[axis] * stride
        }
        return offset
    }

    /// Rows `range` of the outermost dimension.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) of \(shape)")
        let width = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(),
                      storage: Array(storage[(range.lowerBound * width)..<(range.upperBound * width)]))
    }

    /// The 2-D transpose of a `[M, N]` tensor.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a matrix, got \(shape)")
        let (m, n) = (shape[0], shape[1])
        var out = [Float](repeating: 0, count: count)
        storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<m { for j in 0..<n { dst[j * m + i] = src[i * n + j] } }
            }
        }
        return Tensor(shape: [n, m], storage: out)
    }

    /// Concatenation along the outermost dimension; all trailing dimensions must agree.
    public static func concatenate(rows parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenate needs at least one tensor")
        let tail = Array(parts[0].shape.dropFirst())
        precondition(parts.allSatisfy { Array($0.shape.dropFirst()) == tail }, "mismatched shapes \(parts.map(\.shape))")
        return Tensor(shape: [parts.map { $0.shape[0] }.reduce(0, +)] + tail, storage: parts.flatMap(\.storage))
    }

    /// `[B, C1, ...]` and `[B, C2, ...]` -> `[B, C1 + C2, ...]` (channels of `a` first, as `torch.cat(dim=1)`).
    public static func concatenate(channels a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.rank >= 2 && a.rank == b.rank && a.shape[0] == b.shape[0] && a.shape.dropFirst(2) == b.shape.dropFirst(2),
                     "channel concatenation of \(a.shape) and \(b.shape)")
        let batch = a.shape[0], perA = a.count / max(batch, 1), perB = b.count / max(batch, 1)
        var out = [Float]()
        out.reserveCapacity(a.count + b.count)
        for i in 0..<batch {
            out += a.storage[(i * perA)..<((i + 1) * perA)]
            out += b.storage[(i * perB)..<((i + 1) * perB)]
        }
        var shape = a.shape
        shape[1] += b.shape[1]
        return Tensor(shape: shape, storage: out)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = storage.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 8 ? ", ..." : "")])"
    }
}
