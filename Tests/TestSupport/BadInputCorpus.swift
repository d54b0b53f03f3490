public import Foundation
import Contracts

/// The bad-input corpus (`Tests/Fixtures/bad`, made by `Training/make_bad_inputs.py`): each case as a
/// record value, keyed by case name, and the outcome `expected.json` wants for it (an error code of
/// the dead letter, or "accepted"). The in-process test and the broker test send the same records.
public enum BadInputCorpus {
    public static let folder = Repository.root.appendingPathComponent("Tests/Fixtures/bad")
    /// The message limit the worker runs with (the 10 MB case is over it).
    public static let messageLimit = 8 << 20

    public static func expected() throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    }

    /// A new image root holding gray8.png (what the `file://` cases point into); the caller removes it.
    public static func makeRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bad-root-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: folder.appendingPathComponent("images/gray8.png"), to: root.appendingPathComponent("gray8.png"))
        return root
    }

    /// Each case as (name, record value); `{ROOT}` filled in, the symlink and 10 MB cases made here.
    /// An accepted case's output is keyed by its study id (`caseOfStudy` maps it back).
    public static func cases(root: URL) throws -> [(String, Data)] {
        var out = [(String, Data)]()
        for name in try expected().keys.sorted() {
            if name.hasPrefix("images/") {
                let png = try Data(contentsOf: folder.appendingPathComponent(name))
                let id = "img-" + name.dropFirst(7).replacingOccurrences(of: ".", with: "-")
                out.append((name, try MessageCodec.encode(StudyMessage(studyID: id, image: .png(png), tasks: []))))
            } else if name.hasPrefix("messages/") {
                let text = try Data(contentsOf: folder.appendingPathComponent(name))
                let filled = String(data: text, encoding: .utf8).map { Data($0.replacingOccurrences(of: "{ROOT}", with: root.path).utf8) } ?? text
                out.append((name, filled))
            }
        }
        // A symlink under the root pointing out of it, and a 10 MB message (over `messageLimit`).
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString).png")
        try Data(contentsOf: folder.appendingPathComponent("images/gray8.png")).write(to: outside)
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("escape.png"), withDestinationURL: outside)
        out.append(("made-by-test/symlink-escaping-root",
                    try MessageCodec.encode(StudyMessage(studyID: "bad-symlink", image: .uri("file://\(root.path)/escape.png"), tasks: []))))
        let big = try MessageCodec.encode(StudyMessage(studyID: "bad-10mb", image: .png(Data(repeating: 0x89, count: 7_500_000)), tasks: []))
        out.append(("made-by-test/10-mb-message", big))
        return out
    }

    /// The case whose payload names each study id.
    public static func caseOfStudy(_ cases: [(String, Data)]) -> [String: String] {
        struct Peek: Decodable { let study_id: String? }
        return Dictionary(cases.compactMap { c in (try? JSONDecoder().decode(Peek.self, from: c.1))?.study_id.map { ($0, c.0) } },
                          uniquingKeysWith: { a, _ in a })
    }

    /// Each case's outcome: the code of the dead letter keyed by its name, or "accepted" when an
    /// output is keyed by the study id it names.
    public static func outcomes(_ cases: [(String, Data)], deadLetters: [(key: String, code: String)], outputKeys: [String]) -> [String: String] {
        let caseOfStudy = caseOfStudy(cases)
        var outcome = [String: String]()
        for letter in deadLetters { outcome[letter.key] = letter.code }
        for key in outputKeys { if let name = caseOfStudy[key] { outcome[name] = "accepted" } }
        return outcome
    }
}
