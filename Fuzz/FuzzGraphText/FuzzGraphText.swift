// libFuzzer target: the IR text parser. Build and run with scripts/fuzz.sh; a plain build
// gives a replay tool (`FuzzGraphText FILE...`) that runs the same code on saved inputs.
import Foundation
import GraphIR

func fuzzOne(_ bytes: [UInt8]) {
    _ = try? Graph(parsing: String(decoding: bytes, as: UTF8.self))
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
