// swift-tools-version: 6.0
import PackageDescription

// Module graph (dependencies point one way):
//   C shims  <-  GraphIR  <-  Planner  <-  Executor  <-  M2MModel  <-  m2mc
//   CFFTW, CHDF5  <-  M2MData  <-  M2MModel
//   CPNG  <-  M2MModel (figures)
//   CKernels (plain C, per-ISA variants chosen at run time)  <-  Executor
// The hot elementwise kernels live in CKernels, compiled for baseline x86-64, AVX2 and
// AVX-512 with per-function target attributes and dispatched on cpuid, so a plain
// `swift build -c release` is fast on every CPU; no CPU flag and no unsafeFlags here.
let package = Package(
    name: "M2M",
    products: [
        .executable(name: "m2mc", targets: ["m2mc"]),
        .library(name: "M2MModel", targets: ["M2MModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.0"),
    ],
    targets: [
        // Thin system-library shims: each C library is wrapped exactly once.
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW"),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CNUMA", path: "Sources/CNUMA"),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),

        .target(name: "CKernels"),
        .target(name: "GraphIR"),
        .target(name: "Planner", dependencies: ["GraphIR", "CFFTW", "CNUMA"]),
        .target(name: "Executor", dependencies: ["GraphIR", "Planner", "CKernels", "CFFTW", "COpenBLAS", "CNUMA"]),
        .target(name: "M2MData", dependencies: ["CFFTW", "CHDF5"]),
        .target(name: "M2MModel", dependencies: ["GraphIR", "Planner", "Executor", "M2MData", "CPNG"]),
        .executableTarget(
            name: "m2mc",
            dependencies: [
                "M2MModel",
                "M2MData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),

        // libFuzzer targets (scripts/fuzz.sh builds them with the fuzzer and address sanitizer;
        // a plain build gives replay tools that run saved inputs). Not products.
        .executableTarget(name: "FuzzGraphText", dependencies: ["GraphIR"], path: "Fuzz/FuzzGraphText"),
        .executableTarget(name: "FuzzPlan", dependencies: ["M2MModel"], path: "Fuzz/FuzzPlan"),
        .executableTarget(name: "FuzzConfig", dependencies: ["M2MModel"], path: "Fuzz/FuzzConfig"),
        .executableTarget(name: "FuzzNpy", dependencies: ["M2MData"], path: "Fuzz/FuzzNpy"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["M2MModel"], path: "Fuzz/FuzzSafeTensors"),
        .executableTarget(name: "FuzzMat", dependencies: ["M2MData"], path: "Fuzz/FuzzMat"),

        .testTarget(name: "GraphIRTests", dependencies: ["GraphIR"]),
        .testTarget(name: "PlannerTests", dependencies: ["GraphIR", "Planner", "Executor"]),
        .testTarget(name: "ExecutorTests", dependencies: ["GraphIR", "Planner", "Executor", "CKernels"]),
        .testTarget(name: "M2MDataTests", dependencies: ["M2MData", "CHDF5"]),
        .testTarget(
            name: "M2MModelTests",
            dependencies: [
                "M2MModel", "M2MData", "GraphIR", "Planner", "Executor", "m2mc", "CPNG",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
