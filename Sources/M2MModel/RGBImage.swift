/// One 8-bit sRGB color.
public struct RGB: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)

    public var description: String { "rgb(\(r), \(g), \(b))" }
}

/// An 8-bit RGB raster for figures: `pixels` holds `width * height` RGB triples row by row,
/// the top row first.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `3 * width * height` bytes: R, G, B of pixel (x, y) at `3 * (y * width + x)`.
    public var pixels: [UInt8]

    /// An image from its pixel bytes; `pixels.count` must be `3 * width * height` and both sides >= 1.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 1 && height >= 1, "an image needs at least one pixel, got \(width)x\(height)")
        precondition(pixels.count == 3 * width * height,
                     "\(width)x\(height) RGB needs \(3 * width * height) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image of one color.
    public init(width: Int, height: Int, color: RGB) {
        precondition(width >= 1 && height >= 1, "an image needs at least one pixel, got \(width)x\(height)")
        var pixels = [UInt8](repeating: 0, count: 3 * width * height)
        for i in 0..<(width * height) {
            pixels[3 * i] = color.r
            pixels[3 * i + 1] = color.g
            pixels[3 * i + 2] = color.b
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The color of pixel (x, y), (0, 0) being the top left.
    public subscript(x: Int, y: Int) -> RGB {
        get {
            precondition((0..<width).contains(x) && (0..<height).contains(y), "pixel (\(x), \(y)) outside \(width)x\(height)")
            let i = 3 * (y * width + x)
            return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            precondition((0..<width).contains(x) && (0..<height).contains(y), "pixel (\(x), \(y)) outside \(width)x\(height)")
            let i = 3 * (y * width + x)
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }
}
