import Foundation

/// A user-facing error: one line naming the file, key or value at fault.
public struct UserError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Optimizer settings (M2M.md section 2: Adam, lr 1e-3, weight decay 1e-4, x0.5 every 100 epochs).
public struct OptimizerConfig: Codable, Equatable, Sendable {
    public var lr = 1e-3
    public var weightDecay = 1e-4
    /// false: L2 decay added to the gradient (torch.optim.Adam, the FNO reference); true: AdamW.
    public var decoupledWeightDecay = false
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    /// Learning rate times `gamma` every `stepSize` epochs.
    public var stepSize = 100
    public var gamma = 0.5
}

/// A model configuration (configs/*.json). Every key has a default; an unknown
/// key, a wrong type or an impossible value is an error naming the key.
public struct ModelConfig: Codable, Equatable, Sendable {
    public enum Task: String, Codable, Sendable { case timeStepping = "time_stepping", steady }
    /// The model kinds a config can name (`model`).
    public enum Kind: String, CaseIterable, Sendable { case fno, m2m, kno, cno, uno }

    public var name = "fno"
    public var model = "fno"
    public var task = Task.timeStepping
    public var grid = [64, 64]
    /// Input frames (time stepping); 1 for steady operators.
    public var tIn = 10
    /// Rollout steps evaluated and predicted.
    public var tOut = 10
    /// Autoregressive steps unrolled in the training graph (1 = one-step training).
    public var rolloutTrain = 10
    public var width = 32
    public var modes = [12, 12]
    public var layers = 4
    public var projectionHidden = 128
    public var batch = 20
    public var seed: UInt64 = 0
    public var epochs = 500
    public var ntrain = 1000
    public var ntest = 200
    public var optimizer = OptimizerConfig()
    /// How data is scaled for the network (`DataScales`): `none`, or `rms` (inputs and
    /// targets divided by their root mean square over the training samples).
    public var normalization = Normalization.none
    public enum Normalization: String, Codable, Sendable { case none, rms }
    /// The M2M keys; present exactly when `model` is `m2m`.
    public var m2m: M2MConfig?
    /// The KNO keys; present exactly when `model` is `kno`.
    public var kno: KNOConfig?
    /// The CNO keys; present exactly when `model` is `cno`.
    public var cno: CNOConfig?
    /// The UNO keys; present exactly when `model` is `uno`.
    public var uno: UNOConfig?
    /// `memory_limit`: the most bytes the training arena plus the weights and Adam moments may
    /// take; the planner recomputes activations to fit (`Programs.trainingProgram`). In JSON an
    /// integer or a string such as "1.5G" (`ByteCount`); stored as an integer. Nil: no limit.
    public var memoryLimit: Int?

    public init() {}

    /// The model kind (`validate` guarantees `model` names one).
    public var kind: Kind { Kind(rawValue: model) ?? .fno }

    static let keys: [String: String] = [
        "name": "name", "model": "model", "task": "task", "grid": "grid", "t_in": "tIn", "t_out": "tOut",
        "rollout_train": "rolloutTrain", "width": "width", "modes": "modes", "layers": "layers",
        "projection_hidden": "projectionHidden", "batch": "batch", "seed": "seed", "epochs": "epochs",
        "ntrain": "ntrain", "ntest": "ntest", "optimizer": "optimizer", "m2m": "m2m",
        "normalization": "normalization", "kno": "kno", "cno": "cno", "uno": "uno", "memory_limit": "memoryLimit",
    ]
    /// FNO-only keys: an M2M config sets its experts' modes and widths under `m2m`.
    static let fnoOnlyKeys = ["width", "modes"]
    /// Keys a KNO config does not use: its sizes are `kno.op_size`, `kno.modes`, `kno.decompose`.
    static let notKNOKeys = ["width", "modes", "layers", "projection_hidden"]
    /// Keys a CNO config does not use: its sizes are `cno.n_layers`, `cno.channel_multiplier`, ...
    static let notCNOKeys = ["width", "modes", "layers", "projection_hidden"]
    /// Keys a UNO config does not use: its sizes are under `uno` (out_channels, n_modes, ...).
    static let notUNOKeys = ["width", "modes", "layers", "projection_hidden"]
    static let optimizerKeys = ["lr", "weight_decay", "decoupled_weight_decay", "beta1", "beta2", "epsilon",
                                "step_size", "gamma"]

