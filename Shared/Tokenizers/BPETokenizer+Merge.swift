extension BPETokenizer {
    /// BPE over one piece's symbols in O(n log n): a doubly linked list of symbols and a min-heap of
    /// candidate merges ordered by (rank, position), as HF's `Word::merge_all` (no dropout). A popped
    /// candidate is applied only if both symbols still hold the ids it was made for.
    func merge(_ symbols: [String]) -> [Int] {
        var ids = [Int32]()
        var out = [Int]()
        ids.reserveCapacity(symbols.count)
        for symbol in symbols {
            if let id = vocabulary[symbol] { ids.append(Int32(id)) } else if let unknownID { ids.append(Int32(unknownID)) }
        }
        let n = ids.count
        guard n > 1 else { return ids.map(Int.init) }
        var next = Array(1...n), previous = Array(-1..<(n - 1))        // next[n - 1] == n: the end
        var alive = [Bool](repeating: true, count: n)
        var heap = CandidateHeap()
        for i in 0..<(n - 1) {
            if let m = merges[MergePair(left: ids[i], right: ids[i + 1])] {
                heap.push(Candidate(rank: m.rank, position: Int32(i), left: ids[i], right: ids[i + 1], merged: m.id))
            }
        }
        while let c = heap.pop() {
            let i = Int(c.position)
            guard alive[i], ids[i] == c.left, next[i] < n, ids[next[i]] == c.right else { continue }   // stale
            let j = next[i]
            ids[i] = c.merged
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { previous[next[j]] = i }
            if previous[i] >= 0, let m = merges[MergePair(left: ids[previous[i]], right: ids[i])] {
                heap.push(Candidate(rank: m.rank, position: Int32(previous[i]), left: ids[previous[i]], right: ids[i], merged: m.id))
            }
            if next[i] < n, let m = merges[MergePair(left: ids[i], right: ids[next[i]])] {
                heap.push(Candidate(rank: m.rank, position: Int32(i), left: ids[i], right: ids[next[i]], merged: m.id))
            }
        }
        out.reserveCapacity(n)
        var i = 0
        while i < n { out.append(Int(ids[i])); i = next[i] }
        return out
    }
}

struct Candidate {
    let rank: Int32, position: Int32, left: Int32, right: Int32, merged: Int32
    func precedes(_ other: Candidate) -> Bool { (rank, position) < (other.rank, other.position) }
}

/// A binary min-heap of merge candidates.
struct CandidateHeap {
    private var items = [Candidate]()

    mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, items[l].precedes(items[best]) { best = l }
                if r < items.count, items[r].precedes(items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
