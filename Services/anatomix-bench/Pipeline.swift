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
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".png") }.sorted()
        let images = try files.map { try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent($0)) }
        let studies = (0..<copies).flatMap { c in images.enumerated().map { StudyMessage(studyID: "bench-\($0.offset)-c\(c)", image: .png($0.element), tasks: []) } }
        _ = try language.run(try steps.retrieval.run(try steps.perception.run(studies[0])))      // warm-up
        let start = DispatchTime.now().uptimeNanoseconds
        for study in studies { _ = try language.run(try steps.retrieval.run(try steps.perception.run(study))) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(#"{"bench": "pipeline", "impl": "in-process", "studies": \#(studies.count), "seconds": \#(seconds), "per_second": \#(Double(studies.count) / seconds)}"#)
    } catch {
        fail("\(error)")
    }
}
