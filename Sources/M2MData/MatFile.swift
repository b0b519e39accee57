import CHDF5
import Foundation

/// MATLAB v7.3 `.mat` files (HDF5 inside), as published with the FNO benchmark, read through
/// libhdf5. MATLAB is column-major, so an array MATLAB calls [N, 64, 64, T] is stored with HDF5
/// dims [T, 64, 64, N]; reading reverses the axes back to C order [N, 64, 64, T], as the FNO
/// scripts' h5py loader does.
public enum MatFile {
    /// libhdf5 (serial build) is not thread-safe: all calls from M2MData go through this lock.
    static let lock = NSLock()

    /// Shape of dataset `name` in MATLAB (= our C) order, without reading the data.
    public static func shape(_ path: String, dataset name: String) throws -> [Int] {
        try withDataset(path, name) { _, dims in dims.reversed() }
    }

    /// Reads dataset `name` as Float in C order with MATLAB's axis order; with `requireFinite`, a
    /// NaN or infinity is an error naming its position. The outermost MATLAB axis (samples) is
    /// read in blocks of about `blockElements` values and transposed block by block, so memory
    /// peaks near the result's size. A dataset with no values (a zero dimension) is an error.
    public static func read(_ path: String, dataset name: String, requireFinite: Bool = true) throws -> NpyArray {
        try read(path, dataset: name, requireFinite: requireFinite, blockElements: 1 << 22)
    }

