// libFuzzer target: the config loader (`ModelConfig.parse`), sizes included.
import Foundation
import M2MModel

func fuzzOne(_ bytes: [UInt8]) {
    if let config = try? ModelConfig.parse(Data(bytes), source: "fuzz") { _ = config }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if !FUZZING
@main enum Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            fuzzOne([UInt8](FileManager.default.contents(atPath: path) ?? Data()))
            print("ok \(path)")
        }
    }
}
#endif
