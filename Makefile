# AnatomiX-Swift. Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE        ?= .cache
VENV         := Training/.venv
PY           := $(VENV)/bin/python
APT_PACKAGES := libopenblas-dev libpng-dev librdkafka-dev kcat wordnet-base socat
SWIFT_FLAGS  ?=
# librdkafka 2.16 from the confluent-kafka wheel replaces Debian's 2.0.2 at run time (Tansu needs it).
RUNTIME_ENV  := LD_LIBRARY_PATH=$(abspath $(CACHE)/librdkafka)$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} ANATOMIX_CACHE=$(abspath $(CACHE))
LIBRDKAFKA_RUNTIME := 2.16.0
OUT          ?= out

.PHONY: help deps deps-apt deps-assets deps-venv train-deps bench-deps build test test-swift test-release test-python demo bench bench-swift bench-dataset fixtures dataset dataset-test samples train-apm train-apm-scratch train-apm-labels train-dense-labels train-lm train-lm-finetune train-lm-ablation clean demo-stream bench-stream fuzz soak test-asan test-tsan test-faults

help:
	@echo "make demo        install what is missing, build, run the demo (results in $(OUT)/demo)"
	@echo "make test        the full test suite"
	@echo "make bench       Swift vs PyTorch benchmarks (PyTorch side after 'make train-deps')"
	@echo "make deps        Debian packages, pinned wheels into $(CACHE)/, the test venv"
	@echo "make train-deps  torch + sentence-transformers into $(VENV) (training, fixtures, bench)"
	@echo "make fixtures    re-export the PyTorch parity fixtures (needs train-deps)"
	@echo "make dataset N=200 OUT=DIR SEED=1 SIZE=256   synthetic studies rendered from the chest CT"
	@echo "make dataset-test   the fixed held-out benchmark (600 studies, 300 flipped others, 300 shape variants, 100 at 512 px)"
	@echo "make samples     regenerate Samples/ (512 px) and docs/images/contact-sheet.png"
	@echo "make test-faults  kill, freeze and crash the pipeline under a 200-study stream; bad inputs through Kafka"
	@echo "make fuzz SECONDS=600   libFuzzer + ASan on the PNG decoder, contracts, tokenizers, model-output parser"
	@echo "make soak        1,000 studies at 10/s through Kafka: studies/s, p50/p99 latency, lag, RSS"

deps: deps-apt deps-assets deps-venv

deps-apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

deps-assets:
	@python3 Training/fetch_assets.py --cache $(CACHE)

$(VENV)/.requirements: Training/requirements.txt
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@echo "deps: installing Training/requirements.txt into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r Training/requirements.txt
	@touch $@

deps-venv: $(VENV)/.requirements

$(VENV)/.requirements-train: Training/requirements-train.txt $(VENV)/.requirements
	@echo "deps: installing Training/requirements-train.txt into $(VENV) (torch, ~1 min)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r Training/requirements-train.txt
	@touch $@

train-deps: $(VENV)/.requirements-train

# llama.cpp for the language-model benchmark, built from source in the training venv (~10 min).
$(VENV)/.requirements-bench: Training/requirements-bench.txt $(VENV)/.requirements-train
	@echo "deps: building llama-cpp-python from source into $(VENV) (~10 min)"
	@CMAKE_ARGS="-DGGML_NATIVE=ON" $(PY) -m pip install --quiet --disable-pip-version-check --no-binary llama-cpp-python -r Training/requirements-bench.txt
	@touch $@

bench-deps: $(VENV)/.requirements-bench

build: deps-apt
	@set -o pipefail; swift build -c release $(SWIFT_FLAGS) 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\]|^Building|^Compiling|^Write|^Build complete' || true; }
	@test -x .build/release/anatomix && test -x .build/release/anatomix-bench && test -x .build/release/perception-worker

test: deps test-swift test-release test-python
# make test: the Python run must find the messages the Swift run produced (Training/tests/test_schemas.py).
test: export ANATOMIX_REQUIRE_MESSAGES=1

test-swift:
	swift build --build-tests $(SWIFT_FLAGS)
	rm -rf .build/produced-messages
	$(RUNTIME_ENV) ANATOMIX_EXPECT_LIBRDKAFKA=$(LIBRDKAFKA_RUNTIME) swift test --skip-build --skip 'Fault' $(SWIFT_FLAGS)

