import GraphIR
import XCTest

/// rfft2_grad and irfft2_grad are the exact gradients of the forward transforms.
final class SpectralGradientTests: XCTestCase {
    /// dx of `L(x) = sum_kept Re(G) Re(rfft2(x)) + Im(G) Im(rfft2(x))`, taken analytically.
    func testRfft2GradIsGradientOfRfft2() throws {
        for (i, g) in spectralGrids.enumerated() {
            let seed = Tensor(g.spectrumType, seed: 60 + UInt64(i))
            let dx = try runOp(.rfft2Grad(height: g.h, width: g.w, modes1: g.m1, modes2: g.m2), [seed])
            assertClose(dx, Reference.rfft2Gradient(seed.data, g), "rfft2_grad \(g)")
        }
    }

    /// dY of `L(Y) = sum g * irfft2(Y)` (dL/dRe Y + i dL/dIm Y), by central differences
    /// on the reference irfft2 (exact up to rounding: L is linear).
    func testIrfft2GradIsGradientOfIrfft2() throws {
        for (i, g) in spectralGrids.enumerated() {
            let dy = Tensor(g.realType, seed: 70 + UInt64(i))
            let at = randomFloats(2 * g.spectrumCount, seed: 80 + UInt64(i)).map(Double.init)
            func loss(_ spectrum: [Double]) -> Double {
                zip(dy.data, Reference.irfft2(spectrum, g)).reduce(0) { $0 + Double($1.0) * $1.1 }
            }
            let step = 0.5
            let expected = at.indices.map { j -> Double in
                var (up, down) = (at, at)
                up[j] += step; down[j] -= step
                return (loss(up) - loss(down)) / (2 * step)
            }
            assertClose(try runOp(.irfft2Grad(modes1: g.m1, modes2: g.m2), [dy]), expected, "irfft2_grad \(g)")
        }
    }
}
