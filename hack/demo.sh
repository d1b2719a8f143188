#!/usr/bin/env bash
# `make demo`: the local cluster (unless KUBECONFIG is set), netclaim deployed by site.yml,
# and a pod that gets a netclaim interface. Filled in by the roles/site.yml work.
set -euo pipefail
echo "make demo: not yet: site.yml and the roles have not landed (see README, 'Status')."
