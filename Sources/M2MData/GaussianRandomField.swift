import Foundation

/// The FNO initial vorticity: a periodic Gaussian random field N(0, 7^{3/2} (-lap + 49 I)^{-2.5}).
/// Coefficients c_k of w(x) = sum_k c_k exp(2 pi i k.x) satisfy E|c_k|^2 = variance(k), with
/// c_0 = 0 and c_{-k} = conj(c_k) (a real field), exactly as the FNO's GRF2d produces.
enum GaussianRandomField {
    static let tau = 7.0
    static let alpha = 2.5
    static let sigma = pow(7.0, 1.5)

    /// E|c_k|^2 = 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha) for the integer wavevector k != 0.
    static func variance(kx: Int, ky: Int) -> Double {
        let k2 = Double(kx * kx + ky * ky)
        return 2 * sigma * sigma * pow(4 * Double.pi * Double.pi * k2 + tau * tau, -alpha)
    }

    /// Draws the modes with |kx|, |ky| < `bandLimit` into the zeroed half spectrum of `grid`.
    /// The draw order depends only on `bandLimit`, so a finer solver grid sees the same field.
    static func draw(bandLimit: Int, into coefficients: UnsafeMutablePointer<Double>,
                     grid: SpectralGrid, rng: inout SeededGenerator) {
        precondition(bandLimit <= grid.size / 2, "band exceeds the grid")
        for kx in 0..<bandLimit {
            for ky in (1 - bandLimit)..<bandLimit where kx > 0 || ky > 0 {
                let scale = (variance(kx: kx, ky: ky) / 2).squareRoot()
                let re = scale * rng.nextGaussian()
                let im = scale * rng.nextGaussian()
                grid.setHermitian(coefficients, kx: kx, ky: ky, re: re, im: im)
            }
        }
    }
}
