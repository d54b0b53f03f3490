import Dispatch
import Foundation
public import Models

/// When generation stops and what it does with the text.
public struct GenerationSettings: Sendable {
    public var maxNewTokens: Int
    public var stopTokens: Set<Int>
    public init(maxNewTokens: Int = 256, stopTokens: Set<Int> = []) {
        (self.maxNewTokens, self.stopTokens) = (maxNewTokens, stopTokens)
    }
}

/// Generation as a sequence of token ids: the prompt is prefilled when the generator is made, then
/// each `next()` samples one token and runs it through the model (one decode step with the KV
/// cache). Ends at a stop token (not yielded), at `maxNewTokens`, or at an error (kept in `failure`).
public final class TokenGenerator<Sampler: TokenSampler>: Sequence, IteratorProtocol {
    public let model: LlamaModel
    public let settings: GenerationSettings
    public private(set) var sampler: Sampler
    public private(set) var generated = [Int]()
    public private(set) var failure: (any Error)?
    public let promptTokens: Int
    public let prefillSeconds: Double
    public private(set) var decodeSeconds: Double = 0
    var cache: KVCache
    var logits: [Float]
    let threads: Int?
    var finished = false

    /// Prefills `prompt` (input embeddings, `[count, d]`).
    public convenience init(model: LlamaModel, prompt: [Float], count: Int, settings: GenerationSettings, sampler: Sampler,
                            threads: Int? = nil) throws {
        let positions = model.configuration.maxPositions
        guard count >= 0, count <= positions, settings.maxNewTokens <= positions else {
            throw ModelError(.invalidInput, "a \(count)-token prompt plus \(settings.maxNewTokens) new tokens exceeds the model's \(positions) positions")
        }
        try self.init(model: model, continuing: model.makeCache(capacity: count + Swift.max(settings.maxNewTokens, 0)),
                      prompt: prompt, count: count, settings: settings, sampler: sampler, threads: threads)
    }

    /// Prefills `prompt` after what `cache` already holds (a shared study prefix: the cache is a
    /// value, so the caller's copy stays as it was).
    public init(model: LlamaModel, continuing cache: KVCache, prompt: [Float], count: Int, settings: GenerationSettings,
                sampler: Sampler, threads: Int? = nil) throws {
        guard settings.maxNewTokens >= 0 else { throw ModelError(.invalidInput, "max new tokens must be >= 0") }
        guard count >= 0, count <= cache.capacity, settings.maxNewTokens <= cache.capacity,
              cache.count + count + settings.maxNewTokens <= cache.capacity else {
            throw ModelError(.invalidInput, "\(cache.count) cached + \(count) prompt + \(settings.maxNewTokens) new tokens exceed the \(cache.capacity) positions available (max_position_embeddings \(model.configuration.maxPositions))")
        }
        (self.model, self.settings, self.sampler, self.threads, promptTokens) = (model, settings, sampler, threads, cache.count + count)
        self.cache = cache
        let start = DispatchTime.now().uptimeNanoseconds
        logits = try model.forward(prompt, count: count, cache: &self.cache, threads: threads)
        prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    public func next() -> Int? {
        guard !finished, generated.count < settings.maxNewTokens else { finished = true; return nil }
        let token = logits.withUnsafeBufferPointer { sampler.next(logits: $0) }
        if settings.stopTokens.contains(token) { finished = true; return nil }
        generated.append(token)
        if generated.count < settings.maxNewTokens {                 // the last token needs no forward pass
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                logits = try model.forward(try model.embed([token]), count: 1, cache: &cache, threads: threads)
            } catch {
                failure = error
                finished = true
            }
            decodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return token
    }

    /// Decode steps per second so far (the first token comes from the prefill).
    public var tokensPerSecond: Double {
        decodeSeconds > 0 ? Double(Swift.max(generated.count - 1, 0)) / decodeSeconds : 0
    }
}

public enum TextCleanup {
    /// AnatomiX's post-processing: a sentence (up to a full stop or a line end) said twice is kept
    /// once, the first time, case and surrounding spaces ignored; generation loops of small models
    /// repeat whole sentences. Everything else, spacing included, is kept as generated.
    public static func removingDuplicateSentences(_ text: String) -> String {
        var seen = Set<String>(), out = "", current = ""
        func flush() {
            let key = current.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if key.count <= 1 || seen.insert(key).inserted {      // a line starts without the space a dropped sentence left
                out += out.isEmpty || out.hasSuffix("\n") ? String(current.drop { $0 == " " }) : current
            }
            current = ""
        }
        for character in text {
            current.append(character)
            if character == "." || character == "\n" { flush() }
        }
        flush()
        return out
    }
}
