import M2MData

extension SafeTensors {
    /// The metadata of a safetensors file, after validating its header; no tensor data is read.
    public static func metadata(_ path: String) throws -> [String: String] {
        let file: ReadFile
        do {
            file = try ReadFile(path)
        } catch let e as DataError {
            throw UserError("\(path): cannot read the file: \(e.problem)")
        }
        defer { file.close() }
        do {
            return try layout(of: file).metadata
        } catch let e as DataError {
            throw UserError(e.description)
        }
    }
}
