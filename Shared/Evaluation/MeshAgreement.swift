public import Foundation

/// One Indiana University (Open-i) report: its file name, FINDINGS and IMPRESSION text (a line
/// each, when present) and the MeSH `<major>` terms its indexers gave ("Cardiomegaly/mild").
public struct MeshReport: Sendable, Equatable {
    public let name: String
    public let text: String
    public let mesh: [String]
    public init(name: String, text: String, mesh: [String]) { (self.name, self.text, self.mesh) = (name, text, mesh) }
}

/// An IU report archive that cannot be read, with what was wrong.
public struct MeshAgreementError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The labeler's agreement with the IU reports' MeSH indexing, per CheXpert label. A label is
/// positive for the labeler when present or uncertain, and for MeSH when one of its major terms
/// maps to it (`MeshLabels`). Reports with neither FINDINGS nor IMPRESSION text, and those indexed
/// "No Indexing", are left out. The rules were tuned looking at the first half of the reports by
/// file name (plain string order: "1.xml" < "10.xml" < "2.xml"); the second half is held out.
public enum MeshAgreement {
    /// Bounds on the archive read: its size, its unpacked size and its number of files.
    public struct Limits: Sendable {
        public var archiveBytes = 64 << 20, unpackedBytes = 256 << 20, files = 20_000
        public init() {}
    }

