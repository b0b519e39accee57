import CKernels
import Planner

/// The instruction set the C kernels (CKernels) run with, chosen once per process from
/// cpuid, or forced with `M2MC_ISA=baseline|avx2|avx512`. Every ISA gives the same
/// bits (ARCHITECTURE.md, "CPU dispatch"); only the speed differs.
public enum KernelISA: Int, CaseIterable, Sendable, CustomStringConvertible {
    case baseline = 0, avx2 = 1, avx512 = 2

    public var description: String { String(cString: m2m_isa_name(Int32(rawValue))) }

    /// Whether this CPU can run the variant.
    public var isSupported: Bool { m2m_isa_supported(Int32(rawValue)) != 0 }

    /// The variant the kernels use now.
    public static var active: KernelISA { KernelISA(rawValue: Int(m2m_isa_active())) ?? .baseline }

    /// Chooses the ISA (once; later calls only repeat the first outcome). Throws a
    /// one-line error when `M2MC_ISA` names an unknown ISA or one this CPU lacks.
    public static func initialize() throws {
        var message = [CChar](repeating: 0, count: 256)
        if m2m_isa_initialize(&message, message.count) != 0 {
            throw PlanError(String(cString: message))
        }
    }

    /// Forces `isa` for the kernels run from now on (tests and benchmarks; not while a
    /// program runs). Returns false, changing nothing, when the CPU lacks it.
    @discardableResult
    public static func select(_ isa: KernelISA) -> Bool { m2m_isa_select(Int32(isa.rawValue)) == 0 }
}
