import Foundation

extension Evaluation {
    /// Writes one PNG per rollout step for the first evaluated sample into `folder`:
    /// truth, prediction (one shared colour scale), error (diverging, symmetric) and, for a
    /// routed model, the routing map (each patch in its expert's colour; black: dropped).
    /// Returns the paths written.
    public func writeImages(to folder: String, height: Int, width: Int, scale: Int?) throws -> [String] {
        let steps = perStep.count, pixels = height * width
        let factor = max(1, 256 / max(height, width))
        var paths: [String] = []
        for step in 0..<steps {
            let truth = (0..<pixels).map { firstTruth[$0 * steps + step] }
            let prediction = (0..<pixels).map { firstPrediction[$0 * steps + step] }
            let error = zip(prediction, truth).map { $0 - $1 }
            let low = truth.min() ?? 0, high = truth.max() ?? 1
            let bound = max(error.map(abs).max() ?? 0, .leastNormalMagnitude)
            var panels = [
                RGBImage(field: truth, width: width, height: height, min: low, max: high),
                RGBImage(field: prediction, width: width, height: height, min: low, max: high),
                RGBImage(field: error, width: width, height: height, min: -bound, max: bound, colormap: .diverging),
            ].map { $0.upscaled(by: factor) }
            if let scale, let map = routingMap, step < map.count, map[step].count == scale * scale {
                panels.append(RGBImage(routing: map[step], rows: scale, cols: scale, width: width * factor,
                                       height: height * factor))
            }
            let path = folder + String(format: "/sample0-step%02d.png", step + 1)
            try RGBImage.sideBySide(panels).write(to: path)
            paths.append(path)
        }
        return paths
    }
}
