import Executor
import Foundation

extension ModelRuntime {
    /// Autoregressive prediction for `count` samples: `inputs` is `[count, H, W, t_in]`
    /// (newest frame last), the result `[count, H, W, rollout]`. Samples run in
    /// batches of the compiled batch size (the last batch padded with zeros); each
    /// prediction becomes the newest frame of the next step's window.
    ///
    /// For a routed model, `routes` (when given) receives each step's routing table with the
    /// batch's first sample index, its real sample count and the rollout step.
    public func predict(_ inputs: UnsafeBufferPointer<Float>, count: Int, rollout: Int,
                        routes: ((_ table: UnsafePointer<Int32>, _ first: Int, _ samples: Int, _ step: Int) -> Void)? = nil)
        throws -> [Float] {
        let (h, w, t) = (config.grid[0], config.grid[1], config.inputChannels)
        let pixels = h * w
        guard inputs.count == count * pixels * t else {
            throw UserError("input has \(inputs.count) values, expected \(count) x \(h) x \(w) x \(t)")
        }
        guard rollout >= 1 else { throw UserError("--rollout must be >= 1") }
        guard config.task == .timeStepping || rollout == 1 else {
            throw UserError("a steady operator has no rollout: use --rollout 1")
        }
        let program = try self.program(CompiledModel.inferenceName)
        let window = program.buffer(Programs.input)!, prediction = program.buffer(Programs.prediction)!
        let routeTable = program.indexBuffer(Programs.inferenceRoute)
        let batch = config.batch
        var result = [Float](repeating: 0, count: count * pixels * rollout)
        // Inputs are slots that outlive a run (ProgramPlanner), so the window is shifted in place.
        for first in stride(from: 0, to: count, by: batch) {
            let n = min(batch, count - first)
            window.update(from: inputs.baseAddress! + first * pixels * t, count: n * pixels * t)
            DataScales.divide(window, count: n * pixels * t, by: scales.input)
            (window + n * pixels * t).update(repeating: 0, count: (batch - n) * pixels * t)
            for step in 0..<rollout {
                program.run()
                if let routes, let routeTable { routes(routeTable, first, n, step) }
                for s in 0..<n {
                    for p in 0..<pixels {
                        result[((first + s) * pixels + p) * rollout + step] = prediction[s * pixels + p] * scales.target
                    }
                }
                if step < rollout - 1 { Self.shiftWindow(window, newest: prediction, pixels: batch * pixels, frames: t) }
            }
        }
        return result
    }

    /// Drops the oldest frame of each pixel's window and appends `newest`.
    static func shiftWindow(_ window: UnsafeMutablePointer<Float>, newest: UnsafeMutablePointer<Float>,
                            pixels: Int, frames: Int) {
        for p in 0..<pixels {
            let frame = window + p * frames
            for f in 0..<(frames - 1) { frame[f] = frame[f + 1] }
            frame[frames - 1] = newest[p]
        }
    }
}
