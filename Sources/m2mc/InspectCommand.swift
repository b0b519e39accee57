import ArgumentParser
import Foundation
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
            print("compile \(String(format: "%.1f", compiled.compileMilliseconds)) ms, of which FFTW planning "
                  + "\(String(format: "%.1f", compiled.fftPlanningMilliseconds)) ms (\(compiled.fftRigor.rawValue))")
            print("placement: 1 memory domain (NUMA node 0); \(compiled.threads) threads, static tile partition")
            for program in compiled.programs {
                let plan = program.plan
                print("\nprogram \(program.name): \(program.graph.nodes.count) nodes, arena \(plan.arenaBytes) bytes "
                      + "(lower bound \(plan.lowerBoundBytes), \(plan.layout.strategy))")
                print("  FFT plans:")
                for t in plan.transforms { print("    \(t)") }
                print("  arena map (buffer, offset, bytes, first/last step):")
                for (i, owner) in plan.owners.enumerated() {
                    let b = plan.buffers[i]
                    let label: String
                    switch owner {
                    case .value(let v): label = program.graph.values[v].kind.name.map { "%\(v) \"\($0)\"" } ?? "%\(v)"
                    case .workspace(let n): label = "workspace of node \(n) (\(program.graph.nodes[n].op.name))"
                    }
                    print("    \(label): offset \(plan.layout.offsets[i]), \(b.size) bytes, steps \(b.firstUse)-\(b.lastUse)")
                }
                print("  program:")
                print(program.graph.text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            }
        }
    }
}
