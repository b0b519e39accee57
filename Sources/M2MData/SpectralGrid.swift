import CFFTW

/// A periodic size x size grid with double-precision FFTW real transforms and its wavenumbers;
/// one per thread (it owns its plans and a scratch spectrum).
public final class SpectralGrid {
    /// Grid points per side.
    let size: Int
    /// Complex columns of the real-to-complex half spectrum, size / 2 + 1.
    let columns: Int
    /// 2 pi k per column (kx >= 0) and per row (ky in FFT order, Nyquist negative).
    let kx: [Double], ky: [Double]
    /// Spectrum scratch for c2r, which destroys its input.
    let scratch: UnsafeMutablePointer<Double>
    private let forward: fftw_plan, inverse: fftw_plan

    init(size: Int) {
        precondition(size >= 4 && size % 2 == 0, "grid size must be even")
        self.size = size
        columns = size / 2 + 1
        let twoPi = 2 * Double.pi
        kx = (0..<columns).map { twoPi * Double($0) }
        ky = (0..<size).map { twoPi * Double($0 < size / 2 ? $0 : $0 - size) }
        let spec = SpectralGrid.allocate(2 * size * columns)
        let phys = SpectralGrid.allocate(size * size)
        scratch = spec
        let n = Int32(size)
        (forward, inverse) = FFTWPlanning.locked {
            (fftw_plan_dft_r2c_2d(n, n, phys, SpectralGrid.complex(spec), UInt32(FFTW_ESTIMATE))!,
             fftw_plan_dft_c2r_2d(n, n, SpectralGrid.complex(spec), phys, UInt32(FFTW_ESTIMATE))!)
        }
        fftw_free(phys)
    }

    deinit {
        FFTWPlanning.locked {
            fftw_destroy_plan(forward)
            fftw_destroy_plan(inverse)
        }
        fftw_free(scratch)
    }

    /// Number of complex modes in the half spectrum.
    var modes: Int { size * columns }

    /// A zeroed SIMD-aligned Double array (FFTW's new-array execution needs plan-like alignment).
    static func allocate(_ count: Int) -> UnsafeMutablePointer<Double> {
        let p = fftw_alloc_real(count)!
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// Releases an array from `allocate`.
    static func free(_ p: UnsafeMutablePointer<Double>) {
        fftw_free(p)
    }

    static func complex(_ p: UnsafeMutablePointer<Double>) -> UnsafeMutablePointer<fftw_complex> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: fftw_complex.self)
    }

    /// Normalised coefficients c_k of the grid values (out-of-place r2c keeps `phys`).
    func transform(_ phys: UnsafeMutablePointer<Double>, into coefficients: UnsafeMutablePointer<Double>) {
        fftw_execute_dft_r2c(forward, phys, SpectralGrid.complex(coefficients))
        let scale = 1 / Double(size * size)
        for j in 0..<(2 * modes) { coefficients[j] *= scale }
    }

    /// Grid values sum_k c_k exp(2 pi i k.x) of `coefficients`, which are left intact.
    func synthesize(_ coefficients: UnsafePointer<Double>, into phys: UnsafeMutablePointer<Double>) {
        scratch.update(from: coefficients, count: 2 * modes)
        fftw_execute_dft_c2r(inverse, SpectralGrid.complex(scratch), phys)
    }

    /// Half-spectrum index of the integer wavevector (kx >= 0, ky any sign).
    func index(kx: Int, ky: Int) -> Int {
        ((ky + size) % size) * columns + kx
    }

    /// Stores the coefficient re + i im of (kx, ky) in interleaved `coefficients`; the
    /// kx = 0 column holds both ky and -ky, so there its conjugate goes to -ky (a real field).
    func setHermitian(_ coefficients: UnsafeMutablePointer<Double>, kx: Int, ky: Int, re: Double, im: Double) {
        let m = index(kx: kx, ky: ky)
        coefficients[2 * m] = re
        coefficients[2 * m + 1] = im
        if kx == 0 {
            let mirror = index(kx: 0, ky: -ky)
            coefficients[2 * mirror] = re
            coefficients[2 * mirror + 1] = -im
        }
    }
}
