import Executor
import Foundation
import GraphIR
import M2MData
import M2MModel
import Planner
import XCTest

/// Paths and small helpers shared by the model tests.
enum TestSupport {
    /// The package root (this file is Tests/M2MModelTests/TestSupport.swift).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var tinyConfigPath: String { configPath("tiny-fno") }

    /// The path of `configs/NAME.json`.
    static func configPath(_ name: String) -> String { repoRoot.appendingPathComponent("configs/\(name).json").path }

    /// Configs compiled once per test process (planning dominates in a debug build), by path.
    /// XCTest runs a process's tests one at a time, on one thread.
    nonisolated(unsafe) private static var compiled: [String: CompiledModel] = [:]

    /// The config at `path` compiled with `--fftw estimate` on 2 threads, once per process.
    static func compiledOnce(_ path: String) throws -> CompiledModel {
        if let c = compiled[path] { return c }
        let c = try CompiledModel.compile(try ModelConfig.load(path), rigor: .estimate, threads: 2)
        compiled[path] = c
        return c
    }

    static func tinyConfig() throws -> ModelConfig { try ModelConfig.load(tinyConfigPath) }

    /// Coordinates to check in a tensor of `size` floats: `extra` (those below `size`), then
    /// distinct seeded ones up to `count` more.
    static func distinctIndices(_ count: Int, below size: Int, seed: UInt64, extra: [Int] = []) -> [Int] {
        var rng = SeededGenerator(seed: seed)
        var chosen = extra.filter { $0 < size }
        while chosen.count < min(size, count + extra.count) {
            let i = rng.nextInt(below: size)
            if !chosen.contains(i) { chosen.append(i) }
        }
        return chosen
    }

    /// Each `configs/NAME.json` is a `kind` model whose canonical JSON (stored in compiled
    /// plans) parses back to the same config.
    static func assertCanonicalRoundTrip(_ names: [String], kind: ModelConfig.Kind,
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        for name in names {
            let config = try ModelConfig.load(configPath(name))
            XCTAssertEqual(config.kind, kind, name, file: file, line: line)
            XCTAssertEqual(try ModelConfig.parse(config.canonicalJSON(), source: name), config, name, file: file, line: line)
        }
    }

    /// An edit of a config's JSON: the top-level object and one model section of it.
    typealias ConfigEdit = (inout [String: Any], inout [String: Any]) -> Void

