import GraphIR
import M2MData

/// Seeded initialization, as the FNO reference (PyTorch defaults): linear
/// weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); spectral weights
/// ~ (1/(Ci Co)) U[0, 1) for real and imaginary parts. Each parameter draws from
/// its own stream (seed, index), so adding a parameter never shifts the others.
public enum WeightInit {
    public static func initialize(_ store: ParameterWriter, parameters: [(name: String, type: TensorType)], seed: UInt64) {
        for (index, (name, type)) in parameters.enumerated() {
            var rng = SeededGenerator(seed: seed, stream: UInt64(index))
            let count = type.floatCount
            let values: [Float]
            if type.dtype == .c64 {
                let scale = 1 / Double(type.shape[1] * type.shape[2])
                values = (0..<count).map { _ in Float(scale * rng.nextUniform()) }
            } else {
                let fanIn = fanIn(of: name, type: type, among: parameters)
                let bound = 1 / Double(fanIn).squareRoot()
                values = (0..<count).map { _ in Float(bound * (2 * rng.nextUniform() - 1)) }
            }
            store(name, values)
        }
    }

    /// Fan-in of a weight `[K, N]` is K; a bias takes the fan-in of its layer's weight.
    static func fanIn(of name: String, type: TensorType, among parameters: [(name: String, type: TensorType)]) -> Int {
        if type.rank == 2 { return type.shape[0] }
        let weight = name.replacingOccurrences(of: ".bias", with: ".weight")
        return parameters.first { $0.name == weight }?.type.shape[0] ?? 1
    }

    /// Receives each parameter's values by name.
    public typealias ParameterWriter = (_ name: String, _ values: [Float]) -> Void
}
