/// Byte counts as users write them (`--memory-limit`, the `memory_limit` key): an integer
/// number of bytes, or a decimal number with a unit: `k`, `M`, `G`, `T` (powers of 1000, as
/// `SystemResources.describe` prints sizes) or `Ki`, `Mi`, `Gi`, `Ti` (powers of 1024), with an
/// optional trailing `B`; letters in either case. `1.5G` = 1500000000, `800M`, `2GiB`, `64k`.
public enum ByteCount {
    /// The syntax, for error messages.
    public static let syntax = "an integer number of bytes or a number with k, M, G, T (powers of 1000) "
        + "or Ki, Mi, Gi, Ti (powers of 1024), e.g. 1.5G or 800M"

    /// The bytes `text` denotes (rounded down to a whole byte), or nil when it is not a byte count
    /// or does not fit an `Int`.
    public static func parse(_ text: String) -> Int? {
        var unit = Substring(text)
        let number = unit.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        unit = unit.dropFirst(number.count)
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2, !(parts.count == 2 && parts[0].isEmpty && parts[1].isEmpty),
              parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) else { return nil }
        var suffix = unit.lowercased()
        if suffix.hasSuffix("b") { suffix.removeLast() }
        let powers = ["": 0, "k": 1, "m": 2, "g": 3, "t": 4]
        let base: Int
        if suffix.hasSuffix("i") {
            suffix.removeLast()
            guard !suffix.isEmpty else { return nil }
            base = 1024
        } else {
            base = 1000
        }
        guard let power = powers[suffix] else { return nil }
        var multiplier = 1
        for _ in 0..<power { multiplier *= base }
        // Whole part times the unit, plus the fraction's digits times the unit, divided out exactly.
        let whole = parts[0].isEmpty ? 0 : Int(parts[0])
        guard let whole else { return nil }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        var result = scaled
        if parts.count == 2, !parts[1].isEmpty {
            let digits = parts[1].prefix(18)   // beyond 18 digits nothing changes a byte below 1 EB
            guard let fraction = Int(digits) else { return nil }
            var denominator = 1
            for _ in 0..<digits.count { denominator *= 10 }
            // fraction / denominator * multiplier, without overflow: split the multiplier.
            let part = (fraction.multipliedFullWidth(by: multiplier))
            let (quotient, _) = denominator.dividingFullWidth(part)
            let (sum, overflowSum) = result.addingReportingOverflow(quotient)
            guard !overflowSum else { return nil }
            result = sum
        }
        return result
    }
}
