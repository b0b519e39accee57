import ArgumentParser
import M2MData
import M2MModel
import Planner

struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Build, verify and plan a model config into a compiled .m2m plan file.",
        discussion: """
            "model": "fno" is the single FNO; "model": "m2m" the mixture of FNO experts with its keys in an \
            "m2m" object (scale, halo, expert_modes, expert_widths, k, capacity_factor, dense, prior, \
            controller, ...; ARCHITECTURE.md lists them); "model": "kno" the Koopman neural operator with \
            its keys in a "kno" object (op_size, modes, decompose, linear_type, reconstruction_weight); \
            "model": "cno" the convolutional neural operator with its keys in a "cno" object (n_layers, \
            n_res, n_res_neck, channel_multiplier, latent_dim, kernel, periodic_padding). \
            "model": "uno" the U-shaped neural operator with its keys in a "uno" object (hidden_channels, \
            lifting_channels, projection_channels, out_channels, n_modes, scalings, horizontal_skips_map, \
            channel_mlp_expansion). Examples: configs/fno-ns64.json, configs/m2m-ns64.json, \
            configs/m2m-dense-ns64.json, configs/m2m-mscale64.json, configs/kno-ns64.json, \
            configs/kno-mscale64.json, configs/cno-ns64.json, configs/cno-mscale64.json, \
            configs/uno-ns64.json, configs/uno-mscale64.json.
            """)

    @Argument(help: "Model config (JSON).") var config: String
    @Option(name: .short, help: "Output plan file.") var output: String
    @Option(help: "FFTW planning rigor: estimate, measure or patient (wisdom is stored in the plan).") var fftw: FFTRigor = .patient
    @Option(help: "Spectral transforms: auto (time FFTW and the GEMM form per transform, keep the faster; FFTW under --fftw estimate), fftw or gemm (forced everywhere). Stored in the plan.")
    var spectralTransform: SpectralTransformMode = .auto
    @Option(help: "Default worker threads stored in the plan.") var threads: Int = 2
    @OptionGroup var placement: PlacementOptions
    @Flag(help: "Portable plan: kernel choices every x86-64-v3 machine makes alike (GEMM spectral form, OpenBLAS's Haswell kernels), so AVX2 and AVX-512 hosts give identical bits.")
    var portable = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingUserErrors {
            // The plan must not replace its own config (infer checks its inputs the same way).
            if sameFile(config, output) { throw UserError("-o \(output) is the config file: choose another output path") }
            guard threads >= 1 else { throw UserError("--threads must be >= 1") }
            try SystemResources.checkThreads(threads)
            let model = try CompiledModel.compile(try ModelConfig.load(config), rigor: fftw, threads: threads,
                                                  source: config, numa: placement.numa,
                                                  topology: try placement.parsedTopology(), spectralMode: spectralTransform,
                                                  portable: portable)
            try model.write(to: output)
            let summary = ModelSummary(model)
            if json {
                printJSON(summary.json.merging(["path": output]) { a, _ in a })
            } else {
                print("compiled \(model.config.name) -> \(output): \(summary.oneLine)")
            }
        }
    }
}
