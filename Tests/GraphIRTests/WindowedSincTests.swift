import Foundation
import GraphIR
import XCTest

/// The `windowed_sinc` resampling matrices (the CNO's anti-aliased up and down sampling):
/// entries against values computed independently in numpy (Benchmarks/cno_reference.py's
/// `sinc_matrix`, `np.i0`, `np.sinc`), unit DC gain, the circulant structure of a periodic
/// filter, the passband, and the stopband that keeps a downsampling from aliasing.
final class WindowedSincTests: XCTestCase {
    let kernel = ResampleKernel.windowedSinc

    func testEntriesMatchTheNumpyDefinition() {
        let expected: [(Int, Int, [Double])] = [
            (8, 16, [0.5975019625204996, 0.5975019625204996, -0.11524365594856305, 0.017741693428063497, 0, 0]),
            (16, 4, [9.814533378739508e-06, 0.06437967652664432, 0.1487976372417616, 0.22140546638859615,
                     0.250096640979608, 0.22140546638859615]),
        ]
        for (n, m, row) in expected {
            let a = kernel.matrix(from: n, to: m)
            for (j, value) in row.enumerated() {
                XCTAssertEqual(a[1 * n + j], value, accuracy: 1e-12, "\(n) -> \(m): A[1, \(j)]")
            }
        }
    }

    func testRowsSumToOneAndThePatternIsCirculant() {
        for (n, m) in [(8, 16), (16, 8), (32, 8), (8, 32), (4, 8), (16, 4), (64, 128), (128, 32)] {
            let a = kernel.matrix(from: n, to: m)
            for i in 0..<m {
                XCTAssertEqual((0..<n).reduce(0) { $0 + a[i * n + $1] }, 1, accuracy: 1e-12, "\(n) -> \(m): row \(i)")
            }
            // Shifting the output by one period of the coarser grid's step shifts the input alike.
            let (di, dj) = m >= n ? (m / n, 1) : (1, n / m)
            for i in 0..<(m - di) {
                for j in 0..<n {
                    XCTAssertEqual(a[(i + di) * n + (j + dj) % n], a[i * n + j], accuracy: 1e-12, "\(n) -> \(m): circulant")
                }
            }
        }
    }

    /// Gain of `cos(2 pi f x)` through the matrix (its projection on the output's cosine), and
    /// the largest output magnitude.
    func response(_ n: Int, _ m: Int, frequency f: Int) -> (gain: Double, peak: Double) {
        let a = kernel.matrix(from: n, to: m)
        let x = (0..<n).map { cos(2 * Double.pi * Double(f * $0) / Double(n)) }
        let y = (0..<m).map { i in (0..<n).reduce(0) { $0 + a[i * n + $1] * x[$1] } }
        let gain = (0..<m).reduce(0) { $0 + y[$1] * cos(2 * Double.pi * Double(f * $1) / Double(m)) } / (Double(m) / 2)
        return (gain, y.map(abs).max()!)
    }

    func testPassbandAndStopband() {
        for (n, m) in [(32, 8), (16, 8), (8, 16), (64, 128), (128, 32)] {
            let low = min(n, m)
            // A quarter of the coarser grid's Nyquist frequency passes (gain 0.99 to 1.002).
            XCTAssertEqual(response(n, m, frequency: max(1, low / 8)).gain, 1, accuracy: 0.012, "\(n) -> \(m) passband")
            if n > m {
                // The frequency that would alias onto the coarse grid's constant is stopped.
                XCTAssertLessThan(response(n, m, frequency: low).peak, 1e-3, "\(n) -> \(m) stopband")
            }
        }
    }

    /// `support(from:to:)` (what the FLOP count and the executor's circular band assume) bounds
    /// every row's shortest circular arc of nonzero entries, and is far below the row length on
    /// the CNO's grids (the band is what makes a resample cheap).
    func testSupportBoundsEveryRowsCircularArc() {
        for (n, m) in [(8, 16), (16, 8), (32, 64), (64, 32), (64, 128), (128, 64), (16, 4), (4, 16)] {
            let a = kernel.matrix(from: n, to: m), support = kernel.support(from: n, to: m)
            for i in 0..<m {
                let nonzero = (0..<n).filter { a[i * n + $0] != 0 }
                guard let low = nonzero.first, let high = nonzero.last else { continue }
                var gap = n - 1 - high + low
                for (j, next) in zip(nonzero, nonzero.dropFirst()) { gap = max(gap, next - j - 1) }
                XCTAssertLessThanOrEqual(n - gap, support, "\(n) -> \(m): row \(i)")
            }
            if min(n, m) >= 32 { XCTAssertLessThanOrEqual(4 * support, n, "\(n) -> \(m): the band is most of the row") }
        }
        XCTAssertEqual(ResampleKernel.bicubic.support(from: 64, to: 32), 4)
        XCTAssertEqual(ResampleKernel.bicubic.support(from: 2, to: 8), 2)
    }
}
