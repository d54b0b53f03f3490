import Foundation
import Tensor

/// One convolution as the models run it (`Tensor.conv2d`: the path it picks, the kernel level in use, which
/// `ANATOMIX_KERNELS=portable|avx2` caps): `anatomix-bench conv CIN COUT SIZE KERNEL STRIDE DILATION THREADS
/// [REPEATS] [auto|direct|winograd]`: `auto` as the models choose (Winograd where
/// `Convolution.prefersWinograd`), or one path forced (Winograd only for 3x3 stride 1). Prints one JSON line with
/// the best time and GFLOP/s (2 · Cout · Cin · k² · Hout · Wout, the direct count whatever the path).
enum ConvolutionPath: String {
    case auto, direct, winograd
}

func benchConvolution(_ arguments: [Int], path: ConvolutionPath) {
    let (cin, cout, size, kernel, stride, dilation, threads) =
        (arguments[0], arguments[1], arguments[2], arguments[3], arguments[4], arguments[5], arguments[6])
    let repeats = arguments.count > 7 ? arguments[7] : 20
    guard [cin, cout, size, kernel, stride, dilation, threads, repeats].allSatisfy({ $0 > 0 && $0 <= 1 << 16 }),
          Double(cin) * Double(size) * Double(size) <= 0x1p26, Double(cout) * Double(cin) * Double(kernel * kernel) <= 0x1p24, threads <= ComputeThreads.maximum,
          size + 2 * dilation * (kernel / 2) >= dilation * (kernel - 1) + 1 else {
        fail("conv: every number 1...65536, threads at most \(ComputeThreads.maximum), the input at most 64 M values, the weights 16 M, the dilated kernel within the padded size")
    }
    ComputeThreads.set(threads)
    MemoryPolicy.keepFreedMemory()                                             // as the models do
    let padding = dilation * (kernel / 2)
    let image = Tensor(shape: [1, cin, size, size]) { i in Float((i * 7919) % 1000) / 1000 - 0.5 }
    let weight = Tensor(shape: [cout, cin, kernel, kernel]) { i in Float((i * 104_729) % 997) / 997 - 0.5 }
    let bias = Tensor(shape: [cout]) { i in Float(i) / Float(cout) }
    let winogradApplies = kernel == 3 && stride == 1
    let useWinograd = path == .winograd || (path == .auto && Convolution.prefersWinograd(
        inputChannels: cin, outputChannels: cout, kernel: (kernel, kernel), stride: stride))
    guard winogradApplies || path != .winograd else { fail("conv: Winograd is for 3x3 kernels at stride 1") }
    let winograd = useWinograd ? WinogradWeights(weight) : nil
    let shape = image.conv2d(                                                   // also the warm-up
        weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, threads: threads, winograd: winograd).shape
    let flop = 2.0 * Double(cout * cin * kernel * kernel) * Double(shape[2] * shape[3])
    var times = [Double]()
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = image.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, relu: true, threads: threads,
                         winograd: winograd)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let (best, level) = (times.min()!, KernelLevel.current)
    print(#"{"bench": "conv", "impl": "swift", "level": "\#(level)", "path": "\#(winograd == nil ? "direct" : "winograd")", "cin": \#(cin), "cout": \#(cout), "size": \#(size), "kernel": \#(kernel), "stride": \#(stride), "dilation": \#(dilation), "threads": \#(threads), "best_seconds": \#(best), "gflops": \#(flop / best / 1e9)}"#)
}
