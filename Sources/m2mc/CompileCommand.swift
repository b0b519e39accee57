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

            --memory-limit BYTES (or the config key "memory_limit") bounds the training arena plus the \
            weights and Adam moments: the planner recomputes cheap activations (GELU outputs, coordinate \
            channels) for each backward reader and, if that is not enough, checkpoints rollout steps at \
            their input window and re-runs their forward pass during the backward pass, stopping at the \
            first plan that fits. Trained weights are bit-identical with and without a limit. A limit \
            that cannot be met is an error naming the smallest feasible one; 'm2mc inspect' shows the \
            recomputation's extra FLOPs and the arena with and without the limit.
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
    @Option(help: ArgumentHelp("Most bytes the training arena plus weights and optimizer state may take, e.g. 1.5G, 800M, 2GiB (k/M/G/T: powers of 1000; Ki/Mi/Gi/Ti: of 1024); the planner recomputes activations to fit. Overrides the config's memory_limit.",
                               valueName: "bytes"))
    var memoryLimit: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if let memoryLimit, (ByteCount.parse(memoryLimit) ?? 0) < 1 {
            throw ValidationError("--memory-limit: '\(memoryLimit)' is not a byte count: use \(ByteCount.syntax)")
        }
    }

    func run() throws {
        try reportingUserErrors {
            // The plan must not replace its own config (infer checks its inputs the same way).
            if sameFile(config, output) { throw UserError("-o \(output) is the config file: choose another output path") }
            guard threads >= 1 else { throw UserError("--threads must be >= 1") }
            try SystemResources.checkThreads(threads)
            var modelConfig = try ModelConfig.load(config)
            if let memoryLimit { modelConfig.memoryLimit = ByteCount.parse(memoryLimit) }
            let model = try CompiledModel.compile(modelConfig, rigor: fftw, threads: threads,
                                                  source: config, numa: placement.numa,
                                                  topology: try placement.parsedTopology(), spectralMode: spectralTransform,
                                                  portable: portable,
                                                  memoryLimitName: memoryLimit != nil ? "--memory-limit" : "key 'memory_limit'")
            try model.write(to: output)
            let summary = ModelSummary(model)
            if json {
                printJSON(summary.json.merging(["path": output]) { a, _ in a })
            } else {
                print("compiled \(model.config.name) -> \(output): \(summary.oneLine)")
                if let line = summary.memoryLimitLine { print(line) }
            }
        }
    }
}
