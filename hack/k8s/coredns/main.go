// CoreDNS with only the plugins the local cluster's DNS needs: cluster names from the
// kubernetes plugin, everything else forwarded to the host's resolver. Fewer plugins
// than upstream's build means a fraction of its dependencies and compile time.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which a query passes the plugins; the same relative order as upstream's
// plugin.cfg.
func init() {
	dnsserver.Directives = []string{
		"bind", "ready", "health", "errors", "loadbalance", "cache", "kubernetes", "forward",
	}
}

func main() { coremain.Run() }