    /// `read` with the block size as a parameter (tests read in small blocks).
    static func read(_ path: String, dataset name: String, requireFinite: Bool, blockElements: Int) throws -> NpyArray {
        let (shape, values): ([Int], [Float]) = try withDataset(path, name) { dataset, dims in
            let described = "dataset '\(name)' of shape \(Array(dims.reversed()))"
            // Declared sizes are not backed by the file (HDF5 reads unwritten chunks as fill
            // values): multiply with overflow checks and bound by memory before allocating.
            try SystemResources.requireMemory(SystemResources.checkedProduct(dims + [MemoryLayout<Float>.size]),
                                              for: described, subject: path)
            // A zero dimension makes the product 0 whatever the others declare (fuzzing found
            // [5.8e17, 3, 0, 5.0e7]): refuse it, since the read loop below would otherwise
            // call libhdf5 once per block of the huge sample axis (Fuzz/Regressions).
            guard !dims.contains(0) else { throw DataError(path, "\(described) holds no values") }
            let samples = dims[dims.count - 1]
            let inner = Array(dims.dropLast())
            let perSample = inner.reduce(1, *)
            // Blocks are sized in values, not samples: the number of libhdf5 calls is bounded by
            // the result's size / blockElements + 1, which memory bounds.
            let blockSize = max(1, min(samples, blockElements / perSample))
            var values = [Float](repeating: 0, count: samples * perSample)
            let fileSpace = H5Dget_space(dataset)
            guard fileSpace >= 0 else { throw DataError(path, "cannot read the dataspace of dataset '\(name)'") }
            defer { H5Sclose(fileSpace) }
            var start = 0
            while start < samples {
                let block = min(blockSize, samples - start)
                let offset = [hsize_t](repeating: 0, count: inner.count) + [hsize_t(start)]
                let extent = inner.map { hsize_t($0) } + [hsize_t(block)]
                guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, offset, nil, extent, nil) >= 0 else {
                    throw DataError(path, "cannot select samples \(start)..<\(start + block) of dataset '\(name)'")
                }
                let memorySpace = H5Screate_simple(Int32(extent.count), extent, nil)
                guard memorySpace >= 0 else { throw DataError(path, "cannot read dataset '\(name)' (bad dimensions)") }
                defer { H5Sclose(memorySpace) }
                var raw = [Float](repeating: 0, count: perSample * block)
                let status = raw.withUnsafeMutableBytes {
                    H5Dread(dataset, m2m_h5t_native_float(), memorySpace, fileSpace, hid_t(H5P_DEFAULT), $0.baseAddress)
                }
                guard status >= 0 else { throw DataError(path, "cannot read dataset '\(name)' (damaged or truncated file)") }
                let transposed = reverseAxes(raw, dims: inner + [block])
                values.withUnsafeMutableBufferPointer { out in
                    transposed.withUnsafeBufferPointer { (out.baseAddress! + start * perSample).update(from: $0.baseAddress!, count: $0.count) }
                }
                start += block
            }
            return (dims.reversed(), values)
        }
        if requireFinite, let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw DataError(path, "dataset '\(name)': non-finite value (\(values[bad])) at flat index \(bad) of shape \(shape)")
        }
        return NpyArray(shape: shape, values: values)
    }

    /// Transposes a C-order array with `dims` to the C-order array with reversed dims.
    static func reverseAxes(_ source: [Float], dims: [Int]) -> [Float] {
        let rank = dims.count
        guard rank > 1 else { return source }
        var sourceStrides = [Int](repeating: 1, count: rank)
        for a in stride(from: rank - 2, through: 0, by: -1) { sourceStrides[a] = sourceStrides[a + 1] * dims[a + 1] }
        let outDims = Array(dims.reversed())
        let outSourceStrides = Array(sourceStrides.reversed())  // source step per output axis
        var out = [Float](repeating: 0, count: source.count)
        guard !source.isEmpty else { return out }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        for j in 0..<source.count {
            out[j] = source[offset]
            var a = rank - 1
            while a >= 0 {
                index[a] += 1
                offset += outSourceStrides[a]
                if index[a] < outDims[a] { break }
                offset -= outSourceStrides[a] * outDims[a]
                index[a] = 0
                a -= 1
            }
        }
        return out
    }

    private static func withFile<T>(_ path: String, _ body: (hid_t) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        H5open()
        H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)  // errors are reported by us, not printed by libhdf5
        // libhdf5 opens with a blocking open(): a FIFO without a writer would hang it. ReadFile
        // opens without blocking and refuses anything but a regular file, naming its kind.
        try ReadFile(path).close()
        guard H5Fis_hdf5(path) > 0 else {
            throw DataError(path, "not a MATLAB v7.3 (HDF5) file; older .mat versions are not supported, re-save with -v7.3")
        }
        let file = H5Fopen(path, 0 /* H5F_ACC_RDONLY */, hid_t(H5P_DEFAULT))
        guard file >= 0 else { throw DataError(path, "cannot open as HDF5 (damaged or truncated file)") }
        defer { H5Fclose(file) }
        return try body(file)
    }

    private static func withDataset<T>(_ path: String, _ name: String, _ body: (hid_t, [Int]) throws -> T) throws -> T {
        try withFile(path) { file in
            guard H5Lexists(file, name, hid_t(H5P_DEFAULT)) > 0 else { throw DataError(path, "no dataset '\(name)'") }
            let dataset = H5Dopen2(file, name, hid_t(H5P_DEFAULT))
            guard dataset >= 0 else { throw DataError(path, "cannot open dataset '\(name)'") }
            defer { H5Dclose(dataset) }
            let type = H5Dget_type(dataset)
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5T_FLOAT else {
                throw DataError(path, "dataset '\(name)' is not floating point (need single or double)")
            }
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            let rank = Int(H5Sget_simple_extent_ndims(space))
            guard rank >= 1 else { throw DataError(path, "dataset '\(name)' has no dimensions") }
            var dims = [hsize_t](repeating: 0, count: rank)
            H5Sget_simple_extent_dims(space, &dims, nil)
            let sizes = dims.compactMap { Int(exactly: $0) }
            guard sizes.count == rank else {
                throw DataError(path, "dataset '\(name)' has a dimension too large (\(dims.reversed()))")
            }
            return try body(dataset, sizes)
        }
    }
}
