/// One task's answer, as `anatomix analyze` prints it and `cxr.results.v1` carries it. Boxes are in
/// original-image pixels.
public struct TaskAnswer: Codable, Sendable, Equatable {
    public struct Phrase: Codable, Sendable, Equatable {
        public let phrase: String
        public let boxes: [[Double]]
        public init(phrase: String, boxes: [[Double]]) { (self.phrase, self.boxes) = (phrase, boxes) }
        enum CodingKeys: String, CodingKey, CaseIterable { case phrase, boxes }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "phrase")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            (phrase, boxes) = (try c.decode(String.self, forKey: .phrase), try c.decode([[Double]].self, forKey: .boxes))
        }
    }

    public struct Timings: Codable, Sendable, Equatable {
        public let prefill: Double, decode: Double, tokensPerSecond: Double
        public let promptTokens: Int, generatedTokens: Int
        public init(prefill: Double, decode: Double, tokensPerSecond: Double, promptTokens: Int, generatedTokens: Int) {
            (self.prefill, self.decode, self.tokensPerSecond, self.promptTokens, self.generatedTokens) = (prefill, decode, tokensPerSecond, promptTokens, generatedTokens)
        }
        enum CodingKeys: String, CodingKey, CaseIterable {
            case prefill = "prefill_seconds", decode = "decode_seconds", tokensPerSecond = "tokens_per_second"
            case promptTokens = "prompt_tokens", generatedTokens = "generated_tokens"
        }
        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "timings")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            prefill = try c.decode(Double.self, forKey: .prefill); decode = try c.decode(Double.self, forKey: .decode)
            tokensPerSecond = try c.decode(Double.self, forKey: .tokensPerSecond)
            promptTokens = try c.decode(Int.self, forKey: .promptTokens); generatedTokens = try c.decode(Int.self, forKey: .generatedTokens)
        }
    }

    public let task: String
    public let instruction: String
    /// Readable answer: boxes written `(x1,y1),(x2,y2)` in original pixels, markup removed.
    public let text: String
    public let phrases: [Phrase]
    public let boxes: [[Double]]
    /// False when the model's markup was malformed (the text is still given).
    public let parsed: Bool
    /// The generated text with its markup, as the model wrote it.
    public let raw: String
    public let timings: Timings

    public init(task: String, instruction: String, text: String, phrases: [Phrase], boxes: [[Double]], parsed: Bool, raw: String,
                timings: Timings) {
        (self.task, self.instruction, self.text, self.phrases, self.boxes) = (task, instruction, text, phrases, boxes)
        (self.parsed, self.raw, self.timings) = (parsed, raw, timings)
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case task, instruction, text, phrases, boxes, parsed, raw, timings }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "task answer")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try c.decode(String.self, forKey: .task); instruction = try c.decode(String.self, forKey: .instruction)
        text = try c.decode(String.self, forKey: .text); phrases = try c.decode([Phrase].self, forKey: .phrases)
        boxes = try c.decode([[Double]].self, forKey: .boxes); parsed = try c.decode(Bool.self, forKey: .parsed)
        raw = try c.decode(String.self, forKey: .raw); timings = try c.decode(Timings.self, forKey: .timings)
    }
}
