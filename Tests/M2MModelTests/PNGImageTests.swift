import CPNG
import Foundation
@testable import M2MModel
import XCTest

/// PNG output (checked by reading back with libpng's own reader) and the figure helpers:
/// colormaps, upscaling, panels, routing maps.
final class PNGImageTests: XCTestCase {
    /// Reads an 8-bit RGB PNG with libpng's simplified read API; also returns the file's own format.
    func readPNG(_ path: String) throws -> (image: RGBImage, fileFormat: UInt32) {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw UserError("\(path): libpng cannot read: \(RGBImage.libpngMessage(image))")
        }
        let fileFormat = image.format
        image.format = png_uint_32(PNG_FORMAT_RGB)
        var pixels = [UInt8](repeating: 0, count: 3 * Int(image.width) * Int(image.height))
        let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw UserError("\(path): libpng cannot decode: \(RGBImage.libpngMessage(image))") }
        return (RGBImage(width: Int(image.width), height: Int(image.height), pixels: pixels), fileFormat)
    }

    func testWrittenPixelsReadBackExactly() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        // Every byte value appears, in an odd-sized image (row stride not a multiple of 4).
        let (width, height) = (7, 13)
        let pixels: [UInt8] = (0..<(3 * width * height)).map { (i: Int) -> UInt8 in UInt8((i * 37 + i / 5) % 256) }
        let image = RGBImage(width: width, height: height, pixels: pixels)
        let path = dir.appendingPathComponent("small.png").path
        try image.write(to: path)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(bytes), try image.pngData())
        let (read, format) = try readPNG(path)
        XCTAssertEqual(format, png_uint_32(PNG_FORMAT_RGB), "stored as 8-bit RGB without alpha")
        XCTAssertEqual(read, image)
        let at = 3 * (5 * width + 2)
        XCTAssertEqual(read[2, 5], RGB(pixels[at], pixels[at + 1], pixels[at + 2]))
        // No temporary file is left next to it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["small.png"])

        // A rendered figure survives the round trip too (overwriting the first file).
        let field = (0..<64).map { Float($0) }
        let figure = RGBImage.sideBySide([
            RGBImage(field: field, width: 8, height: 8, min: 0, max: 63).upscaled(by: 3),
            RGBImage(routing: [0, 1, -1, 2], rows: 2, cols: 2, width: 24, height: 24),
        ])
        try figure.write(to: path)
        XCTAssertEqual(try readPNG(path).image, figure)
    }

    func testWriteIntoMissingDirectoryNamesThePath() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("no-such-folder/figure.png").path
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, color: .white).write(to: path)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(path + ": "), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testColormapEndpointsAndInterpolation() {
        // matplotlib's viridis(0.0) = #440154, viridis(1.0) = #fde725; RdBu_r ends #053061 and #67001f.
        XCTAssertEqual(Colormap.viridis.color(at: 0), RGB(0x44, 0x01, 0x54))
        XCTAssertEqual(Colormap.viridis.color(at: 1), RGB(0xfd, 0xe7, 0x25))
        XCTAssertEqual(Colormap.viridis.color(at: -3), RGB(0x44, 0x01, 0x54))
        XCTAssertEqual(Colormap.viridis.color(at: 7), RGB(0xfd, 0xe7, 0x25))
        XCTAssertEqual(Colormap.diverging.color(at: 0), RGB(0x05, 0x30, 0x61))
        XCTAssertEqual(Colormap.diverging.color(at: 0.5), RGB(0xf7, 0xf7, 0xf7))
        XCTAssertEqual(Colormap.diverging.color(at: 1), RGB(0x67, 0x00, 0x1f))
        // Halfway between the first two viridis anchors (68,1,84) and (59,82,139), rounded half up.
        XCTAssertEqual(Colormap.viridis.color(at: 0.125), RGB(64, 42, 112))
        XCTAssertEqual(Colormap.viridis.color(at: .nan), Colormap.notANumber)
        // Viridis brightens monotonically (its defining property) along the anchors used.
        let luminance = stride(from: 0.0, through: 1.0, by: 0.05).map { t -> Double in
            let c = Colormap.viridis.color(at: t)
            return 0.2126 * Double(c.r) + 0.7152 * Double(c.g) + 0.0722 * Double(c.b)
        }
        XCTAssertTrue(zip(luminance, luminance.dropFirst()).allSatisfy { $0 < $1 }, "\(luminance)")
    }

    func testFieldRendering() {
        // A 2x3 field: min and max values hit the ends, out-of-range values clamp, NaN is magenta.
        let field: [Float] = [-1, 0, 1, 5, .nan, -7]
        let image = RGBImage(field: field, width: 3, height: 2, min: -1, max: 1, colormap: .diverging)
        XCTAssertEqual(image[0, 0], RGB(0x05, 0x30, 0x61))
        XCTAssertEqual(image[1, 0], RGB(0xf7, 0xf7, 0xf7))
        XCTAssertEqual(image[2, 0], RGB(0x67, 0x00, 0x1f))
        XCTAssertEqual(image[0, 1], RGB(0x67, 0x00, 0x1f))
        XCTAssertEqual(image[1, 1], Colormap.notANumber)
        XCTAssertEqual(image[2, 1], RGB(0x05, 0x30, 0x61))
        // A constant range draws the middle color.
        let flat = RGBImage(field: [3, 3], width: 2, height: 1, min: 3, max: 3)
        XCTAssertEqual(flat[1, 0], Colormap.viridis.color(at: 0.5))
        XCTAssertEqual(Colormap.viridis.color(at: 0.5), RGB(33, 145, 140))
    }

    func testUpscaleAndSideBySide() {
        let a = RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6])
        let big = a.upscaled(by: 3)
        XCTAssertEqual(big.width, 6)
        XCTAssertEqual(big.height, 3)
        for y in 0..<3 {
            for x in 0..<6 { XCTAssertEqual(big[x, y], x < 3 ? RGB(1, 2, 3) : RGB(4, 5, 6), "(\(x), \(y))") }
        }
        XCTAssertEqual(a.upscaled(by: 1), a)

        let tall = RGBImage(width: 1, height: 3, color: RGB(9, 9, 9))
        let joined = RGBImage.sideBySide([a, tall, a])
        XCTAssertEqual(joined.width, 2 + 2 + 1 + 2 + 2)
        XCTAssertEqual(joined.height, 3)
        let expectedTop: [RGB] = [RGB(1, 2, 3), RGB(4, 5, 6), .white, .white, RGB(9, 9, 9), .white, .white,
                                  RGB(1, 2, 3), RGB(4, 5, 6)]
        XCTAssertEqual((0..<9).map { joined[$0, 0] }, expectedTop)
        // Below the one-row panels: white padding; the tall panel continues.
        XCTAssertEqual((0..<9).map { joined[$0, 2] }, (0..<9).map { $0 == 4 ? RGB(9, 9, 9) : .white })
        XCTAssertEqual(RGBImage.sideBySide([a], gap: 5), a)
    }

    func testRoutingMapColors() {
        // Experts 0..<64: all distinct, none black, none white.
        let colors = (0..<64).map(RGBImage.expertColor)
        XCTAssertEqual(Set(colors).count, 64)
        XCTAssertFalse(colors.contains(.black))
        XCTAssertFalse(colors.contains(.white))
        XCTAssertEqual(RGBImage.expertColor(-1), .black)

        // A 2x3 grid drawn at 6x4 pixels: each patch a 2x2 block of its expert's color.
        let experts = [0, 1, 2, -1, 1, 3]
        let map = RGBImage(routing: experts, rows: 2, cols: 3, width: 6, height: 4)
        for y in 0..<4 {
            for x in 0..<6 {
                XCTAssertEqual(map[x, y], RGBImage.expertColor(experts[(y / 2) * 3 + x / 2]), "(\(x), \(y))")
            }
        }
        XCTAssertEqual(map[0, 2], .black, "dropped patch")
        XCTAssertEqual(map[2, 0], map[3, 2], "expert 1 at two patches, one color")
        XCTAssertNotEqual(map[0, 0], map[2, 0])
        XCTAssertNotEqual(map[4, 0], map[4, 2])
    }
}