    /// The config at `path` as JSON, with `edit` applied to its top-level object and to its
    /// `section` object (e.g. "cno").
    static func editedConfig(_ path: String, section: String, _ edit: ConfigEdit) throws -> Data {
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: try XCTUnwrap(FileManager.default.contents(atPath: path))) as? [String: Any])
        var part = try XCTUnwrap(object[section] as? [String: Any])
        edit(&object, &part)
        object[section] = part
        return try JSONSerialization.data(withJSONObject: object)
    }

    /// Each case `(what, key, edit)`: the edited config (`json(edit)`, parsed as "c.json") is
    /// refused with a one-line `UserError` that starts with the file and names `key`.
    static func assertOneLineConfigErrors(_ cases: [(String, String, ConfigEdit)], json: (ConfigEdit) throws -> Data,
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        for (what, key, edit) in cases {
            do {
                _ = try ModelConfig.parse(try json(edit), source: "c.json")
                XCTFail("\(what): parsed", file: file, line: line)
            } catch {
                let message = "\(error)"
                XCTAssertTrue(error is UserError, "\(what): \(type(of: error))", file: file, line: line)
                XCTAssertTrue(message.hasPrefix("c.json: "), "\(what): \(message)", file: file, line: line)
                XCTAssertTrue(message.contains(key), "\(what): '\(message)' does not name \(key)", file: file, line: line)
                XCTAssertFalse(message.contains("\n"), "\(what): \(message)", file: file, line: line)
            }
        }
    }

    /// A fresh temporary directory, removed at the end of the test.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("m2m-model-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Seeded uniform values in [-scale, scale).
    static func randomValues(_ count: Int, seed: UInt64, scale: Double = 1) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(scale * (2 * rng.nextUniform() - 1)) }
    }

    /// Floats of every parameter of `config` read from `store` (complex as (re, im) pairs).
    static func parameters(of config: ModelConfig, in store: PersistentStore) -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for (name, type) in FNO2d(config: config).parameterTypes {
            let count = type.elementCount * (type.dtype == .c64 ? 2 : 1)
            let p = store.pointer(name)!
            result[name] = (0..<count).map { Double(p[$0]) }
        }
        return result
    }

    /// The whole persistent block as bytes (weights and optimizer state).
    static func persistentBytes(_ store: PersistentStore) -> [UInt8] {
        store.snapshot()
    }

    /// ||a - b|| / ||b||.
    static func relativeL2(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var num = 0.0, den = 0.0
        for i in a.indices { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i] }
        return (num / den).squareRoot()
    }

    /// The m2mc executable next to the test bundle in the build directory.
    static func m2mcBinary() throws -> URL {
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            // The test executable may sit inside `M2MPackageTests.xctest/` (a bundle directory).
            for _ in 0..<3 {
                candidates.append(dir.appendingPathComponent("m2mc"))
                dir = dir.deletingLastPathComponent()
            }
        }
        candidates.append(Bundle(for: ReferenceFNOTests.self).bundleURL.deletingLastPathComponent()
            .appendingPathComponent("m2mc"))
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) { return c }
        throw XCTSkip("m2mc binary not found next to the test bundle (tried \(candidates.map(\.path)))")
    }

    /// Runs m2mc; returns (exit status, stdout, stderr). With `timeout` (seconds), a run still
    /// going then is killed (SIGKILL: status 9, reason uncaughtSignal), so a hang fails its test
    /// instead of stalling the suite. `environment` adds or overrides variables (e.g. `M2MC_ISA`).
    @discardableResult
    static func runM2MC(_ arguments: [String], timeout: Double? = nil, environment extra: [String: String] = [:]) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try m2mcBinary()
        process.arguments = arguments
        if !extra.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let timeout {
            let pid = process.processIdentifier
            final class Flag: @unchecked Sendable { let lock = NSLock(); var done = false }
            let flag = Flag()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                flag.lock.lock()
                defer { flag.lock.unlock() }
                if !flag.done { kill(pid, SIGKILL) }
            }
            defer { flag.lock.lock(); flag.done = true; flag.lock.unlock() }
            return finish(process, out, err)
        }
        return finish(process, out, err)
    }

    private static func finish(_ process: Process, _ out: Pipe, _ err: Pipe) -> (status: Int32, stdout: String, stderr: String) {
        // Drain both pipes before waiting so a chatty child never blocks on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let outData = outBox.data
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self),
                String(decoding: errData, as: UTF8.self))
    }
}

/// An independent Double-precision FNO2d (M2M.md section 2) with naive DFTs,
/// written from the op semantics only (no code shared with the runtime).
struct ReferenceFNO {
    let config: ModelConfig
    var parameters: [String: [Double]]

    var H: Int { config.grid[0] }
    var W: Int { config.grid[1] }
    var m1: Int { config.modes[0] }
    var m2: Int { config.modes[1] }
    var width: Int { config.width }

