// The Swift loops the C kernels replaced (Executor's FastMath gelu, gelu'), timed as the
// plain release build compiles them (no CPU flag), for comparison with microbench.c:
//   swiftc -O -parse-as-library Benchmarks/kernels/swift_loops.swift Sources/Executor/FastMath.swift \
//     -o /tmp/swiftloops && /tmp/swiftloops
import Foundation

@inline(never) func gelu(_ a: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { y[i] = FastMath.gelu(a[i]) }
}
@inline(never) func geluGrad(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { y[i] = b[i] * FastMath.geluDerivative(a[i]) }
}

@main
enum SwiftLoops {
    static func main() {
        let n = 1 << 15
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n), y = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let z = UnsafeMutablePointer<Float>.allocate(capacity: n)
        for i in 0..<n { x[i] = Float(i % 1000) * 0.01 - 5; y[i] = 0.5 }
        var best = (1e9, 1e9)
        for _ in 0..<300 {
            var t = DispatchTime.now().uptimeNanoseconds
            gelu(x, y, n)
            best.0 = min(best.0, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e3)
            t = DispatchTime.now().uptimeNanoseconds
            geluGrad(x, y, z, n)
            best.1 = min(best.1, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e3)
        }
        print("swift -O (no CPU flag): gelu \(best.0) us, gelu_grad \(best.1) us (32768 floats, min of 300)")
    }
}
