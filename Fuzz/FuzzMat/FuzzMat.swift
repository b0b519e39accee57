// libFuzzer target: the .mat reader, through a temporary file (the reader takes a path).
import Foundation
import M2MData

let path = NSTemporaryDirectory() + "/m2m-FuzzMat-\(getpid()).mat"

func fuzzOne(_ bytes: [UInt8]) {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
    for name in ["u", "a"] {
        // Declared sizes are not backed by the file: read those that fit the fuzzer's memory
        // limit, and those the reader must refuse without allocating (more than physical memory).
        guard let shape = try? MatFile.shape(path, dataset: name) else { continue }
        let bytes = SystemResources.checkedProduct(shape + [4]) ?? .max
        if bytes <= 1 << 26 || bytes > SystemResources.physicalMemoryBytes {
            _ = try? MatFile.read(path, dataset: name)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if !FUZZING
@main enum Replay {
    static func main() {
        for file in CommandLine.arguments.dropFirst() {
            fuzzOne([UInt8](FileManager.default.contents(atPath: file) ?? Data()))
            print("ok \(file)")
        }
        unlink(path)
    }
}
#endif
