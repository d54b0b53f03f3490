public import Contracts
import Foundation
public import Imaging
public import Models

/// The three stage steps of one model folder, as `analyze` and the workers load them.
public struct PipelineSteps: Sendable {
    public let model: String
    public let perception: PerceptionStep
    public let retrieval: RetrievalStep

    /// `imageRoot`: where `file://` images may lie (nil: inline images only).
    public init(model: String, limits: PNGCodec.Limits, imageRoot: String? = nil, lookup: RetrievalStage.Lookup = .calibrated) throws {
        self.model = model
        perception = PerceptionStep(stage: try PerceptionStage(modelDirectory: model), images: StudyImageSource(root: imageRoot, limits: limits))
        retrieval = RetrievalStep(stage: try RetrievalStage(modelDirectory: model, lookup: lookup))
    }

    /// The language step; `loading: false` skips loading the language model (a study without tasks).
    public func language(loading: Bool, decoding: Decoding = .greedy, maxNewTokens: Int? = nil) throws -> LanguageStep {
        let catalog = perception.stage.catalog
        guard loading else { return LanguageStep(stage: nil, model: nil, catalog: catalog) }
        let stage = try LanguageStage(modelDirectory: model, catalog: catalog)
        return LanguageStep(stage: stage, model: Self.languageModel(folder: model, card: perception.stage.card), catalog: catalog,
                            decoding: decoding, maxNewTokens: maxNewTokens)
    }

    /// `model.json`'s `language.version` when present (a retrained language model beside the same APM), else the folder's.
    public static func languageModel(folder: String, card: ModelCard) -> ModelID {
        struct Card: Decodable { struct Language: Decodable { let version: String? }; let language: Language? }
        let data = FileManager.default.contents(atPath: folder + "/model.json")
        let version = data.flatMap { try? JSONDecoder().decode(Card.self, from: $0) }?.language?.version
        return ModelID(name: card.name + "/lm", version: version ?? card.version)
    }
}
