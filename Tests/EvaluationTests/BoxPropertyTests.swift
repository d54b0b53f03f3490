import PropertyBased
import Testing
@testable import Evaluation

/// Box arithmetic over random boxes, including empty and inverted ones.
@Suite struct BoxPropertyTests {
    static let coordinate = Gen.double(in: -50...550)

    @Test func iouIsSymmetricBoundedAndOneOnlyForTheSameBox() async {
        await propertyCheck(count: 500, input: Self.coordinate.array(of: 4), Self.coordinate.array(of: 4)) { a, b in
            let (p, q) = (Box(a)!, Box(b)!)
            let iou = p.iou(q)
            #expect(iou >= 0 && iou <= 1 && iou == q.iou(p), "\(a) \(b)")
            #expect(p.intersection(q) <= min(p.area, q.area) + 1e-9)
            if p.area > 0 { #expect(abs(p.iou(p) - 1) < 1e-12) }
            if p.area > 0, q.area > 0, p != q { #expect(iou < 1) }
        }
    }

    @Test func onlyFourFiniteNumbersMakeABox() async {
        let odd = Gen.element(of: [Double.nan, .infinity, -.infinity, 1]).compactMap { $0 }
        await propertyCheck(count: 200, input: Self.coordinate.array(of: 0...6), odd) { v, x in
            #expect((Box(v) != nil) == (v.count == 4))
            if v.count == 4 { #expect((Box(v.dropLast() + [x]) != nil) == x.isFinite) }
        }
    }
}
