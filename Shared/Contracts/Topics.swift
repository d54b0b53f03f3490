/// The pipeline's topics and the schema each carries (key = study id everywhere but the bank).
public enum Topic: String, CaseIterable, Sendable {
    case studies = "cxr.studies.v1"
    case anatomy = "cxr.anatomy.v1"
    case grounded = "cxr.grounded.v1"
    case results = "cxr.results.v1"
    case deadLetter = "cxr.deadletter.v1"
    case bank = "cxr.bank.v1"

    /// Header names every produced record carries.
    public static let schemaHeader = "schema"
    public static let traceHeader = "trace-id"
}
