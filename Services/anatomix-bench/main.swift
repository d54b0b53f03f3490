import Foundation
import Language
import Models
import Tensor

// anatomix-bench: the Swift side of `make bench` (Training/bench.py drives it and the PyTorch side).
//   anatomix-bench minilm SENTENCES_FILE THREADS [BATCH_SIZE] [REPEATS]
// Prints one JSON line: {"bench": "minilm", "impl": "swift", "threads": .., "best_seconds": .., "median_seconds": .., "per_second": ..}
// (per_second from the best run: on a shared VM the fastest run is the least disturbed one).

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("anatomix-bench: \(message)\n".utf8))
    exit(2)
}

let args = CommandLine.arguments
if args.count >= 6, args[1] == "lm", let threads = Int(args[3]), let prompt = Int(args[4]), let new = Int(args[5]) {
    benchLM(directory: args[2], threads: threads, promptTokens: prompt, newTokens: new, repeats: args.count > 6 ? Int(args[6]) ?? 3 : 3)
    exit(0)
}
if args.count >= 7, args[1] == "soak", let studies = Int(args[4]), let rate = Double(args[5]) {
    let workers = args[6].split(separator: ",").compactMap { spec -> (name: String, pid: Int32, port: Int)? in
        let parts = spec.split(separator: "=", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let pidPort = parts[1].split(separator: ":")
        guard pidPort.count == 2, let pid = Int32(pidPort[0]), let port = Int(pidPort[1]) else { return nil }
        return (String(parts[0]), pid, port)
    }
    guard !workers.isEmpty else { fail("soak: workers are NAME=PID:OPS_PORT,...") }
    benchSoak(bootstrap: args[2], folder: args[3], studies: studies, rate: rate, workers: workers)
    exit(0)
}
if args.count >= 5, args[1] == "codec", let copies = Int(args[4]) {
    benchCodec(model: args[2], folder: args[3], copies: copies)
    exit(0)
}
if args.count >= 5, args[1] == "pipeline", let copies = Int(args[4]) {
    benchPipeline(model: args[2], folder: args[3], copies: copies)
    exit(0)
}
if args.count >= 9, args[1] == "conv" {
    let path = ConvolutionPath(rawValue: args.last!)
    let numbers = args.dropFirst(2).dropLast(path == nil ? 0 : 1).compactMap { Int($0) }
    guard numbers.count == args.count - 2 - (path == nil ? 0 : 1), numbers.count >= 7 else {
        fail("conv: CIN COUT SIZE KERNEL STRIDE DILATION THREADS [REPEATS] are whole numbers, then optionally auto|direct|winograd")
    }
    benchConvolution(numbers, path: path ?? .auto)
    exit(0)
}
if args.count >= 4, args[1] == "apm", let threads = Int(args[3]) {
    benchAPM(directory: args[2], threads: threads, repeats: args.count > 4 ? Int(args[4]) ?? 5 : 5)
    exit(0)
}
guard args.count >= 4, args[1] == "minilm", let threads = Int(args[3]) else {
    fail("usage: anatomix-bench minilm SENTENCES_FILE THREADS [BATCH_SIZE] [REPEATS] | apm MODEL_DIR THREADS [REPEATS] | conv CIN COUT SIZE KERNEL STRIDE DILATION THREADS [REPEATS] [auto|direct|winograd] | lm LLAMA_DIR THREADS PROMPT_TOKENS NEW_TOKENS [REPEATS] | pipeline|codec MODEL_DIR PNG_FOLDER COPIES | soak BOOTSTRAP PNG_FOLDER STUDIES RATE NAME=PID:OPS_PORT,...")
}
let batchSize = args.count > 4 ? Int(args[4]) ?? 32 : 32
let repeats = args.count > 5 ? Int(args[5]) ?? 5 : 5
guard let text = try? String(contentsOfFile: args[2], encoding: .utf8) else { fail("cannot read \(args[2])") }
let sentences = text.split(separator: "\n").map(String.init)

do {
    ComputeThreads.set(threads)
    let encoder = try SentenceEncoder(directory: ModelLocations.miniLM.path)
    _ = try encoder.embed(Array(sentences.prefix(64)), batchSize: batchSize)   // warm-up
    var times = [Double]()
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try encoder.embed(sentences, batchSize: batchSize)     // tokenisation included, as in sentence-transformers
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let best = times.min()!, median = times.sorted()[times.count / 2]
    print(#"{"bench": "minilm", "impl": "swift", "threads": \#(threads), "sentences": \#(sentences.count), "batch_size": \#(batchSize), "best_seconds": \#(best), "median_seconds": \#(median), "per_second": \#(Double(sentences.count) / best)}"#)
} catch {
    fail("\(error)")
}

/// APM forward latency on one image of the model's size (values in [0, 1], fixed pattern).
func benchAPM(directory: String, threads: Int, repeats: Int) {
    do {
        ComputeThreads.set(threads)
        let model = try AnatomyPerceptionModule(directory: directory)
        let size = model.configuration.imageSize
        let image = Tensor(shape: [1, 1, size, size]) { i in Float((i * 7919) % 1000) / 1000 }
        _ = try model(image)
        var times = [Double](), backbone = [Double](), transformer = [Double]()
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            let out = try model(image)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            backbone.append(out.backboneSeconds)
            transformer.append(out.transformerSeconds)
        }
        print(#"{"bench": "apm", "impl": "swift", "threads": \#(threads), "image_size": \#(size), "best_seconds": \#(times.min()!), "backbone_seconds": \#(backbone.min()!), "transformer_seconds": \#(transformer.min()!)}"#)
    } catch {
        fail("\(error)")
    }
}

/// Llama prefill and decode speed with the KV cache: a fixed pseudo-random prompt, then greedy
/// decoding of `newTokens` (stop tokens ignored); best of `repeats`. Peak RSS from /proc.
func benchLM(directory: String, threads: Int, promptTokens: Int, newTokens: Int, repeats: Int) {
    do {
        ComputeThreads.set(threads)
        let model = try LlamaModel(directory: directory)
        let vocabulary = model.configuration.vocabularySize
        let prompt = (0..<promptTokens).map { ($0 * 7919 + 13) % vocabulary }
        var prefill = [Double](), decode = [Double]()
        for _ in 0..<(repeats + 1) {                     // the first run warms up
            let generator = try TokenGenerator(model: model, prompt: try model.embed(prompt), count: prompt.count,
                                               settings: GenerationSettings(maxNewTokens: newTokens), sampler: GreedySampler(),
                                               threads: threads)
            let tokens = Array(generator)
            guard tokens.count == newTokens, generator.failure == nil else { fail("generation stopped early: \(generator.failure.map { "\($0)" } ?? "")") }
            prefill.append(generator.prefillSeconds)
            decode.append(generator.decodeSeconds)
        }
        prefill.removeFirst(); decode.removeFirst()
        let (p, d) = (prefill.min()!, decode.min()!)
        print(#"{"bench": "lm", "impl": "swift", "threads": \#(threads), "prompt_tokens": \#(promptTokens), "new_tokens": \#(newTokens), "prefill_seconds": \#(p), "decode_seconds": \#(d), "prefill_tokens_per_second": \#(Double(promptTokens) / p), "decode_tokens_per_second": \#(Double(newTokens - 1) / d), "peak_rss_mb": \#(peakResidentMegabytes())}"#)
    } catch {
        fail("\(error)")
    }
}

/// VmHWM of this process in MB (0 where /proc is not there).
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}
