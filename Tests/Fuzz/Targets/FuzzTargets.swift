public import Foundation
import Contracts
import Imaging
import Language
import Tokenizers

/// What the libFuzzer binaries (`Fuzz/`, `make fuzz`) and the corpus regression test
/// (`FuzzCorpusTests`) run on one input: the PNG decoder, the message contracts, the tokenizers and
/// the model-output parser. Each takes any bytes: an input may be refused with an error, never
/// crash, hang or grow memory without bound; what is accepted must survive its own round trip (a
/// broken round trip is a `preconditionFailure`, i.e. a finding).
public enum FuzzTarget: String, CaseIterable, Sendable {
    case png, contracts, tokenizers, parser

    public func run(_ data: Data) {
        switch self {
        case .png: Self.png(data)
        case .contracts: Self.contracts(data)
        case .tokenizers: Self.tokenizers(data)
        case .parser: Self.parser(data)
        }
    }

    /// Decode under small limits; a decoded image encodes and decodes to the same pixels.
    static func png(_ data: Data) {
        var limits = PNGCodec.Limits()
        limits.maximumPixels = 1 << 22
        guard let image = try? PNGCodec.decode(data, limits: limits) else { return }
        guard let again = try? PNGCodec.decode(PNGCodec.encode(image), limits: limits) else {
            preconditionFailure("a decoded \(image.width)x\(image.height) image did not survive encode + decode")
        }
        precondition(again.width == image.width && again.height == image.height, "size changed in a round trip")
        let tolerance: Float = image.bitDepth == 16 ? 1.0 / 65535 : 1.0 / 255
        precondition(zip(again.pixels, image.pixels).allSatisfy { abs($0 - $1) <= tolerance }, "pixels changed in a round trip")
    }

    /// Every message type: decode (any error is fine); what decodes re-encodes and decodes again.
    static func contracts(_ data: Data) {
        func roundTrip<M: Codable>(_ type: M.Type, _ schema: String) {
            guard let message = try? MessageCodec.decode(type, schema: schema, from: data, maximumBytes: 1 << 20) else { return }
            guard let bytes = try? MessageCodec.encode(message),
                  (try? MessageCodec.decode(type, schema: schema, from: bytes, maximumBytes: 1 << 22)) != nil else {
                preconditionFailure("a \(schema) message that decoded did not survive encode + decode")
            }
        }
        roundTrip(StudyMessage.self, StudyMessage.schema)
        roundTrip(AnatomyMessage.self, AnatomyMessage.schema)
        roundTrip(GroundedMessage.self, GroundedMessage.schema)
        roundTrip(ResultMessage.self, ResultMessage.schema)
        roundTrip(DeadLetterMessage.self, DeadLetterMessage.schema)
        roundTrip(BankEntryMessage.self, BankEntryMessage.schema)
    }

    /// The language model's byte-level BPE is lossless: decode(encode(text)) == text for any UTF-8;
    /// the MiniLM WordPiece (when `make deps` fetched it) only has to finish.
    static func tokenizers(_ data: Data) {
        let text = String(decoding: data.prefix(4096), as: UTF8.self)
        if let bpe = Self.bpe {
            let ids = bpe.encode(text)
            precondition(bpe.decode(ids) == text, "byte-level BPE round trip changed the text")
        }
        _ = Self.wordPiece?.encode(text, maxLength: 512)
    }

    /// Any text as model output: never fails, every box finite and inside the original image.
    static func parser(_ data: Data) {
        let raw = String(decoding: data.prefix(8192), as: UTF8.self)
        let letterbox = Letterbox(width: 600, height: 400, canvas: 256)
        let answer = ParsedAnswer(raw, prompt: AnatomixPrompt(), letterbox: letterbox)
        for box in answer.boxes + answer.phrases.flatMap(\.boxes) {
            precondition(box.count == 4 && box.allSatisfy(\.isFinite), "box \(box) is not four finite numbers")
            precondition(box[0] >= 0 && box[1] >= 0 && box[2] <= 600.05 && box[3] <= 400.05, "box \(box) lies outside the 600x400 image")
        }
    }

    /// The repository (for the committed tokenizer and the cached MiniLM).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// Whether the tokenizers target has the language model's tokenizer (it is committed: the corpus test requires it).
    public static var hasTokenizer: Bool { bpe != nil }
    static let bpe = try? BPETokenizer(tokenizerJSON: root.appendingPathComponent("Weights/anatomix-tiny/lm/tokenizer.json").path)
    static let wordPiece = try? WordPieceTokenizer(tokenizerJSON: root.appendingPathComponent(".cache/minilm/tokenizer.json").path)
}
