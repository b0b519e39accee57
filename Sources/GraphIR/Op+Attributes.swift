/// An op attribute as it appears in the text form.
public enum Attribute: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case ints([Int])

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return v.description   // shortest form that round-trips
        case .bool(let v): return v ? "true" : "false"
        case .ints(let v): return "[" + v.map(String.init).joined(separator: ",") + "]"
        }
    }
}

/// Op names and attributes: the vocabulary of the text form.
extension Op {
    /// Every op name, for parsers and error messages.
    public static let allNames: [String] = [
        "linear", "linear_gelu", "mlp", "gelu", "add", "append_coordinates", "slice_channels", "pad_channels",
        "concat_channels", "rfft2", "irfft2", "spectral_mix", "relative_l2_loss", "fill",
        "linear_grad_input", "linear_grad_input_gelu", "linear_grad_weight", "sum_rows", "gelu_grad", "rfft2_grad",
        "irfft2_grad", "spectral_mix_grad_input", "spectral_mix_grad_weight",
        "relative_l2_loss_grad", "adam",
    ]

    /// The op's name in the text form.
    public var name: String {
        switch self {
        case .linear: return "linear"
        case .linearGelu: return "linear_gelu"
        case .mlp: return "mlp"
        case .gelu: return "gelu"
        case .add: return "add"
        case .appendCoordinates: return "append_coordinates"
        case .sliceChannels: return "slice_channels"
        case .padChannels: return "pad_channels"
        case .concatChannels: return "concat_channels"
        case .rfft2: return "rfft2"
        case .irfft2: return "irfft2"
        case .spectralMix: return "spectral_mix"
        case .relativeL2Loss: return "relative_l2_loss"
        case .fill: return "fill"
        case .linearGradInput: return "linear_grad_input"
        case .linearGradInputGelu: return "linear_grad_input_gelu"
        case .linearGradWeight: return "linear_grad_weight"
        case .sumRows: return "sum_rows"
        case .geluGrad: return "gelu_grad"
        case .rfft2Grad: return "rfft2_grad"
        case .irfft2Grad: return "irfft2_grad"
        case .spectralMixGradInput: return "spectral_mix_grad_input"
        case .spectralMixGradWeight: return "spectral_mix_grad_weight"
        case .relativeL2LossGrad: return "relative_l2_loss_grad"
        case .adam: return "adam"
        }
    }

    /// Attributes in a fixed order (the order the text form prints them).
    public var attributes: [(String, Attribute)] {
        switch self {
        case .sliceChannels(let s, let c): return [("start", .int(s)), ("count", .int(c))]
        case .padChannels(let s, let t): return [("start", .int(s)), ("total", .int(t))]
        case .rfft2(let m1, let m2), .irfft2Grad(let m1, let m2):
            return [("modes1", .int(m1)), ("modes2", .int(m2))]
        case .irfft2(let h, let w, let m1, let m2), .rfft2Grad(let h, let w, let m1, let m2):
            return [("height", .int(h)), ("width", .int(w)), ("modes1", .int(m1)), ("modes2", .int(m2))]
        case .fill(let v, let s): return [("value", .double(v)), ("shape", .ints(s))]
        case .adam(let b1, let b2, let eps, let wd, let dec):
            return [("beta1", .double(b1)), ("beta2", .double(b2)), ("epsilon", .double(eps)),
                    ("weight_decay", .double(wd)), ("decoupled", .bool(dec))]
        default: return []
        }
    }

    /// Builds an op from its text-form name and attributes; throws on an unknown
    /// name, a missing, extra or mistyped attribute.
    public init(name: String, attributes: [String: Attribute]) throws {
        var used = Set<String>()
        func int(_ key: String) throws -> Int {
            used.insert(key)
            guard case .int(let v)? = attributes[key] else { throw GraphError("\(name): needs integer attribute '\(key)'") }
            return v
        }
        func double(_ key: String) throws -> Double {
            used.insert(key)
            switch attributes[key] {
            case .double(let v)?: return v
            case .int(let v)?: return Double(v)
            default: throw GraphError("\(name): needs number attribute '\(key)'")
            }
        }
        func bool(_ key: String) throws -> Bool {
            used.insert(key)
            guard case .bool(let v)? = attributes[key] else { throw GraphError("\(name): needs boolean attribute '\(key)'") }
            return v
        }
        func ints(_ key: String) throws -> [Int] {
            used.insert(key)
            guard case .ints(let v)? = attributes[key] else { throw GraphError("\(name): needs integer list attribute '\(key)'") }
            return v
        }
        switch name {
        case "linear": self = .linear
        case "linear_gelu": self = .linearGelu
        case "mlp": self = .mlp
        case "gelu": self = .gelu
        case "add": self = .add
        case "append_coordinates": self = .appendCoordinates
        case "slice_channels": self = .sliceChannels(start: try int("start"), count: try int("count"))
        case "pad_channels": self = .padChannels(start: try int("start"), total: try int("total"))
        case "concat_channels": self = .concatChannels
        case "rfft2": self = .rfft2(modes1: try int("modes1"), modes2: try int("modes2"))
        case "irfft2":
            self = .irfft2(height: try int("height"), width: try int("width"), modes1: try int("modes1"), modes2: try int("modes2"))
        case "spectral_mix": self = .spectralMix
        case "relative_l2_loss": self = .relativeL2Loss
        case "fill": self = .fill(value: try double("value"), shape: try ints("shape"))
        case "linear_grad_input": self = .linearGradInput
        case "linear_grad_input_gelu": self = .linearGradInputGelu
        case "linear_grad_weight": self = .linearGradWeight
        case "sum_rows": self = .sumRows
        case "gelu_grad": self = .geluGrad
        case "rfft2_grad":
            self = .rfft2Grad(height: try int("height"), width: try int("width"), modes1: try int("modes1"), modes2: try int("modes2"))
        case "irfft2_grad": self = .irfft2Grad(modes1: try int("modes1"), modes2: try int("modes2"))
        case "spectral_mix_grad_input": self = .spectralMixGradInput
        case "spectral_mix_grad_weight": self = .spectralMixGradWeight
        case "relative_l2_loss_grad": self = .relativeL2LossGrad
        case "adam":
            self = .adam(beta1: try double("beta1"), beta2: try double("beta2"), epsilon: try double("epsilon"),
                         weightDecay: try double("weight_decay"), decoupled: try bool("decoupled"))
        default:
            throw GraphError("unknown op '\(name)'")
        }
        if let extra = attributes.keys.filter({ !used.contains($0) }).sorted().first {
            throw GraphError("\(name): unknown attribute '\(extra)'")
        }
    }
}