    /// Pointwise linear layer: x[P, K] w[K, N] + b[N].
    static func linear(_ x: [Double], rows: Int, k: Int, n: Int, _ w: [Double], _ b: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var s = b[j]
                for i in 0..<k { s += x[r * k + i] * w[i * n + j] }
                y[r * n + j] = s
            }
        }
        return y
    }

    static func gelu(_ x: Double) -> Double {
        0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }

    /// The kept frequency row of mode-row index `row` (0..<2*m1).
    func frequencyRow(_ row: Int) -> Int { row < m1 ? row : H - m1 + (row - m1) }

    /// Spectral convolution of one sample `v[H, W, C]` with complex weights `w[M, C, C]`.
    func spectralConv(_ v: ArraySlice<Double>, _ w: [Double]) -> [Double] {
        let c = width
        let base = v.startIndex
        let modeCount = 2 * m1 * m2
        // Forward DFT of every channel at the kept modes.
        var xr = [Double](repeating: 0, count: modeCount * c), xi = xr
        for row in 0..<(2 * m1) {
            let kx = frequencyRow(row)
            for ky in 0..<m2 {
                let m = row * m2 + ky
                for h in 0..<H {
                    for x in 0..<W {
                        let angle = -2 * Double.pi * (Double(kx * h) / Double(H) + Double(ky * x) / Double(W))
                        let (cs, sn) = (cos(angle), sin(angle))
                        for ch in 0..<c {
                            let value = v[base + (h * W + x) * c + ch]
                            xr[m * c + ch] += value * cs
                            xi[m * c + ch] += value * sn
                        }
                    }
                }
            }
        }
        // Per-mode complex matrix product.
        var yr = [Double](repeating: 0, count: modeCount * c), yi = yr
        for m in 0..<modeCount {
            for co in 0..<c {
                var sr = 0.0, si = 0.0
                for ci in 0..<c {
                    let wr = w[((m * c + ci) * c + co) * 2], wi = w[((m * c + ci) * c + co) * 2 + 1]
                    let ar = xr[m * c + ci], ai = xi[m * c + ci]
                    sr += ar * wr - ai * wi
                    si += ar * wi + ai * wr
                }
                yr[m * c + co] = sr
                yi[m * c + co] = si
            }
        }
        // Inverse: A[h, ky] = sum_kx Y[kx, ky] e^{+2 pi i kx h / H}; then the real inverse over ky
        // (Hermitian half spectrum: DC and Nyquist columns once, the others twice, real part).
        var out = [Double](repeating: 0, count: H * W * c)
        let scale = 1 / Double(H * W)
        for h in 0..<H {
            for ky in 0..<m2 {
                var ar = [Double](repeating: 0, count: c), ai = ar
                for row in 0..<(2 * m1) {
                    let kx = frequencyRow(row)
                    let angle = 2 * Double.pi * Double(kx * h) / Double(H)
                    let (cs, sn) = (cos(angle), sin(angle))
                    let m = row * m2 + ky
                    for ch in 0..<c {
                        ar[ch] += yr[m * c + ch] * cs - yi[m * c + ch] * sn
                        ai[ch] += yr[m * c + ch] * sn + yi[m * c + ch] * cs
                    }
                }
                let factor: Double = (ky == 0 || 2 * ky == W) ? 1 : 2
                for x in 0..<W {
                    let angle = 2 * Double.pi * Double(ky * x) / Double(W)
                    let (cs, sn) = (cos(angle), sin(angle))
                    for ch in 0..<c {
                        out[(h * W + x) * c + ch] += scale * factor * (ar[ch] * cs - ai[ch] * sn)
                    }
                }
            }
        }
        return out
    }

    /// One step: `x[B, H, W, t_in]` -> `[B, H, W]`. `coordinates` (x, y per pixel), when
    /// given, replace the network's own grid coordinates (M2M's `expert_coordinates: global`).
    func forward(_ x: [Double], batch: Int, coordinates: [Double]? = nil) -> [Double] {
        let t = config.inputChannels, c = width, hidden = config.projectionHidden
        let pixels = H * W
        precondition(x.count == batch * pixels * t)
        // Lift on [frames..., x = w/W, y = h/H].
        var input = [Double](repeating: 0, count: batch * pixels * (t + 2))
        for b in 0..<batch {
            for h in 0..<H {
                for w in 0..<W {
                    let p = (b * H + h) * W + w
                    for f in 0..<t { input[p * (t + 2) + f] = x[p * t + f] }
                    input[p * (t + 2) + t] = coordinates?[2 * p] ?? Double(w) / Double(W)
                    input[p * (t + 2) + t + 1] = coordinates?[2 * p + 1] ?? Double(h) / Double(H)
                }
            }
        }
        let rows = batch * pixels
        var v = Self.linear(input, rows: rows, k: t + 2, n: c, parameters["lift.weight"]!, parameters["lift.bias"]!)
        for l in 0..<config.layers {
            var spectral = [Double]()
            spectral.reserveCapacity(v.count)
            for b in 0..<batch {
                spectral += spectralConv(v[(b * pixels * c)..<((b + 1) * pixels * c)],
                                         parameters["layers.\(l).spectral.weight"]!)
            }
            let pointwise = Self.linear(v, rows: rows, k: c, n: c, parameters["layers.\(l).pointwise.weight"]!,
                                        parameters["layers.\(l).pointwise.bias"]!)
            for i in v.indices {
                let s = spectral[i] + pointwise[i]
                v[i] = l < config.layers - 1 ? Self.gelu(s) : s
            }
        }
        let h = Self.linear(v, rows: rows, k: c, n: hidden, parameters["projection.hidden.weight"]!,
                            parameters["projection.hidden.bias"]!).map(Self.gelu)
        return Self.linear(h, rows: rows, k: hidden, n: 1, parameters["projection.out.weight"]!,
                           parameters["projection.out.bias"]!)
    }

    /// Autoregressive rollout: each prediction becomes the newest frame. Returns `[B, H, W, steps]`.
    func rollout(_ x: [Double], batch: Int, steps: Int) -> [Double] {
        let t = config.inputChannels, pixels = batch * H * W
        var window = x
        var result = [Double](repeating: 0, count: pixels * steps)
        for step in 0..<steps {
            let p = forward(window, batch: batch)
            for i in 0..<pixels { result[i * steps + step] = p[i] }
            window = Self.slide(window, appending: p, frames: t)
        }
        return result
    }

    /// The next input window of an autoregressive rollout: `window [P, t]` without its oldest
    /// frame, with `prediction [P]` as the newest.
    static func slide(_ window: [Double], appending prediction: [Double], frames t: Int) -> [Double] {
        var next = [Double](repeating: 0, count: window.count)
        for i in 0..<prediction.count {
            for f in 0..<(t - 1) { next[i * t + f] = window[i * t + f + 1] }
            next[i * t + t - 1] = prediction[i]
        }
        return next
    }

    /// The training loss of a model whose step is `forward(window)`: per rollout step the
    /// relative L2 loss against `y[B, H, W, steps]`, each prediction fed back as the newest frame.
    static func rolloutLoss(x: [Double], y: [Double], batch: Int, steps: Int, frames t: Int,
                            forward: ([Double]) -> [Double]) -> Double {
        let pixels = x.count / t
        var window = x, total = 0.0
        for step in 0..<steps {
            let prediction = forward(window)
            total += relativeL2Loss(prediction, (0..<pixels).map { y[$0 * steps + step] }, batch: batch)
            window = slide(window, appending: prediction, frames: t)
        }
        return total
    }

    /// Mean over the batch of ||pred - target|| / ||target|| (both `[B, P]`).
    static func relativeL2Loss(_ pred: [Double], _ target: [Double], batch: Int) -> Double {
        let n = pred.count / batch
        var total = 0.0
        for b in 0..<batch {
            var num = 0.0, den = 0.0
            for i in (b * n)..<((b + 1) * n) {
                num += (pred[i] - target[i]) * (pred[i] - target[i])
                den += target[i] * target[i]
            }
            total += (num / den).squareRoot()
        }
        return total / Double(batch)
    }

    /// The training loss: sum over `steps` rollout steps of the relative L2 loss against `y[B, H, W, steps]`.
    func trainingLoss(x: [Double], y: [Double], batch: Int, steps: Int) -> Double {
        let predictions = rollout(x, batch: batch, steps: steps)
        let pixels = batch * H * W
        var total = 0.0
        for step in 0..<steps {
            let p = (0..<pixels).map { predictions[$0 * steps + step] }
            let truth = (0..<pixels).map { y[$0 * steps + step] }
            total += Self.relativeL2Loss(p, truth, batch: batch)
        }
        return total
    }
}
