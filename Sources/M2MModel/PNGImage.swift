import CPNG
import M2MData

/// PNG output through libpng's simplified API (`png_image_write_to_memory`), written to disk
/// with `AtomicFile` so an interrupted write never leaves half a figure.
extension RGBImage {
    /// The image encoded as an 8-bit RGB PNG file.
    public func pngData() throws -> [UInt8] {
        // libpng stores sides as 32-bit values and the row stride as a signed 32-bit count.
        guard width <= Int(Int32.max) / 3, height <= Int(Int32.max) else {
            throw UserError("PNG: \(width)x\(height) is too large to encode")
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = png_uint_32(PNG_FORMAT_RGB)
        let stride = png_int_32(3 * width)
        var size = 0
        defer { png_image_free(&image) }
        // The first call (no output buffer) only measures the encoded size.
        let measured = pixels.withUnsafeBytes { raw in
            png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, stride, nil)
        }
        guard measured != 0 else { throw UserError("PNG: cannot encode: \(Self.libpngMessage(image))") }
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBytes { out in
            pixels.withUnsafeBytes { raw in
                png_image_write_to_memory(&image, out.baseAddress, &size, 0, raw.baseAddress, stride, nil)
            }
        }
        guard written != 0 else { throw UserError("PNG: cannot encode: \(Self.libpngMessage(image))") }
        return Array(bytes.prefix(size))
    }

    /// Writes the image as a PNG file at `path`, atomically; errors are one line naming the path.
    public func write(to path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try pngData()
        } catch let error as UserError {
            throw UserError("\(path): \(error.message)")
        }
        try AtomicFile.write(to: path) { sink in try sink.write(bytes) }
    }

    /// The text libpng left in `image.message` (a NUL-terminated char array).
    static func libpngMessage(_ image: png_image) -> String {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported an error" : text
    }
}
