import ArgumentParser
import Evaluation
import Foundation

/// `anatomix label`: the CheXpert-style rule labels of reports, one JSON object a line, or the
/// labeler's agreement with the MeSH indexing of the Indiana University reports.
struct Label: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Label reports with the CheXpert-style rules (present, absent, uncertain or not_mentioned, and the side).",
        discussion: """
            Prints one JSON object per report: {"text": ..., "labels": {"No Finding": {"state": ..., "side": ...}, ...}} \
            with all 14 CheXpert labels. With --agreement, prints per-label precision, recall and F1 against the \
            MeSH terms of an Open-i report archive (the first half by file name tuned the rules; the second is held out).
            """)

    @Argument(help: "Report texts.")
    var reports: [String] = []

    @Option(help: "A UTF-8 text file of reports, one a line (empty lines skipped; at most 64 MiB; sentences over 2,000 characters are cut into pieces).")
    var file: String?

    @Option(help: "An Open-i report archive, e.g. .cache/xrv/NLMCXR_reports.tgz (fetched by `make deps`).")
    var agreement: String?

    @Flag(help: "Also mark the parent of a positive child (Lung Opacity, Enlarged Cardiomediastinum), as the synthetic labels do.")
    var hierarchy = false

    /// The largest --file read.
    static let maximumFileBytes = 64 << 20

    func validate() throws {
        guard !reports.isEmpty || file != nil || agreement != nil else {
            throw ValidationError("give report texts, --file PATH or --agreement ARCHIVE")
        }
    }

    func run() throws {
        let labeler = ReportLabeler(hierarchy: hierarchy)
        var texts = reports
        if let file { texts += try Self.lines(of: file) }
        for text in texts { print(try Self.json(text, labeler.label(text))) }
        if let agreement {
            let all: [MeshReport]
            do { all = try MeshAgreement.reports(archive: URL(fileURLWithPath: agreement)) } catch {
                throw ValidationError("--agreement \(agreement): \(error)")
            }
            let (tuning, heldOut) = MeshAgreement.halves(all)
            let first = tuning.first?.name ?? "-", split = heldOut.first?.name ?? "-"
            print(MeshAgreement.agreement(heldOut, labeler: labeler, title: "IU reports, held-out half (file names from \(split))").formatted)
            print()
            print(MeshAgreement.agreement(tuning, labeler: labeler, title: "IU reports, tuning half (file names \(first) to before \(split))").formatted)
            print()
            print(MeshAgreement.agreement(all, labeler: labeler, title: "IU reports, all").formatted)
        }
    }

    /// The non-empty lines of a UTF-8 file, or a ValidationError naming what is wrong with it.
    static func lines(of path: String) throws -> [String] {
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read --file \(path): \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maximumFileBytes + 1) ?? Data() } catch {
            throw ValidationError("cannot read --file \(path): \(error.localizedDescription)")
        }
        guard data.count <= maximumFileBytes else { throw ValidationError("--file \(path) is over \(maximumFileBytes) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("--file \(path) is not UTF-8 text") }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// {"text": ..., "labels": {...}} with the labels in CheXpert order.
    static func json(_ text: String, _ labels: ReportLabels) throws -> String {
        func quoted(_ s: String) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: s, options: [.fragmentsAllowed, .withoutEscapingSlashes]), as: UTF8.self)
        }
        let entries = try CheXpertLabel.allCases.map { label in
            let state = labels[label]
            return "\(try quoted(label.rawValue)): {\"state\": \"\(state.state.rawValue)\", \"side\": \(state.side.map { "\"\($0.rawValue)\"" } ?? "null")}"
        }
        return "{\"text\": \(try quoted(text)), \"labels\": {\(entries.joined(separator: ", "))}}"
    }
}
