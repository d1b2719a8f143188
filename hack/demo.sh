#!/usr/bin/env bash
# `make demo`: the local cluster (unless KUBECONFIG is given), netclaim deployed by site.yml
# against this host, and a pod with a netclaim claim whose interfaces are shown.
# Environment: VENV (the dev virtualenv, set by make), KUBECONFIG (an existing cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv=${VENV:?run through make demo}
export PATH="$venv/bin:$PATH"
testbed=/var/lib/netclaim-testbed
lock=/run/netclaim-testbed.lock

if [[ -n ${KUBECONFIG:-} ]]; then
    echo "demo: using the cluster of KUBECONFIG=$KUBECONFIG (inventory: set your own; see README)"
    inventory_args=(-e "netclaim_agent_admin_kubeconfig=$KUBECONFIG" -e "cluster_objects_kubeconfig=$KUBECONFIG")
    kubeconfig=$KUBECONFIG
else
    PYTHONPATH=$repo/tests/cluster python -m testbed up
    inventory_args=()
    kubeconfig=$testbed/pki/admin.kubeconfig
fi
kubectl=(kubectl --kubeconfig "$kubeconfig")
command -v kubectl >/dev/null || kubectl=("$testbed/bin/kubectl" --kubeconfig "$kubeconfig")

echo "demo: building the agent wheel"
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
python -m pip wheel -q --no-deps ./agent -w "$dist"
wheel=$(ls "$dist"/netclaim_agent-*.whl)

collections=$(mktemp -d)
trap 'rm -rf "$dist" "$collections"' EXIT
mkdir -p "$collections/ansible_collections/netclaim"
ln -s "$repo" "$collections/ansible_collections/netclaim/dra"

echo "demo: ansible-playbook playbooks/site.yml (the test suite waits while the demo agent runs)"
exec 9>"$lock"
flock 9
ANSIBLE_COLLECTIONS_PATH=$collections ansible-playbook -i inventories/local playbooks/site.yml \
    -e "netclaim_agent_package=$wheel" "${inventory_args[@]}"

echo "demo: a pod on the PodNetwork 'demo' (an interface and an address from its range)"
"${kubectl[@]}" wait --for=condition=Ready podnetwork/demo --timeout=60s
"${kubectl[@]}" apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: netclaim-demo}
---
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: demo, namespace: netclaim-demo}
spec:
  spec:
    devices:
      requests:
        - {name: net, exactly: {deviceClassName: demo}}
        - {name: net-address, exactly: {deviceClassName: demo-address}}
---
apiVersion: v1
kind: Pod
metadata: {name: demo, namespace: netclaim-demo}
spec:
  terminationGracePeriodSeconds: 1
  resourceClaims: [{name: net, resourceClaimTemplateName: demo}]
  containers:
    - name: main
      image: netclaim.io/test/busybox:1
      imagePullPolicy: IfNotPresent
      command: [sleep, "3600"]
YAML
"${kubectl[@]}" -n netclaim-demo wait --for=condition=Ready pod/demo --timeout=120s
echo "demo: the pod's interfaces (net1 comes from netclaim) and its routes:"
"${kubectl[@]}" -n netclaim-demo exec demo -- ip addr
"${kubectl[@]}" -n netclaim-demo exec demo -- ip route
echo "demo: the network:"
"${kubectl[@]}" get podnetwork demo
echo "demo: the claim's status:"
"${kubectl[@]}" -n netclaim-demo get resourceclaims -o jsonpath='{range .items[*]}{.status.devices}{"\n"}{end}'
echo
echo "demo: done. The agent keeps running (logs: /var/log/netclaim/agent.log); 'make demo-down'"
echo "      stops it and removes the demo namespace."
