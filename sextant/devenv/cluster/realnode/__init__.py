"""Real worker nodes for the local cluster: containerd, runc, a CNI bridge, kubelet, kube-proxy.

Next to kwok's simulated GPU nodes, a real node runs what Sextant renders for real: the
runtime and operator images (imported into containerd, never pulled), Services through
kube-proxy's iptables rules, pod IPs routed to the host so Prometheus can scrape them.
"""