# The numeric tests again against an optimised build (its own scratch folder, so `make build` is not
# rebuilt): parity, kernels, attention, convolution, safetensors and letterbox, as users run them.
RELEASE_TESTS := ReleaseChecksTests|APMParityTests|APMTrainedParityTests|MiniLMParityTests|KernelLevelTests|AttentionTests|ConvolutionTests|SafeTensorsTests|LetterboxTests|PNG
test-release: deps
	swift build -c release --build-tests --scratch-path .build/release-tests -Xswiftc -enable-testing $(SWIFT_FLAGS)
	$(RUNTIME_ENV) swift test -c release --skip-build --scratch-path .build/release-tests --filter '$(RELEASE_TESTS)' $(SWIFT_FLAGS)

# Faults under a 200-study stream (workers SIGKILLed, the broker frozen and SIGKILLed on durable S3
# storage, a stalled replica), and the bad-input corpus in process and through Kafka, against the
# optimised build of test-release (the same scratch folder: nothing is built twice). CI runs it.
FAULT_TESTS := FaultTests|FaultBadInputTests|BadInputCorpusTests
test-faults: deps
	swift build -c release --build-tests --scratch-path .build/release-tests -Xswiftc -enable-testing $(SWIFT_FLAGS)
	$(RUNTIME_ENV) swift test -c release --skip-build --scratch-path .build/release-tests --filter '$(FAULT_TESTS)' --no-parallel $(SWIFT_FLAGS)

test-python: deps-venv
	ANATOMIX_CACHE=$(abspath $(CACHE)) $(PY) -m pytest -q Training/tests

DEMO_SENTENCES := "No pleural effusion." "There is no pleural effusion." "Small left pleural effusion with basilar atelectasis." \
                  "Large right pneumothorax." "The cardiac silhouette is enlarged." "Cardiomegaly." "Left lower lung zone is healthy."

# The pipeline on this machine: Tansu + the three workers over Samples/ (Compose/local-stream.sh).
demo-stream: deps build
	@$(RUNTIME_ENV) OUT=$(OUT)/demo-stream bash Compose/local-stream.sh

