// Command inbound is the inbound-SMS Lambda (API Gateway HTTP API).
// Its handler is built by pkg/compose from the settings resources.Functions
// gives it, as in the sandbox and `make invoke`.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/contactsync/contactsync/pkg/compose"
)

func main() {
	lambda.Start(compose.MustLoad("inbound").Inbound().Handle)
}
