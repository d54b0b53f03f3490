public import Contracts
public import Foundation
public import Imaging

/// Where a study's PNG comes from: inline bytes, or a `file://` URI under `root` (the claim-check
/// pattern). A URI must be absolute, name a regular file, and stay under `root` after `..` and
/// symbolic links are resolved; anything else is a `ContractError` the dead-letter topic can carry.
public struct StudyImageSource: Sendable {
    /// Folder `file://` images must lie under; nil = references refused.
    public let root: String?
    public let limits: PNGCodec.Limits

    public init(root: String?, limits: PNGCodec.Limits) {
        self.root = root.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().standardizedFileURL.path }
        self.limits = limits
    }

    /// The PNG bytes of `image`.
    public func bytes(of image: StudyMessage.Image) throws(ContractError) -> Data {
        switch image {
        case let .png(data):
            guard data.count <= limits.maximumBytes else {
                throw ContractError(.oversize, "the inline PNG has \(data.count) bytes; the limit is \(limits.maximumBytes)")
            }
            return data
        case let .uri(uri):
            return try read(try path(of: uri))
        }
    }

    /// The decoded image; PNG problems (signature, truncation, size limits) are `bad_image`.
    public func decode(_ bytes: Data, name: String) throws(ContractError) -> GrayImage {
        do { return try PNGCodec.decode(bytes, name: name, limits: limits) } catch {
            throw ContractError(.badImage, "\(error)")
        }
    }

    /// The checked local path a `file://` URI names.
    public func path(of uri: String) throws(ContractError) -> String {
        guard let root else {
            throw ContractError(.imageOutsideRoot, "\(uri.prefix(200)): this worker takes no file:// images (set ANATOMIX_IMAGE_ROOT to the shared image folder)")
        }
        guard let url = URL(string: uri), url.scheme == "file", url.host == nil || url.host == "" || url.host == "localhost" else {
            throw ContractError(.schemaViolation, "image.uri '\(uri.prefix(200))' is not a file:///absolute/path URI")
        }
        let raw = url.path
        guard raw.hasPrefix("/"), !raw.split(separator: "/").contains("..") else {
            throw ContractError(.imageOutsideRoot, "image.uri '\(uri.prefix(200))' must be an absolute path without '..' under \(root)")
        }
        let resolved = URL(fileURLWithPath: raw).resolvingSymlinksInPath().standardizedFileURL.path
        guard resolved == root || resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw ContractError(.imageOutsideRoot, "image.uri '\(uri.prefix(200))' resolves to \(resolved), outside the image root \(root)")
        }
        return resolved
    }

    func read(_ path: String) throws(ContractError) -> Data {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw ContractError(.imageNotFound, "\(path): no such image (is the shared image folder mounted?)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw ContractError(.badImage, "\(path) is not a regular file")
        }
        if let size = attributes[.size] as? Int, size > limits.maximumBytes {
            throw ContractError(.oversize, "\(path) has \(size) bytes; the limit is \(limits.maximumBytes)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ContractError(.imageNotFound, "\(path) cannot be read (permissions?)") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: limits.maximumBytes == Int.max ? Int.max : limits.maximumBytes + 1) ?? Data() } catch {
            throw ContractError(.imageNotFound, "\(path) cannot be read: \(error)")
        }
        guard data.count <= limits.maximumBytes else { throw ContractError(.oversize, "\(path) is over \(limits.maximumBytes) bytes") }
        return data
    }
}
