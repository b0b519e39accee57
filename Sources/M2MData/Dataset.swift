import Foundation

/// A data set held in memory for training and evaluation: a folder written by `datagen`
/// (`u.npy` plus `a.npy` for ns, or `f.npy` for steady problems, and `meta.json`) or a
/// published FNO `.mat` file. Everything is read and validated once, at `open`.
public final class Dataset {
    /// The folder or file it came from.
    public let path: String
    /// "ns" (also for .mat files), "mscale" or "cno-poisson".
    public let kind: String
    /// Steady problems map f to u; time series map frames to later frames.
    public let isSteady: Bool
    /// Samples N, grid H x W, and frames T of u (1 for steady problems).
    public let count: Int, height: Int, width: Int, frames: Int
    /// u in C order: [N, H, W, T] for time series, [N, H, W] for steady problems.
    public let fields: [Float]
    /// f [N, H, W] for steady problems; empty for time series.
    public let sources: [Float]
    /// Parsed meta.json (empty for .mat files).
    public let meta: [String: Any]

    /// Opens and validates `path`; any problem is one `DataError` naming the file and the fault.
    public init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError(path, "no such data folder or file")
        }
        if !isDir.boolValue {
            guard path.hasSuffix(".mat") else {
                throw DataError(path, "expected a data folder (u.npy, meta.json) or a MATLAB v7.3 .mat file")
            }
            let u = try MatFile.read(path, dataset: "u")
            guard u.shape.count == 4 else { throw DataError(path, "dataset 'u' has shape \(u.shape), need [N, H, W, T]") }
            (kind, isSteady, meta, fields, sources) = ("ns", false, [:], u.values, [])
            (count, height, width, frames) = (u.shape[0], u.shape[1], u.shape[2], u.shape[3])
            return
        }
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        meta = try Dataset.readMeta(file("meta.json"))
        if let kind = meta["kind"], !(kind is String) {
            throw DataError(file("meta.json"), "key 'kind' must be a string (ns, mscale or cno-poisson), got \(kind)")
        }
        let hasA = FileManager.default.fileExists(atPath: file("a.npy"))
        let hasF = FileManager.default.fileExists(atPath: file("f.npy"))
        kind = (meta["kind"] as? String) ?? (hasF && !hasA ? "mscale" : "ns")
        switch kind {
        case "ns":
            let u = try Npy.read(file("u.npy"))
            guard u.shape.count == 4 else { throw DataError(file("u.npy"), "shape \(u.shape), an ns data set needs [N, H, W, T]") }
            if hasA {
                let a = try Npy.readHeader(file("a.npy")).shape
                guard a == Array(u.shape.prefix(3)) else {
                    throw DataError(file("a.npy"), "shape \(a) does not match u.npy \(u.shape) (need [N, H, W])")
                }
            }
            (isSteady, fields, sources) = (false, u.values, [])
            (count, height, width, frames) = (u.shape[0], u.shape[1], u.shape[2], u.shape[3])
        case "mscale", "cno-poisson":
            guard hasF else { throw DataError(file("f.npy"), "missing: a \(kind) data set needs f.npy and u.npy") }
            let f = try Npy.read(file("f.npy"))
            let u = try Npy.read(file("u.npy"))
            guard f.shape.count == 3 else { throw DataError(file("f.npy"), "shape \(f.shape), need [N, H, W]") }
            guard u.shape == f.shape else { throw DataError(file("u.npy"), "shape \(u.shape) does not match f.npy \(f.shape)") }
            (isSteady, fields, sources) = (true, u.values, f.values)
            (count, height, width, frames) = (u.shape[0], u.shape[1], u.shape[2], 1)
        default:
            throw DataError(file("meta.json"), "unknown kind '\(kind)' (need ns, mscale or cno-poisson)")
        }
        guard count > 0 else { throw DataError(path, "holds no samples") }
        // Arrays of another kind are left from another data set: a mixed folder is refused.
        let foreign = isSteady ? (hasA ? "a.npy" : nil) : (hasF ? "f.npy" : nil)
        if let foreign {
            throw DataError(file(foreign), "does not belong to a data set of kind '\(kind)' "
                            + "(left from another data set?): remove it or regenerate the folder")
        }
        try Dataset.checkMeta(meta, file: file("meta.json"), count: count, height: height, width: width,
                              frames: isSteady ? nil : frames)
    }

    /// The keys of meta.json that describe the arrays must agree with them: `kind` (a
    /// string), `n` (samples), `res` (the side of a square grid), `grid` (when a list,
    /// [H, W]) and, for time series, `t` (frames). Other keys are informational.
    static func checkMeta(_ meta: [String: Any], file: String, count: Int, height: Int, width: Int,
                          frames: Int?) throws {
        func integer(_ key: String) throws -> Int? {
            guard let value = meta[key] else { return nil }
            guard let int = value as? Int else {
                throw DataError(file, "key '\(key)' must be an integer, got \(value)")
            }
            return int
        }
        if let n = try integer("n"), n != count {
            throw DataError(file, "says n = \(n) but the arrays hold \(count) samples")
        }
        if let res = try integer("res"), res != height || res != width {
            throw DataError(file, "key 'res' says \(res) but the arrays hold a \(height)x\(width) grid")
        }
        if let grid = meta["grid"] as? [Any] {
            let sides = grid.compactMap { $0 as? Int }
            guard sides == [height, width] else {
                throw DataError(file, "key 'grid' says \(grid) but the arrays hold a \(height)x\(width) grid")
            }
        }
        if let frames, let t = try integer("t"), t != frames {
            throw DataError(file, "key 't' says \(t) frames but u.npy holds \(frames)")
        }
    }

    /// meta.json as a dictionary; a missing file is allowed (kind is then inferred from the files).
    private static func readMeta(_ path: String) throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError(path, "cannot read") }
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw DataError(path, "not a JSON object")
        }
        return dict
    }
}
