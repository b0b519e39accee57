import ArgumentParser
import Foundation
import Executor
import GraphIR
import M2MModel
import Planner

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a compiled model's programs, arena map, FFT plans, placement and figures.")

    @Argument(help: "Compiled plan file (.m2m).") var model: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingUserErrors {
            let compiled = try CompiledModel.load(model)
            let summary = ModelSummary(compiled)
            if json {
                printJSON(summary.json)
                return
            }
            print("model \(compiled.config.name): \(summary.oneLine)")
            print(String(format: "analytic GFLOP: train step %.3f, inference %.3f",
                         compiled.training.graph.analyticFLOPs / 1e9, compiled.inference.graph.analyticFLOPs / 1e9))
            if let line = summary.memoryLimitLine { print(line) }
            if let experts = summary.experts, let m2m = compiled.config.m2m {
                let net = M2MNet(config: compiled.config)
                print("m2m: scale \(m2m.scale) (\(net.patches) patches of \(net.coreSize.rows)x\(net.coreSize.cols), halo "
                      + "\(m2m.halo)), \(m2m.dense ? "dense" : "top-\(m2m.k)") routing over \(m2m.experts) experts, "
                      + "capacity \(net.capacity) per expert and step, prior \(m2m.prior), controller "
                      + (m2m.controller.enabled ? "PI (target \(m2m.controller.target))" : "off"))
                for e in experts {
                    print(String(format: "  expert %d: modes %d, width %d, %d parameters (%.2f MiB with Adam), "
                                 + "train GFLOP at capacity %.3f", e["expert"] as! Int, e["modes"] as! Int,
                                 e["width"] as! Int, e["parameters"] as! Int,
                                 Double(e["parameter_bytes_with_adam"] as! Int) / 1048576,
                                 (e["flops_per_train_step_at_capacity"] as! Double) / 1e9))
                }
            }
            print("compile \(String(format: "%.1f", compiled.compileMilliseconds)) ms, of which FFTW planning and spectral form timing "
                  + "\(String(format: "%.1f", compiled.fftPlanningMilliseconds)) ms (\(compiled.fftRigor.rawValue))")
            print("spectral transforms (\(compiled.spectral.mode.rawValue)):")
            for c in compiled.spectral.choices {
                let timed = c.fftwSeconds.flatMap { f in c.gemmSeconds.map { g in
                    String(format: " (per sample: fftw %.1f us, gemm %.1f us)", f * 1e6, g * 1e6) } } ?? ""
                print("  \(c.transform): \(c.form.rawValue)\(timed)")
            }
            if compiled.portable {
                print("portable plan: GEMM spectral form, OpenBLAS pinned to its \(Executor.portableBLASCore) kernels, "
                      + "identical bits on every x86-64-v3 CPU")
            }
            let placement = compiled.placement
            print("placement: \(placement.summary); \(placement.domains.count) memory domain"
                  + "\(placement.domains.count == 1 ? "" : "s"); \(compiled.threads) threads, static tile partition")
            for d in summary.domains {
                print(String(format: "  domain %d (%@): persistent %.2f MiB, train arena %.2f MiB, inference arena %.2f MiB; holds %@",
                             d["domain"] as! Int, d["memory"] as! String,
                             Double(d["persistent_bytes"] as! Int) / 1048576, Double(d["train_arena_bytes"] as! Int) / 1048576,
                             Double(d["infer_arena_bytes"] as! Int) / 1048576, d["holds"] as! String))
            }
            if placement.topology.nodes.count > 1 {
                print(String(format: "  cross-node reads per step at capacity (plan): train %.2f MiB, inference %.2f MiB",
                             (try summary.crossNodeBytes(compiled.training)) / 1048576,
                             (try summary.crossNodeBytes(compiled.inference)) / 1048576))
            }
            for program in compiled.programs {
                let plan = program.plan
                print("\nprogram \(program.name): \(program.graph.nodes.count) nodes, arena \(plan.arenaBytes) bytes "
                      + "(lower bound \(plan.lowerBoundBytes), \(plan.arenas.map(\.strategy).joined(separator: ", ")))")
                if plan.arenas.count > 1 {
                    for (d, arena) in plan.arenas.enumerated() {
                        print("  domain \(d) (\(compiled.placement.domains[d])): arena \(arena.arenaBytes) bytes, "
                              + "lower bound \(arena.lowerBoundBytes)")
                    }
                }
                print("  FFT plans:")
                for t in plan.transforms { print("    \(t)") }
                let chains = plan.chains ?? []
                print("  sample chains (nodes run tile by tile, each sample's tiles in a row): \(chains.count)")
                for chain in chains {
                    print("    nodes \(chain.first!)-\(chain.last!): "
                          + chain.map { program.graph.nodes[$0].op.name }.joined(separator: " > "))
                }
                print("  arena map (buffer, domain, offset, bytes, first/last step):")
                for (i, owner) in plan.owners.enumerated() {
                    let b = plan.buffers[i]
                    let label: String
                    switch owner {
                    case .value(let v): label = program.graph.values[v].kind.name.map { "%\(v) \"\($0)\"" } ?? "%\(v)"
                    case .workspace(let n): label = "workspace of node \(n) (\(program.graph.nodes[n].op.name))"
                    }
                    print("    \(label): domain \(plan.domains[i]), offset \(plan.offsets[i]), \(b.size) bytes, "
                          + "steps \(b.firstUse)-\(b.lastUse)")
                }
                print("  program:")
                print(program.graph.text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            }
        }
    }
}