    /// Every report of a `.tgz` of Open-i XML files (unpacked by /usr/bin/tar into memory, bounded).
    /// The unpacked bytes are held once: each document is decoded from its own slice of them
    /// (splitting at the ASCII "<?xml" never splits a UTF-8 sequence) and parsed before the next.
    public static func reports(archive: URL, limits: Limits = Limits()) throws -> [MeshReport] {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: archive.path) } catch {
            throw MeshAgreementError("cannot read \(archive.path): \(error.localizedDescription) (`make deps` fetches the IU reports)")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= limits.archiveBytes else {
            throw MeshAgreementError("\(archive.path) has \(size) bytes, over the \(limits.archiveBytes) allowed")
        }
        let names = try String(decoding: tar(["-tzf", archive.path], limit: 4 << 20), as: UTF8.self)
            .split(separator: "\n").map(String.init).filter { !$0.hasSuffix("/") }
        guard names.count <= limits.files else {
            throw MeshAgreementError("\(archive.path) holds \(names.count) files, over the \(limits.files) allowed")
        }
        let bytes = try tar(["-xzOf", archive.path], limit: limits.unpackedBytes)
        // Unpacked one after another in archive order; each file starts with its XML declaration.
        let marker = Array("<?xml".utf8)
        let starts = offsets(of: marker, in: bytes).map { bytes.startIndex + $0 }
        guard starts.count == names.count, names.allSatisfy({ $0.hasSuffix(".xml") }) else {
            throw MeshAgreementError("\(archive.path): \(names.count) files but \(starts.count) XML documents (not an Open-i report archive?)")
        }
        let notUTF8 = MeshAgreementError("\(archive.path): the unpacked reports are not UTF-8")
        guard String(data: bytes[bytes.startIndex..<(starts.first ?? bytes.endIndex)], encoding: .utf8) != nil else { throw notUTF8 }
        var reports: [MeshReport] = []
        for (i, name) in names.enumerated() {
            let end = i + 1 < starts.count ? starts[i + 1] : bytes.endIndex
            guard let xml = String(data: bytes[(starts[i] + marker.count)..<end], encoding: .utf8) else { throw notUTF8 }
            let report = parse(xml: xml, name: (name as NSString).lastPathComponent)
            if !report.text.isEmpty { reports.append(report) }
        }
        return reports
    }

    /// The FINDINGS and IMPRESSION text and MeSH major terms of one Open-i XML document.
    public static func parse(xml: String, name: String) -> MeshReport {
        let sections = ["FINDINGS", "IMPRESSION"].compactMap { label in
            captures(#"<AbstractText Label="\#(label)">([^<]*)</AbstractText>"#, in: xml).first
        }.map(unescaped).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let mesh = captures(#"<major>([^<]*)</major>"#, in: xml).map(unescaped).map { $0.trimmingCharacters(in: .whitespaces) }
        return MeshReport(name: name, text: sections.joined(separator: "\n"), mesh: mesh)
    }

    /// The reports sorted by file name, split into the tuning half (the first) and the held-out half.
    public static func halves(_ reports: [MeshReport]) -> (tuning: [MeshReport], heldOut: [MeshReport]) {
        let sorted = reports.sorted { $0.name < $1.name }
        return (Array(sorted[..<(sorted.count / 2)]), Array(sorted[(sorted.count / 2)...]))
    }

    /// Per-label agreement of `labeler` with the MeSH-derived labels over `reports`.
    public static func agreement(_ reports: [MeshReport], labeler: ReportLabeler = ReportLabeler(), title: String) -> AgreementTable {
        var table = AgreementTable(title: title)
        for report in reports where !report.mesh.contains(where: { $0.lowercased() == "no indexing" }) {
            let truth = MeshLabels.labels(report.mesh), labels = labeler.label(report.text)
            table.add(truth: truth, predicted: labels)
        }
        return table
    }

    /// The offsets of the non-overlapping occurrences of `marker` in `data` (memchr and memcmp).
    static func offsets(of marker: [UInt8], in data: Data) -> [Int] {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Int] in
            guard let base = raw.baseAddress, let first = marker.first else { return [] }
            var found: [Int] = [], at = 0
            while raw.count - at >= marker.count, let hit = memchr(base + at, Int32(first), raw.count - at - marker.count + 1) {
                let offset = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(hit, marker, marker.count) == 0 {
                    found.append(offset)
                    at = offset + marker.count
                } else {
                    at = offset + 1
                }
            }
            return found
        }
    }

    static func captures(_ pattern: String, in text: String) -> [String] {
        guard let re = try? NSRegularExpression(pattern: pattern) else { preconditionFailure("bad pattern \(pattern)") }   // constants
        let ns = text as NSString
        return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
    }

    static func unescaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Runs /usr/bin/tar and returns its standard output, failing past `limit` bytes. Its standard
    /// error is drained as it comes, on a thread of its own (tar would block on a full pipe, and
    /// never end its standard output), keeping only its first and last `Messages.kept` bytes.
    static func tar(_ arguments: [String], limit: Int) throws -> Data {
        let process = Process(), output = Pipe(), errors = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        process.arguments = arguments
        (process.standardOutput, process.standardError) = (output, errors)
        do { try process.run() } catch { throw MeshAgreementError("cannot run /usr/bin/tar: \(error.localizedDescription)") }
        let messages = Messages(), drained = DispatchSemaphore(value: 0), errorOutput = errors.fileHandleForReading
        DispatchQueue.global().async {
            while let chunk = try? errorOutput.read(upToCount: 1 << 16), !chunk.isEmpty { messages.append(chunk) }
            drained.signal()
        }
        var data = Data()
        while let chunk = try output.fileHandleForReading.read(upToCount: 1 << 16), !chunk.isEmpty {
            data.append(chunk)
            if data.count > limit {
                process.terminate()
                process.waitUntilExit()
                _ = drained.wait(timeout: .now() + 10)   // tar's gzip, if still writing, ends on the broken pipe
                throw MeshAgreementError("tar \(arguments.joined(separator: " ")) wrote over \(limit) bytes")
            }
        }
        process.waitUntilExit()
        _ = drained.wait(timeout: .now() + 10)
        guard process.terminationStatus == 0 else {
            throw MeshAgreementError("tar \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(messages.summary)")
        }
        return data
    }

    /// The first and last `kept` bytes of a stream (tar's standard error), and its length.
    final class Messages: @unchecked Sendable {   // every access under `lock`
        static let kept = 2_048
        private let lock = NSLock()
        private var head = Data(), tail = Data(), total = 0

        func append(_ chunk: Data) {
            lock.lock()
            defer { lock.unlock() }
            total += chunk.count
            var rest = chunk[...]
            if head.count < Self.kept {
                let n = min(Self.kept - head.count, rest.count)
                head.append(rest.prefix(n))
                rest = rest.dropFirst(n)
            }
            tail.append(rest)
            if tail.count > Self.kept { tail = Data(tail.suffix(Self.kept)) }
        }

        /// The first 300 characters, and when there was more, the byte count and the last 200.
        var summary: String {
            lock.lock()
            defer { lock.unlock() }
            let first = String(decoding: head, as: UTF8.self)
            let text = total > head.count ? first + String(decoding: tail, as: UTF8.self) : first
            guard text.count > 500 else { return text }
            return "\(text.prefix(300)) ... (\(total) bytes in all) ... \(text.suffix(200))"
        }
    }
}