demo: deps build
	@mkdir -p $(OUT)/demo && rm -f $(OUT)/demo/answers.txt
	@$(RUNTIME_ENV) .build/release/anatomix similarity $(DEMO_SENTENCES) | tee $(OUT)/demo/similarity.txt
	@$(RUNTIME_ENV) .build/release/anatomix embed $(DEMO_SENTENCES) > $(OUT)/demo/embeddings.jsonl
	@for f in Samples/images/*.png; do \
	  id=$$(basename $$f .png); tasks=(); \
	  if [ -f Weights/anatomix-tiny/lm/config.json ]; then mapfile -t tasks < <(python3 Training/demo_tasks.py Samples/manifest.jsonl $$id); fi; \
	  $(RUNTIME_ENV) .build/release/anatomix analyze $$f --out $(OUT)/demo/analyze "$${tasks[@]}" > /dev/null || exit 1; \
	  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2]); [print("  %-20s %s" % (t["task"], t["text"].replace("\n", " ")[:150])) for t in r["tasks"]]' \
	    $(OUT)/demo/analyze/$$id.json $$id | tee -a $(OUT)/demo/answers.txt; \
	done
	@echo "demo: analyzed $$(ls Samples/images/*.png | wc -l) studies -> $(OUT)/demo/analyze/*.json and *.overlay.png, answers in $(OUT)/demo/answers.txt"
	@$(RUNTIME_ENV) .build/release/anatomix eval Samples/manifest.jsonl --tasks all --flipped --out $(OUT)/demo > $(OUT)/demo/eval.txt 2>/dev/null
	@grep -E '^(studies|flipped|retrieval|labels)|^  (mean IoU|lookup|nearest|calibrated|phrase grounding|grounded|reports)' $(OUT)/demo/eval.txt
	@echo "demo: eval tables in $(OUT)/demo/eval.txt and $(OUT)/demo/table.md, blocks in $(OUT)/demo/results.json, best/worst phrase groundings in $(OUT)/demo/cases.png"
	@echo "demo: wrote $(OUT)/demo/similarity.txt and $(OUT)/demo/embeddings.jsonl"

bench: bench-swift bench-dataset bench-stream

# Studies/s through Kafka vs in-process, and 2 perception replicas vs 1 (Compose/bench-stream.sh).
# The unit tests under AddressSanitizer (own scratch folder; the broker tests skipped). Leak reports are off:
# at exit LeakSanitizer lists the process-lifetime statics (compiled regexes, caches) Foundation holds.
test-asan: deps
	swift build --build-tests --sanitize=address --scratch-path .build-asan $(SWIFT_FLAGS)
	$(RUNTIME_ENV) ASAN_OPTIONS=detect_leaks=0 swift test --skip-build --sanitize=address --scratch-path .build-asan --skip IntegrationTests $(SWIFT_FLAGS)

# The unit tests under ThreadSanitizer (own scratch folder). The librdkafka suites are skipped as well
# as the broker tests: librdkafka comes uninstrumented from the wheel, and ThreadSanitizer crashed
# inside itself as the mock cluster started its threads. A race reported makes the run fail (exit 66).
TSAN_SKIP := IntegrationTests|KafkaMockClusterTests|KafkaRuntimeTests
test-tsan: deps
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan $(SWIFT_FLAGS)
	$(RUNTIME_ENV) swift test --skip-build --sanitize=thread --scratch-path .build-tsan --skip '$(TSAN_SKIP)' $(SWIFT_FLAGS)

# The soak: 1,000 studies at 10/s through Tansu + the three workers (Compose/soak.sh).
soak: deps build
	@$(RUNTIME_ENV) bash Compose/soak.sh

bench-stream: deps build
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(RUNTIME_ENV) bash Compose/bench-stream.sh

bench-swift: deps build
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(RUNTIME_ENV) python3 Training/bench.py --swift .build/release/anatomix-bench

# Studies/hour at 256 px on all cores (target >= 5,000 on 2 cores); 60 studies after start-up.
bench-dataset: deps
	@rm -rf $(CACHE)/bench/dataset
	@$(CXRGEN) -m cxrgen.dataset --n 60 --out $(CACHE)/bench/dataset --seed 99 --size 256 2>/dev/null | sed 's/^dataset:/bench dataset 256px:/; s|$$| (target >= 5,000/h on 2 cores)|'

N    ?= 200
SEED ?= 1
SIZE ?= 256
CXRGEN := PYTHONPATH=Training ANATOMIX_CACHE=$(abspath $(CACHE)) $(PY)
TEST_SET ?= data/heldout

dataset: deps
	@test -n "$(OUT)" || { echo "usage: make dataset N=200 OUT=DIR [SEED=1] [SIZE=256]"; exit 2; }
	$(CXRGEN) -m cxrgen.dataset --n $(N) --out $(OUT) --seed $(SEED) --size $(SIZE)

# The held-out benchmark every evaluation uses (its own seed): 600 studies, 300 flipped *other* studies,
# pad/crop/collimation variants of 300 and 100 renders at 512 px (cxrgen.dataset --benchmark).
dataset-test: deps
	$(CXRGEN) -m cxrgen.dataset --n 600 --out $(TEST_SET) --seed 90210 --size 256 --benchmark --resume

# The APM. train-apm: 4k training (the studies train-lm uses) + 500 validation studies (resumed if interrupted), then 5 epochs
# fine-tuning the model in INIT (default: the committed one) with the [4/9] objectives (real-shape
# variants, retrieval loss, weighted label BCE, flip 0.5; ~40 min on 2 cores at output stride 16), exported to
# Weights/anatomix-tiny with its parity fixture. train-apm-scratch: the same from random weights
# ([3/7]'s schedule: 10 epochs, then 3 at lr 5e-5 with flip 0.5; ~70 min).
TRAIN_N ?= 4000
INIT    ?= Weights/anatomix-tiny
TRAIN_DATA = $(CXRGEN) -m cxrgen.dataset --n $(TRAIN_N) --out data/train --seed 1 --size 256 --resume && \
             $(CXRGEN) -m cxrgen.dataset --n 500 --out data/val --seed 2 --size 256 --resume
train-apm: train-deps
	$(TRAIN_DATA)
	rm -rf .cache/train-init && cp -r $(INIT) .cache/train-init
	PYTHONPATH=Training $(PY) Training/train_apm.py --data data/train --val data/val --run Training/runs/apm-ft \
	  --init .cache/train-init --epochs 5 --lr 1e-4 --flip-p 0.5 --export Weights/anatomix-tiny $(TRAIN_ARGS)
	$(PY) Training/export_apm_fixtures.py --weights Weights/anatomix-tiny --out Tests/Fixtures/apm-trained

train-apm-scratch: train-deps
	$(TRAIN_DATA)
	PYTHONPATH=Training $(PY) Training/train_apm.py --data data/train --val data/val --run Training/runs/apm $(TRAIN_ARGS)
	PYTHONPATH=Training $(PY) Training/train_apm.py --data data/train --val data/val --init Training/runs/apm/last.pt \
	  --epochs 3 --lr 5e-5 --flip-p 0.5 --run Training/runs/apm-finetune --export Weights/anatomix-tiny
	$(PY) Training/export_apm_fixtures.py --weights Weights/anatomix-tiny --out Tests/Fixtures/apm-trained

# The fine label branch on the committed APM (everything else frozen: boxes, tokens and bank do not move),
# on the first LABEL_STUDIES training studies; ~20 min on 2 cores. Exported into Weights/anatomix-tiny.
LABEL_STUDIES ?= 4000
train-apm-labels: train-deps
	$(CXRGEN) -m cxrgen.dataset --n $(LABEL_STUDIES) --out data/train --seed 1 --size 256 --resume
	$(CXRGEN) -m cxrgen.dataset --n 500 --out data/val --seed 2 --size 256 --resume
	PYTHONPATH=Training $(PY) Training/train_apm_labels.py --data data/train --val data/val --studies $(LABEL_STUDIES) \
	  --model Weights/anatomix-tiny --export Weights/anatomix-tiny $(TRAIN_ARGS)
	$(PY) Training/export_apm_fixtures.py --weights Weights/anatomix-tiny --out Tests/Fixtures/apm-trained

# The dense label branch (DenseLabelHead: a stride-4 pixel branch trained on the finding masks, for lines
# and tubes) on the committed APM, everything else frozen; ~15 min on 2 cores. Exported into Weights/anatomix-tiny.
train-dense-labels: train-deps
	$(CXRGEN) -m cxrgen.dataset --n $(LABEL_STUDIES) --out data/train --seed 1 --size 256 --resume
	$(CXRGEN) -m cxrgen.dataset --n 500 --out data/val --seed 2 --size 256 --resume
	PYTHONPATH=Training $(PY) Training/train_dense_labels.py --data data/train --val data/val \
	  --model Weights/anatomix-tiny --export Weights/anatomix-tiny $(TRAIN_ARGS)
	$(PY) Training/export_apm_fixtures.py --weights Weights/anatomix-tiny --out Tests/Fixtures/apm-trained

# The language model on the frozen APM's cached outputs (LM_STUDIES training studies + mirrored copies):
# projectors first, then everything, LM_MINUTES of training; resumable; exported next to the APM.
LM_STUDIES ?= 4000
LM_MINUTES ?= 60
train-lm: train-deps
	$(CXRGEN) -m cxrgen.dataset --n $(LM_STUDIES) --out data/train --seed 1 --size 256 --resume
	$(CXRGEN) -m cxrgen.dataset --n 500 --out data/val --seed 2 --size 256 --resume
	$(CXRGEN) Training/train_lm.py --data data/train --val data/val --apm Weights/anatomix-tiny --studies $(LM_STUDIES) \
	  --minutes $(LM_MINUTES) --run Training/runs/lm --resume --export Weights/anatomix-tiny $(TRAIN_ARGS)
	$(CXRGEN) Training/export_language_fixtures.py --weights Weights/anatomix-tiny

# A fine-tune of INIT's language model (default: the committed one) on the current APM's outputs (warm start, no
# projector-only stage, LM_FT_STEPS optimizer steps at lr 5e-4 on the first LM_FT_STUDIES training studies + 30%
# mirrored copies; ~25 min on 2 cores), exported in place next to the APM: the cheap alternative to a 60-min
# train-lm after the APM changes. Measured 2026-12-08 and not kept: it invents findings in normal reports (README).
LM_FT_STEPS   ?= 1300
LM_FT_STUDIES ?= 2000
# resumable, and named by the APM and language model it starts from: a new APM or INIT starts a new run
LM_FT_RUN = Training/runs/lm-finetune-$(shell python3 -c 'import json; m = json.load(open("$(INIT)/model.json")); print(m["version"] + "-" + m.get("language", {}).get("version", "none"))')
train-lm-finetune: train-deps
	$(CXRGEN) -m cxrgen.dataset --n $(LM_FT_STUDIES) --out data/train --seed 1 --size 256 --resume
	$(CXRGEN) -m cxrgen.dataset --n 500 --out data/val --seed 2 --size 256 --resume
	rm -rf $(CACHE)/lm-init && cp -r $(INIT) $(CACHE)/lm-init
	$(CXRGEN) Training/train_lm.py --data data/train --val data/val --apm Weights/anatomix-tiny --studies $(LM_FT_STUDIES) \
	  --steps $(LM_FT_STEPS) --lr 5e-4 --projector-steps 0 --init $(CACHE)/lm-init --run $(LM_FT_RUN) --resume \
	  --export Weights/anatomix-tiny $(TRAIN_ARGS)
	$(CXRGEN) Training/export_language_fixtures.py --weights Weights/anatomix-tiny

# The "global features only" ablation ([8/9]): no anatomy entries or tokens in the prompt, the same budget as
# the default LM's from-scratch training in optimizer steps (5,859; the fine-tune on top is not counted), the
# default's APM files copied so the folder runs on its own.
ABLATION_STEPS ?= 5859
ABLATION       := Weights/anatomix-tiny-global
train-lm-ablation: train-deps
	$(CXRGEN) -m cxrgen.dataset --n $(LM_STUDIES) --out data/train --seed 1 --size 256 --resume
	$(CXRGEN) -m cxrgen.dataset --n 500 --out data/val --seed 2 --size 256 --resume
	mkdir -p $(ABLATION) && cd Weights/anatomix-tiny && cp anatomies.json apm.safetensors bank.json bank.safetensors config.json \
	  findings.json model.json text_head.safetensors $(abspath $(ABLATION))/
	$(CXRGEN) Training/train_lm.py --data data/train --val data/val --apm Weights/anatomix-tiny --studies $(LM_STUDIES) \
	  --steps $(ABLATION_STEPS) --run Training/runs/lm-ablation --resume --ablation --export $(ABLATION) $(TRAIN_ARGS)
	$(CXRGEN) Training/export_language_fixtures.py --weights $(ABLATION) --trained-out Tests/Fixtures/language-ablation

# libFuzzer (Swift's --sanitize=fuzzer, with AddressSanitizer) on the PNG decoder, the message contracts,
# the tokenizers and the model-output parser (Tests/Fuzz/Targets); SECONDS per target, FUZZ_JOBS at once.
SECONDS      ?= 60
FUZZ_JOBS    ?= 1
FUZZ_TARGETS ?= png contracts tokenizers parser
fuzz: deps-apt deps-assets
	@mkdir -p $(CACHE)/fuzz
	cd Fuzz && swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
	  $(SWIFT_FLAGS) > $(abspath $(CACHE))/fuzz/build.log 2>&1 || { tail -30 $(abspath $(CACHE))/fuzz/build.log; exit 1; }
	ANATOMIX_CACHE=$(abspath $(CACHE)) bash Fuzz/run.sh $(SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

samples: deps
	$(CXRGEN) -m cxrgen.samples --out Samples --sheet docs/images/contact-sheet.png

fixtures: train-deps deps-assets
	$(PY) Training/export_minilm_fixtures.py --model $(CACHE)/minilm --out Tests/Fixtures/minilm
	$(PY) Training/export_apm_fixtures.py --out Tests/Fixtures/apm
	$(PY) Training/export_apm_fixtures.py --weights Weights/anatomix-tiny --out Tests/Fixtures/apm-trained
	$(CXRGEN) Training/export_tokenizer_fixtures.py
	$(CXRGEN) Training/export_llama_fixtures.py
	$(CXRGEN) Training/export_language_fixtures.py --weights Weights/anatomix-tiny
	$(CXRGEN) Training/export_language_fixtures.py --weights Weights/anatomix-tiny-global --trained-out Tests/Fixtures/language-ablation
	$(PY) Training/export_metric_fixtures.py
	$(PY) Training/export_score_fixtures.py --minilm $(CACHE)/minilm

clean:
	rm -rf .build $(OUT)
