import Foundation
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
if args.count >= 4, args[1] == "apm", let threads = Int(args[3]) {
    benchAPM(directory: args[2], threads: threads, repeats: args.count > 4 ? Int(args[4]) ?? 5 : 5)
    exit(0)
}
guard args.count >= 4, args[1] == "minilm", let threads = Int(args[3]) else {
    fail("usage: anatomix-bench minilm SENTENCES_FILE THREADS [BATCH_SIZE] [REPEATS] | apm MODEL_DIR THREADS [REPEATS]")
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