/// MeSH major terms to CheXpert labels. A term is "Heading/qualifier/qualifier..."; an entry
/// matches its heading when the term has one of `anyOf` qualifiers (any, when empty) and none of
/// `noneOf`. The side is the term's left/right/bilateral qualifier. No Finding is derived as the
/// labeler derives it: present iff no other label but Support Devices is.
///
/// | MeSH heading (qualifiers)                                         | label                       |
/// |-------------------------------------------------------------------|-----------------------------|
/// | Mediastinum (prominent, enlarged, widened; not lymph nodes)       | Enlarged Cardiomediastinum  |
/// | Cardiomegaly; Cardiac Shadow (enlarged)                           | Cardiomegaly                |
/// | Opacity, Density (not on bone, breast, mediastinum); Infiltrate;  | Lung Opacity                |
/// | Airspace Disease; Markings (interstitial); Lung Diseases,         |                             |
/// | Interstitial; Pulmonary Fibrosis; Cicatrix (not pleura)           |                             |
/// | Nodule, Mass (not breast, nipple); Cavitation                     | Lung Lesion                 |
/// | Pulmonary Edema; Pulmonary Congestion; Heart Failure              | Edema                       |
/// | Consolidation                                                     | Consolidation               |
/// | Pneumonia                                                         | Pneumonia                   |
/// | Pulmonary Atelectasis                                             | Atelectasis                 |
/// | Pneumothorax; Hydropneumothorax, Hemopneumothorax (also effusion) | Pneumothorax                |
/// | Pleural Effusion; Hemothorax                                      | Pleural Effusion            |
/// | Thickening (pleura); Cicatrix (pleura); Pleura                    | Pleural Other               |
/// | Fractures, Bone                                                   | Fracture                    |
/// | Catheters, Indwelling; Tube, Inserted; Implanted Medical Device;  | Support Devices             |
/// | Medical Device; Surgical Instruments; Stents; Sutures             |                             |
public enum MeshLabels {
    struct Entry: Sendable {
        let heading: String
        var anyOf: [String] = []
        var noneOf: [String] = []
        let labels: [CheXpertLabel]
    }

