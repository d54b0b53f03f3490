/// GPT-2's reversible byte <-> unicode map (HF `ByteLevel`): the 188 printable bytes stand for
/// themselves, the other 68 (controls, space, ...) for U+0100 onwards, so every byte string is a
/// string of visible characters the BPE vocabulary can spell.
public enum ByteLevel {
    /// `scalars[b]`: the character standing for byte `b`.
    public static let scalars: [Unicode.Scalar] = {
        var printable = Set<UInt8>()
        for range in [UInt8(33)...UInt8(126), UInt8(161)...UInt8(172), UInt8(174)...UInt8(255)] {
            for b in range { printable.insert(b) }
        }
        var map = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if printable.contains(UInt8(b)) {
                map[b] = Unicode.Scalar(UInt8(b))
            } else {
                map[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return map
    }()

    /// The inverse map: character -> byte.
    public static let bytes: [Unicode.Scalar: UInt8] = {
        var inverse = [Unicode.Scalar: UInt8]()
        for (b, scalar) in scalars.enumerated() { inverse[scalar] = UInt8(b) }
        return inverse
    }()

    /// The UTF-8 bytes of `text`, each as its stand-in character.
    public static func encode(_ text: Substring) -> [String] {
        text.utf8.map { String(Character(scalars[Int($0)])) }
    }

    /// Stand-in characters back to bytes; a character outside the map (a token not made by
    /// `encode`, e.g. an added token) is kept as its own UTF-8.
    public static func decode(_ text: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if let b = bytes[scalar] { out.append(b) } else { out += Array(String(scalar).utf8) }
        }
        return out
    }
}
