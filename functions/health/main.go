// Command health is the health-check Lambda (GET /health).
package main

import (
	"github.com/contactsync/contactsync/pkg/health"
	"github.com/contactsync/contactsync/pkg/lambdastart"
)

// version is set at link time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	lambdastart.Start(health.Handler{Version: version}.Handle)
}