    static let notLung = ["ribs", "spine", "thoracic vertebrae", "bone and bones", "breast", "nipple", "mediastinum",
                          "humerus", "clavicle", "shoulder", "abdomen", "sternum", "scapula"]
    static let entries: [Entry] = [
        Entry(heading: "Mediastinum", anyOf: ["prominent", "enlarged", "widened"], noneOf: ["lymph nodes"], labels: [.enlargedCardiomediastinum]),
        Entry(heading: "Cardiomegaly", labels: [.cardiomegaly]),
        Entry(heading: "Cardiac Shadow", anyOf: ["enlarged"], labels: [.cardiomegaly]),
        Entry(heading: "Opacity", noneOf: notLung, labels: [.lungOpacity]),
        Entry(heading: "Density", noneOf: notLung, labels: [.lungOpacity]),
        Entry(heading: "Infiltrate", labels: [.lungOpacity]),
        Entry(heading: "Airspace Disease", labels: [.lungOpacity]),
        Entry(heading: "Markings", anyOf: ["interstitial"], labels: [.lungOpacity]),
        Entry(heading: "Lung Diseases, Interstitial", labels: [.lungOpacity]),
        Entry(heading: "Pulmonary Fibrosis", labels: [.lungOpacity]),
        Entry(heading: "Cicatrix", noneOf: ["pleura"], labels: [.lungOpacity]),
        Entry(heading: "Nodule", noneOf: ["breast", "nipple"], labels: [.lungLesion]),
        Entry(heading: "Mass", noneOf: ["breast", "nipple"], labels: [.lungLesion]),
        Entry(heading: "Cavitation", labels: [.lungLesion]),
        Entry(heading: "Pulmonary Edema", labels: [.edema]),
        Entry(heading: "Pulmonary Congestion", labels: [.edema]),
        Entry(heading: "Heart Failure", labels: [.edema]),
        Entry(heading: "Consolidation", labels: [.consolidation]),
        Entry(heading: "Pneumonia", labels: [.pneumonia]),
        Entry(heading: "Pulmonary Atelectasis", labels: [.atelectasis]),
        Entry(heading: "Pneumothorax", labels: [.pneumothorax]),
        Entry(heading: "Hydropneumothorax", labels: [.pneumothorax, .pleuralEffusion]),
        Entry(heading: "Hemopneumothorax", labels: [.pneumothorax, .pleuralEffusion]),
        Entry(heading: "Pleural Effusion", labels: [.pleuralEffusion]),
        Entry(heading: "Hemothorax", labels: [.pleuralEffusion]),
        Entry(heading: "Thickening", anyOf: ["pleura"], labels: [.pleuralOther]),
        Entry(heading: "Cicatrix", anyOf: ["pleura"], labels: [.pleuralOther]),
        Entry(heading: "Pleura", labels: [.pleuralOther]),
        Entry(heading: "Fractures, Bone", labels: [.fracture]),
        Entry(heading: "Catheters, Indwelling", labels: [.supportDevices]),
        Entry(heading: "Tube, Inserted", labels: [.supportDevices]),
        Entry(heading: "Implanted Medical Device", labels: [.supportDevices]),
        Entry(heading: "Medical Device", labels: [.supportDevices]),
        Entry(heading: "Surgical Instruments", labels: [.supportDevices]),
        Entry(heading: "Stents", labels: [.supportDevices]),
        Entry(heading: "Sutures", labels: [.supportDevices]),
    ]

    /// The 14 labels (present or absent, with the side where a term gives one) of a report's terms.
    public static func labels(_ terms: [String]) -> ReportLabels {
        var labels = ReportLabels()
        for label in CheXpertLabel.allCases where label != .noFinding { labels[label] = LabelState(state: .absent) }
        for term in terms {
            let parts = term.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let heading = parts.first?.lowercased() else { continue }
            let qualifiers = parts.dropFirst().map { $0.lowercased() }
            let side: LabelSide? = qualifiers.contains("bilateral") || (qualifiers.contains("left") && qualifiers.contains("right"))
                ? .bilateral : qualifiers.contains("left") ? .left : qualifiers.contains("right") ? .right : nil
            for entry in entries where entry.heading.lowercased() == heading
                && (entry.anyOf.isEmpty || entry.anyOf.contains(where: qualifiers.contains))
                && !entry.noneOf.contains(where: qualifiers.contains) {
                for label in entry.labels {
                    let before = labels[label]
                    let joined = before.state == .present ? side.map { $0.joined(with: before.side) } ?? before.side : side
                    labels[label] = LabelState(state: .present, side: joined)
                }
            }
        }
        let pathology = CheXpertLabel.allCases.contains { $0.isPathology && labels[$0].state == .present }
        labels[.noFinding] = LabelState(state: pathology ? .absent : .present)
        return labels
    }
}

