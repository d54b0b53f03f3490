import Foundation
import Workers

// The perception stage of the pipeline (see Shared/Workers/WorkerMain.swift; `perception-worker --help` lists its settings).
exit(await WorkerMain.run(stage: "perception"))
