// libFuzzer target: the compiled-plan loader (`CompiledModel.decode`, what `load` runs on the
// file's bytes). The checksum is recomputed over a mutated payload half of the time so the
// fuzzer reaches the payload parser and not only the checksum check.
import Foundation
import M2MModel

func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    return h
}

func fuzzOne(_ bytes: [UInt8]) {
    _ = try? CompiledModel.decode(Data(bytes), source: "fuzz")
    // Same bytes with a valid checksum (header: magic 8, version 4, length 8, checksum 8).
    if bytes.count >= 28 {
        var fixed = bytes
        let h = fnv1a(bytes[28...])
        for i in 0..<8 { fixed[20 + i] = UInt8(truncatingIfNeeded: h >> (8 * UInt64(i))) }
        let n = UInt64(bytes.count - 28)
        for i in 0..<8 { fixed[12 + i] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(i))) }
        _ = try? CompiledModel.decode(Data(fixed), source: "fuzz")
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
        for path in CommandLine.arguments.dropFirst() {
            fuzzOne([UInt8](FileManager.default.contents(atPath: path) ?? Data()))
            print("ok \(path)")
        }
    }
}
#endif
