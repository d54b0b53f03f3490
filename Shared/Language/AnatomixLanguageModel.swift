import Foundation
public import Imaging
public import Models
public import Tensor
public import Tokenizers

/// `language.json`: the prompt settings both languages read.
public struct LanguageSettings: Codable, Sendable {
    public var version: Int
    public var imageTokens: Int
    public var imagePool: Int
    public var locationBins: Int
    public var ablation: Bool
    public var maxNewTokens: Int
    /// `AnatomySnap`'s overlap (absent: answers keep the boxes as written).
    public var anatomySnapIoU: Double?
    enum CodingKeys: String, CodingKey {
        case version, imageTokens = "image_tokens", imagePool = "image_pool", locationBins = "location_bins", ablation
        case maxNewTokens = "max_new_tokens", anatomySnapIoU = "anatomy_snap_iou"
    }
}

/// Linear -> GELU -> LayerNorm -> Linear (twin of `anatomix.language.Projector`).
struct Projector: Sendable {
    let fc1: (weight: Tensor, bias: Tensor), norm: (weight: Tensor, bias: Tensor), fc2: (weight: Tensor, bias: Tensor)

    init(_ w: inout WeightLoader, prefix p: String, inputs: Int, width: Int) throws {
        fc1 = (try w.take(p + "fc1.weight", [width, inputs]), try w.take(p + "fc1.bias", [width]))
        norm = (try w.take(p + "norm.weight", [width]), try w.take(p + "norm.bias", [width]))
        fc2 = (try w.take(p + "fc2.weight", [width, width]), try w.take(p + "fc2.bias", [width]))
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        x.linear(weight: fc1.weight, bias: fc1.bias).gelu().layerNorm(weight: norm.weight, bias: norm.bias, epsilon: 1e-5)
            .linear(weight: fc2.weight, bias: fc2.bias)
    }
}

/// What stage two needs of one study: stage one's outputs and the retrieved findings.
public struct StudyContext: Sendable {
    public let letterbox: Letterbox
    /// `[imageTokens, imageDim]` pooled APM memory (CLS, then 4x4 cells), row-major.
    public let imageFeatures: [Float]
    /// `[36, tokenDim]` anatomical tokens.
    public let tokens: [Float]
    /// The 36 boxes on the letterboxed canvas, `[x1, y1, x2, y2]`.
    public let canvasBoxes: [[Double]]
    /// Per anatomy, the finding kinds retrieval attached (empty = healthy).
    public let findings: [[String]]

    public init(letterbox: Letterbox, imageFeatures: [Float], tokens: [Float], canvasBoxes: [[Double]], findings: [[String]]) {
        (self.letterbox, self.imageFeatures, self.tokens, self.canvasBoxes, self.findings) =
            (letterbox, imageFeatures, tokens, canvasBoxes, findings)
    }
}

/// AnatomiX stage two, twin of `Training/anatomix/language.py::AnatomixLanguageModel`: a Llama
/// decoder (`lm/`, any `LlamaForCausalLM` checkpoint layout) whose `<image>` positions carry the
/// image projector's output and whose `<obj_i>` positions add the object projector's output.
public struct AnatomixLanguageModel: Sendable {
    public let llm: LlamaModel
    public let tokenizer: BPETokenizer
    public let settings: LanguageSettings
    public let prompt: AnatomixPrompt
    let imageProjector: Projector, objectProjector: Projector
    let imageID: Int, objectIDs: [Int: Int], endID: Int
    public let imageDimension: Int, tokenDimension: Int

