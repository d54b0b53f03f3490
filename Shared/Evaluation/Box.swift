/// An axis-aligned box [x1, y1, x2, y2] in pixels (x2, y2 exclusive).
public struct Box: Codable, Sendable, Equatable {
    public var x1: Double, y1: Double, x2: Double, y2: Double

    public init(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) {
        (self.x1, self.y1, self.x2, self.y2) = (x1, y1, x2, y2)
    }

    /// nil unless `v` is four finite numbers (boxes from files are checked by their readers first).
    public init?(_ v: [Double]) {
        guard v.count == 4, v.allSatisfy(\.isFinite) else { return nil }
        self.init(v[0], v[1], v[2], v[3])
    }

    public var area: Double { max(x2 - x1, 0) * max(y2 - y1, 0) }

    public func intersection(_ o: Box) -> Double {
        max(min(x2, o.x2) - max(x1, o.x1), 0) * max(min(y2, o.y2) - max(y1, o.y1), 0)
    }

    public func iou(_ o: Box) -> Double {
        let inter = intersection(o)
        let union = area + o.area - inter
        return union > 0 ? inter / union : 0
    }
}
