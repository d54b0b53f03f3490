import Contracts
import Foundation
import Imaging
import Pipeline
import Tensor

/// Studies/s of the three stage steps in one process (the in-process side of the streaming bench):
/// every PNG of `folder` `copies` times as a `cxr.studies.v1` message with no tasks, one thread.
func benchPipeline(model: String, folder: String, copies: Int) {
    do {
        ComputeThreads.set(1)
        let steps = try PipelineSteps(model: model, limits: PNGCodec.Limits())
        let language = try steps.language(loading: false)
        let studies = try benchStudies(folder: folder, copies: copies)
        _ = try language.run(try steps.retrieval.run(try steps.perception.run(studies[0])))      // warm-up
        let start = DispatchTime.now().uptimeNanoseconds
        for study in studies { _ = try language.run(try steps.retrieval.run(try steps.perception.run(study))) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(#"{"bench": "pipeline", "impl": "in-process", "studies": \#(studies.count), "seconds": \#(seconds), "per_second": \#(Double(studies.count) / seconds)}"#)
    } catch {
        fail("\(error)")
    }
}

/// Every PNG of `folder` `copies` times as a `cxr.studies.v1` message with no tasks (inline image).
func benchStudies(folder: String, copies: Int) throws -> [StudyMessage] {
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".png") }.sorted()
    let images = try files.map { try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent($0)) }
    guard copies > 0, !images.isEmpty else { fail("the bench needs at least one PNG in \(folder) and copies >= 1") }
    return (0..<copies).flatMap { c in images.enumerated().map { StudyMessage(studyID: "bench-\($0.offset)-c\(c)", image: .png($0.element), tasks: []) } }
}

/// Where the perception worker's time goes beyond the in-process step, per study (ms, one thread):
/// decoding the inline `cxr.studies.v1` JSON (base64 PNG included), the perception step itself, and
/// encoding its `cxr.anatomy.v1` message.
func benchCodec(model: String, folder: String, copies: Int) {
    do {
        ComputeThreads.set(1)
        let steps = try PipelineSteps(model: model, limits: PNGCodec.Limits())
        let wire = try benchStudies(folder: folder, copies: copies).map { try MessageCodec.encode($0) }
        _ = try MessageCodec.encode(try steps.perception.run(try MessageCodec.decode(StudyMessage.self, schema: StudyMessage.schema,
                                                                                      from: wire[0], maximumBytes: 1 << 26)))   // warm-up
        var decode = 0.0, perceive = 0.0, encode = 0.0
        func ms(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
        for data in wire {
            var t = DispatchTime.now().uptimeNanoseconds
            let study = try MessageCodec.decode(StudyMessage.self, schema: StudyMessage.schema, from: data, maximumBytes: 1 << 26)
            decode += ms(t); t = DispatchTime.now().uptimeNanoseconds
            let anatomy = try steps.perception.run(study)
            perceive += ms(t); t = DispatchTime.now().uptimeNanoseconds
            _ = try MessageCodec.encode(anatomy)
            encode += ms(t)
        }
        let n = Double(wire.count), bytes = wire.map(\.count).reduce(0, +) / wire.count
        print(#"{"bench": "codec", "studies": \#(wire.count), "study_message_bytes": \#(bytes), "decode_ms": \#(decode / n), "perception_ms": \#(perceive / n), "encode_ms": \#(encode / n)}"#)
    } catch {
        fail("\(error)")
    }
}
