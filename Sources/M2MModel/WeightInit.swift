import GraphIR
import M2MData

/// Seeded initialization from each parameter's declared `Initializer`, as the FNO
/// reference (PyTorch defaults): linear weights and biases ~ U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)); spectral weights ~ scale U[0, 1) for real and imaginary parts.
/// Each parameter draws from its own stream (seed, index), so adding a parameter
/// never shifts the others.
public enum WeightInit {
    public static func initialize(_ store: ParameterWriter, parameters: [ParameterSpec], seed: UInt64) {
        for (index, spec) in parameters.enumerated() {
            var rng = SeededGenerator(seed: seed, stream: UInt64(index))
            let count = spec.type.floatCount
            let values: [Float]
            switch spec.initializer {
            case .spectral(let scale):
                values = (0..<count).map { _ in Float(scale * rng.nextUniform()) }
            case .linear(let fanIn):
                let bound = 1 / Double(fanIn).squareRoot()
                values = (0..<count).map { _ in Float(bound * (2 * rng.nextUniform() - 1)) }
            }
            store(spec.name, values)
        }
    }

    /// Receives each parameter's values by name.
    public typealias ParameterWriter = (_ name: String, _ values: [Float]) -> Void
}
