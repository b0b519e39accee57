import CHDF5
import XCTest
@testable import M2MData

final class MatFileTests: XCTestCase {
    /// Writes an HDF5 file laid out as MATLAB v7.3 saves u [N, H, W, T] and a [N, H, W]:
    /// dims reversed, with MATLAB's 512-byte user block; returns the file's path.
    static func writeMatLike(_ path: String, n: Int, h: Int, w: Int, t: Int, u: (Int, Int, Int, Int) -> Float) {
        H5open()
        let fcpl = H5Pcreate(m2m_h5p_file_create())
        H5Pset_userblock(fcpl, 512)
        let file = H5Fcreate(path, 2 /* H5F_ACC_TRUNC */, fcpl, hid_t(H5P_DEFAULT))
        func put(_ name: String, _ dims: [Int], _ value: ([Int]) -> Float) {
            // dims are HDF5 (C-order) dims; value gets the HDF5 index.
            var data = [Float](repeating: 0, count: dims.reduce(1, *))
            var index = [Int](repeating: 0, count: dims.count)
            for j in 0..<data.count {
                var rest = j
                for a in stride(from: dims.count - 1, through: 0, by: -1) { index[a] = rest % dims[a]; rest /= dims[a] }
                data[j] = value(index)
            }
            let hdims = dims.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), hdims, nil)
            let set = H5Dcreate2(file, name, m2m_h5t_ieee_f32le(), space, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
            _ = data.withUnsafeBytes { H5Dwrite(set, m2m_h5t_native_float(), hid_t(H5S_ALL), hid_t(H5S_ALL), hid_t(H5P_DEFAULT), $0.baseAddress) }
            H5Dclose(set)
            H5Sclose(space)
        }
        put("u", [t, w, h, n]) { u($0[3], $0[2], $0[1], $0[0]) }
        put("a", [w, h, n]) { u($0[2], $0[1], $0[0], 0) - 1000 }
        H5Fclose(file)
        H5Pclose(fcpl)
    }

    static func value(_ n: Int, _ y: Int, _ x: Int, _ t: Int) -> Float { Float(n * 1000 + y * 100 + x * 10 + t) }

    func testReadsTransposedMatlabLayout() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ns.mat"
        MatFileTests.writeMatLike(path, n: 70, h: 3, w: 4, t: 5, u: MatFileTests.value)
        XCTAssertEqual(try MatFile.shape(path, dataset: "u"), [70, 3, 4, 5])
        // One block, blocks of 64 samples and 6 (60 values a sample), one sample per block (a
        // block smaller than a sample still reads a whole sample).
        for blockElements in [1 << 22, 64 * 60, 1] {
            let u = try MatFile.read(path, dataset: "u", requireFinite: true, blockElements: blockElements)
            XCTAssertEqual(u.shape, [70, 3, 4, 5])
            var mismatches = 0
            for n in 0..<70 { for y in 0..<3 { for x in 0..<4 { for t in 0..<5
                where u.values[((n * 3 + y) * 4 + x) * 5 + t] != MatFileTests.value(n, y, x, t) { mismatches += 1 } } } }
            XCTAssertEqual(mismatches, 0, "blocks of \(blockElements) values")
        }
        let a = try MatFile.read(path, dataset: "a")
        XCTAssertEqual(a.shape, [70, 3, 4])
        XCTAssertEqual(a.values[(65 * 3 + 2) * 4 + 3], MatFileTests.value(65, 2, 3, 0) - 1000)
    }

    /// Found by scripts/fuzz.sh (FuzzMat): HDF5 reads unwritten chunks as fill values, so a 3 KB
    /// file can declare a dataset of any size; the reader allocated it (a trap on allocation
    /// failure, or an overflowing product) instead of refusing it.
    func testHugeDeclaredDatasetIsRefusedBeforeAllocating() throws {
        let path = NSTemporaryDirectory() + "/m2m-huge-\(getpid()).mat"
        defer { unlink(path) }
        H5open()
        let file = H5Fcreate(path, 2 /* H5F_ACC_TRUNC */, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        func put(_ name: String, _ dims: [hsize_t]) {
            let dcpl = H5Pcreate(m2m_h5p_dataset_create())
            var chunk = [hsize_t](repeating: 1, count: dims.count)
            H5Pset_chunk(dcpl, Int32(dims.count), &chunk)
            let space = H5Screate_simple(Int32(dims.count), dims, nil)
            let set = H5Dcreate2(file, name, m2m_h5t_ieee_f32le(), space, hid_t(H5P_DEFAULT), dcpl, hid_t(H5P_DEFAULT))
            H5Dclose(set)
            H5Sclose(space)
            H5Pclose(dcpl)
        }
        put("u", [1 << 20, 1 << 20, 1 << 10])     // 2^50 floats: 4 PiB, more than any machine
        put("a", [1 << 30, 1 << 30, 1 << 30])     // 2^90 floats: the product overflows Int
        H5Fclose(file)
        XCTAssertEqual(try MatFile.shape(path, dataset: "u"), [1 << 10, 1 << 20, 1 << 20])
        for name in ["u", "a"] {
            XCTAssertThrowsError(try MatFile.read(path, dataset: name)) {
                XCTAssertTrue("\($0)".contains("more than this machine's"), "\($0)")
            }
        }
    }

    /// The saved FuzzMat input (Fuzz/Regressions/FuzzMat): a 2848-byte file declaring "u" with
    /// MATLAB shape [576460752303423490, 3, 0, 50331650]. The zero made the byte count 0, so the
    /// memory bound passed, and the reader then called libhdf5 once per 64-sample block of the
    /// 5.8e17 samples (9e15 calls of about 17 us: a hang that showed up inside libhdf5).
    func testSavedFuzzInputWithAZeroDimensionIsRefusedAtOnce() throws {
        let path = MatFileTests.repoRoot + "/Fuzz/Regressions/FuzzMat/zero-dimension-huge-samples.mat"
        XCTAssertEqual(try MatFile.shape(path, dataset: "u"), [576460752303423490, 3, 0, 50331650])
        let start = Date()
        XCTAssertThrowsError(try MatFile.read(path, dataset: "u")) {
            XCTAssertEqual("\($0)", "\(path): dataset 'u' of shape [576460752303423490, 3, 0, 50331650] holds no values")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "refused without reading")
    }

    /// The class, not just the example: any zero dimension, with or without a huge sample count.
    func testDatasetsWithAZeroDimensionAreRefused() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/empty.mat"
        H5open()
        let file = H5Fcreate(path, 2 /* H5F_ACC_TRUNC */, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        for (name, dims) in [("u", [hsize_t(3), 4, 0, 1 << 40]), ("a", [hsize_t(0), 4, 4])] as [(String, [hsize_t])] {
            let space = H5Screate_simple(Int32(dims.count), dims, nil)
            XCTAssertGreaterThanOrEqual(space, 0)
            let set = H5Dcreate2(file, name, m2m_h5t_ieee_f32le(), space, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
            XCTAssertGreaterThanOrEqual(set, 0)
            H5Dclose(set)
            H5Sclose(space)
        }
        H5Fclose(file)
        let start = Date()
        XCTAssertThrowsError(try MatFile.read(path, dataset: "u")) {
            XCTAssertEqual("\($0)", "\(path): dataset 'u' of shape [1099511627776, 0, 4, 3] holds no values")
        }
        XCTAssertThrowsError(try MatFile.read(path, dataset: "a")) {
            XCTAssertEqual("\($0)", "\(path): dataset 'a' of shape [4, 4, 0] holds no values")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "refused without reading")
        XCTAssertThrowsError(try Dataset(path: path)) { XCTAssertTrue("\($0)".hasSuffix("holds no values"), "\($0)") }
    }

    /// libhdf5 opens files with a blocking open(): a FIFO without a writer hung it. A FIFO, a
    /// directory or a device is refused at once, naming its kind.
    func testNonRegularFilesDoNotHang() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/fifo.mat"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (path, kind) in [(fifo, "a FIFO"), (dir, "a directory"), ("/dev/null", "a character device")] {
            let reads: [@Sendable () throws -> Void] = [{ _ = try MatFile.read(path, dataset: "u") },
                                                        { _ = try MatFile.shape(path, dataset: "u") }]
            for read in reads {
                guard let message = errorText(within: 10, read) else {
                    XCTFail("reading \(path) did not return within 10 s")
                    continue
                }
                XCTAssertEqual(message, "\(path): not a regular file (\(kind))")
            }
        }
        XCTAssertThrowsError(try MatFile.read(dir + "/missing.mat", dataset: "u")) {
            XCTAssertEqual("\($0)", "\(dir)/missing.mat: cannot open: No such file or directory")
        }
    }

    /// The package root (this file is Tests/M2MDataTests/MatFileTests.swift).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    func testBadMatFiles() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = dir + "/old.mat"
        _ = FileManager.default.createFile(atPath: text, contents: Data("MATLAB 5.0 MAT-file".utf8))
        XCTAssertThrowsError(try MatFile.read(text, dataset: "u")) { XCTAssertTrue("\($0)".contains("not a MATLAB v7.3"), "\($0)") }
        let path = dir + "/nan.mat"
        MatFileTests.writeMatLike(path, n: 1, h: 2, w: 2, t: 2) { n, y, x, t in y == 1 && t == 1 ? .nan : 1 }
        XCTAssertThrowsError(try MatFile.read(path, dataset: "u")) { XCTAssertTrue("\($0)".contains("non-finite"), "\($0)") }
        XCTAssertThrowsError(try MatFile.read(path, dataset: "v")) { XCTAssertTrue("\($0)".contains("no dataset 'v'"), "\($0)") }
    }
}
