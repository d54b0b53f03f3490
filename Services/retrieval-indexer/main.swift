import Foundation
import Workers

// The retrieval stage of the pipeline (see Shared/Workers/WorkerMain.swift; `retrieval-indexer --help` lists its settings).
exit(await WorkerMain.run(stage: "retrieval"))
