/// An op attribute as it appears in the text form.
public enum Attribute: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case ints([Int])
    /// A bare word naming one case of a typed attribute (`kernel = bicubic`).
    case word(String)

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return v.description   // shortest form that round-trips
        case .bool(let v): return v ? "true" : "false"
        case .ints(let v): return "[" + v.map(String.init).joined(separator: ",") + "]"
        case .word(let v): return v
        }
    }
}

/// Op names and attributes: the vocabulary of the text form.
extension Op {
    /// Every op name, for parsers and error messages.
    public static var allNames: [String] { OpCode.allCases.map(\.name) }

    /// Attributes in a fixed order (the order the text form prints them).
    public var attributes: [(String, Attribute)] {
        switch self {
        case .linear, .linearGelu, .mlp, .linearAdd, .linearAddGelu, .gelu, .add, .sub, .mul, .div, .exp, .log, .sqrt, .tanh, .stopGradient,
             .appendCoordinates, .concatChannels, .spectralMix, .spectralCentroid, .relativeL2Loss,
             .linearGradInput, .linearGradInputGelu, .linearGradInputAdd, .linearGradInputAddGelu, .linearGradWeight, .sumRows, .mlpGrad, .geluGrad,
             .spectralMixGradInput, .spectralMixGradWeight, .relativeL2LossGrad:
            return []
        case .affine(let scale, let shift): return [("scale", .double(scale)), ("shift", .double(shift))]
        case .leakyRelu(let slope), .leakyReluGrad(let slope): return [("slope", .double(slope))]
        case .conv2d(let k, let periodic), .conv2dGradInput(let k, let periodic), .conv2dGradWeight(let k, let periodic):
            return [("kernel", .int(k)), ("periodic", .bool(periodic))]
        case .reduceSum(let axis), .reduceMax(let axis): return [("axis", .int(axis))]
        case .broadcast(let axis, let size): return [("axis", .int(axis)), ("size", .int(size))]
        case .reshape(let shape): return [("shape", .ints(shape))]
        case .sliceFlat(let start, let shape, let bounded):
            return [("start", .int(start)), ("shape", .ints(shape))] + (bounded ? [("bounded", .bool(true))] : [])
        case .sliceChannels(let s, let c): return [("start", .int(s)), ("count", .int(c))]
        case .padChannels(let s, let t): return [("start", .int(s)), ("total", .int(t))]
        case .rfft2(let m1, let m2), .irfft2Grad(let m1, let m2):
            return [("modes1", .int(m1)), ("modes2", .int(m2))]
        case .irfft2(let h, let w, let m1, let m2), .rfft2Grad(let h, let w, let m1, let m2):
            return [("height", .int(h)), ("width", .int(w)), ("modes1", .int(m1)), ("modes2", .int(m2))]
        case .bandEnergies(let bands), .bandEnergiesGrad(let bands): return [("bands", .int(bands))]
        case .resample(let kernel, let h, let w), .resampleGrad(let kernel, let h, let w):
            return [("kernel", .word(kernel.name)), ("height", .int(h)), ("width", .int(w))]
        case .extractPatches(let s, let h), .mergePatches(let s, let h), .extractPatchesGrad(let s, let h),
             .mergePatchesGrad(let s, let h):
            return [("scale", .int(s)), ("halo", .int(h))]
        case .route(let k, let c): return [("k", .int(k)), ("capacity", .int(c))]
        case .dispatch(let e, let k, let c): return [("expert", .int(e)), ("k", .int(k)), ("capacity", .int(c))]
        case .dispatchGrad(let e, let k, let c, let n):
            return [("expert", .int(e)), ("k", .int(k)), ("capacity", .int(c)), ("patches", .int(n))]
        case .gatherGates(let k, let r), .gatherGatesGrad(let k, let r): return [("k", .int(k)), ("renormalize", .bool(r))]
        case .combine(let k, let c, let h), .combineGradGates(let k, let c, let h):
            return [("k", .int(k)), ("capacity", .int(c)), ("halo", .int(h))]
        case .combineGradExpert(let e, let k, let c, let h):
            return [("expert", .int(e)), ("k", .int(k)), ("capacity", .int(c)), ("halo", .int(h))]
        case .fill(let v, let s): return [("value", .double(v)), ("shape", .ints(s))]
        case .adam(let b1, let b2, let eps, let wd, let dec):
            return [("beta1", .double(b1)), ("beta2", .double(b2)), ("epsilon", .double(eps)),
                    ("weight_decay", .double(wd)), ("decoupled", .bool(dec))]
        }
    }