    /// Reads and validates a config file.
    public static func load(_ path: String) throws -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("\(path): cannot read the config file")
        }
        return try parse(data, source: path)
    }

    /// Parses and validates config JSON; `source` names it in errors.
    public static func parse(_ data: Data, source: String) throws -> ModelConfig {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw UserError("\(source): not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { keys[$0] == nil }) {
            throw UserError("\(source): unknown key '\(unknown)'")
        }
        if let opt = object["optimizer"] as? [String: Any],
           let unknown = opt.keys.sorted().first(where: { !optimizerKeys.contains($0) }) {
            throw UserError("\(source): unknown key 'optimizer.\(unknown)'")
        }
        if let m2m = object["m2m"] as? [String: Any] {
            if let unknown = m2m.keys.sorted().first(where: { !M2MConfig.keys.contains($0) }) {
                throw UserError("\(source): unknown key 'm2m.\(unknown)'")
            }
            if let controller = m2m["controller"] as? [String: Any],
               let unknown = controller.keys.sorted().first(where: { !PIControllerConfig.jsonKeys.contains($0) }) {
                throw UserError("\(source): unknown key 'm2m.controller.\(unknown)'")
            }
        }
        if let kno = object["kno"] as? [String: Any],
           let unknown = kno.keys.sorted().first(where: { !KNOConfig.keys.contains($0) }) {
            throw UserError("\(source): unknown key 'kno.\(unknown)'")
        }
        if let cno = object["cno"] as? [String: Any],
           let unknown = cno.keys.sorted().first(where: { !CNOConfig.keys.contains($0) }) {
            throw UserError("\(source): unknown key 'cno.\(unknown)'")
        }
        let isCNO = (object["model"] as? String) == ModelConfig.Kind.cno.rawValue
        if isCNO, let key = notCNOKeys.first(where: { object[$0] != nil }) {
            throw UserError("\(source): key '\(key)' does not apply to a cno model: it sets cno.n_layers, cno.channel_multiplier, ...")
        }
        if !isCNO && object["cno"] != nil {
            throw UserError("\(source): key 'cno' applies only to \"model\": \"cno\"")
        }
        if let uno = object["uno"] as? [String: Any],
           let unknown = uno.keys.sorted().first(where: { !UNOConfig.keys.contains($0) }) {
            throw UserError("\(source): unknown key 'uno.\(unknown)'")
        }
        let isUNO = (object["model"] as? String) == ModelConfig.Kind.uno.rawValue
        if isUNO, let key = notUNOKeys.first(where: { object[$0] != nil }) {
            throw UserError("\(source): key '\(key)' does not apply to a uno model: it sets uno.out_channels, uno.n_modes and uno.scalings")
        }
        if !isUNO && object["uno"] != nil {
            throw UserError("\(source): key 'uno' applies only to \"model\": \"uno\"")
        }
        let isKNO = (object["model"] as? String) == ModelConfig.Kind.kno.rawValue
        if isKNO, let key = notKNOKeys.first(where: { object[$0] != nil }) {
            throw UserError("\(source): key '\(key)' does not apply to a kno model: it sets kno.op_size, kno.modes and kno.decompose")
        }
        if !isKNO && object["kno"] != nil {
            throw UserError("\(source): key 'kno' applies only to \"model\": \"kno\"")
        }
        let isM2M = (object["model"] as? String) == ModelConfig.Kind.m2m.rawValue
        if isM2M, let key = fnoOnlyKeys.first(where: { object[$0] != nil }) {
            throw UserError("\(source): key '\(key)' is an FNO key: an m2m model sets m2m.expert_modes and m2m.expert_widths")
        }
        if !isM2M && object["m2m"] != nil {
            throw UserError("\(source): key 'm2m' applies only to \"model\": \"m2m\"")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let config: ModelConfig
        do {
            config = try decoder.decode(ModelConfig.self, from: data)
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let key = userKey(context.codingPath)
            throw UserError("\(source): key '\(key)' has the wrong type")
        } catch DecodingError.dataCorrupted(let context) {
            let key = userKey(context.codingPath)
            // Foundation reports a number that does not fit an integer key (3.5, 1e30) as
            // "not valid JSON" with no coding path: find the key by decoding keys one at a time.
            if key.isEmpty, let culprit = keyFailingAlone(object, decoder) {
                throw UserError("\(source): key '\(culprit)' has the wrong type")
            }
            throw UserError("\(source): key '\(key)': \(context.debugDescription)")
        } catch {
            throw UserError("\(source): \(error)")
        }
        try config.validate(source: source)
        return config
    }

    /// The first key (as `optimizer.KEY` or `m2m.KEY` inside those objects) whose value alone fails to decode.
    static func keyFailingAlone(_ object: [String: Any], _ decoder: JSONDecoder) -> String? {
        for key in object.keys.sorted() {
            var candidates: [(String, [String: Any])] = [(key, [key: object[key]!])]
            if key == "optimizer" || key == "m2m" || key == "kno" || key == "cno" || key == "uno", let nested = object[key] as? [String: Any] {
                candidates = nested.keys.sorted().map { ("\(key).\($0)", [key: [$0: nested[$0]!]]) }
            }
            for (name, single) in candidates {
                guard let data = try? JSONSerialization.data(withJSONObject: single) else { continue }
                if (try? decoder.decode(ModelConfig.self, from: data)) == nil { return name }
            }
        }
        return nil
    }

    /// A decoding path as the user wrote it (`optimizer.weight_decay`, not `optimizer.weightDecay`).
    static func userKey(_ path: [CodingKey]) -> String {
        path.map { key in
            key.intValue.map(String.init) ?? key.stringValue.reduce(into: "") { name, c in
                if c.isUppercase { name += "_" + c.lowercased() } else { name.append(c) }
            }
        }.joined(separator: ".")
    }

    /// Checks values; the first problem is reported with its key.
    public func validate(source: String) throws {
        func check(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw UserError("\(source): key '\(key)' \(why)") }
        }
        try check(Kind(rawValue: model) != nil, "model",
                  "is '\(model)': expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        try check(grid.count == 2 && grid.allSatisfy { $0 >= 4 }, "grid", "must be [H, W] with H, W >= 4")
        try check(grid.count == 2 && grid[1] % 2 == 0, "grid", "must have an even W (real FFT)")
        if kind == .fno {
            try check(modes.count == 2 && modes.allSatisfy { $0 >= 1 }, "modes", "must be [modes1, modes2] >= 1")
            try check(modes.count == 2 && grid.count == 2 && modes[0] <= grid[0] / 2 && modes[1] <= grid[1] / 2 + 1,
                      "modes", "\(modes) do not fit grid \(grid): need 2*modes1 <= H and modes2 <= W/2+1")
            try check(width >= 1, "width", "must be >= 1")
        }
        try check(layers >= 1, "layers", "must be >= 1")
        try check(layers <= Self.maxLayers, "layers", "is \(layers): at most \(Self.maxLayers)")
        try check(projectionHidden >= 1, "projection_hidden", "must be >= 1")
        try check(batch >= 1, "batch", "must be >= 1")
        try check(tIn >= 1, "t_in", "must be >= 1")
        try check(tIn <= Self.maxFrames, "t_in", "is \(tIn): at most \(Self.maxFrames)")
        try check(task == .timeStepping || tIn == 1, "t_in", "must be 1 for a steady task")
        try check(tOut >= 1 && (task == .timeStepping || tOut == 1), "t_out", "must be >= 1 (1 for a steady task)")
        try check(tOut <= Self.maxFrames, "t_out", "is \(tOut): at most \(Self.maxFrames)")
        try check(rolloutTrain >= 1 && rolloutTrain <= tOut, "rollout_train", "must be in 1...t_out")
        try check(epochs >= 1, "epochs", "must be >= 1")
        try check(epochs <= Self.maxEpochs, "epochs", "is \(epochs): at most \(Self.maxEpochs)")
        try check(ntrain >= 1 && ntest >= 1, "ntrain", "and ntest must be >= 1")
        try check(optimizer.lr > 0, "optimizer.lr", "must be > 0")
        try check(optimizer.weightDecay >= 0, "optimizer.weight_decay", "must be >= 0")
        try check((0..<1).contains(optimizer.beta1) && (0..<1).contains(optimizer.beta2), "optimizer.beta1",
                  "and beta2 must be in [0, 1)")
        try check(optimizer.epsilon > 0, "optimizer.epsilon", "must be > 0")
        try check(optimizer.stepSize >= 1 && optimizer.gamma > 0, "optimizer.step_size", "must be >= 1 with gamma > 0")
        if let memoryLimit { try check(memoryLimit >= 1, "memory_limit", "must be at least 1 byte, got \(memoryLimit)") }
        if kind == .m2m { try (m2m ?? M2MConfig()).validate(grid: grid, source: source) }
        if kind == .kno { try (kno ?? KNOConfig()).validate(grid: grid, source: source) }
        if kind == .cno { try (cno ?? CNOConfig()).validate(grid: grid, source: source) }
        if kind == .uno { try (uno ?? UNOConfig()).validate(grid: grid, source: source) }
        try validateSizes(source: source)
    }

    /// Channels of the model input: frames plus nothing else (coordinates are appended in the graph).
    public var inputChannels: Int { tIn }

    /// The canonical JSON text of this config (stored in compiled plans).
    public func canonicalJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try! encoder.encode(self)
        guard kind != .fno else { return data }
        // An m2m (kno, cno, uno) config has no FNO-only (unused) keys: their defaults would read as set on reload.
        var object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        let unused = switch kind {
        case .m2m: Self.fnoOnlyKeys
        case .kno: Self.notKNOKeys
        case .cno: Self.notCNOKeys
        case .uno: Self.notUNOKeys
        case .fno: [String]()
        }
        for key in unused { object[key] = nil }
        return try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    }
}

