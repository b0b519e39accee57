import Executor
import Foundation
import M2MModel

/// An independent Double reference of the KNO step (koopmanlab's `KNO2d`, MLP
/// autoencoder), written from its definition: encoder + tanh, `decompose` Koopman
/// steps with naive DFTs (`ReferenceFNO.spectralConv` on the one weight block written
/// out for both corner blocks, as koopmanlab indexes `koopman_matrix` for both), the
/// 1x1 high-frequency path, tanh, decoder, newest channel; and the training loss
/// with the weighted reconstruction term.
struct ReferenceKNO {
    let config: ModelConfig
    let kno: KNOConfig
    var parameters: [String: [Double]]

    init(config: ModelConfig, parameters: [String: [Double]]) {
        self.config = config
        kno = config.kno!
        self.parameters = parameters
    }

    var H: Int { config.grid[0] }
    var W: Int { config.grid[1] }

    /// Floats of every KNO parameter read from `store` (complex as (re, im) pairs).
    static func parameters(of config: ModelConfig, in store: PersistentStore) -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for (name, type) in KNO2d(config: config).parameterTypes {
            let p = store.pointer(name)!
            result[name] = (0..<type.floatCount).map { Double(p[$0]) }
        }
        return result
    }

    /// The Koopman operator as an FNO spectral convolution of width op_size whose weight is
    /// koopman_matrix written out for the top block, then again for the bottom block.
    var spectral: (ReferenceFNO, [Double]) {
        var c = ModelConfig()
        c.grid = config.grid
        c.width = kno.opSize
        c.modes = kno.modes
        let block = parameters["koopman.weight"]!
        return (ReferenceFNO(config: c, parameters: [:]), block + block)
    }

    /// One step: `x[B, H, W, t_in]` -> (prediction `[B, H, W]`, reconstruction `[B, H, W, t_in]`).
    func forward(_ x: [Double], batch: Int) -> (prediction: [Double], reconstruction: [Double]) {
        let t = config.inputChannels, o = kno.opSize
        let pixels = H * W, rows = batch * pixels
        precondition(x.count == rows * t)
        let p = parameters
        let encoded = ReferenceFNO.linear(x, rows: rows, k: t, n: o, p["encoder.weight"]!, p["encoder.bias"]!).map(tanh)
        let reconstruction = ReferenceFNO.linear(encoded, rows: rows, k: o, n: t, p["decoder.weight"]!, p["decoder.bias"]!)
        let (fno, weight) = spectral
        var v = encoded
        for _ in 0..<kno.decompose {
            var k = [Double]()
            k.reserveCapacity(v.count)
            for b in 0..<batch { k += fno.spectralConv(v[(b * pixels * o)..<((b + 1) * pixels * o)], weight) }
            for i in v.indices { v[i] = kno.linearType ? v[i] + k[i] : tanh(v[i] + k[i]) }
        }
        let w0 = ReferenceFNO.linear(encoded, rows: rows, k: o, n: o, p["w0.weight"]!, p["w0.bias"]!)
        for i in v.indices { v[i] = tanh(w0[i] + v[i]) }
        let decoded = ReferenceFNO.linear(v, rows: rows, k: o, n: t, p["decoder.weight"]!, p["decoder.bias"]!)
        return ((0..<rows).map { decoded[$0 * t + t - 1] }, reconstruction)
    }

    /// The training loss over `steps` rollout steps: per step the relative L2 loss of the
    /// prediction against `y[B, H, W, steps]` plus `reconstruction_weight` x the relative L2
    /// loss of the reconstruction against the step's input window.
    func trainingLoss(x: [Double], y: [Double], batch: Int, steps: Int) -> (total: Double, data: Double, auxiliary: Double) {
        let t = config.inputChannels, pixels = batch * H * W
        var window = x
        var data = 0.0, auxiliary = 0.0
        for step in 0..<steps {
            let (prediction, reconstruction) = forward(window, batch: batch)
            data += ReferenceFNO.relativeL2Loss(prediction, (0..<pixels).map { y[$0 * steps + step] }, batch: batch)
            if kno.reconstructionWeight > 0 {
                auxiliary += kno.reconstructionWeight * ReferenceFNO.relativeL2Loss(reconstruction, window, batch: batch)
            }
            window = ReferenceFNO.slide(window, appending: prediction, frames: t)
        }
        return (data + auxiliary, data, auxiliary)
    }
}
