// libFuzzer target: the .safetensors reader, through a temporary file (the reader takes a path).
import Foundation
import M2MModel

let path = NSTemporaryDirectory() + "/m2m-FuzzSafeTensors-\(getpid()).safetensors"

func fuzzOne(_ bytes: [UInt8]) {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
    _ = try? SafeTensors.read(path)
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