    /// Loads `directory/lm/` (config.json, model.safetensors, tokenizer.json), projectors.safetensors
    /// and language.json of a model folder.
    public init(directory: String) throws {
        let lm = directory + "/lm"
        guard FileManager.default.fileExists(atPath: lm + "/config.json") else {
            throw ModelError(.missingFile, "\(directory) has no language model (lm/config.json); train one with `make train-lm`")
        }
        llm = try LlamaModel(directory: lm)
        tokenizer = try BPETokenizer(tokenizerJSON: lm + "/tokenizer.json")
        let settingsPath = directory + "/language.json"
        guard let data = FileManager.default.contents(atPath: settingsPath) else {
            throw ModelError(.missingFile, "cannot read \(settingsPath)")
        }
        do { settings = try JSONDecoder().decode(LanguageSettings.self, from: data) } catch {
            throw ModelError(.invalidConfiguration, "\(settingsPath) is not a language.json: \(error)")
        }
        guard settings.version == 1, (1...4096).contains(settings.locationBins), (1...1024).contains(settings.imageTokens) else {
            throw ModelError(.invalidConfiguration, "\(settingsPath): version \(settings.version), location_bins \(settings.locationBins), image_tokens \(settings.imageTokens) are not supported")
        }
        if let t = settings.anatomySnapIoU, !(t > 0 && t <= 1) {
            throw ModelError(.invalidConfiguration, "\(settingsPath): anatomy_snap_iou \(t) must be in (0, 1], or absent to keep the model's boxes as written")
        }
        prompt = AnatomixPrompt(imageTokens: settings.imageTokens, bins: settings.locationBins)
        let file = try SafeTensorsFile(path: directory + "/projectors.safetensors")
        var w = try WeightLoader(file: file) { $0 }
        let d = llm.configuration.hiddenSize
        guard let imageInput = file.entries["image_projector.fc1.weight"]?.shape.last,
              let tokenInput = file.entries["object_projector.fc1.weight"]?.shape.last else {
            throw ModelError(.missingWeight, "\(file.path) lacks image_projector.fc1.weight or object_projector.fc1.weight")
        }
        (imageDimension, tokenDimension) = (imageInput, tokenInput)
        imageProjector = try Projector(&w, prefix: "image_projector.", inputs: imageInput, width: d)
        objectProjector = try Projector(&w, prefix: "object_projector.", inputs: tokenInput, width: d)
        try w.finish()
        let vocabulary = tokenizer
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary.id(of: token) else { throw ModelError(.invalidConfiguration, "\(lm)/tokenizer.json lacks \(token)") }
            return id
        }
        imageID = try id("<image>")
        endID = try id(AnatomixPrompt.answerEnd)
        var objects = [Int: Int]()
        for i in 0..<36 { objects[try id("<obj_\(i)>")] = i }
        objectIDs = objects
    }

    /// The study's shared prompt (image and anatomy entries) as input embeddings `[T, d]`.
    public func studyEmbeddings(_ study: StudyContext) throws -> (embeddings: [Float], count: Int) {
        let text = settings.ablation ? prompt.globalStudyText()
            : prompt.studyText(canvasBoxes: study.canvasBoxes, findings: study.findings, side: Double(study.letterbox.canvas))
        let ids = tokenizer.encode(text)
        var embeddings = try llm.embed(ids)
        let d = llm.configuration.hiddenSize
        let imageRows = ids.indices.filter { ids[$0] == imageID }
        guard study.imageFeatures.count == settings.imageTokens * imageDimension, imageRows.count == settings.imageTokens else {
            throw ModelError(.invalidInput, "image features hold \(study.imageFeatures.count) values for \(imageRows.count) <image> tokens of \(imageDimension)")
        }
        let image = imageProjector(Tensor(shape: [settings.imageTokens, imageDimension], storage: study.imageFeatures))
        for (k, row) in imageRows.enumerated() {
            embeddings.replaceSubrange((row * d)..<((row + 1) * d), with: image.storage[(k * d)..<((k + 1) * d)])
        }
        if !settings.ablation {
            guard study.tokens.count == 36 * tokenDimension else {
                throw ModelError(.invalidInput, "anatomical tokens hold \(study.tokens.count) values, expected 36 x \(tokenDimension)")
            }
            let objects = objectProjector(Tensor(shape: [36, tokenDimension], storage: study.tokens))
            for (row, id) in ids.enumerated() {
                guard let anatomy = objectIDs[id] else { continue }
                for k in 0..<d { embeddings[row * d + k] += objects.storage[anatomy * d + k] }
            }
        }
        return (embeddings, ids.count)
    }
}