extension ModelConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? name
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? model
        task = try c.decodeIfPresent(Task.self, forKey: .task) ?? task
        grid = try c.decodeIfPresent([Int].self, forKey: .grid) ?? grid
        tIn = try c.decodeIfPresent(Int.self, forKey: .tIn) ?? tIn
        tOut = try c.decodeIfPresent(Int.self, forKey: .tOut) ?? tOut
        rolloutTrain = try c.decodeIfPresent(Int.self, forKey: .rolloutTrain) ?? min(rolloutTrain, tOut)
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? width
        modes = try c.decodeIfPresent([Int].self, forKey: .modes) ?? modes
        layers = try c.decodeIfPresent(Int.self, forKey: .layers) ?? layers
        projectionHidden = try c.decodeIfPresent(Int.self, forKey: .projectionHidden) ?? projectionHidden
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? batch
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? epochs
        ntrain = try c.decodeIfPresent(Int.self, forKey: .ntrain) ?? ntrain
        ntest = try c.decodeIfPresent(Int.self, forKey: .ntest) ?? ntest
        optimizer = try c.decodeIfPresent(OptimizerConfig.self, forKey: .optimizer) ?? optimizer
        normalization = try c.decodeIfPresent(Normalization.self, forKey: .normalization) ?? normalization
        m2m = try c.decodeIfPresent(M2MConfig.self, forKey: .m2m)
        if model == Kind.m2m.rawValue && m2m == nil { m2m = M2MConfig() }
        kno = try c.decodeIfPresent(KNOConfig.self, forKey: .kno)
        if model == Kind.kno.rawValue && kno == nil { kno = KNOConfig() }
        cno = try c.decodeIfPresent(CNOConfig.self, forKey: .cno)
        if model == Kind.cno.rawValue && cno == nil { cno = CNOConfig() }
        uno = try c.decodeIfPresent(UNOConfig.self, forKey: .uno)
        if model == Kind.uno.rawValue && uno == nil { uno = UNOConfig() }
        if c.contains(.memoryLimit), !(try c.decodeNil(forKey: .memoryLimit)) {
            if let bytes = try? c.decode(Int.self, forKey: .memoryLimit) {
                memoryLimit = bytes
            } else {
                let text = try c.decode(String.self, forKey: .memoryLimit)
                guard let bytes = ByteCount.parse(text) else {
                    throw DecodingError.dataCorruptedError(forKey: .memoryLimit, in: c,
                                                           debugDescription: "'\(text)' is not \(ByteCount.syntax)")
                }
                memoryLimit = bytes
            }
        }
    }
}

extension OptimizerConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lr = try c.decodeIfPresent(Double.self, forKey: .lr) ?? lr
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? weightDecay
        decoupledWeightDecay = try c.decodeIfPresent(Bool.self, forKey: .decoupledWeightDecay) ?? decoupledWeightDecay
        beta1 = try c.decodeIfPresent(Double.self, forKey: .beta1) ?? beta1
        beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2) ?? beta2
        epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon) ?? epsilon
        stepSize = try c.decodeIfPresent(Int.self, forKey: .stepSize) ?? stepSize
        gamma = try c.decodeIfPresent(Double.self, forKey: .gamma) ?? gamma
    }
}