/// Counts of one label: positives by the reference (MeSH) and by the labeler, and their overlap.
public struct LabelAgreement: Sendable, Equatable, Codable {
    public var truePositives = 0, falsePositives = 0, falseNegatives = 0
    public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
    public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
    public var f1: Double { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }
    func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

    static func + (a: LabelAgreement, b: LabelAgreement) -> LabelAgreement {
        LabelAgreement(truePositives: a.truePositives + b.truePositives, falsePositives: a.falsePositives + b.falsePositives,
                       falseNegatives: a.falseNegatives + b.falseNegatives)
    }
}

/// Per-label agreement over a set of reports, micro F1 over all 14 labels and over the 13 without
/// No Finding, macro F1 over the labels with a positive on either side, and how often the sides
/// agree where both state one for a label both find.
public struct AgreementTable: Sendable {
    public let title: String
    public private(set) var rows: [CheXpertLabel: LabelAgreement] = [:]
    public private(set) var n = 0
    public private(set) var sidesCompared = 0, sidesAgreeing = 0

    public init(title: String) { self.title = title }

    public mutating func add(truth: ReportLabels, predicted: ReportLabels) {
        n += 1
        for label in CheXpertLabel.allCases {
            let t = truth[label].state.isPositive, p = predicted[label].state.isPositive
            var row = rows[label] ?? LabelAgreement()
            if t && p { row.truePositives += 1 } else if p { row.falsePositives += 1 } else if t { row.falseNegatives += 1 }
            rows[label] = row
            if t && p, let a = truth[label].side, let b = predicted[label].side {
                sidesCompared += 1
                sidesAgreeing += a == b ? 1 : 0
            }
        }
    }

    public subscript(label: CheXpertLabel) -> LabelAgreement { rows[label] ?? LabelAgreement() }
    public var micro: LabelAgreement { CheXpertLabel.allCases.map { self[$0] }.reduce(LabelAgreement(), +) }
    public var microWithoutNoFinding: LabelAgreement {
        CheXpertLabel.allCases.filter { $0 != .noFinding }.map { self[$0] }.reduce(LabelAgreement(), +)
    }
    public var macroF1: Double {
        let scored = CheXpertLabel.allCases.map { self[$0] }.filter { $0.truePositives + $0.falsePositives + $0.falseNegatives > 0 }
        return scored.isEmpty ? 0 : scored.map(\.f1).reduce(0, +) / Double(scored.count)
    }

    /// The table as `anatomix label --agreement` prints it.
    public var formatted: String {
        func cell(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        func line(_ name: String, _ a: LabelAgreement, counts: Bool = true) -> String {
            let c = counts ? [a.truePositives + a.falseNegatives, a.truePositives + a.falsePositives, a.truePositives,
                              a.falsePositives, a.falseNegatives].map { cell(String($0), 6) }.joined() : String(repeating: " ", count: 30)
            return name.padding(toLength: 28, withPad: " ", startingAt: 0) + c
                + [a.precision, a.recall, a.f1].map { cell(String(format: "%.3f", $0), 8) }.joined()
        }
        var out = ["\(title): \(n) reports",
                   "label".padding(toLength: 28, withPad: " ", startingAt: 0) + ["MeSH", "rules", "TP", "FP", "FN"].map { cell($0, 6) }.joined()
                   + ["P", "R", "F1"].map { cell($0, 8) }.joined()]
        out += CheXpertLabel.allCases.map { line($0.rawValue, self[$0]) }
        out.append(line("micro (14 labels)", micro))
        out.append(line("micro (13, no No Finding)", microWithoutNoFinding))
        out.append("macro F1 (labels with a positive)".padding(toLength: 74, withPad: " ", startingAt: 0) + cell(String(format: "%.3f", macroF1), 8))
        out.append("side agreement: \(sidesAgreeing) of \(sidesCompared) labels found by both with a side on both")
        return out.joined(separator: "\n")
    }
}
