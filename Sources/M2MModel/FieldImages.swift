/// Color maps for scalar fields: a few anchor colors at equal spacing, linearly interpolated.
public enum Colormap: Sendable, CaseIterable {
    /// Perceptually uniform, dark violet (low) to yellow (high): matplotlib's viridis at 0, 1/4, 1/2, 3/4, 1.
    case viridis
    /// Blue (low), near white (middle), red (high): matplotlib's RdBu_r anchors, for signed errors.
    case diverging

    /// The anchors, evenly spaced over [0, 1].
    public var anchors: [RGB] {
        switch self {
        case .viridis:
            return [RGB(68, 1, 84), RGB(59, 82, 139), RGB(33, 145, 140), RGB(94, 201, 98), RGB(253, 231, 37)]
        case .diverging:
            return [RGB(5, 48, 97), RGB(33, 102, 172), RGB(247, 247, 247), RGB(178, 24, 43), RGB(103, 0, 31)]
        }
    }

    /// The color drawn for a NaN value (magenta, in neither map).
    public static let notANumber = RGB(255, 0, 255)

    /// The color at `t` in [0, 1] (values outside are clamped; NaN gives `notANumber`).
    public func color(at t: Double) -> RGB {
        guard !t.isNaN else { return Self.notANumber }
        let anchors = self.anchors
        let s = Swift.min(Swift.max(t, 0), 1) * Double(anchors.count - 1)
        let i = Swift.min(Int(s), anchors.count - 2)
        let f = s - Double(i)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8((Double(a) + f * (Double(b) - Double(a))).rounded())
        }
        let a = anchors[i], b = anchors[i + 1]
        return RGB(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
    }
}

/// Figure building blocks: scalar fields to colors, nearest-neighbour upscaling, panels side by
/// side, and routing maps (M2M.md section 8: which expert each patch used).
extension RGBImage {
    /// A scalar field of `height * width` values (row-major, row 0 at the top) drawn with
    /// `colormap`, `min` mapping to the map's low end and `max` to its high end; values beyond
    /// are clamped. When `max <= min` every finite value takes the map's middle color.
    public init(field: [Float], width: Int, height: Int, min: Float, max: Float, colormap: Colormap = .viridis) {
        precondition(field.count == width * height, "a \(height)x\(width) field needs \(width * height) values, got \(field.count)")
        var image = RGBImage(width: width, height: height, color: .black)
        let lo = Double(min), span = Double(max) - Double(min)
        for y in 0..<height {
            for x in 0..<width {
                let v = Double(field[y * width + x])
                let t = span > 0 ? (v - lo) / span : (v.isNaN ? v : 0.5)
                image[x, y] = colormap.color(at: t)
            }
        }
        self = image
    }

    /// Each pixel repeated as a `factor` x `factor` block.
    public func upscaled(by factor: Int) -> RGBImage {
        precondition(factor >= 1, "upscale factor must be >= 1, got \(factor)")
        var out = RGBImage(width: width * factor, height: height * factor, color: .black)
        for y in 0..<out.height {
            for x in 0..<out.width { out[x, y] = self[x / factor, y / factor] }
        }
        return out
    }

    /// `panels` left to right, top-aligned, separated by `gap` white columns; shorter panels are
    /// padded with white below.
    public static func sideBySide(_ panels: [RGBImage], gap: Int = 2) -> RGBImage {
        precondition(!panels.isEmpty, "sideBySide needs at least one panel")
        precondition(gap >= 0, "gap must be >= 0, got \(gap)")
        let width = panels.reduce(0) { $0 + $1.width } + gap * (panels.count - 1)
        let height = panels.map(\.height).max()!
        var out = RGBImage(width: width, height: height, color: .white)
        var left = 0
        for panel in panels {
            for y in 0..<panel.height {
                let src = 3 * y * panel.width, dst = 3 * (y * width + left)
                out.pixels.replaceSubrange(dst..<(dst + 3 * panel.width), with: panel.pixels[src..<(src + 3 * panel.width)])
            }
            left += panel.width + gap
        }
        return out
    }

    /// Tableau 10, the colors of experts 0 to 9.
    static let expertPalette = [
        RGB(78, 121, 167), RGB(242, 142, 43), RGB(225, 87, 89), RGB(118, 183, 178), RGB(89, 161, 79),
        RGB(237, 201, 72), RGB(176, 122, 161), RGB(255, 157, 167), RGB(156, 117, 95), RGB(186, 176, 172),
    ]

    /// The color of `expert` in routing maps: Tableau 10 for experts 0 to 9, then hues stepped by
    /// the golden ratio; black for -1 (a dropped patch).
    public static func expertColor(_ expert: Int) -> RGB {
        precondition(expert >= -1, "an expert index is >= 0, or -1 for a dropped patch; got \(expert)")
        if expert == -1 { return .black }
        if expert < expertPalette.count { return expertPalette[expert] }
        let k = expert - expertPalette.count
        let hue = (Double(k) * 0.618_033_988_749_895).truncatingRemainder(dividingBy: 1)
        let value = k % 2 == 0 ? 0.9 : 0.65
        return hsv(hue: hue, saturation: 0.75, value: value)
    }

    /// A color from hue, saturation and value, each in [0, 1].
    static func hsv(hue: Double, saturation s: Double, value v: Double) -> RGB {
        let h = hue * 6
        let sector = Swift.min(Int(h), 5)
        let f = h - Double(sector)
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        let (r, g, b): (Double, Double, Double)
        switch sector {
        case 0: (r, g, b) = (v, t, p)
        case 1: (r, g, b) = (q, v, p)
        case 2: (r, g, b) = (p, v, t)
        case 3: (r, g, b) = (p, q, v)
        case 4: (r, g, b) = (t, p, v)
        default: (r, g, b) = (v, p, q)
        }
        func byte(_ x: Double) -> UInt8 { UInt8((x * 255).rounded()) }
        return RGB(byte(r), byte(g), byte(b))
    }

    /// A routing map: `experts` holds `rows * cols` expert indices (row-major, -1 for a dropped
    /// patch), drawn `width` x `height` pixels with each patch a block of its expert's color
    /// (pixel (x, y) shows patch (y * rows / height, x * cols / width)).
    public init(routing experts: [Int], rows: Int, cols: Int, width: Int, height: Int) {
        precondition(rows >= 1 && cols >= 1 && experts.count == rows * cols,
                     "a \(rows)x\(cols) routing grid needs \(rows * cols) indices, got \(experts.count)")
        var image = RGBImage(width: width, height: height, color: .black)
        let colors = experts.map(Self.expertColor)
        for y in 0..<height {
            let row = y * rows / height
            for x in 0..<width { image[x, y] = colors[row * cols + x * cols / width] }
        }
        self = image
    }
}