    /// Builds an op from its text-form name and attributes; throws on an unknown
    /// name, a missing, extra or mistyped attribute.
    public init(name: String, attributes: [String: Attribute]) throws {
        guard let code = OpCode(rawValue: name) else { throw GraphError("unknown op '\(name)'") }
        var used = Set<String>()
        func int(_ key: String) throws -> Int {
            used.insert(key)
            guard case .int(let v)? = attributes[key] else { throw GraphError("\(name): needs integer attribute '\(key)'") }
            return v
        }
        func double(_ key: String) throws -> Double {
            used.insert(key)
            if case .double(let v)? = attributes[key] { return v }
            if case .int(let v)? = attributes[key] { return Double(v) }
            throw GraphError("\(name): needs number attribute '\(key)'")
        }
        func bool(_ key: String) throws -> Bool {
            used.insert(key)
            guard case .bool(let v)? = attributes[key] else { throw GraphError("\(name): needs boolean attribute '\(key)'") }
            return v
        }
        func resampleKernel(_ key: String) throws -> ResampleKernel {
            used.insert(key)
            guard case .word(let v)? = attributes[key], let kernel = ResampleKernel(name: v) else {
                let known = ResampleKernel.allCases.map(\.name).joined(separator: ", ")
                throw GraphError("\(name): needs attribute '\(key)', one of \(known)")
            }
            return kernel
        }
        func ints(_ key: String) throws -> [Int] {
            used.insert(key)
            guard case .ints(let v)? = attributes[key] else { throw GraphError("\(name): needs integer list attribute '\(key)'") }
            return v
        }
        switch code {
        case .linear: self = .linear
        case .linear_gelu: self = .linearGelu
        case .mlp: self = .mlp
        case .linear_add: self = .linearAdd
        case .linear_add_gelu: self = .linearAddGelu
        case .gelu: self = .gelu
        case .leaky_relu: self = .leakyRelu(slope: try double("slope"))
        case .conv2d: self = .conv2d(kernel: try int("kernel"), periodic: try bool("periodic"))
        case .add: self = .add
        case .sub: self = .sub
        case .mul: self = .mul
        case .div: self = .div
        case .affine: self = .affine(scale: try double("scale"), shift: try double("shift"))
        case .exp: self = .exp
        case .log: self = .log
        case .sqrt: self = .sqrt
        case .tanh: self = .tanh
        case .reduce_sum: self = .reduceSum(axis: try int("axis"))
        case .reduce_max: self = .reduceMax(axis: try int("axis"))
        case .broadcast: self = .broadcast(axis: try int("axis"), size: try int("size"))
        case .reshape: self = .reshape(shape: try ints("shape"))
        case .stop_gradient: self = .stopGradient
        case .fill: self = .fill(value: try double("value"), shape: try ints("shape"))
        case .append_coordinates: self = .appendCoordinates
        case .slice_channels: self = .sliceChannels(start: try int("start"), count: try int("count"))
        case .pad_channels: self = .padChannels(start: try int("start"), total: try int("total"))
        case .concat_channels: self = .concatChannels
        case .rfft2: self = .rfft2(modes1: try int("modes1"), modes2: try int("modes2"))
        case .irfft2:
            self = .irfft2(height: try int("height"), width: try int("width"), modes1: try int("modes1"), modes2: try int("modes2"))
        case .spectral_mix: self = .spectralMix
        case .band_energies: self = .bandEnergies(bands: try int("bands"))
        case .spectral_centroid: self = .spectralCentroid
        case .resample:
            self = .resample(kernel: try resampleKernel("kernel"), height: try int("height"), width: try int("width"))
        case .resample_grad:
            self = .resampleGrad(kernel: try resampleKernel("kernel"), height: try int("height"), width: try int("width"))
        case .extract_patches: self = .extractPatches(scale: try int("scale"), halo: try int("halo"))
        case .merge_patches: self = .mergePatches(scale: try int("scale"), halo: try int("halo"))
        case .route: self = .route(k: try int("k"), capacity: try int("capacity"))
        case .dispatch: self = .dispatch(expert: try int("expert"), k: try int("k"), capacity: try int("capacity"))
        case .gather_gates: self = .gatherGates(k: try int("k"), renormalize: try bool("renormalize"))
        case .combine: self = .combine(k: try int("k"), capacity: try int("capacity"), halo: try int("halo"))
        case .relative_l2_loss: self = .relativeL2Loss
        case .linear_grad_input: self = .linearGradInput
        case .linear_grad_input_gelu: self = .linearGradInputGelu
        case .linear_grad_input_add: self = .linearGradInputAdd
        case .linear_grad_input_add_gelu: self = .linearGradInputAddGelu
        case .linear_grad_weight: self = .linearGradWeight
        case .sum_rows: self = .sumRows
        case .mlp_grad: self = .mlpGrad
        case .slice_flat:
            let bounded = attributes["bounded"] == nil ? false : try bool("bounded")   // absent: a static result
            self = .sliceFlat(start: try int("start"), shape: try ints("shape"), bounded: bounded)
        case .gelu_grad: self = .geluGrad
        case .leaky_relu_grad: self = .leakyReluGrad(slope: try double("slope"))
        case .conv2d_grad_input: self = .conv2dGradInput(kernel: try int("kernel"), periodic: try bool("periodic"))
        case .conv2d_grad_weight: self = .conv2dGradWeight(kernel: try int("kernel"), periodic: try bool("periodic"))
        case .rfft2_grad:
            self = .rfft2Grad(height: try int("height"), width: try int("width"), modes1: try int("modes1"), modes2: try int("modes2"))
        case .irfft2_grad: self = .irfft2Grad(modes1: try int("modes1"), modes2: try int("modes2"))
        case .spectral_mix_grad_input: self = .spectralMixGradInput
        case .spectral_mix_grad_weight: self = .spectralMixGradWeight
        case .band_energies_grad: self = .bandEnergiesGrad(bands: try int("bands"))
        case .extract_patches_grad: self = .extractPatchesGrad(scale: try int("scale"), halo: try int("halo"))
        case .merge_patches_grad: self = .mergePatchesGrad(scale: try int("scale"), halo: try int("halo"))
        case .dispatch_grad:
            self = .dispatchGrad(expert: try int("expert"), k: try int("k"), capacity: try int("capacity"),
                                 patches: try int("patches"))
        case .gather_gates_grad: self = .gatherGatesGrad(k: try int("k"), renormalize: try bool("renormalize"))
        case .combine_grad_gates: self = .combineGradGates(k: try int("k"), capacity: try int("capacity"), halo: try int("halo"))
        case .combine_grad_expert:
            self = .combineGradExpert(expert: try int("expert"), k: try int("k"), capacity: try int("capacity"),
                                      halo: try int("halo"))
        case .relative_l2_loss_grad: self = .relativeL2LossGrad
        case .adam:
            self = .adam(beta1: try double("beta1"), beta2: try double("beta2"), epsilon: try double("epsilon"),
                         weightDecay: try double("weight_decay"), decoupled: try bool("decoupled"))
        }
        if let extra = attributes.keys.filter({ !used.contains($0) }).sorted().first {
            throw GraphError("\(name): unknown attribute '\(extra)'")
        }
    }
}
