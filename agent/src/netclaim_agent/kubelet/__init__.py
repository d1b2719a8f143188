"""kubelet's side of the agent: plugin registration and the DRA node service (v1, v1beta1)."""
