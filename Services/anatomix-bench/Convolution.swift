import Foundation
import Tensor

/// One convolution as the models run it (`Tensor.conv2d`: the path it picks, the kernel level in use, which
/// `ANATOMIX_KERNELS=portable|avx2` caps): `anatomix-bench conv CIN COUT SIZE KERNEL STRIDE DILATION THREADS
/// [REPEATS]`. Prints one JSON line with the best time and GFLOP/s (2 · Cout · Cin · k² · Hout · Wout).
func benchConvolution(_ arguments: [Int]) {
    let (cin, cout, size, kernel, stride, dilation, threads) =
        (arguments[0], arguments[1], arguments[2], arguments[3], arguments[4], arguments[5], arguments[6])
    let repeats = arguments.count > 7 ? arguments[7] : 20
    guard cin > 0, cout > 0, kernel > 0, stride > 0, dilation > 0, threads > 0, repeats > 0, size >= dilation * (kernel - 1) + 1,
          cin * size * size <= 1 << 26, cout * cin * kernel * kernel <= 1 << 24 else {
        fail("conv: channels, size, kernel, stride, dilation, threads and repeats must be positive, the input at most 64 M values")
    }
    ComputeThreads.set(threads)
    MemoryPolicy.keepFreedMemory()                                             // as the models do
    let padding = dilation * (kernel / 2)
    let image = Tensor(shape: [1, cin, size, size]) { i in Float((i * 7919) % 1000) / 1000 - 0.5 }
    let weight = Tensor(shape: [cout, cin, kernel, kernel]) { i in Float((i * 104_729) % 997) / 997 - 0.5 }
    let bias = Tensor(shape: [cout]) { i in Float(i) / Float(cout) }
    let out = size / stride
    let flop = 2.0 * Double(cout * cin * kernel * kernel) * Double(out * out)
    var times = [Double]()
    for _ in 0...repeats {                                                     // the first run warms up
        let start = DispatchTime.now().uptimeNanoseconds
        _ = image.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, relu: true, threads: threads)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    let (best, level) = (times.dropFirst().min()!, KernelLevel.current)
    print(#"{"bench": "conv", "impl": "swift", "level": "\#(level)", "cin": \#(cin), "cout": \#(cout), "size": \#(size), "kernel": \#(kernel), "stride": \#(stride), "dilation": \#(dilation), "threads": \#(threads), "best_seconds": \#(best), "gflops": \#(flop / best / 1e9)}"#)
}
