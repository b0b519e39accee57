import Foundation
import GraphIR

/// Table entries of the GEMM-epilogue fusions (Graph+Fusion.swift): each fused op against
/// the Double reference of the ops it replaces. Bounded rows are covered by
/// `FusedCases.boundedFixture` (a dispatch's run-time count).
enum FusedCases {
    static func all() throws -> [OpCode: OpCase] {
        let (k, n, rows) = (ExistingCases.k, ExistingCases.n, ExistingCases.rows)
        let rowsOf = ExistingCases.rowsOf
        let r: ClosedRange<Float> = -1...1
        var table: [OpCode: OpCase] = [:]
        table[.linear_add] = OpCase(existingTests: ["DenseOpTests.testLinearAddEpilogues"], fixtures: [
            try ExistingCases.single("linear_add", .linearAdd,
                                     [("x", rowsOf(k), r), ("w", .f32(k, n), r), ("b", .f32(n), r), ("r", rowsOf(n), r)],
                                     seed: 1900) {
                zip(Reference.linear($0[0], $0[1], $0[2], rows: rows, k: k, n: n), $0[3]).map { $0 + Double($1) }
            },
        ])
        table[.linear_add_gelu] = OpCase(existingTests: ["DenseOpTests.testLinearAddEpilogues"], fixtures: [
            try ExistingCases.single("linear_add_gelu", .linearAddGelu,
                                     [("x", rowsOf(k), r), ("w", .f32(k, n), r), ("b", .f32(n), r), ("r", rowsOf(n), -2...2)],
                                     seed: 1903) {
                zip(Reference.linear($0[0], $0[1], $0[2], rows: rows, k: k, n: n), $0[3]).map { Reference.gelu($0 + Double($1)) }
            },
        ])
        table[.linear_grad_input_add] = OpCase(existingTests: ["DenseOpTests.testLinearGradInputAddEpilogues"], fixtures: [
            try ExistingCases.single("linear_grad_input_add", .linearGradInputAdd,
                                     [("dy", rowsOf(n), r), ("w", .f32(k, n), r), ("r", rowsOf(k), r)], seed: 1906) {
                zip(Reference.linearGradInput($0[0], $0[1], rows: rows, k: k, n: n), $0[2]).map { $0 + Double($1) }
            },
        ])
        table[.linear_grad_input_add_gelu] = OpCase(existingTests: ["DenseOpTests.testLinearGradInputAddEpilogues"], fixtures: [
            try ExistingCases.single("linear_grad_input_add_gelu", .linearGradInputAddGelu,
                                     [("dy", rowsOf(n), r), ("w", .f32(k, n), r), ("r", rowsOf(k), r), ("x", rowsOf(k), -3...3)],
                                     seed: 1909) {
                let sum = zip(Reference.linearGradInput($0[0], $0[1], rows: rows, k: k, n: n), $0[2]).map { $0 + Double($1) }
                return zip(sum, $0[3]).map { $0 * Reference.geluDerivative($1) }
            },
        ])
        return table
    }
}
