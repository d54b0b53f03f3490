import Foundation
import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    FuzzTarget.tokenizers.run(start.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}
