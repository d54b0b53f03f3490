import Contracts
import Foundation
import TestSupport
import Testing

/// Swift types against Schemas/: every field a type writes is declared by its schema, and every
/// field a schema declares is written by the fully populated examples (so neither can drift alone).
/// The Python side (Training/tests/test_schemas.py) validates the same messages with jsonschema.
@Suite struct SchemaDriftTests {
    nonisolated(unsafe) static let schemas: [String: [String: Any]] = {   // read-only after first use
        var out = [String: [String: Any]]()
        for name in Topic.allCases.map(\.rawValue) {
            let url = Repository.schemas.appendingPathComponent(name + ".json")
            out["urn:anatomix:schema:" + name] = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any]
        }
        return out
    }()

    /// `urn:...#/a/b` or `#/a/b` (within `base`) -> the schema node.
    static func resolve(_ ref: String, base: String) -> ([String: Any], String) {
        let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let document = parts[0].isEmpty ? base : parts[0]
        var node: Any = schemas[document] as Any
        for key in (parts.count > 1 ? parts[1] : "").split(separator: "/") { node = (node as? [String: Any])?[String(key)] as Any }
        return ((node as? [String: Any]) ?? [:], document)
    }

    /// Declared property paths under `schema`.
    static func declared(_ schema: [String: Any], base: String, path: String, into out: inout Set<String>) {
        if let ref = schema["$ref"] as? String {
            let (node, document) = resolve(ref, base: base)
            return declared(node, base: document, path: path, into: &out)
        }
        for (key, sub) in (schema["properties"] as? [String: Any]) ?? [:] {
            out.insert(path + "." + key)
            declared(sub as? [String: Any] ?? [:], base: base, path: path + "." + key, into: &out)
        }
        if let items = schema["items"] as? [String: Any] { declared(items, base: base, path: path + "[]", into: &out) }
    }

    /// Property paths `value` uses, guided by `schema`; a key the schema does not declare is recorded as an issue.
    static func walk(_ schema: [String: Any], base: String, value: Any, path: String, seen: inout Set<String>, issues: inout [String]) {
        if let ref = schema["$ref"] as? String {
            let (node, document) = resolve(ref, base: base)
            if node.isEmpty { issues.append("\(path): $ref \(ref) does not resolve") }
            return walk(node, base: document, value: value, path: path, seen: &seen, issues: &issues)
        }
        if let properties = schema["properties"] as? [String: Any], let object = value as? [String: Any] {
            for (key, sub) in object {
                guard let subSchema = properties[key] as? [String: Any] else { issues.append("\(path).\(key) is not in the schema"); continue }
                seen.insert(path + "." + key)
                walk(subSchema, base: base, value: sub, path: path + "." + key, seen: &seen, issues: &issues)
            }
        } else if let items = schema["items"] as? [String: Any], let array = value as? [Any] {
            for element in array { walk(items, base: base, value: element, path: path + "[]", seen: &seen, issues: &issues) }
        }
    }

    @Test(arguments: Topic.allCases.map(\.rawValue))
    func typeAndSchemaDeclareTheSameFields(schema name: String) throws {
        let id = "urn:anatomix:schema:" + name
        let schema = try #require(Self.schemas[id], "Schemas/\(name).json is missing or not JSON")
        #expect(schema["additionalProperties"] as? Bool == false, "\(name) must be closed")
        let examples = try #require(try Examples.all().first { $0.0 == name }?.1)
        var seen = Set<String>(), issues = [String]()
        for data in examples {
            let value = try JSONSerialization.jsonObject(with: data)
            Self.walk(schema, base: id, value: value, path: "", seen: &seen, issues: &issues)
        }
        var expected = Set<String>()
        Self.declared(schema, base: id, path: "", into: &expected)
        #expect(issues.isEmpty, "\(name): the Swift type writes fields the schema lacks: \(issues)")
        #expect(expected.subtracting(seen).isEmpty, "\(name): the schema declares fields the Swift type never writes: \(expected.subtracting(seen).sorted())")
    }

    @Test func deadLetterCodesMatchTheSchema() throws {
        let (node, _) = Self.resolve("urn:anatomix:schema:cxr.deadletter.v1#/properties/error/properties/code", base: "")
        #expect(Set(node["enum"] as? [String] ?? []) == Set(ContractError.Code.all.map(\.rawValue)))
    }

    @Test func closedObjectsEverywhere() {
        /// Every object with properties in every schema forbids other fields.
        func check(_ node: Any, path: String, into open: inout [String]) {
            if let object = node as? [String: Any] {
                let condition = path.hasSuffix("/if")              // an if-clause tests a value; it declares nothing
                if object["properties"] != nil, !condition, object["additionalProperties"] as? Bool != false { open.append(path) }
                for (key, sub) in object { check(sub, path: path + "/" + key, into: &open) }
            } else if let array = node as? [Any] {
                for (i, sub) in array.enumerated() { check(sub, path: path + "/\(i)", into: &open) }
            }
        }
        var open = [String]()
        for (name, schema) in Self.schemas { check(schema, path: name, into: &open) }
        #expect(open.isEmpty, "open objects: \(open)")
    }
}
