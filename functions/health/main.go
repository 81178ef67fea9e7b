// Command health is the health-check Lambda (GET /health).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/health"
)

// version is set at link time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	lambda.Start(health.Handler{Version: version}.Handle)
}
