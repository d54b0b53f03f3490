import Foundation
import Workers

// The language stage of the pipeline (see Shared/Workers/WorkerMain.swift; `language-worker --help` lists its settings).
exit(await WorkerMain.run(stage: "language"))
