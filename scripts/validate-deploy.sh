#!/usr/bin/env bash
# Validate deploy/kubernetes offline, the way CI does:
#  1. every manifest against the Kubernetes JSON schemas bundled in PyPI's kubernetes-validate
#     (strict: unknown fields are errors), for K8S_VERSION (default 1.33.0);
#  2. the validator itself rejects a manifest with an unknown field (so a pass means something);
#  3. the experiment file with `shakedown validate`; when kustomize (or kubectl) is installed,
#     the kustomization builds, its output validates, and the AGENTS knob alone sets the agents
#     Job's completions and parallelism (checked with AGENTS=3);
#  4. the agents' and merge job's shell lines run for real on loopback: AGENTS agents (2) as
#     processes with JOB_COMPLETION_INDEX set as the Job controller sets it, against a local
#     demo target, then the merge line; its exit code must be 0 and the merged plan complete.
# Only step 1's first run needs the network (pip install into KV_VENV, default target/kv-venv);
# the schemas are bundled in the package, so validation itself is offline.
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION=${K8S_VERSION:-1.33.0}
KV_VENV=${KV_VENV:-target/kv-venv}
DIR=deploy/kubernetes

if [ ! -x "$KV_VENV/bin/kubernetes-validate" ]; then
    python3 -m venv "$KV_VENV"
    "$KV_VENV/bin/pip" install --quiet kubernetes-validate
fi
manifests=$(ls "$DIR"/*.yaml | grep -v kustomization.yaml)
# shellcheck disable=SC2086
"$KV_VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" $manifests
echo "validate-deploy: $(echo "$manifests" | wc -l) manifests valid for Kubernetes $K8S_VERSION"

work=$(mktemp -d)
cleanup() {
    [ -n "${target_pid:-}" ] && kill "$target_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
sed 's/completionMode: Indexed/completionMode: Indexed\n  completionModeTypo: true/' "$DIR/agents-job.yaml" > "$work/broken.yaml"
if "$KV_VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$work/broken.yaml" >/dev/null 2>&1; then
    echo "validate-deploy: the validator accepted an unknown field" >&2
    exit 1
fi

# The built kustomization, when a kustomize is at hand (kubectl embeds one).
kustomize_build() {
    if command -v kustomize >/dev/null; then kustomize build "$1"; else kubectl kustomize "$1"; fi
}
if command -v kustomize >/dev/null || command -v kubectl >/dev/null; then
    kustomize_build "$DIR" > "$work/built.yaml"
    "$KV_VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$work/built.yaml"
    cp -r "$DIR" "$work/knob"
    sed -i 's/^\(      - AGENTS=\)[0-9]*/\13/' "$work/knob/kustomization.yaml"
    counts=$(kustomize_build "$work/knob" | grep -E '^  (completions|parallelism): ' | tr -d ' \n')
    [ "$counts" = "completions:3parallelism:3" ] || {
        echo "validate-deploy: AGENTS=3 gave the agents Job '$counts'" >&2
        exit 1
    }
    echo "validate-deploy: the kustomization builds and validates; AGENTS alone sets the agents Job's counts"
else
    echo "validate-deploy: kustomization build skipped: neither kustomize nor kubectl is installed"
fi

cargo build --quiet --bin shakedown
bin=$PWD/target/debug/shakedown
# The runner's environment holds the agents' token (the Secret, in the cluster).
SHAKEDOWN_AGENT_TOKEN=validate-deploy "$bin" validate "$DIR/files/experiment.yaml"

# The shell lines of the Jobs, read from the manifests with the venv's PyYAML.
line() {
    "$KV_VENV/bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]["args"][0])' "$1"
}
agent_line=$(line "$DIR/agents-job.yaml")
merge_line=$(line "$DIR/merge-job.yaml")
port=$((20000 + RANDOM % 20000))
"$bin" demo-target --listen "127.0.0.1:$port" >/dev/null 2>&1 &
target_pid=$!
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done
mkdir -p "$work/results" "$work/experiment"
# The load file, aimed at the local target, 2 s.
sed -e "s#http://shakedown-proxy:18086#http://127.0.0.1:$port#" -e 's/^duration: .*/duration: 2s/' \
    -e 's#^rate: .*#rate: 400/s#' "$DIR/files/load.yaml" > "$work/experiment/load.yaml"
# Loopback: each agent serves on a port of its own and does not wait for a runner to fetch.
local_paths() {
    sed -e "s#/results#$work/results#g" -e "s#/experiment#$work/experiment#g" \
        -e "s#0.0.0.0:9464#127.0.0.1:0#" -e "s#--linger [0-9a-z]*#--linger 0s#"
}
agents=${AGENTS:-2}
start=$(date -u -d '+3 sec' +%FT%TZ)
pids=()
for i in $(seq 0 $((agents - 1))); do
    JOB_COMPLETION_INDEX=$i AGENTS=$agents START_AT=$start PATH=$(dirname "$bin"):$PATH \
        sh -c "$(echo "$agent_line" | local_paths)" >/dev/null &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
AGENTS=$agents PATH=$(dirname "$bin"):$PATH sh -c "$(echo "$merge_line" | local_paths)" >/dev/null
planned=$("$KV_VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["planned"])' "$work/results/merged.json")
[ "$planned" = 800 ] || { echo "validate-deploy: merged plan $planned, want 800" >&2; exit 1; }
echo "validate-deploy: $agents agents ran the Job's command lines on loopback; merged plan $planned = 400/s x 2 s; merge exit 0"
