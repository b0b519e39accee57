import CFFTW
import Foundation

/// How hard FFTW searches for fast algorithms at compile time.
public enum FFTRigor: String, Sendable, Codable, CaseIterable {
    /// Heuristic choice; deterministic without wisdom.
    case estimate
    /// Times candidate algorithms; the choice is stored as wisdom in the compiled plan.
    case measure
    /// Times a wider set of algorithms (slower planning, ~10% faster FFTs on fno-ns64).
    case patient

    /// Whether the choice depends on timing and so must travel as wisdom.
    public var needsWisdom: Bool { self != .estimate }
}

/// An FFTW plan for one `FFTPlanSpec`, executed with FFTW's new-array interface
/// on arrays with the alignment it was planned for. The only owner of fftwf_plan.
/// Thread safety: planning holds `plannerLock` (FFTW's planner is not thread-safe); executing
/// one plan from several threads at once on different arrays is allowed by FFTW's new-array
/// interface.
public final class FFTPlan: @unchecked Sendable {
    public let spec: FFTPlanSpec
    private let plan: fftwf_plan

    /// FFTW's planner is not thread-safe: every plan is created under this lock.
    private static let plannerLock = NSLock()

    /// Plans `spec`. `wisdomOnly` refuses to plan without matching wisdom (used at
    /// load so that a loaded program picks exactly the compiled algorithms).
    public init(_ spec: FFTPlanSpec, rigor: FFTRigor, wisdomOnly: Bool = false) throws {
        self.spec = spec
        var flags: UInt32
        switch rigor {
        case .estimate: flags = UInt32(FFTW_ESTIMATE)
        case .measure: flags = UInt32(FFTW_MEASURE)
        case .patient: flags = UInt32(FFTW_PATIENT)
        }
        if wisdomOnly && rigor.needsWisdom { flags |= UInt32(FFTW_WISDOM_ONLY) }
        if spec.kind == .complexToReal { flags |= UInt32(FFTW_DESTROY_INPUT) }
        if spec.unaligned { flags |= UInt32(FFTW_UNALIGNED) }
        // Buffered solvers allocate their buffers at every execution: never in the step loop.
        flags |= UInt32(FFTW_NO_BUFFERING)
        let complexIn = spec.kind != .realToComplex
        let complexOut = spec.kind != .complexToReal
        let inBytes = spec.inputElements * (complexIn ? 8 : 4)
        let outBytes = spec.inPlace ? 0 : spec.outputElements * (complexOut ? 8 : 4)
        // Planning (MEASURE) overwrites its arrays, so it gets scratch arrays of its own.
        let input = fftwf_malloc(max(inBytes, 8))!
        let output = spec.inPlace ? input : fftwf_malloc(max(outBytes, 8))!
        defer { fftwf_free(input); if !spec.inPlace { fftwf_free(output) } }

        var dims = spec.dims.map { fftw_iodim(n: Int32($0.n), is: Int32($0.inputStride), os: Int32($0.outputStride)) }
        var loops = spec.loops.map { fftw_iodim(n: Int32($0.n), is: Int32($0.inputStride), os: Int32($0.outputStride)) }
        let rank = Int32(dims.count), loopRank = Int32(loops.count)
        Self.plannerLock.lock()
        defer { Self.plannerLock.unlock() }
        let made: fftwf_plan?
        switch spec.kind {
        case .realToComplex:
            made = fftwf_plan_guru_dft_r2c(rank, &dims, loopRank, &loops, input.assumingMemoryBound(to: Float.self),
                                           output.assumingMemoryBound(to: fftwf_complex.self), flags)
        case .complexToReal:
            made = fftwf_plan_guru_dft_c2r(rank, &dims, loopRank, &loops, input.assumingMemoryBound(to: fftwf_complex.self),
                                           output.assumingMemoryBound(to: Float.self), flags)
        case .complexForward, .complexBackward:
            made = fftwf_plan_guru_dft(rank, &dims, loopRank, &loops, input.assumingMemoryBound(to: fftwf_complex.self), output.assumingMemoryBound(to: fftwf_complex.self),
                                       spec.kind == .complexForward ? FFTW_FORWARD : FFTW_BACKWARD, flags)
        }
        guard let made else {
            throw PlanError(wisdomOnly ? "FFTW wisdom in the plan file does not cover transform \(spec)"
                                       : "FFTW could not plan transform \(spec)")
        }
        plan = made
    }

    deinit { fftwf_destroy_plan(plan) }

    /// Runs the transform on new arrays (real or complex as the spec says).
    @inline(__always)
    public func execute(_ input: UnsafeMutableRawPointer, _ output: UnsafeMutableRawPointer) {
        switch spec.kind {
        case .realToComplex:
            fftwf_execute_dft_r2c(plan, input.assumingMemoryBound(to: Float.self), output.assumingMemoryBound(to: fftwf_complex.self))
        case .complexToReal:
            fftwf_execute_dft_c2r(plan, input.assumingMemoryBound(to: fftwf_complex.self), output.assumingMemoryBound(to: Float.self))
        case .complexForward, .complexBackward:
            fftwf_execute_dft(plan, input.assumingMemoryBound(to: fftwf_complex.self), output.assumingMemoryBound(to: fftwf_complex.self))
        }
    }

    /// FFTW's accumulated wisdom, as the text stored in compiled plans.
    public static func exportWisdom() -> String {
        plannerLock.lock(); defer { plannerLock.unlock() }
        guard let cString = fftwf_export_wisdom_to_string() else { return "" }
        defer { free(cString) }
        return String(cString: cString)
    }

    /// Replaces FFTW's wisdom with `wisdom`; throws when FFTW rejects the text.
    public static func importWisdom(_ wisdom: String) throws {
        plannerLock.lock(); defer { plannerLock.unlock() }
        fftwf_forget_wisdom()
        if wisdom.isEmpty { return }
        guard fftwf_import_wisdom_from_string(wisdom) != 0 else {
            throw PlanError("the FFTW wisdom stored in the plan is corrupt")
        }
    }
}

/// A planning failure, with a one-line message for the user.
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
