public import Contracts
import Dispatch
import Foundation
import Imaging

/// The perception worker's logic, free of transport: `cxr.studies.v1` -> `cxr.anatomy.v1`. Every
/// problem with the input is a `ContractError` (dead-letter code + reason); the tasks are checked
/// before the model runs.
public struct PerceptionStep: Sendable {
    /// How the image becomes the model's input (Imaging/Letterbox: centred, padded, scaled).
    public static let preprocessing = "letterbox-v1"

    public let stage: PerceptionStage
    public let images: StudyImageSource

    public init(stage: PerceptionStage, images: StudyImageSource) { (self.stage, self.images) = (stage, images) }

    public var model: ModelID { ModelID(name: stage.card.name, version: stage.card.version) }

    /// `imageName` labels image errors (default: the study id; `analyze` gives the file's path).
    public func run(_ study: StudyMessage, imageName: String? = nil) throws(ContractError) -> AnatomyMessage {
        let names = stage.catalog.anatomies.map(\.name)
        var tasks = [StudyTask]()
        for request in study.tasks { tasks.append(try StudyTask(request: request, anatomies: names)) }
        let started = DispatchTime.now().uptimeNanoseconds
        let bytes = try images.bytes(of: study.image)
        let picture = try images.decode(bytes, name: imageName ?? "study \(study.studyID)")
        for task in tasks { try task.checkBox(width: picture.width, height: picture.height) }
        let perception: Perception
        do { perception = try stage.perceive(picture) } catch {
            throw ContractError(.processingFailed, "perception of study \(study.studyID) failed: \(error)")
        }
        let requests = tasks.map(\.request)
        let imageDigest = Digest.sha256Hex(bytes)
        let taskDigest = (try? MessageCodec.encode(requests)).map(Digest.sha256Hex) ?? ""
        let id = MessageID.make(studyID: study.studyID, stage: "perception", modelVersion: stage.card.version,
                                inputDigest: imageDigest + taskDigest)
        let anatomies = perception.anatomies.map {
            AnatomyMessage.Anatomy(index: $0.index, name: $0.name, box: $0.box, canvasBox: perception.canvasBoxes[$0.index], token: $0.token)
        }
        return AnatomyMessage(id: id, studyID: study.studyID,
                              image: .init(width: perception.width, height: perception.height, sha256: imageDigest),
                              canvas: perception.canvas, anatomies: anatomies, labels: perception.labels,
                              imageTokens: HalfTensor(shape: perception.imageFeatureShape, values: perception.imageFeatures),
                              tasks: requests, metadata: study.metadata, model: model, preprocessing: Self.preprocessing,
                              timings: .init(perceptionSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9, backboneSeconds: perception.backboneSeconds,
                                             transformerSeconds: perception.transformerSeconds))
    }
}
